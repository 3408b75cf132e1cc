/* wasi:io/streams splice and wasi:io/poll over several pollables, by hand (see tcp.c). */
#include "streams.h"

#include <stdint.h>
#include <stdlib.h>
#include <wasi/api.h>

/* No cabi.h here: it defines cabi_realloc, which tcp.c already brings in. */
#define CABI_IMPORT(module, name) __attribute__((import_module(module), import_name(name)))

#define IO(i) "wasi:io/" i "@0.2.12"
#define CLI(i) "wasi:cli/" i "@0.2.12"

CABI_IMPORT(CLI("stdin"), "get-stdin")
extern int32_t get_stdin(void);

CABI_IMPORT(CLI("stdout"), "get-stdout")
extern int32_t get_stdout(void);

/* blocking-splice(self, src, len) -> result<u64, stream-error> */
CABI_IMPORT(IO("streams"), "[method]output-stream.blocking-splice")
extern void output_blocking_splice(int32_t self, int32_t src, int64_t len, void *ret);

/* blocking-read(self, len) -> result<list<u8>, stream-error> */
CABI_IMPORT(IO("streams"), "[method]input-stream.blocking-read")
extern void input_blocking_read(int32_t self, int64_t len, void *ret);

CABI_IMPORT(IO("streams"), "[method]output-stream.blocking-flush")
extern void output_blocking_flush(int32_t self, void *ret);

CABI_IMPORT(IO("streams"), "[resource-drop]input-stream")
extern void splice_input_drop(int32_t self);

CABI_IMPORT(IO("streams"), "[resource-drop]output-stream")
extern void splice_output_drop(int32_t self);

CABI_IMPORT(IO("error"), "[resource-drop]error")
extern void io_error_drop(int32_t self);

typedef struct {
  uint8_t is_err;
  uint8_t pad[7];
  union {
    uint64_t n; /* ok: bytes spliced */
    struct {
      uint8_t tag; /* stream-error: 0 last-operation-failed(own<error>), 1 closed */
      uint8_t pad[3];
      int32_t error;
    } err;
  } u;
} splice_ret;

long long splice_stdin_to_stdout(void) {
  splice_ret r __attribute__((aligned(8)));
  int32_t in = get_stdin(), out = get_stdout();
  long long total = 0;
  for (;;) {
    output_blocking_splice(out, in, 65536, &r);
    if (r.is_err) break;
    total += (long long)r.u.n;
  }
  if (r.u.err.tag == 0) {
    io_error_drop(r.u.err.error);
    total = -1;
  } else {
    output_blocking_flush(out, &r);
  }
  splice_input_drop(in);
  splice_output_drop(out);
  return total;
}

int poll_two_clocks(void) {
  __wasi_subscription_t subs[2] = {0};
  for (int i = 0; i < 2; i++) {
    subs[i].userdata = (uint64_t)(i + 1);
    subs[i].u.tag = __WASI_EVENTTYPE_CLOCK;
    subs[i].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    subs[i].u.u.clock.timeout = i == 0 ? 10000000u : 60000000000u; /* 10 ms, 60 s */
  }
  __wasi_event_t events[2];
  __wasi_size_t n = 0;
  __wasi_errno_t err = __wasi_poll_oneoff(subs, events, 2, &n);
  return err != 0 ? -(int)err : (int)n;
}

long long read_all_stdin_unbounded(void) {
  struct {
    uint8_t is_err;
    uint8_t pad[3];
    int32_t ptr; /* ok: list pointer; err: stream-error tag */
    int32_t len; /* ok: list length; err: own<error> */
  } r __attribute__((aligned(8)));
  int32_t in = get_stdin();
  long long total = 0;
  for (;;) {
    input_blocking_read(in, -1 /* 2^64-1 bytes */, &r);
    if (r.is_err) break;
    total += r.len;
    free((void *)(uintptr_t)r.ptr);
  }
  if ((uint8_t)r.ptr == 0) {
    io_error_drop(r.len);
    total = -1;
  }
  splice_input_drop(in);
  return total;
}
