/* demo:calc: the math interface by hand through the canonical ABI (see ../_c/cabi.h).
 * Built twice: `calc` (wasi-libc + reactor adapter) and `calc-pure` (-DCALC_PURE, no libc). */
#include "cabi.h"

#define MATH(fn) "demo:calc/math@0.1.0#" fn

CABI_EXPORT(MATH("add"))
int32_t math_add(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }

CABI_EXPORT(MATH("mul-u64"))
uint64_t math_mul_u64(uint64_t a, uint64_t b) { return a * b; }

CABI_EXPORT(MATH("div"))
double math_div(double a, double b) { return a / b; }

static const char greeting_head[] = "Hello, ";
static const char greeting_tail[] = "!";

CABI_EXPORT(MATH("greet"))
cabi_bytes *math_greet(uint8_t *name, size_t len) {
  size_t head = sizeof greeting_head - 1, tail = sizeof greeting_tail - 1;
  uint8_t *out = cabi_alloc(1, head + len + tail);
  __builtin_memcpy(out, greeting_head, head);
  __builtin_memcpy(out + head, name, len);
  __builtin_memcpy(out + head + len, greeting_tail, tail);
  cabi_free(name); /* the argument is ours to free */
  cabi_ret_area = (cabi_bytes){out, head + len + tail};
  return &cabi_ret_area;
}

CABI_EXPORT("cabi_post_" MATH("greet"))
void math_greet_post(cabi_bytes *ret) { cabi_free(ret->ptr); }

CABI_EXPORT(MATH("checksum"))
uint32_t math_checksum(uint8_t *data, size_t len) {
  uint32_t a = 1, b = 0;
  for (size_t i = 0; i < len; i++) {
    a = (a + data[i]) % 65521u;
    b = (b + a) % 65521u;
  }
  cabi_free(data);
  return (b << 16) | a;
}

static const char version_text[] = "calc 0.1.0";

CABI_EXPORT("version")
cabi_bytes *calc_version(void) {
  /* static data: nothing to free, so no post-return */
  cabi_ret_area = (cabi_bytes){(uint8_t *)version_text, sizeof version_text - 1};
  return &cabi_ret_area;
}

#ifndef CALC_PURE
#include <time.h>

CABI_EXPORT("wall-clock-ms")
uint64_t calc_wall_clock_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
#endif
