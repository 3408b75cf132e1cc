/* logger: writes through its `demo:log/sink` import; logger.h and the glue are generated. */
#include <stdio.h>
#include <stdlib.h>

#include "logger.h"

void exports_demo_log_app_hello(logger_string_t *name) {
  char line[256];
  int len = snprintf(line, sizeof line, "hello, %.*s", (int)name->len, (const char *)name->ptr);
  logger_string_t msg = {(uint8_t *)line, (size_t)(len < (int)sizeof line ? len : (int)sizeof line - 1)};
  demo_log_sink_write(&msg);
  logger_string_free(name);
}
