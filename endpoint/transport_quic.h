/*
 * transport_quic.h - SMB over QUIC server transport (ngtcp2 0.12 + GnuTLS).
 *
 * A worker serves every `--listen quic:ADDR:PORT` on its own UDP socket
 * (SO_REUSEPORT: the kernel keeps a client's 4-tuple on one worker).  Each
 * QUIC connection's stream 0 is bridged to an ordinary Conn through a
 * socketpair, so the Conn machinery (framing, dispatcher, crypto pool,
 * rate limiter, SIGHUP re-check) is the same as over TCP.
 *
 * Invariants: TLS 1.3 only, ALPN "smb" mandatory; when
 * server.quic.client-access.required is set, no SMB byte is exchanged
 * before the client chain passed quic_access_decide().
 * Must never: block the worker's loop; serve without a certificate that
 * passed quic_access_check_server_cert().
 */
#pragma once

#include "server.h"

typedef struct QuicWorker QuicWorker;

/* Does this --listen address belong to QUIC ("quic:ADDR:PORT")?  Strips
 * the prefix into *ret_rest. */
bool transport_quic_is_listen(const char *text, const char **ret_rest);

/* Open the UDP sockets of the worker's QUIC listen addresses (those of
 * s->listens marked quic), load the certificate and key of the worker's
 * Config and attach to w->event.  Errors are printed (address, file,
 * setting).  No QUIC listen address: does nothing and returns 0. */
int transport_quic_attach(Worker *w);
/* Close every QUIC connection and socket of the worker. */
void transport_quic_detach(Worker *w);
