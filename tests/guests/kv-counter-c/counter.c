/* exec(store, op, key, value) on wasi:keyvalue@0.2.0-draft2: `set`, `get`, `incr`, and
 * `loopget`/`loopset`/`loopincr` (that operation `value` times, answering the count).
 * Arguments are the function's to free; the answer is freed after the call returns. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counter_c.h"

typedef counter_c_string_t str_t;

static bool is(const str_t *s, const char *word) {
  return s->len == strlen(word) && memcmp(s->ptr, word, s->len) == 0;
}

static void set_text(str_t *out, const char *text) { counter_c_string_dup(out, text); }

static void describe(wasi_keyvalue_store_error_t *e, str_t *out) {
  if (e->tag == WASI_KEYVALUE_STORE_ERROR_ACCESS_DENIED) {
    set_text(out, "access-denied");
  } else if (e->tag == WASI_KEYVALUE_STORE_ERROR_NO_SUCH_STORE) {
    set_text(out, "no-such-store");
  } else {
    size_t n = e->val.other.len + 7;
    out->ptr = malloc(n);
    memcpy(out->ptr, "other: ", 7);
    memcpy(out->ptr + 7, e->val.other.ptr, e->val.other.len);
    out->len = n;
  }
  wasi_keyvalue_store_error_free(e);
}

static long count_of(const str_t *value) {
  char digits[24] = {0};
  size_t n = value->len < sizeof digits - 1 ? value->len : sizeof digits - 1;
  memcpy(digits, value->ptr, n);
  return strtol(digits, NULL, 10);
}

/* One operation on `b`; false with `err` set when the store refused it. */
static bool one(wasi_keyvalue_store_borrow_bucket_t b, const char *op, str_t *key, str_t *value,
                str_t *ret, str_t *err) {
  wasi_keyvalue_store_error_t e;
  if (strcmp(op, "set") == 0) {
    counter_c_list_u8_t bytes = {value->ptr, value->len};
    if (!wasi_keyvalue_store_method_bucket_set(b, key, &bytes, &e)) return describe(&e, err), false;
    if (ret) set_text(ret, "ok");
  } else if (strcmp(op, "get") == 0) {
    counter_c_option_list_u8_t got;
    if (!wasi_keyvalue_store_method_bucket_get(b, key, &got, &e)) return describe(&e, err), false;
    if (ret && got.is_some) {
      ret->ptr = got.val.ptr, ret->len = got.val.len; /* handed on, freed after the call */
    } else {
      if (ret) set_text(ret, "none");
      counter_c_option_list_u8_free(&got);
    }
  } else {
    int64_t now;
    if (!wasi_keyvalue_atomics_increment(b, key, 1, &now, &e)) return describe(&e, err), false;
    if (ret) {
      char digits[24];
      snprintf(digits, sizeof digits, "%lld", (long long)now);
      set_text(ret, digits);
    }
  }
  return true;
}

bool exports_test_kv_counter_ops_exec(str_t *store, str_t *op, str_t *key, str_t *value,
                                      str_t *ret, str_t *err) {
  wasi_keyvalue_store_own_bucket_t bucket;
  wasi_keyvalue_store_error_t e;
  bool ok = true;
  if (!wasi_keyvalue_store_open(store, &bucket, &e)) {
    describe(&e, err);
    ok = false;
  } else {
    wasi_keyvalue_store_borrow_bucket_t b = wasi_keyvalue_store_borrow_bucket(bucket);
    const char *base = is(op, "loopget") ? "get" : is(op, "loopset") ? "set"
                     : is(op, "loopincr") ? "incr" : NULL;
    if (base != NULL) {
      long n = count_of(value);
      static uint8_t sixty_four[64];
      memset(sixty_four, 'x', sizeof sixty_four); /* the value bench/keyvalue.py sets */
      str_t payload = {sixty_four, sizeof sixty_four};
      for (long i = 0; ok && i < n; i++) ok = one(b, base, key, &payload, NULL, err);
      if (ok) {
        char digits[24];
        snprintf(digits, sizeof digits, "%ld", n);
        set_text(ret, digits);
      }
    } else if (is(op, "set") || is(op, "get") || is(op, "incr")) {
      char name[8] = {0};
      memcpy(name, op->ptr, op->len);
      ok = one(b, name, key, value, ret, err);
    } else {
      set_text(err, "unknown op");
      ok = false;
    }
    wasi_keyvalue_store_bucket_drop_own(bucket);
  }
  counter_c_string_free(store);
  counter_c_string_free(op);
  counter_c_string_free(key);
  counter_c_string_free(value);
  return ok;
}
