/* calc: the exports of wit/calc.wit; calc.h and the glue are generated from the WIT. */
#include <stdlib.h>
#include <string.h>

#include "calc.h"

int32_t exports_demo_calc_math_add(int32_t a, int32_t b) {
  return (int32_t)((uint32_t)a + (uint32_t)b);
}

void exports_demo_calc_math_greet(calc_string_t *name, calc_string_t *ret) {
  static const char hello[] = "Hello, ";
  size_t head = sizeof hello - 1;
  ret->len = head + name->len + 1;
  ret->ptr = malloc(ret->len);
  memcpy(ret->ptr, hello, head);
  memcpy(ret->ptr + head, name->ptr, name->len);
  ret->ptr[ret->len - 1] = '!';
  calc_string_free(name);
}
