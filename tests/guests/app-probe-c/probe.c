/* test:isolation/probe: answers with what this component sees of the host. */
#include "host_view.h"

#define PROBE(fn) "test:isolation/probe@0.1.0#" fn

CABI_EXPORT(PROBE("read-env"))
option_string *probe_read_env(uint8_t *name, size_t len) { return env_view(name, len); }

CABI_EXPORT("cabi_post_" PROBE("read-env"))
void probe_read_env_post(option_string *ret) { option_free(ret); }

CABI_EXPORT(PROBE("read-file"))
option_string *probe_read_file(uint8_t *path, size_t len) { return file_view(path, len); }

CABI_EXPORT("cabi_post_" PROBE("read-file"))
void probe_read_file_post(option_string *ret) { option_free(ret); }
