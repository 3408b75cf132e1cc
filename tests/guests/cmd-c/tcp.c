/* wasi:sockets/tcp by hand. Resource handles are i32; results that do not fit one core value
 * come back through a return area: a u8 discriminant at offset 0, the payload at offset 4. */
#include "tcp.h"

#include "cabi.h"

#define SOCKETS(i) "wasi:sockets/" i "@0.2.12"
#define IO(i) "wasi:io/" i "@0.2.12"

CABI_IMPORT(SOCKETS("instance-network"), "instance-network")
extern int32_t instance_network(void);

CABI_IMPORT(SOCKETS("tcp-create-socket"), "create-tcp-socket")
extern void create_tcp_socket(int32_t family, void *ret);

/* start-connect(self, network, ip-socket-address): the variant flattens to a discriminant and
 * the eleven i32 slots of its widest case (ipv6); ipv4 uses port + four address bytes. */
CABI_IMPORT(SOCKETS("tcp"), "[method]tcp-socket.start-connect")
extern void tcp_start_connect(int32_t self, int32_t network, int32_t disc, int32_t port,
                              int32_t a0, int32_t a1, int32_t a2, int32_t a3, int32_t p5,
                              int32_t p6, int32_t p7, int32_t p8, int32_t p9, int32_t p10,
                              void *ret);

CABI_IMPORT(SOCKETS("ip-name-lookup"), "resolve-addresses")
extern void resolve_addresses(int32_t network, const char *name, size_t len, void *ret);

/* resolve-next-address: result<option<ip-address>, error-code>, laid out with alignment 2:
 * result tag @0, option tag @2, ip-address tag @4, its payload @6. */
CABI_IMPORT(SOCKETS("ip-name-lookup"), "[method]resolve-address-stream.resolve-next-address")
extern void resolve_next_address(int32_t self, void *ret);

CABI_IMPORT(SOCKETS("ip-name-lookup"), "[method]resolve-address-stream.subscribe")
extern int32_t resolve_subscribe(int32_t self);

CABI_IMPORT(SOCKETS("ip-name-lookup"), "[resource-drop]resolve-address-stream")
extern void resolve_drop(int32_t self);

CABI_IMPORT(SOCKETS("tcp"), "[method]tcp-socket.start-bind")
extern void tcp_start_bind(int32_t self, int32_t network, int32_t disc, int32_t port, int32_t a0,
                           int32_t a1, int32_t a2, int32_t a3, int32_t p5, int32_t p6,
                           int32_t p7, int32_t p8, int32_t p9, int32_t p10, void *ret);

CABI_IMPORT(SOCKETS("tcp"), "[method]tcp-socket.finish-bind")
extern void tcp_finish_bind(int32_t self, void *ret);

CABI_IMPORT(SOCKETS("tcp"), "[method]tcp-socket.start-listen")
extern void tcp_start_listen(int32_t self, void *ret);

CABI_IMPORT(SOCKETS("tcp"), "[method]tcp-socket.finish-listen")
extern void tcp_finish_listen(int32_t self, void *ret);

/* accept: result<tuple<own<tcp-socket>, own<input-stream>, own<output-stream>>, error-code> */
CABI_IMPORT(SOCKETS("tcp"), "[method]tcp-socket.accept")
extern void tcp_accept(int32_t self, void *ret);

CABI_IMPORT(SOCKETS("tcp"), "[method]tcp-socket.finish-connect")
extern void tcp_finish_connect(int32_t self, void *ret);

CABI_IMPORT(SOCKETS("tcp"), "[method]tcp-socket.subscribe")
extern int32_t tcp_subscribe(int32_t self);

CABI_IMPORT(SOCKETS("tcp"), "[resource-drop]tcp-socket")
extern void tcp_drop(int32_t self);

CABI_IMPORT(SOCKETS("network"), "[resource-drop]network")
extern void network_drop(int32_t self);

CABI_IMPORT(IO("poll"), "[method]pollable.block")
extern void pollable_block(int32_t self);

CABI_IMPORT(IO("poll"), "[resource-drop]pollable")
extern void pollable_drop(int32_t self);

CABI_IMPORT(IO("streams"), "[method]output-stream.blocking-write-and-flush")
extern void output_write(int32_t self, const void *ptr, size_t len, void *ret);

CABI_IMPORT(IO("streams"), "[method]input-stream.blocking-read")
extern void input_read(int32_t self, int64_t len, void *ret);

CABI_IMPORT(IO("streams"), "[resource-drop]input-stream")
extern void input_drop(int32_t self);

CABI_IMPORT(IO("streams"), "[resource-drop]output-stream")
extern void output_drop(int32_t self);

typedef struct {
  uint8_t is_err;
  uint8_t pad[3];
  int32_t a; /* ok: first handle / list pointer; err: error code (u8) or variant tag */
  int32_t b; /* ok: second handle / list length */
  int32_t c; /* ok: third handle (accept) */
} ret_area;

enum { ERR_WOULD_BLOCK = 8, ERR_STREAM = -1000 };

/* The error-code of a result<_, error-code>: its payload is a u8 at offset 1. */
static int unit_error(const ret_area *r) { return ((const uint8_t *)r)[1]; }

static const char *const error_names[] = {
    "unknown", "access-denied", "not-supported", "invalid-argument", "out-of-memory",
    "timeout", "concurrency-conflict", "not-in-progress", "would-block", "invalid-state",
    "new-socket-limit", "address-not-bindable", "address-in-use", "remote-unreachable",
    "connection-refused", "connection-reset", "connection-aborted", "datagram-too-large",
    "name-unresolvable", "temporary-resolver-failure", "permanent-resolver-failure",
};

const char *tcp_error_name(int rc) {
  if (rc == ERR_STREAM) return "stream-error";
  int code = -rc - 1;
  if (code < 0 || code >= (int)(sizeof error_names / sizeof *error_names)) return "?";
  return error_names[code];
}

int tcp_request(const uint8_t addr[4], uint16_t port, const char *msg, char *reply, size_t cap) {
  ret_area r __attribute__((aligned(8)));
  int rc = 0;
  int32_t net = instance_network();
  create_tcp_socket(0 /* ipv4 */, &r);
  if (r.is_err) {
    network_drop(net);
    return -(1 + (uint8_t)r.a);
  }
  int32_t sock = r.a;
  tcp_start_connect(sock, net, 0 /* ipv4 */, port, addr[0], addr[1], addr[2], addr[3], 0, 0, 0,
                    0, 0, 0, &r);
  if (r.is_err) {
    rc = -(1 + unit_error(&r));
    goto drop_socket;
  }
  for (;;) {
    tcp_finish_connect(sock, &r);
    if (!r.is_err || (uint8_t)r.a != ERR_WOULD_BLOCK) break;
    int32_t ready = tcp_subscribe(sock);
    pollable_block(ready);
    pollable_drop(ready);
  }
  if (r.is_err) {
    rc = -(1 + (uint8_t)r.a);
    goto drop_socket;
  }
  int32_t in = r.a, out = r.b;
  size_t len = 0;
  while (msg[len]) len++;
  output_write(out, msg, len, &r);
  if (r.is_err) {
    rc = ERR_STREAM;
  } else {
    input_read(in, (int64_t)(cap - 1), &r);
    if (r.is_err) {
      rc = ERR_STREAM;
    } else {
      size_t got = (size_t)r.b;
      __builtin_memcpy(reply, (void *)(uintptr_t)r.a, got);
      reply[got] = 0;
      cabi_free((void *)(uintptr_t)r.a);
    }
  }
  input_drop(in);
  output_drop(out);
drop_socket:
  tcp_drop(sock);
  network_drop(net);
  return rc;
}

/* Block until `sock` is ready (after a would-block). */
static void wait_ready(int32_t sock) {
  int32_t ready = tcp_subscribe(sock);
  pollable_block(ready);
  pollable_drop(ready);
}

int tcp_serve_once(uint16_t port, const char *msg) {
  ret_area r __attribute__((aligned(8)));
  int rc = 0;
  int32_t net = instance_network();
  create_tcp_socket(0 /* ipv4 */, &r);
  if (r.is_err) {
    network_drop(net);
    return -(1 + (uint8_t)r.a);
  }
  int32_t sock = r.a;
  tcp_start_bind(sock, net, 0 /* ipv4 */, port, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, &r);
  if (!r.is_err) {
    for (;;) {
      tcp_finish_bind(sock, &r);
      if (!r.is_err || unit_error(&r) != ERR_WOULD_BLOCK) break;
      wait_ready(sock);
    }
  }
  if (!r.is_err) tcp_start_listen(sock, &r);
  if (!r.is_err) {
    for (;;) {
      tcp_finish_listen(sock, &r);
      if (!r.is_err || unit_error(&r) != ERR_WOULD_BLOCK) break;
      wait_ready(sock);
    }
  }
  if (r.is_err) {
    rc = -(1 + unit_error(&r));
    goto drop_socket;
  }
  for (;;) {
    tcp_accept(sock, &r);
    if (!r.is_err || (uint8_t)r.a != ERR_WOULD_BLOCK) break;
    wait_ready(sock);
  }
  if (r.is_err) {
    rc = -(1 + (uint8_t)r.a);
    goto drop_socket;
  }
  int32_t peer = r.a, in = r.b, out = r.c;
  input_read(in, 64, &r); /* whatever the client sent first */
  if (r.is_err) {
    rc = ERR_STREAM;
  } else {
    cabi_free((void *)(uintptr_t)r.a);
    size_t len = 0;
    while (msg[len]) len++;
    output_write(out, msg, len, &r);
    if (r.is_err) rc = ERR_STREAM;
  }
  input_drop(in);
  output_drop(out);
  tcp_drop(peer);
drop_socket:
  tcp_drop(sock);
  network_drop(net);
  return rc;
}

int resolve_first_ipv4(const char *name, uint8_t out[4]) {
  ret_area r __attribute__((aligned(8)));
  int32_t net = instance_network();
  size_t len = 0;
  while (name[len]) len++;
  resolve_addresses(net, name, len, &r);
  if (r.is_err) {
    network_drop(net);
    return -(1 + (uint8_t)r.a);
  }
  int32_t stream = r.a;
  int rc = 1; /* no ipv4 address */
  for (;;) {
    uint8_t next[24] __attribute__((aligned(8)));
    resolve_next_address(stream, next);
    if (next[0]) {
      if (next[2] != ERR_WOULD_BLOCK) {
        rc = -(1 + next[2]);
        break;
      }
      int32_t ready = resolve_subscribe(stream);
      pollable_block(ready);
      pollable_drop(ready);
      continue;
    }
    if (!next[2]) break; /* none left */
    if (next[4] == 0) { /* ipv4 */
      for (int i = 0; i < 4; i++) out[i] = next[6 + i];
      rc = 0;
      break;
    }
  }
  resolve_drop(stream);
  network_drop(net);
  return rc;
}
