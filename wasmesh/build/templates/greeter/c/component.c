/* The {{name}} component: implements the exports of wit/world.wit. wasmesh generates
 * {{world_snake}}.h and the canonical-ABI glue from the WIT at each build (`wit-bindgen c`);
 * each export is a function exports_<package>_<interface>_<function> defined here. Arguments
 * are the function's to free; a result is freed by the glue once the caller has read it. */
#include <stdlib.h>
#include <string.h>

#include "{{world_snake}}.h"

void exports_{{name_snake}}_component_greeter_greet({{world_snake}}_string_t *name,
                                                    {{world_snake}}_string_t *ret) {
  static const char hello[] = "Hello, ";
  size_t head = sizeof hello - 1;
  ret->len = head + name->len + 1;
  ret->ptr = malloc(ret->len);
  memcpy(ret->ptr, hello, head);
  memcpy(ret->ptr + head, name->ptr, name->len);
  ret->ptr[ret->len - 1] = '!';
  {{world_snake}}_string_free(name);
}
