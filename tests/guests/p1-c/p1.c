/* A WASI preview1 command, as C compilers emit by default: prints its arguments, $GREETING
 * and the file named by $FILE (under a preopened directory), writes "$FILE.out" next to it,
 * then exits with the status given as its first argument.
 *
 *   p1 STATUS [ARGS...]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  for (int i = 0; i < argc; i++) printf("argv[%d]=%s\n", i, argv[i]);
  const char *greeting = getenv("GREETING");
  printf("GREETING=%s\n", greeting ? greeting : "(unset)");
  const char *path = getenv("FILE");
  if (path != NULL) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
      printf("cannot open %s\n", path);
    } else {
      char buf[256];
      size_t n = fread(buf, 1, sizeof buf - 1, f);
      buf[n] = 0;
      fclose(f);
      printf("%s: %s\n", path, buf);
      char out[512];
      snprintf(out, sizeof out, "%s.out", path);
      FILE *w = fopen(out, "wb");
      if (w == NULL || fputs("written", w) < 0 || fclose(w) != 0) printf("cannot write %s\n", out);
    }
  }
  fflush(stdout);
  return argc > 1 ? atoi(argv[1]) : 0;
}
