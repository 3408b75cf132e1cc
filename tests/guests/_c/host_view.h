/* Reading the host's environment and files through wasi-libc, as option<string> results. */
#include <stdio.h>
#include "cabi.h"

/* option<string> as the canonical ABI lays it out: a tag, then the string. */
typedef struct {
  uint8_t is_some;
  cabi_bytes value;
} option_string;

static option_string option_ret __attribute__((aligned(8)));

static char *c_string(uint8_t *ptr, size_t len) {
  char *s = cabi_alloc(1, len + 1);
  memcpy(s, ptr, len);
  s[len] = 0;
  cabi_free(ptr);
  return s;
}

static option_string *env_view(uint8_t *name, size_t len) {
  char *key = c_string(name, len);
  const char *value = getenv(key);
  cabi_free(key);
  option_ret.is_some = value != NULL;
  if (value != NULL) option_ret.value = cabi_bytes_copy(value, strlen(value));
  return &option_ret;
}

static option_string *file_view(uint8_t *path, size_t len) {
  char *name = c_string(path, len);
  FILE *f = fopen(name, "r");
  cabi_free(name);
  option_ret.is_some = f != NULL;
  if (f != NULL) {
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    option_ret.value = cabi_bytes_copy(buf, n);
  }
  return &option_ret;
}

static void option_free(option_string *ret) {
  if (ret->is_some) cabi_free(ret->value.ptr);
}
