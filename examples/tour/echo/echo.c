/* echo: answers each request with its method and path, then ": " and the body if it has one.
 * echo.h (the WASI types and functions as C) and the glue are generated from the WIT. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "echo.h"

static const char *method_name(const wasi_http_types_method_t *m) {
  static const char *names[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                "CONNECT", "OPTIONS", "TRACE", "PATCH"};
  return m->tag < sizeof names / sizeof names[0] ? names[m->tag] : "OTHER";
}

/* The whole request body (a growing buffer), or an empty one when there is none. */
static echo_list_u8_t read_body(wasi_http_types_borrow_incoming_request_t req) {
  echo_list_u8_t all = {NULL, 0};
  wasi_http_types_own_incoming_body_t body;
  if (!wasi_http_types_method_incoming_request_consume(req, &body)) return all;
  wasi_http_types_own_input_stream_t stream;
  if (wasi_http_types_method_incoming_body_stream(wasi_http_types_borrow_incoming_body(body),
                                                  &stream)) {
    for (;;) {
      echo_list_u8_t chunk;
      wasi_io_streams_stream_error_t error;
      if (!wasi_io_streams_method_input_stream_blocking_read(
              wasi_io_streams_borrow_input_stream(stream), 65536, &chunk, &error))
        break; /* closed: the body has ended */
      all.ptr = realloc(all.ptr, all.len + chunk.len);
      memcpy(all.ptr + all.len, chunk.ptr, chunk.len);
      all.len += chunk.len;
      echo_list_u8_free(&chunk);
    }
    wasi_io_streams_input_stream_drop_own(stream);
  }
  wasi_http_types_incoming_body_drop_own(body);
  return all;
}

void exports_wasi_http_incoming_handler_handle(
    exports_wasi_http_incoming_handler_own_incoming_request_t request,
    exports_wasi_http_incoming_handler_own_response_outparam_t response_out) {
  wasi_http_types_borrow_incoming_request_t req = wasi_http_types_borrow_incoming_request(request);
  wasi_http_types_method_t method;
  wasi_http_types_method_incoming_request_method(req, &method);
  echo_string_t path;
  if (!wasi_http_types_method_incoming_request_path_with_query(req, &path)) {
    echo_string_dup(&path, "/");
  }
  echo_list_u8_t body = read_body(req);
  size_t room = path.len + body.len + 32;
  char *text = malloc(room);
  int len = snprintf(text, room, "%s %.*s%s%.*s\n", method_name(&method), (int)path.len,
                     (const char *)path.ptr, body.len ? ": " : "", (int)body.len,
                     (const char *)body.ptr);
  echo_string_free(&path);
  free(body.ptr);
  wasi_http_types_method_free(&method);
  wasi_http_types_incoming_request_drop_own(request);

  wasi_http_types_own_fields_t headers = wasi_http_types_constructor_fields();
  wasi_http_types_own_outgoing_response_t response =
      wasi_http_types_constructor_outgoing_response(headers);
  wasi_http_types_own_outgoing_body_t out;
  wasi_http_types_method_outgoing_response_body(
      wasi_http_types_borrow_outgoing_response(response), &out);
  wasi_http_types_own_output_stream_t stream;
  wasi_http_types_method_outgoing_body_write(wasi_http_types_borrow_outgoing_body(out), &stream);

  wasi_http_types_result_own_outgoing_response_error_code_t answer = {.is_err = false};
  answer.val.ok = response;
  wasi_http_types_static_response_outparam_set(response_out, &answer);

  echo_list_u8_t bytes = {(uint8_t *)text, (size_t)len};
  wasi_io_streams_stream_error_t error;
  wasi_io_streams_method_output_stream_blocking_write_and_flush(
      wasi_io_streams_borrow_output_stream(stream), &bytes, &error);
  free(text);
  wasi_io_streams_output_stream_drop_own(stream);
  wasi_http_types_error_code_t finish_error;
  wasi_http_types_static_outgoing_body_finish(out, NULL, &finish_error);
}
