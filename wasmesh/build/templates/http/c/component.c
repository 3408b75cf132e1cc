/* The {{name}} component: answers every HTTP request with a greeting naming its path, as a
 * standard wasi:http/proxy handler. wasmesh generates {{world_snake}}.h (the WASI types and
 * functions as C) and the canonical-ABI glue from the WIT at each build (`wit-bindgen c`). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "{{world_snake}}.h"

void exports_wasi_http_incoming_handler_handle(
    exports_wasi_http_incoming_handler_own_incoming_request_t request,
    exports_wasi_http_incoming_handler_own_response_outparam_t response_out) {
  {{world_snake}}_string_t path;
  wasi_http_types_borrow_incoming_request_t req = wasi_http_types_borrow_incoming_request(request);
  if (!wasi_http_types_method_incoming_request_path_with_query(req, &path)) {
    {{world_snake}}_string_dup(&path, "/");
  }
  char *text = malloc(path.len + 64);
  int len = snprintf(text, path.len + 64, "hello from {{name}}: %.*s\n", (int)path.len,
                     (const char *)path.ptr);
  {{world_snake}}_string_free(&path);
  wasi_http_types_incoming_request_drop_own(request);

  /* headers, then the response with its body stream, then the body itself */
  wasi_http_types_own_fields_t headers = wasi_http_types_constructor_fields();
  wasi_http_types_field_name_t name;
  {{world_snake}}_string_dup(&name, "content-type");
  wasi_http_types_field_value_t value = {(uint8_t *)"text/plain", 10};
  wasi_http_types_header_error_t header_error;
  wasi_http_types_method_fields_append(wasi_http_types_borrow_fields(headers), &name, &value,
                                       &header_error);
  {{world_snake}}_string_free(&name);
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

  {{world_snake}}_list_u8_t bytes = {(uint8_t *)text, (size_t)len};
  wasi_io_streams_stream_error_t stream_error;
  wasi_io_streams_method_output_stream_blocking_write_and_flush(
      wasi_io_streams_borrow_output_stream(stream), &bytes, &stream_error);
  free(text);
  wasi_io_streams_output_stream_drop_own(stream);
  wasi_http_types_error_code_t body_error;
  wasi_http_types_static_outgoing_body_finish(body, NULL, &body_error);
}
