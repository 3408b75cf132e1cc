/* A TCP client over wasi:sockets 0.2, through the canonical ABI by hand (see tcp.c). */
#ifndef CMD_TCP_H
#define CMD_TCP_H

#include <stddef.h>
#include <stdint.h>

/* Connect to addr:port, send msg, read up to cap-1 bytes of reply into reply (NUL-ended).
 * Returns 0, or -(1 + wasi:sockets error-code) on a socket error, or -1000 on a stream error.
 * error-code 1 is access-denied: the host granted no network. */
int tcp_request(const uint8_t addr[4], uint16_t port, const char *msg, char *reply, size_t cap);

/* Listen on 127.0.0.1:port, accept one connection, read what it sends, answer msg.
 * Returns as tcp_request does. */
int tcp_serve_once(uint16_t port, const char *msg);

/* The first IPv4 address `name` resolves to, in out: 0, 1 when it has none, or as
 * tcp_request on a socket error. */
int resolve_first_ipv4(const char *name, uint8_t out[4]);

/* The wasi:sockets error-code name for a negative tcp_request result. */
const char *tcp_error_name(int rc);

#endif
