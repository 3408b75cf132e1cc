/* A command touching one capability per verb, for grant tests (deny by default, allow with a
 * grant). Exit status: 0 ok, 2 usage, 3 env var unset, 4 file error, 5 socket error, else the
 * status asked for. WASI 0.2's stable wasi:cli/exit carries success or failure only, so a host
 * sees every non-zero status as 1; stderr says which failure it was.
 *
 *   cmd args A B...       print each argument on its own line
 *   cmd env NAME          print $NAME
 *   cmd read PATH         print the file's contents (PATH under a preopened directory)
 *   cmd write PATH TEXT   write TEXT to the file
 *   cmd connect IP PORT   TCP connect, send "ping\n", print the reply
 *   cmd listen PORT       TCP listen on 127.0.0.1:PORT, answer one client "pong\n"
 *   cmd splice            copy standard input to standard output with blocking-splice
 *   cmd resolve NAME      print the first IPv4 address NAME resolves to
 *   cmd readlink PATH     print the symlink's target
 *   cmd symlink TARGET PATH  create a symlink
 *   cmd bigread           read stdin asking for 2^64-1 bytes per read, print the byte count
 *   cmd poll2             poll_oneoff on two clocks at once, print how many fired
 *   cmd stdin             copy standard input to standard output
 *   cmd exit N            exit with status N
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "streams.h"
#include "tcp.h"

static int usage(void) {
  fputs("usage: cmd args|env|read|write|connect|listen|splice|bigread|resolve|readlink|symlink|poll2|stdin|exit ...\n", stderr);
  return 2;
}

static int cmd_read(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "cannot open %s: %s\n", path, strerror(errno));
    return 4;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stdout);
  fclose(f);
  return 0;
}

static int cmd_write(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  if (f == NULL) {
    fprintf(stderr, "cannot create %s: %s\n", path, strerror(errno));
    return 4;
  }
  fputs(text, f);
  return fclose(f) == 0 ? 0 : 4;
}

static int cmd_connect(const char *ip, const char *port) {
  unsigned a[4];
  if (sscanf(ip, "%u.%u.%u.%u", &a[0], &a[1], &a[2], &a[3]) != 4) return usage();
  uint8_t addr[4] = {(uint8_t)a[0], (uint8_t)a[1], (uint8_t)a[2], (uint8_t)a[3]};
  char reply[256];
  int rc = tcp_request(addr, (uint16_t)atoi(port), "ping\n", reply, sizeof reply);
  if (rc != 0) {
    fprintf(stderr, "connect %s:%s failed: %s\n", ip, port, tcp_error_name(rc));
    return 5;
  }
  fputs(reply, stdout);
  return 0;
}

static int cmd_listen(const char *port) {
  int rc = tcp_serve_once((uint16_t)atoi(port), "pong\n");
  if (rc != 0) {
    fprintf(stderr, "listen on port %s failed: %s\n", port, tcp_error_name(rc));
    return 5;
  }
  puts("served");
  return 0;
}

static int cmd_splice(void) {
  fflush(stdout);
  long long n = splice_stdin_to_stdout();
  if (n < 0) {
    fputs("splice failed\n", stderr);
    return 4;
  }
  fprintf(stderr, "spliced %lld bytes\n", n);
  return 0;
}

static int cmd_resolve(const char *name) {
  uint8_t a[4];
  int rc = resolve_first_ipv4(name, a);
  if (rc != 0) {
    fprintf(stderr, "resolve %s failed: %s\n", name, rc == 1 ? "no ipv4" : tcp_error_name(rc));
    return 5;
  }
  printf("%u.%u.%u.%u\n", a[0], a[1], a[2], a[3]);
  return 0;
}

static int cmd_readlink(const char *path) {
  char buf[512];
  ssize_t n = readlink(path, buf, sizeof buf - 1);
  if (n < 0) {
    fprintf(stderr, "readlink %s: %s\n", path, strerror(errno));
    return 4;
  }
  buf[n] = 0;
  puts(buf);
  return 0;
}

static int cmd_symlink(const char *target, const char *path) {
  if (symlink(target, path) != 0) {
    fprintf(stderr, "symlink %s: %s\n", path, strerror(errno));
    return 4;
  }
  return 0;
}

static int cmd_bigread(void) {
  long long n = read_all_stdin_unbounded();
  if (n < 0) {
    fputs("read failed\n", stderr);
    return 4;
  }
  printf("%lld\n", n);
  return 0;
}

static int cmd_poll2(void) {
  int n = poll_two_clocks();
  if (n < 0) {
    fprintf(stderr, "poll_oneoff failed: errno %d\n", -n);
    return 4;
  }
  printf("%d\n", n);
  return 0;
}

static int cmd_stdin(void) {
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) fwrite(buf, 1, n, stdout);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) return usage();
  const char *verb = argv[1];
  if (strcmp(verb, "args") == 0) {
    for (int i = 2; i < argc; i++) puts(argv[i]);
    return 0;
  }
  if (strcmp(verb, "env") == 0 && argc == 3) {
    const char *value = getenv(argv[2]);
    if (value == NULL) {
      fprintf(stderr, "%s is not set\n", argv[2]);
      return 3;
    }
    puts(value);
    return 0;
  }
  if (strcmp(verb, "read") == 0 && argc == 3) return cmd_read(argv[2]);
  if (strcmp(verb, "write") == 0 && argc == 4) return cmd_write(argv[2], argv[3]);
  if (strcmp(verb, "connect") == 0 && argc == 4) return cmd_connect(argv[2], argv[3]);
  if (strcmp(verb, "listen") == 0 && argc == 3) return cmd_listen(argv[2]);
  if (strcmp(verb, "splice") == 0) return cmd_splice();
  if (strcmp(verb, "poll2") == 0) return cmd_poll2();
  if (strcmp(verb, "bigread") == 0) return cmd_bigread();
  if (strcmp(verb, "readlink") == 0 && argc == 3) return cmd_readlink(argv[2]);
  if (strcmp(verb, "resolve") == 0 && argc == 3) return cmd_resolve(argv[2]);
  if (strcmp(verb, "symlink") == 0 && argc == 4) return cmd_symlink(argv[2], argv[3]);
  if (strcmp(verb, "stdin") == 0) return cmd_stdin();
  if (strcmp(verb, "exit") == 0 && argc == 3) return atoi(argv[2]);
  return usage();
}
