/* shop:pricing/tax in freestanding C: the canonical ABI by hand, no libc, no WASI.
 *
 * Strings arrive as (pointer, length) in memory the host allocated through cabi_realloc;
 * a bump allocator is enough since nothing outlives a call. */
#include <stddef.h>
#include <stdint.h>

#define EXPORT(name) __attribute__((export_name(name)))
#define TAX(fn) "shop:pricing/tax@0.1.0#" fn

extern unsigned char __heap_base;
static uintptr_t heap_top;

EXPORT("cabi_realloc")
void *cabi_realloc(void *old, size_t old_size, size_t align, size_t new_size) {
  (void)old;
  (void)old_size;
  if (heap_top == 0) heap_top = (uintptr_t)&__heap_base;
  uintptr_t p = (heap_top + align - 1) & ~(uintptr_t)(align - 1);
  uintptr_t end = p + new_size;
  uintptr_t have = (uintptr_t)__builtin_wasm_memory_size(0) * 65536u;
  if (end > have && __builtin_wasm_memory_grow(0, (end - have + 65535u) / 65536u) == (size_t)-1)
    __builtin_trap();
  heap_top = end;
  return (void *)p;
}

static int same(const uint8_t *a, size_t n, const char *b) {
  for (size_t i = 0; i < n; i++)
    if (b[i] == 0 || a[i] != (uint8_t)b[i]) return 0;
  return b[n] == 0;
}

static const struct {
  const char *region;
  uint32_t bp;
} RATES[] = {{"fr", 2000}, {"de", 1900}, {"uk", 2000}, {"us-ny", 887}, {"jp", 1000}};

EXPORT(TAX("rate-bp"))
uint32_t tax_rate_bp(uint8_t *region, size_t len) {
  uint32_t bp = 0xffffffffu;
  for (size_t i = 0; i < sizeof RATES / sizeof RATES[0]; i++)
    if (same(region, len, RATES[i].region)) bp = RATES[i].bp;
  heap_top = (uintptr_t)&__heap_base; /* the argument was the only allocation */
  return bp;
}

EXPORT(TAX("tax-cents"))
uint64_t tax_tax_cents(uint64_t amount, uint32_t bp) {
  uint64_t scaled = amount * bp;
  uint64_t cents = scaled / 10000, rest = scaled % 10000;
  /* half to even: banks' rounding, so sums of many lines do not drift upwards */
  if (rest > 5000 || (rest == 5000 && (cents & 1))) cents++;
  return cents;
}
