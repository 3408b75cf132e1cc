/* test:isolation/views: this component's view of the host next to its dependency's. */
#include "host_view.h"

#define VIEWS(fn) "test:isolation/views@0.1.0#" fn

CABI_IMPORT("test:isolation/probe@0.1.0", "read-env")
extern void probe_read_env(uint8_t *name, size_t len, option_string *ret);
CABI_IMPORT("test:isolation/probe@0.1.0", "read-file")
extern void probe_read_file(uint8_t *path, size_t len, option_string *ret);

CABI_EXPORT(VIEWS("own-env"))
option_string *views_own_env(uint8_t *name, size_t len) { return env_view(name, len); }

CABI_EXPORT(VIEWS("own-file"))
option_string *views_own_file(uint8_t *path, size_t len) { return file_view(path, len); }

/* The dependency's answer is lowered into our memory (allocated with cabi_realloc). */
CABI_EXPORT(VIEWS("dep-env"))
option_string *views_dep_env(uint8_t *name, size_t len) {
  probe_read_env(name, len, &option_ret);
  cabi_free(name);
  return &option_ret;
}

CABI_EXPORT(VIEWS("dep-file"))
option_string *views_dep_file(uint8_t *path, size_t len) {
  probe_read_file(path, len, &option_ret);
  cabi_free(path);
  return &option_ret;
}

CABI_EXPORT("cabi_post_" VIEWS("own-env"))
void views_own_env_post(option_string *ret) { option_free(ret); }
CABI_EXPORT("cabi_post_" VIEWS("own-file"))
void views_own_file_post(option_string *ret) { option_free(ret); }
CABI_EXPORT("cabi_post_" VIEWS("dep-env"))
void views_dep_env_post(option_string *ret) { option_free(ret); }
CABI_EXPORT("cabi_post_" VIEWS("dep-file"))
void views_dep_file_post(option_string *ret) { option_free(ret); }
