/* The canonical ABI pieces a C guest needs when no binding generator is at hand.
 *
 * Exports are plain functions named "<interface>#<function>" (or just "<function>" at world
 * level); strings and lists arrive as (pointer, length) allocated through cabi_realloc, and
 * results that do not fit one core value are written to a return area whose address the export
 * returns. A hosted build (wasi-libc) allocates with malloc; a freestanding build
 * (CABI_FREESTANDING: no libc, no WASI imports) uses a bump allocator that resets whenever
 * every allocation has been freed, i.e. after each call's post-return.
 */
#ifndef WASMESH_CABI_H
#define WASMESH_CABI_H

#include <stddef.h>
#include <stdint.h>

#define CABI_EXPORT(name) __attribute__((export_name(name)))
#define CABI_IMPORT(module, name) __attribute__((import_module(module), import_name(name)))

/* A string or list<u8> as the canonical ABI lays it out in a return area. */
typedef struct {
  uint8_t *ptr;
  size_t len;
} cabi_bytes;

#ifdef CABI_FREESTANDING
extern unsigned char __heap_base;
static uintptr_t cabi_heap_top;
static size_t cabi_live;

static void *cabi_alloc(size_t align, size_t size) {
  if (cabi_heap_top == 0) cabi_heap_top = (uintptr_t)&__heap_base;
  uintptr_t p = (cabi_heap_top + align - 1) & ~(uintptr_t)(align - 1);
  uintptr_t end = p + size;
  uintptr_t have = (uintptr_t)__builtin_wasm_memory_size(0) * 65536u;
  if (end > have &&
      __builtin_wasm_memory_grow(0, (end - have + 65535u) / 65536u) == (size_t)-1)
    __builtin_trap();
  cabi_heap_top = end;
  cabi_live++;
  return (void *)p;
}

static void cabi_free(void *p) {
  if (p == NULL || cabi_live == 0) return;
  if (--cabi_live == 0) cabi_heap_top = (uintptr_t)&__heap_base;
}

CABI_EXPORT("cabi_realloc")
void *cabi_realloc(void *old, size_t old_size, size_t align, size_t new_size) {
  if (new_size == 0) return (void *)align;
  void *p = cabi_alloc(align, new_size);
  if (old != NULL) {
    __builtin_memcpy(p, old, old_size < new_size ? old_size : new_size);
    cabi_free(old);
  }
  return p;
}
#else
#include <stdlib.h>
#include <string.h>

static void *cabi_alloc(size_t align, size_t size) {
  (void)align; /* malloc aligns to 16, more than any canonical ABI type needs */
  void *p = malloc(size ? size : 1);
  if (p == NULL) abort();
  return p;
}

static void cabi_free(void *p) { free(p); }

CABI_EXPORT("cabi_realloc")
void *cabi_realloc(void *old, size_t old_size, size_t align, size_t new_size) {
  (void)old_size;
  if (new_size == 0) return (void *)align;
  void *p = realloc(old, new_size);
  if (p == NULL) abort();
  return p;
}
#endif

/* A fresh copy of n bytes, owned by the caller (freed in a post-return). */
static inline cabi_bytes cabi_bytes_copy(const void *src, size_t n) {
  cabi_bytes out = {cabi_alloc(1, n), n};
  __builtin_memcpy(out.ptr, src, n);
  return out;
}

/* The return area of an export returning a string or list: one per module is enough since
 * the host reads it before the next call. */
static cabi_bytes cabi_ret_area __attribute__((aligned(8)));

#endif
