/*
 * quic_client.h - the SMB over QUIC client transport of the reference
 * client (client.c): TLS 1.3, ALPN "smb", optional client certificate,
 * stream 0 handed to the SMB code as an ordinary blocking stream socket.
 *
 * quic_client_connect() runs the handshake and then a small thread that
 * bridges the QUIC connection to one end of a socketpair (quic_bridge.c);
 * the caller reads and writes the other end exactly as it would a TCP
 * socket to port 445, 4-byte framing included.
 *
 * Invariants: the socket is returned only after the handshake completed
 * with TLS 1.3 and ALPN "smb"; the server certificate is verified (chain
 * and host name) against the CA file, or the system trust store when none
 * is given, unless the caller opted out explicitly (insecure).
 * Must never: log; keep the private key's file name or bytes after
 * connecting.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct QuicClient QuicClient;

typedef struct QuicClientParams {
	const char *server_name; /* SNI and name check; NULL: none */
	const char *cert_file;   /* client certificate chain (PEM), NULL: none */
	const char *key_file;    /* its private key (PEM) */
	const char *ca_file;     /* trust these CAs (PEM); NULL: the system trust store */
	bool insecure;           /* do not verify the server (the probe: IPs, test certs) */
	unsigned timeout_ms;     /* handshake */
} QuicClientParams;

typedef struct QuicClientInfo {
	char tls_version[16];
	char cipher[32];
	char alpn[16];
	char server_sha256[65]; /* SHA-256 of the server certificate's DER */
} QuicClientInfo;

/* Connect to addr; on success *ret_fd is the caller's stream socket (the
 * caller closes it) and *ret the handle to free after closing it.
 * Errors: -ECONNREFUSED (the server closed the handshake: wrong ALPN,
 * refused client certificate ...; *ret_alert says which TLS alert, 0 when
 * none), -EKEYREJECTED (we did not trust the server's certificate: chain
 * or host name), -ENOENT (no CA file and no system trust store),
 * -ETIMEDOUT, -ENOMEM, -errno. */
int quic_client_connect(const struct sockaddr *addr, socklen_t addrlen, const QuicClientParams *p,
			QuicClient **ret, int *ret_fd, QuicClientInfo *ret_info, uint8_t *ret_alert);
/* Stop the bridge thread (after the caller closed its fd) and free. */
void quic_client_free(QuicClient *q);
