/* The {{name}} component: implements the exports of wit/world.wit by hand through the
 * canonical ABI (see cabi.h): each export is named "<interface>#<function>", a string comes
 * in as (pointer, length) and goes out through a return area freed in cabi_post_<export>. */
#include "cabi.h"

#define GREETER(fn) "{{name}}:component/greeter@0.1.0#" fn

static const char hello[] = "Hello, ";

CABI_EXPORT(GREETER("greet"))
cabi_bytes *greet(uint8_t *name, size_t len) {
  size_t head = sizeof hello - 1;
  uint8_t *out = cabi_alloc(1, head + len + 1);
  __builtin_memcpy(out, hello, head);
  __builtin_memcpy(out + head, name, len);
  out[head + len] = '!';
  cabi_free(name);
  cabi_ret_area = (cabi_bytes){out, head + len + 1};
  return &cabi_ret_area;
}

CABI_EXPORT("cabi_post_" GREETER("greet"))
void greet_post(cabi_bytes *ret) { cabi_free(ret->ptr); }
