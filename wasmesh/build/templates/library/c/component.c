/* The {{name}} component: implements the `text` interface of wit/world.wit. wasmesh generates
 * {{world_snake}}.h (the WIT types as C types) and the canonical-ABI glue from the WIT at each
 * build (`wit-bindgen c`). Arguments are the function's to free. */
#include <ctype.h>
#include <stdbool.h>

#include "{{world_snake}}.h"

void exports_{{name_snake}}_component_text_count({{world_snake}}_string_t *s,
                                                 exports_{{name_snake}}_component_text_stats_t *ret) {
  uint32_t words = 0, chars = 0;
  bool in_word = false;
  for (size_t i = 0; i < s->len; i++) {
    uint8_t c = s->ptr[i];
    if ((c & 0xC0) != 0x80) chars++; /* a byte that starts a UTF-8 sequence */
    if (isspace(c)) {
      in_word = false;
    } else if (!in_word) {
      in_word = true;
      words++;
    }
  }
  ret->words = words;
  ret->chars = chars;
  {{world_snake}}_string_free(s);
}
