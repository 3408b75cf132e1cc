/* test:parity/dep: what this component sees of the host, and a memory hog and an endless loop. */
#include "host_view.h"

#define DEP(fn) "test:parity/dep@0.1.0#" fn

CABI_EXPORT(DEP("env"))
option_string *dep_env(uint8_t *name, size_t len) { return env_view(name, len); }

CABI_EXPORT("cabi_post_" DEP("env"))
void dep_env_post(option_string *ret) { option_free(ret); }

CABI_EXPORT(DEP("read"))
option_string *dep_read(uint8_t *path, size_t len) { return file_view(path, len); }

CABI_EXPORT("cabi_post_" DEP("read"))
void dep_read_post(option_string *ret) { option_free(ret); }

CABI_EXPORT(DEP("grow"))
uint32_t dep_grow(void) {
  while (__builtin_wasm_memory_grow(0, 1) != (size_t)-1) {
  }
  return (uint32_t)__builtin_wasm_memory_size(0);
}

CABI_EXPORT(DEP("spin"))
uint32_t dep_spin(void) {
  volatile uint32_t n = 0;
  for (;;) n++;
  return n;
}
