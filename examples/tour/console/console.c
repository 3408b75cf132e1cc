/* console: implements `demo:log/sink` by printing each message on stdout. */
#include <stdio.h>

#include "console.h"

void exports_demo_log_sink_write(console_string_t *msg) {
  printf("%.*s\n", (int)msg->len, (const char *)msg->ptr);
  fflush(stdout);
  console_string_free(msg);
}
