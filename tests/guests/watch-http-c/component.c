/* Answers `VERSION PATH BYTES` once it has read the whole request body: a request whose body
 * has not all arrived stays in flight (the tests of `wasmesh up --watch` hold one across a
 * reload, once its `reading PATH` line on stderr says it runs). Bindings: `wit-bindgen c` from
 * wit/world.wit at each build. */
#include <stdio.h>
#include <stdlib.h>

#include "web.h"

#define VERSION "v1"

static size_t read_body(wasi_http_types_borrow_incoming_request_t req) {
  wasi_http_types_own_incoming_body_t body;
  if (!wasi_http_types_method_incoming_request_consume(req, &body)) return 0;
  wasi_io_streams_own_input_stream_t in;
  size_t total = 0;
  if (wasi_http_types_method_incoming_body_stream(wasi_http_types_borrow_incoming_body(body), &in)) {
    for (;;) {
      web_list_u8_t chunk;
      wasi_io_streams_stream_error_t err;
      if (!wasi_io_streams_method_input_stream_blocking_read(
              wasi_io_streams_borrow_input_stream(in), 65536, &chunk, &err)) {
        if (err.tag == WASI_IO_STREAMS_STREAM_ERROR_LAST_OPERATION_FAILED)
          wasi_io_error_error_drop_own(err.val.last_operation_failed);
        break;
      }
      total += chunk.len;
      web_list_u8_free(&chunk);
    }
    wasi_io_streams_input_stream_drop_own(in);
  }
  wasi_http_types_incoming_body_drop_own(body);
  return total;
}

void exports_wasi_http_incoming_handler_handle(
    exports_wasi_http_incoming_handler_own_incoming_request_t request,
    exports_wasi_http_incoming_handler_own_response_outparam_t response_out) {
  wasi_http_types_borrow_incoming_request_t req = wasi_http_types_borrow_incoming_request(request);
  web_string_t path;
  if (!wasi_http_types_method_incoming_request_path_with_query(req, &path)) {
    web_string_dup(&path, "/");
  }
  fprintf(stderr, "reading %.*s\n", (int)path.len, (const char *)path.ptr);
  size_t bytes = read_body(req);
  char text[512];
  int len = snprintf(text, sizeof text, VERSION " %.*s %zu\n", (int)path.len,
                     (const char *)path.ptr, bytes);
  web_string_free(&path);
  wasi_http_types_incoming_request_drop_own(request);

  wasi_http_types_own_fields_t headers = wasi_http_types_constructor_fields();
  wasi_http_types_own_outgoing_response_t response =
      wasi_http_types_constructor_outgoing_response(headers);
  wasi_http_types_own_outgoing_body_t body;
  wasi_http_types_method_outgoing_response_body(
      wasi_http_types_borrow_outgoing_response(response), &body);
  wasi_http_types_own_output_stream_t stream;
  wasi_http_types_method_outgoing_body_write(wasi_http_types_borrow_outgoing_body(body), &stream);
  wasi_http_types_result_own_outgoing_response_error_code_t answer = {.is_err = false};
  answer.val.ok = response;
  wasi_http_types_static_response_outparam_set(response_out, &answer);

  web_list_u8_t out = {(uint8_t *)text, (size_t)len};
  wasi_io_streams_stream_error_t stream_error;
  wasi_io_streams_method_output_stream_blocking_write_and_flush(
      wasi_io_streams_borrow_output_stream(stream), &out, &stream_error);
  wasi_io_streams_output_stream_drop_own(stream);
  wasi_http_types_error_code_t body_error;
  wasi_http_types_static_outgoing_body_finish(body, NULL, &body_error);
}
