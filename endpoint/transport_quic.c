/*
 * transport_quic.c - SMB over QUIC server (ngtcp2 0.12.1 + GnuTLS, TLS 1.3,
 * ALPN "smb"), on the worker's sd-event loop.
 *
 * Per worker: one non-blocking UDP socket per `--listen quic:` address
 * (UDP GSO out, GRO in) and the list of QuicConns.  The GnuTLS server
 * credential (server.quic.certificate / .key, checked by
 * quic_access_check_server_cert) is shared by all workers, replaced for new
 * connections when a reloaded policy names another one.  A datagram is
 * routed by its destination connection id (the ids this server issued, or
 * the client's original one while Initials repeat); an unknown id may start
 * a connection (ngtcp2_accept) when QUIC is enabled and the worker is under
 * QUIC_MAX_CONNS.  Each QuicConn has one timer (ngtcp2_conn_get_expiry:
 * retransmission, ACK delay, idle timeout of 30 s).
 *
 * Stream 0 (the client's first bidirectional stream) carries the same
 * 4-byte-framed SMB2 messages as TCP ([MS-SMB2] 2.1): once the handshake is
 * complete, a socketpair connects it to a Conn (conn.c), which reads and
 * writes its end exactly like a TCP socket; quic_bridge.c moves the bytes
 * (buffers until acknowledged, flow-control credit, packet writing).
 *
 * Client access control (server.quic.client-access.required): the client
 * must send a certificate (GNUTLS_CERT_REQUIRE; none: alert 116) that
 * quic_access_decide() allows in GnuTLS's verify callback; a refusal fails
 * the handshake (GNUTLS_E_CERTIFICATE_ERROR: alert 42) before any stream
 * data is taken.  Events: 3007/3008/3009 for the decision, 1913 for each
 * established connection.
 *
 * Invariants: a QuicConn is freed only from the top of an event callback,
 * never inside an ngtcp2 or GnuTLS callback; no Conn exists before the
 * handshake (and so the access decision) completed.
 * Must never: block; accept TLS below 1.3 or a connection without ALPN
 * "smb".
 */
#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>

#include "quic_access.h"
#include "quic_bridge.h"
#include "transport_quic.h"

#define QUIC_SCID_LEN 18
#define QUIC_MAX_CIDS 8
#define QUIC_MAX_CONNS 1024 /* per worker */
#define QUIC_DGRAMS_PER_READ 64

static const gnutls_datum_t alpn_smb = { (unsigned char *)QUIC_ALPN, sizeof(QUIC_ALPN) - 1 };

typedef struct QuicSocket {
	QuicWorker *qw;
	int fd;
	sd_event_source *io;
	struct sockaddr_storage local;
	socklen_t local_len;
} QuicSocket;

/* Server credentials, shared by every worker and by the connections that
 * started with them (GnuTLS credentials are read-only once loaded). */
typedef struct QuicCred {
	gnutls_certificate_credentials_t cred;
	char *certificate, *key; /* the policy's paths they came from */
	atomic_uint refs;
} QuicCred;

/* The credentials new connections get, process-wide so that a worker that
 * saw no connection between two reloads still keeps the last good one;
 * quic_cred_workers counts the attached workers (the last one frees). */
static pthread_mutex_t quic_cred_lock = PTHREAD_MUTEX_INITIALIZER;
static QuicCred *quic_cred_current;
static unsigned quic_cred_workers;

typedef struct QuicConn {
	QuicBridge b; /* first: the shared ngtcp2 callbacks take it as user_data;
		       * stream 0 <-> the Conn's socketpair (fd -1 before the handshake) */
	struct QuicConn *prev, *next;
	QuicWorker *qw;
	QuicSocket *sock;
	ngtcp2_conn *conn;
	ngtcp2_crypto_conn_ref ref;
	gnutls_session_t tls;
	QuicCred *cred;
	struct sockaddr_storage remote;
	socklen_t remote_len;
	char peer[INET6_ADDRSTRLEN + 8];
	char id[2 * NGTCP2_MAX_CIDLEN + 1]; /* hex of the first server cid */
	ngtcp2_cid odcid;
	ngtcp2_cid cids[QUIC_MAX_CIDS];
	size_t n_cids;
	sd_event_source *timer;
	sd_event_source *io;
	bool handshake_done;
	bool failed;   /* close at the top of the callback */
	char client_sha256[65];
	char *client_issuer;
} QuicConn;

_Static_assert(offsetof(QuicConn, b) == 0, "quic_bridge callbacks need the bridge first");

struct QuicWorker {
	Worker *w;
	QuicSocket *socks;
	size_t n_socks;
	const Config *cred_checked; /* the config last compared with the credentials */
	gnutls_priority_t prio;
	QuicConn *conns;
	size_t n_conns;
	bool warned_limit;
};

static QuicCred *quic_cred_unref(QuicCred *c);
static QuicCred *quic_cred_get(QuicWorker *qw);

bool transport_quic_is_listen(const char *text, const char **ret_rest) {
	if (!startswith(text, "quic:"))
		return false;
	*ret_rest = text + 5;
	return true;
}

static void format_peer(const struct sockaddr_storage *a, char *buf, size_t len) {
	char host[INET6_ADDRSTRLEN] = "?";
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)a;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(s4->sin_port));
	} else {
		const struct sockaddr_in6 *s6 = (const void *)a;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(s6->sin6_port));
	}
}

static Server *qc_server(QuicConn *qc) { return qc->qw->w->server; }

/* ---- teardown ---- */

static void qc_free(QuicConn *qc) {
	QuicWorker *qw = qc->qw;
	sd_event_source_disable_unref(qc->timer);
	sd_event_source_disable_unref(qc->io);
	quic_bridge_done(&qc->b); /* closes fd: the Conn reads EOF and frees itself */
	if (qc->b.conn)
		ngtcp2_conn_del(qc->b.conn);
	if (qc->tls)
		gnutls_deinit(qc->tls);
	quic_cred_unref(qc->cred);
	free(qc->client_issuer);
	if (qc->prev)
		qc->prev->next = qc->next;
	else
		qw->conns = qc->next;
	if (qc->next)
		qc->next->prev = qc->prev;
	qw->n_conns--;
	free(qc);
}

static void qc_send(void *userdata, const uint8_t *pkts, size_t len, size_t segsize) {
	QuicConn *qc = userdata;
	quic_sendmsg(qc->sock->fd, (const struct sockaddr *)&qc->remote, qc->remote_len, pkts, len, segsize);
}

/* Send CONNECTION_CLOSE (for liberr, an ngtcp2 error; 0: no error) and free. */
static void qc_close(QuicConn *qc, int liberr) {
	quic_bridge_close(&qc->b, liberr);
	qc_free(qc);
}

static int on_qc_timer(sd_event_source *s, uint64_t usec, void *userdata);
static int on_qc_io(sd_event_source *s, int fd, uint32_t revents, void *userdata);

/* After any event: send what is due, re-arm the timer and the Conn side,
 * and close when the Conn is gone and everything it sent was acked.
 * Frees qc on error or at the end (the caller must not touch it then). */
static void qc_after(QuicConn *qc, int r) {
	if (r >= 0 && qc->failed) {
		qc_close(qc, 0);
		return;
	}
	if (r >= 0 && quic_bridge_flush_rx(&qc->b) < 0) /* the Conn is gone */
		qc->b.fd_eof = true, qc->b.rx_len = 0;
	if (r >= 0)
		r = quic_bridge_write(&qc->b);
	if (r < 0) {
		qc_close(qc, r);
		return;
	}
	if (quic_bridge_finished(&qc->b)) {
		qc_close(qc, 0);
		return;
	}
	ngtcp2_tstamp exp = ngtcp2_conn_get_expiry(qc->b.conn);
	if (exp != UINT64_MAX) {
		uint64_t usec = exp / 1000 + 1;
		/* accuracy 1 us: sd-event's default (0) would let a
		 * retransmission or paced packet wait up to 250 ms */
		if (!qc->timer)
			r = sd_event_add_time(qc->qw->w->event, &qc->timer, CLOCK_MONOTONIC, usec, 1, on_qc_timer,
					      qc);
		else {
			r = sd_event_source_set_time(qc->timer, usec);
			if (r >= 0)
				r = sd_event_source_set_enabled(qc->timer, SD_EVENT_ONESHOT);
		}
	}
	if (r >= 0 && qc->io)
		r = sd_event_source_set_io_events(qc->io, quic_bridge_fd_events(&qc->b));
	if (r < 0)
		qc_close(qc, 0);
}

static int on_qc_timer(sd_event_source *s, uint64_t usec, void *userdata) {
	QuicConn *qc = userdata;
	(void)s, (void)usec;
	int r = ngtcp2_conn_handle_expiry(qc->b.conn, quic_now_ns());
	if (r == NGTCP2_ERR_IDLE_CLOSE) {
		qc_free(qc);
		return 0;
	}
	qc_after(qc, r);
	return 0;
}

static int on_qc_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
	QuicConn *qc = userdata;
	(void)s, (void)fd;
	int r = 0;
	if (revents & EPOLLOUT)
		r = quic_bridge_flush_rx(&qc->b);
	if (r >= 0 && (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		r = quic_bridge_read_fd(&qc->b);
	if (r < 0) /* the Conn is gone: nothing more can be delivered */
		qc->b.fd_eof = true, qc->b.rx_len = 0, r = 0;
	qc_after(qc, r);
	return 0;
}

/* ---- audit ---- */

static void qc_audit_decision(QuicConn *qc, const QuicAccessDecision *d) {
	static const AuditEventId ids[] = {
		[QUIC_ACCESS_ALLOWED] = AUDIT_SERVER_QUIC_ACCESS_ALLOWED,
		[QUIC_ACCESS_DENIED] = AUDIT_SERVER_QUIC_ACCESS_DENIED,
		[QUIC_ACCESS_ERROR] = AUDIT_SERVER_QUIC_ACCESS_ERROR,
	};
	_cleanup_free_ AuditField *f = NULL;
	_cleanup_free_ char *matched = NULL;
	int n = quic_access_audit_fields(d, qc->id, &matched, &f);
	if (n < 0) {
		AuditField e[] = { { "reason", "out of memory" }, { "connection_id", qc->id } };
		server_audit(qc_server(qc), AUDIT_SERVER_QUIC_ACCESS_ERROR, qc->peer, e, ELEMENTSOF(e));
		return;
	}
	server_audit(qc_server(qc), ids[d->verdict], qc->peer, f, (size_t)n);
}

static void qc_audit_connection(QuicConn *qc, const char *access) {
	const char *version = gnutls_protocol_get_name(gnutls_protocol_get_version(qc->tls));
	const char *cipher = gnutls_cipher_get_name(gnutls_cipher_get(qc->tls));
	gnutls_datum_t alpn = {};
	char alpn_text[32] = "";
	if (gnutls_alpn_get_selected_protocol(qc->tls, &alpn) == 0)
		snprintf(alpn_text, sizeof(alpn_text), "%.*s", (int)alpn.size, (const char *)alpn.data);
	AuditField f[] = {
		{ "connection_id", qc->id },
		{ "transport", "quic" },
		{ "tls_version", version ? version : "" },
		{ "cipher", cipher ? cipher : "" },
		{ "alpn", alpn_text },
		{ "client_access", access },
		{ "cert_sha256", qc->client_sha256 },
		{ "cert_issuer", qc->client_issuer ? qc->client_issuer : "" },
	};
	server_audit(qc_server(qc), AUDIT_SERVER_QUIC_CONNECTION, qc->peer, f, ELEMENTSOF(f));
}

/* GnuTLS verify callback: the client chain against the policy lists. */
static int on_verify_client(gnutls_session_t tls) {
	ngtcp2_crypto_conn_ref *ref = gnutls_session_get_ptr(tls);
	QuicConn *qc = ref->user_data;
	Config *cfg = qc->qw->w->config;
	unsigned n = 0;
	const gnutls_datum_t *peers = gnutls_certificate_get_peers(tls, &n);
	QuicDer chain[16];
	if (!peers)
		n = 0;
	if (n > ELEMENTSOF(chain))
		n = ELEMENTSOF(chain) + 1; /* quic_access refuses an over-long chain */
	for (unsigned i = 0; i < n && i < ELEMENTSOF(chain); i++)
		chain[i] = (QuicDer) { peers[i].data, peers[i].size };
	QuicAccessDecision d;
	int r = quic_access_decide(chain, n > ELEMENTSOF(chain) ? 17 : n, cfg->quic_allow, cfg->quic_block, &d);
	if (r < 0) {
		AuditField e[] = { { "reason", "out of memory" }, { "connection_id", qc->id } };
		server_audit(qc_server(qc), AUDIT_SERVER_QUIC_ACCESS_ERROR, qc->peer, e, ELEMENTSOF(e));
		return GNUTLS_E_CERTIFICATE_ERROR;
	}
	qc_audit_decision(qc, &d);
	bool ok = d.verdict == QUIC_ACCESS_ALLOWED;
	if (ok && d.n_certs > 0) {
		memcpy(qc->client_sha256, d.certs[0].sha256, sizeof(qc->client_sha256));
		qc->client_issuer = strdup(d.certs[0].issuer);
	}
	quic_access_decision_done(&d);
	return ok ? 0 : GNUTLS_E_CERTIFICATE_ERROR;
}

/* ---- ngtcp2 callbacks ---- */

static int on_new_cid(ngtcp2_conn *conn, ngtcp2_cid *cid, uint8_t *token, size_t cidlen, void *userdata) {
	QuicConn *qc = userdata;
	(void)conn;
	if (qc->n_cids >= QUIC_MAX_CIDS || quic_bridge_new_cid(cid, token, cidlen) < 0)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	qc->cids[qc->n_cids++] = *cid;
	return 0;
}

static int on_handshake_completed(ngtcp2_conn *conn, void *userdata) {
	QuicConn *qc = userdata;
	Worker *w = qc->qw->w;
	(void)conn;
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp) < 0)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	int size = 4 * 1024 * 1024;
	(void)setsockopt(sp[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	(void)setsockopt(sp[0], SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	qc->b.fd = sp[1];
	Conn *c;
	if (conn_new(w, sp[0], &qc->remote, &c) < 0) /* takes sp[0] */
		return NGTCP2_ERR_CALLBACK_FAILURE;
	c->quic = true;
	if (sd_event_add_io(w->event, &qc->io, qc->b.fd, EPOLLIN, on_qc_io, qc) < 0)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	qc->handshake_done = true;
	qc->b.pace = true;
	qc_audit_connection(qc, w->config->quic_client_access_required ? "allowed" : "not-required");
	return quic_bridge_flush_rx(&qc->b) < 0 ? NGTCP2_ERR_CALLBACK_FAILURE : 0;
}

static int on_stream_close(ngtcp2_conn *conn, uint32_t flags, int64_t stream_id, uint64_t app_error_code,
			   void *userdata, void *stream_userdata) {
	QuicConn *qc = userdata;
	(void)conn, (void)flags, (void)app_error_code, (void)stream_userdata;
	if (stream_id == qc->b.stream_id)
		qc->failed = true; /* SMB's stream ended: the connection ends */
	return 0;
}

static const ngtcp2_callbacks quic_callbacks = {
	QUIC_BRIDGE_CALLBACKS,
	.recv_client_initial = ngtcp2_crypto_recv_client_initial_cb,
	.handshake_completed = on_handshake_completed,
	.stream_close = on_stream_close,
	.get_new_connection_id = on_new_cid,
};

static ngtcp2_conn *get_conn(ngtcp2_crypto_conn_ref *ref) {
	return ((QuicConn *)ref->user_data)->b.conn;
}

/* ---- accepting ---- */

static int qc_tls_new(QuicConn *qc) {
	QuicWorker *qw = qc->qw;
	qc->cred = quic_cred_get(qw);
	if (!qc->cred)
		return -EINVAL;
	int r = gnutls_init(&qc->tls, GNUTLS_SERVER | GNUTLS_NO_AUTO_SEND_TICKET | GNUTLS_NO_END_OF_EARLY_DATA);
	if (r < 0)
		return -ENOMEM;
	if (ngtcp2_crypto_gnutls_configure_server_session(qc->tls) != 0 ||
	    gnutls_priority_set(qc->tls, qw->prio) < 0 ||
	    gnutls_credentials_set(qc->tls, GNUTLS_CRD_CERTIFICATE, qc->cred->cred) < 0 ||
	    gnutls_alpn_set_protocols(qc->tls, &alpn_smb, 1, GNUTLS_ALPN_MANDATORY) < 0)
		return -EIO;
	if (qw->w->config->quic_client_access_required)
		gnutls_certificate_server_set_request(qc->tls, GNUTLS_CERT_REQUIRE);
	qc->ref = (ngtcp2_crypto_conn_ref) { get_conn, qc };
	gnutls_session_set_ptr(qc->tls, &qc->ref);
	return 0;
}

static QuicConn *qc_accept(QuicSocket *sock, const uint8_t *pkt, size_t len,
			   const struct sockaddr_storage *remote, socklen_t remote_len) {
	QuicWorker *qw = sock->qw;
	ngtcp2_pkt_hd hd;
	if (ngtcp2_accept(&hd, pkt, len) != 0 || !qw->w->config->quic_enabled)
		return NULL;
	if (qw->n_conns >= QUIC_MAX_CONNS) {
		if (!qw->warned_limit)
			fprintf(stderr, "smbrefd: QUIC connection limit (%u per worker) reached: new clients dropped\n",
				QUIC_MAX_CONNS);
		qw->warned_limit = true;
		return NULL;
	}
	QuicConn *qc = calloc(1, sizeof(*qc));
	if (!qc)
		return NULL;
	qc->qw = qw;
	qc->sock = sock;
	qc->b = (QuicBridge) { .fd = -1, .stream_id = -1, .send = qc_send, .userdata = qc };
	memcpy(&qc->remote, remote, remote_len);
	qc->remote_len = remote_len;
	format_peer(remote, qc->peer, sizeof(qc->peer));
	qc->odcid = hd.dcid;
	qc->next = qw->conns;
	if (qw->conns)
		qw->conns->prev = qc;
	qw->conns = qc;
	qw->n_conns++;

	ngtcp2_cid scid = { .datalen = QUIC_SCID_LEN };
	(void)gnutls_rnd(GNUTLS_RND_RANDOM, scid.data, scid.datalen);
	qc->cids[qc->n_cids++] = scid;
	hex_encode(scid.data, scid.datalen, qc->id);

	ngtcp2_settings settings;
	quic_bridge_settings(&settings);
	ngtcp2_transport_params params;
	quic_bridge_transport_params(&params);
	params.original_dcid = hd.dcid;
	ngtcp2_path path = {
		.local = { (ngtcp2_sockaddr *)&sock->local, sock->local_len },
		.remote = { (ngtcp2_sockaddr *)&qc->remote, qc->remote_len },
	};
	if (ngtcp2_conn_server_new(&qc->b.conn, &hd.scid, &scid, &path, hd.version, &quic_callbacks, &settings,
				   &params, NULL, qc) != 0 ||
	    qc_tls_new(qc) < 0) {
		qc_free(qc);
		return NULL;
	}
	ngtcp2_conn_set_tls_native_handle(qc->b.conn, qc->tls);
	return qc;
}

static QuicConn *qc_find(QuicWorker *qw, const uint8_t *dcid, size_t len) {
	for (QuicConn *qc = qw->conns; qc; qc = qc->next) {
		if (qc->odcid.datalen == len && memcmp(qc->odcid.data, dcid, len) == 0)
			return qc;
		for (size_t i = 0; i < qc->n_cids; i++)
			if (qc->cids[i].datalen == len && memcmp(qc->cids[i].data, dcid, len) == 0)
				return qc;
	}
	return NULL;
}

/* A handshake that failed: say why in the audit log when the client's
 * certificate was missing (alert 116); refusals by the verify callback are
 * already audited. */
static void qc_handshake_failed(QuicConn *qc) {
	if (ngtcp2_conn_get_tls_alert(qc->b.conn) != 116 /* certificate_required */)
		return;
	QuicAccessDecision d;
	if (quic_access_decide(NULL, 0, NULL, NULL, &d) < 0)
		return;
	qc_audit_decision(qc, &d);
	quic_access_decision_done(&d);
}

/* RFC 9000 6.1: answer a version we do not speak with the ones we do. */
static void quic_send_version_negotiation(QuicSocket *sock, const ngtcp2_version_cid *vc,
					  const struct sockaddr_storage *remote, socklen_t remote_len) {
	static const uint32_t versions[] = { NGTCP2_PROTO_VER_V1 };
	uint8_t buf[256], rnd;
	(void)gnutls_rnd(GNUTLS_RND_NONCE, &rnd, 1);
	ngtcp2_ssize n = ngtcp2_pkt_write_version_negotiation(buf, sizeof(buf), rnd, vc->scid, vc->scidlen,
							      vc->dcid, vc->dcidlen, versions,
							      ELEMENTSOF(versions));
	if (n > 0)
		quic_sendmsg(sock->fd, (const struct sockaddr *)remote, remote_len, buf, (size_t)n, (size_t)n);
}

static void qc_on_datagram(QuicSocket *sock, const uint8_t *pkt, size_t len,
			   const struct sockaddr_storage *remote, socklen_t remote_len) {
	ngtcp2_version_cid vc;
	int v = ngtcp2_pkt_decode_version_cid(&vc, pkt, len, QUIC_SCID_LEN);
	if (v == NGTCP2_ERR_VERSION_NEGOTIATION) {
		quic_send_version_negotiation(sock, &vc, remote, remote_len);
		return;
	}
	if (v != 0)
		return;
	QuicConn *qc = qc_find(sock->qw, vc.dcid, vc.dcidlen);
	if (!qc)
		qc = qc_accept(sock, pkt, len, remote, remote_len);
	if (!qc)
		return;
	ngtcp2_path path = {
		.local = { (ngtcp2_sockaddr *)&sock->local, sock->local_len },
		.remote = { (ngtcp2_sockaddr *)remote, remote_len },
	};
	ngtcp2_pkt_info pi = {};
	int r = ngtcp2_conn_read_pkt(qc->b.conn, &path, &pi, pkt, len, quic_now_ns());
	if (r == NGTCP2_ERR_DRAINING || r == NGTCP2_ERR_DROP_CONN) {
		qc_free(qc);
		return;
	}
	if (r < 0 && !qc->handshake_done)
		qc_handshake_failed(qc);
	qc_after(qc, r);
}

static int on_udp(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
	QuicSocket *sock = userdata;
	(void)s, (void)revents;
	static __thread uint8_t buf[65536];
	for (int i = 0; i < QUIC_DGRAMS_PER_READ; i++) {
		struct sockaddr_storage remote;
		socklen_t rlen = sizeof(remote);
		size_t seg;
		ssize_t n = quic_recvmsg(fd, buf, sizeof(buf), &remote, &rlen, &seg);
		if (n < 0)
			break;
		for (size_t off = 0; off < (size_t)n; off += seg) /* GRO: several datagrams */
			qc_on_datagram(sock, buf + off, (size_t)n - off < seg ? (size_t)n - off : seg, &remote, rlen);
	}
	return 0;
}

/* ---- attach / detach ---- */

static int quic_socket_open(const Listen *l, QuicSocket *sock) {
	_cleanup_close_ int fd = socket(l->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		return -errno;
	if (l->addr.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		return -errno;
	if (bind(fd, (const struct sockaddr *)&l->addr, l->addr_len) < 0)
		return -errno;
	quic_tune_socket(fd);
	sock->local = l->addr;
	sock->local_len = l->addr_len;
	sock->fd = TAKE_FD(fd);
	return 0;
}

static QuicCred *quic_cred_unref(QuicCred *c) {
	if (c && atomic_fetch_sub(&c->refs, 1) == 1) {
		gnutls_certificate_free_credentials(c->cred);
		free(c->certificate);
		free(c->key);
		free(c);
	}
	return NULL;
}

/* Load and check the certificate and key named by cfg (errors printed). */
static int quic_cred_load(const Config *cfg, QuicCred **ret) {
	const char *why = NULL;
	if (!cfg->quic_certificate || !cfg->quic_certificate[0] || !cfg->quic_key || !cfg->quic_key[0]) {
		fprintf(stderr, "smbrefd: --listen quic: needs server.quic.certificate and server.quic.key in the policy\n");
		return -EINVAL;
	}
	QuicCred *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	atomic_init(&c->refs, 1);
	c->certificate = strdup(cfg->quic_certificate);
	c->key = strdup(cfg->quic_key);
	if (!c->certificate || !c->key || gnutls_certificate_allocate_credentials(&c->cred) < 0) {
		quic_cred_unref(c);
		return -ENOMEM;
	}
	int r = gnutls_certificate_set_x509_key_file2(c->cred, c->certificate, c->key, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (r < 0) {
		fprintf(stderr, "smbrefd: server.quic.certificate %s / server.quic.key %s: %s\n", c->certificate,
			c->key, gnutls_strerror(r));
		quic_cred_unref(c);
		return -EINVAL;
	}
	gnutls_datum_t der = {};
	r = gnutls_certificate_get_crt_raw(c->cred, 0, 0, &der);
	if (r < 0 || quic_access_check_server_cert(der.data, der.size, &why) < 0) {
		fprintf(stderr, "smbrefd: server.quic.certificate %s refused: %s\n", c->certificate,
			why ? why : gnutls_strerror(r));
		quic_cred_unref(c);
		return -EINVAL;
	}
	gnutls_certificate_set_verify_function(c->cred, on_verify_client);
	*ret = c;
	return 0;
}

/* The credentials for a new connection, referenced (NULL: none usable).
 * After SIGHUP, a policy naming another certificate or key is loaded for
 * new connections; one that cannot be loaded leaves the last good one in
 * force (said on stderr).  Connections keep what they started with. */
static QuicCred *quic_cred_get(QuicWorker *qw) {
	const Config *cfg = qw->w->config;
	pthread_mutex_lock(&quic_cred_lock);
	QuicCred *cur = quic_cred_current;
	if (cfg != qw->cred_checked) {
		qw->cred_checked = cfg;
		QuicCred *n;
		if (cur && streq_ptr(cfg->quic_certificate, cur->certificate) && streq_ptr(cfg->quic_key, cur->key))
			; /* unchanged */
		else if (quic_cred_load(cfg, &n) == 0) {
			quic_cred_unref(cur);
			quic_cred_current = cur = n;
		} else if (cur)
			fprintf(stderr, "smbrefd: QUIC keeps serving %s\n", cur->certificate);
	}
	if (cur)
		atomic_fetch_add(&cur->refs, 1);
	pthread_mutex_unlock(&quic_cred_lock);
	return cur;
}

int transport_quic_attach(Worker *w) {
	Server *s = w->server;
	size_t n = 0;
	for (size_t i = 0; i < s->n_listens; i++)
		n += s->listens[i].quic;
	if (n == 0)
		return 0;
	QuicWorker *qw = calloc(1, sizeof(*qw));
	if (!qw)
		return -ENOMEM;
	w->quic = qw;
	qw->w = w;
	qw->socks = calloc(n, sizeof(QuicSocket));
	if (!qw->socks)
		return -ENOMEM;
	pthread_mutex_lock(&quic_cred_lock);
	quic_cred_workers++;
	pthread_mutex_unlock(&quic_cred_lock);
	QuicCred *cred = quic_cred_get(qw); /* at start a bad certificate is fatal */
	if (!cred)
		return -EINVAL;
	quic_cred_unref(cred);
	int r;
	const char *err = NULL;
	r = gnutls_priority_init(&qw->prio, QUIC_TLS_PRIORITY, &err);
	if (r < 0) {
		fprintf(stderr, "smbrefd: QUIC TLS priority at \"%s\": %s\n", err ? err : "", gnutls_strerror(r));
		return -EINVAL;
	}
	for (size_t i = 0; i < s->n_listens; i++) {
		if (!s->listens[i].quic)
			continue;
		QuicSocket *sock = &qw->socks[qw->n_socks];
		sock->qw = qw;
		r = quic_socket_open(&s->listens[i], sock);
		if (r < 0) {
			fprintf(stderr, "smbrefd: listen %s: %s\n", s->listens[i].text, strerror(-r));
			return r;
		}
		qw->n_socks++;
		r = sd_event_add_io(w->event, &sock->io, sock->fd, EPOLLIN, on_udp, sock);
		if (r < 0)
			return r;
	}
	return 0;
}

void transport_quic_detach(Worker *w) {
	QuicWorker *qw = w->quic;
	if (!qw)
		return;
	while (qw->conns)
		qc_close(qw->conns, 0);
	for (size_t i = 0; i < qw->n_socks; i++) {
		sd_event_source_disable_unref(qw->socks[i].io);
		close(qw->socks[i].fd);
	}
	free(qw->socks);
	pthread_mutex_lock(&quic_cred_lock);
	if (--quic_cred_workers == 0)
		quic_cred_current = quic_cred_unref(quic_cred_current);
	pthread_mutex_unlock(&quic_cred_lock);
	if (qw->prio)
		gnutls_priority_deinit(qw->prio);
	free(qw);
	w->quic = NULL;
}
