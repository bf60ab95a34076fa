/*
 * quic_client.c - SMB over QUIC client transport (ngtcp2 0.12.1 + GnuTLS):
 * handshake (TLS 1.3, ALPN "smb"), then a thread bridging stream 0 to a
 * socketpair with quic_bridge.c.  See quic_client.h.
 *
 * Threads: the caller waits (condition variable) until the bridge thread
 * reports the handshake done or failed; afterwards only the bridge thread
 * touches the ngtcp2_conn and the TLS session, until quic_client_free()
 * stops and joins it.
 *
 * Invariants: stream 0 is opened only after the server confirmed the
 * handshake (so after it accepted our certificate); the caller's socket
 * exists only then.
 * Must never: log; block the bridge thread anywhere but in poll().
 */
#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "quic_bridge.h"
#include "quic_client.h"
#include "util.h"

#define QUIC_CID_LEN 18
#define QUIC_POLL_MAX_MS 100 /* the stop flag is seen at least this often */

enum { QC_CONNECTING, QC_READY, QC_FAILED };

struct QuicClient {
	QuicBridge b; /* first: the shared ngtcp2 callbacks take it as user_data */
	pthread_t thread;
	bool started;
	int udp;
	struct sockaddr_storage local, remote;
	socklen_t local_len, remote_len;
	ngtcp2_crypto_conn_ref ref;
	gnutls_session_t tls;
	gnutls_certificate_credentials_t cred;
	bool handshake_done;
	int app_fd; /* the caller's end, handed out when READY */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int state;
	int error;
	uint8_t alert;
	atomic_bool stop;
	QuicClientInfo info;
};

_Static_assert(offsetof(QuicClient, b) == 0, "quic_bridge callbacks need the bridge first");

static void on_send(void *userdata, const uint8_t *pkts, size_t len, size_t segsize) {
	QuicClient *q = userdata;
	quic_sendmsg(q->udp, NULL, 0, pkts, len, segsize);
}

static int on_new_cid(ngtcp2_conn *conn, ngtcp2_cid *cid, uint8_t *token, size_t cidlen, void *userdata) {
	(void)conn, (void)userdata;
	return quic_bridge_new_cid(cid, token, cidlen);
}

/* Ready once the server confirmed the handshake (HANDSHAKE_DONE): it sends
 * that only after accepting our certificate, so a refusal (alert 42/116)
 * comes back from quic_client_connect instead of as EOF on the first read. */
static int on_handshake_confirmed(ngtcp2_conn *conn, void *userdata) {
	QuicClient *q = userdata;
	(void)conn;
	q->handshake_done = true;
	return 0;
}

static int on_stream_close(ngtcp2_conn *conn, uint32_t flags, int64_t stream_id, uint64_t app_error_code,
			   void *userdata, void *stream_userdata) {
	QuicClient *q = userdata;
	(void)conn, (void)flags, (void)app_error_code, (void)stream_userdata;
	if (stream_id == q->b.stream_id)
		q->b.fd_eof = true;
	return 0;
}

static const ngtcp2_callbacks client_callbacks = {
	QUIC_BRIDGE_CALLBACKS,
	.client_initial = ngtcp2_crypto_client_initial_cb,
	.handshake_confirmed = on_handshake_confirmed,
	.stream_close = on_stream_close,
	.recv_retry = ngtcp2_crypto_recv_retry_cb,
	.get_new_connection_id = on_new_cid,
};

static ngtcp2_conn *get_conn(ngtcp2_crypto_conn_ref *ref) {
	return ((QuicClient *)ref->user_data)->b.conn;
}

static void set_state(QuicClient *q, int state, int error) {
	pthread_mutex_lock(&q->lock);
	if (q->state == QC_CONNECTING) {
		q->state = state;
		q->error = error;
	}
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

static void fill_info(QuicClient *q) {
	const char *v = gnutls_protocol_get_name(gnutls_protocol_get_version(q->tls));
	const char *c = gnutls_cipher_get_name(gnutls_cipher_get(q->tls));
	snprintf(q->info.tls_version, sizeof(q->info.tls_version), "%s", v ? v : "");
	snprintf(q->info.cipher, sizeof(q->info.cipher), "%s", c ? c : "");
	gnutls_datum_t alpn = {};
	if (gnutls_alpn_get_selected_protocol(q->tls, &alpn) == 0)
		snprintf(q->info.alpn, sizeof(q->info.alpn), "%.*s", (int)alpn.size, (const char *)alpn.data);
	unsigned n = 0;
	const gnutls_datum_t *peers = gnutls_certificate_get_peers(q->tls, &n);
	uint8_t md[32];
	if (peers && n > 0 && gnutls_hash_fast(GNUTLS_DIG_SHA256, peers[0].data, peers[0].size, md) == 0)
		hex_encode(md, sizeof(md), q->info.server_sha256);
}

/* The handshake is done: open stream 0 and hand the caller its socket. */
static int become_ready(QuicClient *q) {
	int sp[2];
	if (!streq(q->info.alpn, QUIC_ALPN))
		return -EPROTO;
	if (ngtcp2_conn_open_bidi_stream(q->b.conn, &q->b.stream_id, NULL) != 0)
		return -EPROTO;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		return -errno;
	int size = 4 * 1024 * 1024;
	(void)setsockopt(sp[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	(void)setsockopt(sp[0], SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (fcntl(sp[1], F_SETFL, O_NONBLOCK) < 0) { /* ours; the caller's end blocks */
		int r = -errno;
		close(sp[0]);
		close(sp[1]);
		return r;
	}
	q->b.fd = sp[1];
	q->app_fd = sp[0];
	q->b.pace = true;
	return 0;
}

static void read_datagrams(QuicClient *q, int *r) {
	static __thread uint8_t buf[65536];
	for (int i = 0; i < 64 && *r == 0; i++) {
		size_t seg;
		ssize_t n = quic_recvmsg(q->udp, buf, sizeof(buf), NULL, NULL, &seg);
		if (n < 0)
			return;
		ngtcp2_path path = {
			.local = { (ngtcp2_sockaddr *)&q->local, q->local_len },
			.remote = { (ngtcp2_sockaddr *)&q->remote, q->remote_len },
		};
		ngtcp2_pkt_info pi = {};
		for (size_t off = 0; off < (size_t)n && *r == 0; off += seg) /* GRO: several datagrams */
			*r = ngtcp2_conn_read_pkt(q->b.conn, &path, &pi, buf + off,
						  (size_t)n - off < seg ? (size_t)n - off : seg, quic_now_ns());
	}
}

/* The TLS alert behind the server's CONNECTION_CLOSE (0x100 + alert). */
static uint8_t peer_alert(QuicClient *q) {
	ngtcp2_connection_close_error ccerr;
	ngtcp2_conn_get_connection_close_error(q->b.conn, &ccerr);
	if (ccerr.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_TRANSPORT && ccerr.error_code >= 0x100 &&
	    ccerr.error_code <= 0x1ff)
		return (uint8_t)(ccerr.error_code - 0x100);
	return 0;
}

static void *bridge_main(void *userdata) {
	QuicClient *q = userdata;
	int r = quic_bridge_write(&q->b); /* the Initial */
	while (r == 0 && !atomic_load(&q->stop)) {
		ngtcp2_tstamp exp = ngtcp2_conn_get_expiry(q->b.conn), now = quic_now_ns();
		int timeout = QUIC_POLL_MAX_MS;
		if (exp != UINT64_MAX) {
			uint64_t ms = exp > now ? (exp - now + 999999) / 1000000 : 0;
			if (ms < (uint64_t)timeout)
				timeout = (int)ms;
		}
		struct pollfd pfd[2] = { { .fd = q->udp, .events = POLLIN }, { .fd = q->b.fd, .events = 0 } };
		if (q->b.fd >= 0)
			pfd[1].events = (short)quic_bridge_fd_events(&q->b);
		if (poll(pfd, q->b.fd >= 0 ? 2 : 1, timeout) < 0 && errno != EINTR) {
			r = -errno;
			break;
		}
		if (pfd[0].revents & POLLIN)
			read_datagrams(q, &r);
		if (r == 0 && ngtcp2_conn_get_expiry(q->b.conn) <= quic_now_ns())
			r = ngtcp2_conn_handle_expiry(q->b.conn, quic_now_ns());
		if (r == 0 && q->handshake_done && q->b.fd < 0) {
			fill_info(q);
			int k = become_ready(q);
			if (k < 0) {
				set_state(q, QC_FAILED, k);
				r = NGTCP2_ERR_CALLBACK_FAILURE;
				break;
			}
			set_state(q, QC_READY, 0);
		}
		if (r == 0 && q->b.fd >= 0) {
			int k = quic_bridge_flush_rx(&q->b); /* what the datagrams brought */
			if (k >= 0 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
				k = quic_bridge_read_fd(&q->b);
			if (k < 0) /* the caller is gone */
				q->b.fd_eof = true, q->b.rx_len = 0;
		}
		if (r == 0)
			r = quic_bridge_write(&q->b);
		if (r == 0 && q->b.fd >= 0 && quic_bridge_finished(&q->b))
			break;
	}
	pthread_mutex_lock(&q->lock);
	bool connecting = q->state == QC_CONNECTING;
	pthread_mutex_unlock(&q->lock);
	if (connecting)
		q->alert = peer_alert(q);
	/* We refused the server's certificate (chain or name): say so apart
	 * from a server that refused us. */
	bool untrusted = connecting && !q->alert && gnutls_session_get_verify_cert_status(q->tls) != 0;
	quic_bridge_close(&q->b, r == NGTCP2_ERR_CALLBACK_FAILURE ? 0 : r);
	set_state(q, QC_FAILED, untrusted     ? -EKEYREJECTED
				: q->alert    ? -ECONNREFUSED
				: r == NGTCP2_ERR_IDLE_CLOSE ? -ETIMEDOUT
							     : -ECONNRESET);
	if (q->b.fd >= 0) {
		close(q->b.fd); /* the caller reads EOF */
		q->b.fd = -1;
	}
	return NULL;
}

static int tls_setup(QuicClient *q, const QuicClientParams *p) {
	static const gnutls_datum_t alpn = { (unsigned char *)QUIC_ALPN, sizeof(QUIC_ALPN) - 1 };
	if (gnutls_certificate_allocate_credentials(&q->cred) < 0)
		return -ENOMEM;
	if (p->cert_file && gnutls_certificate_set_x509_key_file2(q->cred, p->cert_file, p->key_file,
								  GNUTLS_X509_FMT_PEM, NULL, 0) < 0)
		return -EINVAL;
	if (!p->insecure && p->ca_file &&
	    gnutls_certificate_set_x509_trust_file(q->cred, p->ca_file, GNUTLS_X509_FMT_PEM) <= 0)
		return -EINVAL;
	if (!p->insecure && !p->ca_file && gnutls_certificate_set_x509_system_trust(q->cred) <= 0)
		return -ENOENT; /* no trust anchor: nothing could be verified */
	if (gnutls_init(&q->tls, GNUTLS_CLIENT | GNUTLS_NO_END_OF_EARLY_DATA) < 0)
		return -ENOMEM;
	if (ngtcp2_crypto_gnutls_configure_client_session(q->tls) != 0 ||
	    gnutls_priority_set_direct(q->tls, QUIC_TLS_PRIORITY, NULL) < 0 ||
	    gnutls_credentials_set(q->tls, GNUTLS_CRD_CERTIFICATE, q->cred) < 0 ||
	    gnutls_alpn_set_protocols(q->tls, &alpn, 1, GNUTLS_ALPN_MANDATORY) < 0)
		return -EIO;
	if (p->server_name &&
	    gnutls_server_name_set(q->tls, GNUTLS_NAME_DNS, p->server_name, strlen(p->server_name)) < 0)
		return -EINVAL;
	/* Chain and host name are checked during the handshake: a server
	 * that fails is closed with a TLS alert, before any SMB byte. */
	if (!p->insecure)
		gnutls_session_set_verify_cert(q->tls, p->server_name, 0);
	q->ref = (ngtcp2_crypto_conn_ref) { get_conn, q };
	gnutls_session_set_ptr(q->tls, &q->ref);
	return 0;
}

static int conn_setup(QuicClient *q, const struct sockaddr *addr, socklen_t addrlen) {
	q->udp = socket(addr->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (q->udp < 0)
		return -errno;
	if (connect(q->udp, addr, addrlen) < 0)
		return -errno;
	quic_tune_socket(q->udp);
	memcpy(&q->remote, addr, addrlen);
	q->remote_len = addrlen;
	q->local_len = sizeof(q->local);
	if (getsockname(q->udp, (struct sockaddr *)&q->local, &q->local_len) < 0)
		return -errno;
	ngtcp2_cid dcid = { .datalen = QUIC_CID_LEN }, scid = { .datalen = QUIC_CID_LEN };
	if (gnutls_rnd(GNUTLS_RND_RANDOM, dcid.data, dcid.datalen) < 0 ||
	    gnutls_rnd(GNUTLS_RND_RANDOM, scid.data, scid.datalen) < 0)
		return -EIO;
	ngtcp2_settings settings;
	quic_bridge_settings(&settings);
	ngtcp2_transport_params params;
	quic_bridge_transport_params(&params);
	ngtcp2_path path = {
		.local = { (ngtcp2_sockaddr *)&q->local, q->local_len },
		.remote = { (ngtcp2_sockaddr *)&q->remote, q->remote_len },
	};
	if (ngtcp2_conn_client_new(&q->b.conn, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1, &client_callbacks,
				   &settings, &params, NULL, q) != 0)
		return -ENOMEM;
	ngtcp2_conn_set_tls_native_handle(q->b.conn, q->tls);
	return 0;
}

void quic_client_free(QuicClient *q) {
	if (!q)
		return;
	if (q->started) {
		atomic_store(&q->stop, true);
		pthread_join(q->thread, NULL);
	}
	if (q->app_fd >= 0 && q->state != QC_READY)
		close(q->app_fd); /* never handed out */
	quic_bridge_done(&q->b);
	if (q->b.conn)
		ngtcp2_conn_del(q->b.conn);
	if (q->tls)
		gnutls_deinit(q->tls);
	if (q->cred)
		gnutls_certificate_free_credentials(q->cred);
	if (q->udp >= 0)
		close(q->udp);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->cond);
	free(q);
}

int quic_client_connect(const struct sockaddr *addr, socklen_t addrlen, const QuicClientParams *p,
			QuicClient **ret, int *ret_fd, QuicClientInfo *ret_info, uint8_t *ret_alert) {
	QuicClient *q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->udp = q->app_fd = -1;
	q->b = (QuicBridge) { .fd = -1, .stream_id = -1, .send = on_send, .userdata = q };
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	*ret_alert = 0;
	int r = tls_setup(q, p);
	if (r >= 0)
		r = conn_setup(q, addr, addrlen);
	if (r >= 0)
		r = -pthread_create(&q->thread, NULL, bridge_main, q);
	if (r < 0) {
		quic_client_free(q);
		return r;
	}
	q->started = true;
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	unsigned ms = p->timeout_ms ? p->timeout_ms : 10000;
	deadline.tv_sec += ms / 1000;
	deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L)
		deadline.tv_sec++, deadline.tv_nsec -= 1000000000L;
	pthread_mutex_lock(&q->lock);
	while (q->state == QC_CONNECTING)
		if (pthread_cond_timedwait(&q->cond, &q->lock, &deadline) == ETIMEDOUT) {
			q->state = QC_FAILED;
			q->error = -ETIMEDOUT;
		}
	int state = q->state, error = q->error;
	pthread_mutex_unlock(&q->lock);
	if (state != QC_READY) {
		atomic_store(&q->stop, true);
		pthread_join(q->thread, NULL);
		q->started = false;
		*ret_alert = q->alert;
		quic_client_free(q);
		return error < 0 ? error : -ECONNRESET;
	}
	*ret_fd = q->app_fd;
	*ret_info = q->info;
	*ret = q;
	return 0;
}
