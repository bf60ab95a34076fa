/*
 * client.c - the reference SMB2/3 client: transport seam (TCP, QUIC, SMB
 * Direct), message framing, credits, signing/encryption of requests and
 * checking of responses, NEGOTIATE, SESSION_SETUP, TREE_CONNECT, CREATE,
 * CLOSE, READ, WRITE (with the RDMA channel over SMB Direct),
 * QUERY_DIRECTORY ([MS-SMB2] 3.2).
 *
 * Request layout: every request is built in one Smb2Buf whose first
 * MSG_PREFIX bytes are reserved (the transform header right before the
 * message, which starts 8-byte aligned), so encryption happens in place
 * (smb3_encrypt) and the plaintext path simply skips them.
 *
 * Invariants: see client.h (credits, protection of every request once the
 * session has keys, no plaintext response but ACCESS_DENIED accepted on
 * an encrypting session).  The 3.1.1 pre-auth hash covers exactly the NEGOTIATE pair and
 * the SESSION_SETUP pairs except the final success response.
 * RDMA channel ([MS-SMB2] 3.2.4.6, 3.2.4.7; [MS-SMBD] 2.2.3.1): each
 * READ/WRITE that goes by RDMA has its own buffer slot, registered for
 * the server just before the request and deregistered when its response
 * came, or before the transfer gives up (never freed while registered).
 *
 * Must never: log; send a request whose charge the granted credits do not
 * cover; read past a frame or a field the server announced; hand the
 * server an RDMA descriptor on an encrypting session.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "client.h"
#include "quic_client.h"
#include "rdma_client.h"
#include "crypto.h"
#include "spnego.h"
#include "util.h"

#define CLIENT_CREDIT_REQUEST 256
#define CLIENT_MAX_FRAME (16u * 1024u * 1024u + 4096u)
#define CLIENT_IO_CHUNK (1024u * 1024u)
#define CLIENT_IO_INFLIGHT (8u * 1024u * 1024u)
#define CLIENT_PID 0xfeff

/* ---- transports ---------------------------------------------------------- */

/* The seam every transport fills: TCP here; QUIC (its own issue) and the
 * fuzzer's in-memory peer keep their state behind userdata. */
typedef struct Transport {
	int (*send)(struct Transport *t, const struct iovec *iov, int n);
	int (*recv)(struct Transport *t, uint8_t *buf, size_t len);
	int fd;         /* closed by smb_client_free when >= 0 */
	void *userdata;
} Transport;

static int tcp_send(Transport *t, const struct iovec *iov, int n) {
	struct iovec v[4];
	memcpy(v, iov, sizeof(*iov) * (size_t)n);
	struct iovec *p = v;
	while (n > 0) {
		struct msghdr mh = { .msg_iov = p, .msg_iovlen = (size_t)n };
		ssize_t k = sendmsg(t->fd, &mh, MSG_NOSIGNAL);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		while (n > 0 && (size_t)k >= p->iov_len) {
			k -= (ssize_t)p->iov_len;
			p++;
			n--;
		}
		if (n > 0) {
			p->iov_base = (uint8_t *)p->iov_base + k;
			p->iov_len -= (size_t)k;
		}
	}
	return 0;
}

static int tcp_recv(Transport *t, uint8_t *buf, size_t len) {
	while (len > 0) {
		ssize_t k = recv(t->fd, buf, len, 0);
		if (k == 0)
			return -ECONNRESET;
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		buf += k;
		len -= (size_t)k;
	}
	return 0;
}

/* ---- the client ---------------------------------------------------------- */

struct SmbClient {
	Transport t;
	char *host;
	uint64_t next_mid;
	unsigned credits;
	SmbNegotiateInfo neg;
	bool negotiated;
	uint8_t *server_blob; /* NEGOTIATE response security buffer */
	size_t server_blob_len;
	uint8_t preauth[SMB2_CRYPTO_PREAUTH_SIZE];
	uint64_t session_id;
	uint32_t tree_id;
	Smb2Keys keys;
	Smb3Cipher *enc, *dec;
	bool signing, encrypting, established;
	unsigned unprotected_next; /* SMB_NEXT_* */
	uint32_t last_status;
	char auth_error[256];
	uint8_t *rbuf; /* last received frame */
	size_t rbuf_cap;
	QuicClient *quic; /* SMB_TRANSPORT_QUIC: the bridge behind t.fd */
	QuicClientInfo quic_info;
	RdmaClient *rdma; /* SMB_TRANSPORT_RDMA: the bridge behind t.fd, and RDMA for READ/WRITE */
	RdmaClientInfo rdma_info;
	SmbIoStats io;
};

/* TCP: a connected socket to the first address that answers. */
static int tcp_connect(_unused_ SmbClient *c, struct addrinfo *ai, _unused_ const SmbConnectOptions *o,
		       int *ret_fd) {
	int r = -EHOSTUNREACH;
	for (struct addrinfo *a = ai; a; a = a->ai_next) {
		int fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			r = -errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
			*ret_fd = fd;
			return 0;
		}
		r = -errno;
		close(fd);
	}
	return r;
}

/* SMB over QUIC (quic_client.c): stream 0 as a socket, so tcp_send and
 * tcp_recv serve it unchanged.  TLS files from SMBREFC_QUIC_CERT, _KEY, _CA;
 * the server is verified unless insecure or SMBREFC_QUIC_INSECURE=1. */
static int quic_connect(SmbClient *c, struct addrinfo *ai, const SmbConnectOptions *o, int *ret_fd) {
	const char *no_verify = getenv("SMBREFC_QUIC_INSECURE");
	QuicClientParams p = { .server_name = c->host, .cert_file = getenv("SMBREFC_QUIC_CERT"),
			       .key_file = getenv("SMBREFC_QUIC_KEY"), .ca_file = getenv("SMBREFC_QUIC_CA"),
			       .insecure = (o->flags & SMB_CONNECT_QUIC_INSECURE) || (no_verify && streq(no_verify, "1")),
			       .timeout_ms = o->timeout_ms };
	int r = -EHOSTUNREACH;
	uint8_t alert;
	for (struct addrinfo *a = ai; a && r < 0; a = a->ai_next)
		r = quic_client_connect(a->ai_addr, a->ai_addrlen, &p, &c->quic, ret_fd, &c->quic_info, &alert);
	return r;
}

const char *smb_client_rdma_provider(const SmbConnectOptions *o) {
	const char *p = o && o->rdma_provider ? o->rdma_provider : getenv("SMBREFC_RDMA_PROVIDER");
	return p && *p ? p : NULL;
}

/* SMB Direct (rdma_client.c): the bridge's socket, read and written like
 * TCP; large READ/WRITE use c->rdma to register their buffers. */
static int rdma_connect(SmbClient *c, struct addrinfo *ai, const SmbConnectOptions *o, int *ret_fd) {
	const char *provider = smb_client_rdma_provider(o);
	int r = -EHOSTUNREACH;
	for (struct addrinfo *a = ai; a && r < 0; a = a->ai_next)
		r = rdma_client_connect(a->ai_addr, a->ai_addrlen, provider, o->timeout_ms, &c->rdma, ret_fd,
					&c->rdma_info);
	return r;
}

typedef int (*ConnectFn)(SmbClient *c, struct addrinfo *ai, const SmbConnectOptions *o, int *ret_fd);
static const struct {
	int socktype;
	ConnectFn connect;
} transport_kinds[] = {
	[SMB_TRANSPORT_TCP] = { SOCK_STREAM, tcp_connect },
	[SMB_TRANSPORT_QUIC] = { SOCK_DGRAM, quic_connect },
	[SMB_TRANSPORT_RDMA] = { SOCK_STREAM, rdma_connect },
};

int smb_client_connect(SmbTransportKind kind, const char *host, const char *address, uint16_t port,
		       unsigned timeout_ms, SmbClient **ret) {
	return smb_client_connect_flags(kind, host, address, port, timeout_ms, 0, ret);
}

int smb_client_connect_flags(SmbTransportKind kind, const char *host, const char *address, uint16_t port,
			     unsigned timeout_ms, unsigned flags, SmbClient **ret) {
	SmbConnectOptions o = { .timeout_ms = timeout_ms, .flags = flags };
	return smb_client_connect_opts(kind, host, address, port, &o, ret);
}

int smb_client_connect_opts(SmbTransportKind kind, const char *host, const char *address, uint16_t port,
			    const SmbConnectOptions *o, SmbClient **ret) {
	if ((size_t)kind >= ELEMENTSOF(transport_kinds))
		return -EPROTONOSUPPORT;
	_cleanup_(smb_client_freep) SmbClient *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->t = (Transport){ .send = tcp_send, .recv = tcp_recv, .fd = -1 };
	c->host = strdup(host);
	c->credits = 1;
	if (!c->host)
		return -ENOMEM;
	char service[8];
	snprintf(service, sizeof(service), "%u", port);
	struct addrinfo hints = { .ai_socktype = transport_kinds[kind].socktype }, *ai = NULL;
	if (getaddrinfo(address ? address : host, service, &hints, &ai) != 0 || !ai)
		return -EHOSTUNREACH;
	int r = transport_kinds[kind].connect(c, ai, o, &c->t.fd);
	freeaddrinfo(ai);
	if (r < 0)
		return r;
	int one = 1;
	setsockopt(c->t.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	unsigned timeout_ms = o->timeout_ms;
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
	setsockopt(c->t.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->t.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	*ret = TAKE_PTR(c);
	return 0;
}

void smb_client_free(SmbClient *c) {
	if (!c)
		return;
	if (c->t.fd >= 0)
		close(c->t.fd);
	quic_client_free(c->quic); /* after the close: its thread sees EOF */
	rdma_client_free(c->rdma);
	smb2_crypto_keys_clear(&c->keys);
	smb3_cipher_free(c->enc);
	smb3_cipher_free(c->dec);
	free(c->server_blob);
	free(c->rbuf);
	free(c->host);
	free(c);
}

uint32_t smb_client_last_status(const SmbClient *c) { return c->last_status; }

const QuicClientInfo *smb_client_quic_info(const SmbClient *c) { return c->quic ? &c->quic_info : NULL; }
const RdmaClientInfo *smb_client_rdma_info(const SmbClient *c) { return c->rdma ? &c->rdma_info : NULL; }
void smb_client_io_stats(const SmbClient *c, SmbIoStats *ret) { *ret = c->io; }
const char *smb_client_auth_error(const SmbClient *c) { return c->auth_error; }
void smb_client_next_unprotected(SmbClient *c, unsigned what) { c->unprotected_next = what; }

static const struct {
	uint32_t status;
	const char *name;
} status_names[] = {
	{ NT_STATUS_OK, "STATUS_SUCCESS" },
	{ NT_STATUS_ACCESS_DENIED, "STATUS_ACCESS_DENIED" },
	{ NT_STATUS_LOGON_FAILURE, "STATUS_LOGON_FAILURE" },
	{ NT_STATUS_NOT_SUPPORTED, "STATUS_NOT_SUPPORTED" },
	{ NT_STATUS_INVALID_PARAMETER, "STATUS_INVALID_PARAMETER" },
	{ NT_STATUS_BAD_NETWORK_NAME, "STATUS_BAD_NETWORK_NAME" },
	{ NT_STATUS_OBJECT_NAME_NOT_FOUND, "STATUS_OBJECT_NAME_NOT_FOUND" },
	{ NT_STATUS_OBJECT_PATH_NOT_FOUND, "STATUS_OBJECT_PATH_NOT_FOUND" },
	{ NT_STATUS_OBJECT_NAME_COLLISION, "STATUS_OBJECT_NAME_COLLISION" },
	{ NT_STATUS_FILE_IS_A_DIRECTORY, "STATUS_FILE_IS_A_DIRECTORY" },
	{ NT_STATUS_NOT_A_DIRECTORY, "STATUS_NOT_A_DIRECTORY" },
	{ NT_STATUS_DIRECTORY_NOT_EMPTY, "STATUS_DIRECTORY_NOT_EMPTY" },
	{ NT_STATUS_USER_SESSION_DELETED, "STATUS_USER_SESSION_DELETED" },
	{ NT_STATUS_INVALID_NETWORK_RESPONSE, "STATUS_INVALID_NETWORK_RESPONSE" },
	{ NT_STATUS_NOT_IMPLEMENTED, "STATUS_NOT_IMPLEMENTED" },
	{ NT_STATUS_SHARING_VIOLATION, "STATUS_SHARING_VIOLATION" },
};

const char *smb_status_name(uint32_t status, char buf[16]) {
	for (size_t i = 0; i < ELEMENTSOF(status_names); i++)
		if (status_names[i].status == status)
			return status_names[i].name;
	snprintf(buf, 16, "0x%08x", status);
	return buf;
}

/* //HOST[:PORT]/SHARE; IPv6 as //[::1]:PORT/SHARE. */
int smb_unc_parse(const char *unc, char **ret_host, uint16_t *ret_port, char **ret_share) {
	if (!startswith(unc, "//") && !startswith(unc, "\\\\"))
		return -EINVAL;
	const char *h = unc + 2, *end;
	const char *slash = strpbrk(h, "/\\");
	if (!slash || !slash[1])
		return -EINVAL;
	const char *colon = NULL;
	if (*h == '[') {
		end = memchr(h, ']', (size_t)(slash - h));
		if (!end)
			return -EINVAL;
		colon = end + 1 < slash && end[1] == ':' ? end + 1 : NULL;
		h++;
	} else {
		colon = memchr(h, ':', (size_t)(slash - h));
		end = colon ? colon : slash;
	}
	_cleanup_free_ char *host = strndup(h, (size_t)(end - h));
	_cleanup_free_ char *share = strdup(slash + 1);
	if (!host || !share)
		return -ENOMEM;
	*ret_port = 0;
	if (colon) {
		long long p;
		_cleanup_free_ char *ps = strndup(colon + 1, (size_t)(slash - colon - 1));
		if (!ps || parse_int64(ps, &p) < 0 || p < 1 || p > 65535)
			return -EINVAL;
		*ret_port = (uint16_t)p;
	}
	*ret_host = TAKE_PTR(host);
	*ret_share = TAKE_PTR(share);
	return 0;
}

/* ---- framing --------------------------------------------------------------- */

/* Requests start MSG_PREFIX bytes into their buffer: the transform header
 * sits just before the message, at offset 4, so the message itself (whose
 * negotiate contexts are 8-byte aligned) starts 8-byte aligned. */
#define MSG_PREFIX (4 + SMB3_TRANSFORM_HEADER_SIZE)

/* Start a request: reserve the transform header, the SMB2 header and a
 * zeroed body of body_len bytes; returns the body offset in b. */
static size_t msg_begin(Smb2Buf *b, size_t body_len) {
	smb2_buf_extend(b, MSG_PREFIX + SMB2_HDR_SIZE + body_len);
	return MSG_PREFIX + SMB2_HDR_SIZE;
}

/* Offsets inside a message count from the SMB2 header. */
#define MSG_OFF(b) ((b)->len - MSG_PREFIX)

/* Fill the header of the request in b, protect it and send it.  charge:
 * credits it consumes.  *ret_mid gets its message id. */
static int client_send(SmbClient *c, Smb2Buf *b, uint16_t command, unsigned charge,
		       uint64_t *ret_mid) {
	if (b->failed)
		return -ENOMEM;
	if (charge == 0)
		charge = 1;
	if (c->credits < charge)
		return -ENOBUFS;
	unsigned unprotected = c->unprotected_next;
	c->unprotected_next = 0;
	uint8_t *msg = b->data + MSG_PREFIX;
	size_t msg_len = b->len - MSG_PREFIX;
	bool encrypt = c->encrypting && !(unprotected & SMB_NEXT_UNENCRYPTED) &&
		       command != SMB2_NEGOTIATE && command != SMB2_SESSION_SETUP;
	bool sign = c->signing && !encrypt && !(unprotected & SMB_NEXT_UNSIGNED) &&
		    command != SMB2_NEGOTIATE && command != SMB2_SESSION_SETUP;
	Smb2Header h = {
		.credit_charge = c->neg.dialect > SMB2_DIALECT_202 ? (uint16_t)charge : 0,
		.command = command,
		.credits = CLIENT_CREDIT_REQUEST,
		.flags = sign ? SMB2_FLAGS_SIGNED : 0,
		.message_id = c->next_mid,
		.process_id = CLIENT_PID,
		.tree_id = c->tree_id,
		.session_id = c->session_id,
	};
	smb2_header_build(msg, &h);
	int r;
	if (sign) {
		r = smb2_crypto_sign(&c->keys, msg, msg_len);
		if (r < 0)
			return r;
	}
	const uint8_t *out = msg;
	size_t out_len = msg_len;
	if (encrypt) {
		r = smb3_encrypt(c->enc, c->session_id, msg - SMB3_TRANSFORM_HEADER_SIZE, msg_len);
		if (r < 0)
			return r;
		out = msg - SMB3_TRANSFORM_HEADER_SIZE;
		out_len = msg_len + SMB3_TRANSFORM_HEADER_SIZE;
	}
	uint8_t nb[4] = { 0, (uint8_t)(out_len >> 16), (uint8_t)(out_len >> 8), (uint8_t)out_len };
	struct iovec iov[2] = { { nb, 4 }, { (void *)out, out_len } };
	r = c->t.send(&c->t, iov, 2);
	if (r < 0)
		return r;
	c->credits -= charge;
	if (ret_mid)
		*ret_mid = c->next_mid;
	c->next_mid += charge;
	return 0;
}

/* Receive one response (interim STATUS_PENDING answers are skipped).
 * *ret_msg points into the client's receive buffer, valid until the next
 * receive.  Checks the signature of signed responses when keys exist and
 * refuses plaintext on an encrypting session. */
static int client_recv(SmbClient *c, uint8_t **ret_msg, size_t *ret_len, Smb2Header *h) {
	for (;;) {
		uint8_t nb[4];
		int r = c->t.recv(&c->t, nb, 4);
		if (r < 0)
			return r;
		size_t len = (size_t)nb[1] << 16 | (size_t)nb[2] << 8 | nb[3];
		if (nb[0] != 0 || len < SMB2_HDR_SIZE || len > CLIENT_MAX_FRAME)
			return -EBADMSG;
		if (len > c->rbuf_cap) {
			uint8_t *p = realloc(c->rbuf, len);
			if (!p)
				return -ENOMEM;
			c->rbuf = p;
			c->rbuf_cap = len;
		}
		r = c->t.recv(&c->t, c->rbuf, len);
		if (r < 0)
			return r;
		uint8_t *msg = c->rbuf;
		bool was_encrypted = false;
		if (memcmp(msg, SMB2_TRANSFORM_MAGIC, 4) == 0) {
			uint64_t sid;
			if (!c->dec || smb3_transform_parse(msg, len, &sid) < 0 || sid != c->session_id)
				return -EBADMSG;
			r = smb3_decrypt(c->dec, msg, len, &len);
			if (r < 0)
				return r;
			msg += SMB3_TRANSFORM_HEADER_SIZE;
			was_encrypted = true;
		}
		r = smb2_header_parse(msg, len, h);
		if (r < 0)
			return r;
		if (!(h->flags & SMB2_FLAGS_SERVER_TO_REDIR))
			return -EBADMSG;
		c->credits += h->credits;
		if (h->status == NT_STATUS_PENDING && (h->flags & SMB2_FLAGS_ASYNC_COMMAND))
			continue;
		if (c->encrypting && !was_encrypted && h->command != SMB2_SESSION_SETUP &&
		    h->status != NT_STATUS_ACCESS_DENIED)
			return -EBADMSG;
		if (!was_encrypted && (h->flags & SMB2_FLAGS_SIGNED) && c->keys.dialect &&
		    smb2_crypto_verify(&c->keys, msg, len) < 0)
			return -EBADMSG;
		*ret_msg = msg;
		*ret_len = len;
		return 0;
	}
}

/* Send one request and wait for its response; a non-success status is
 * -EREMOTEIO (the status kept in last_status). */
static int client_call(SmbClient *c, Smb2Buf *b, uint16_t command, unsigned charge,
		       uint8_t **ret_msg, size_t *ret_len, Smb2Header *h) {
	uint64_t mid;
	int r = client_send(c, b, command, charge, &mid);
	if (r < 0)
		return r;
	r = client_recv(c, ret_msg, ret_len, h);
	if (r < 0)
		return r;
	if (h->message_id != mid || h->command != command)
		return -EBADMSG;
	if (h->status != NT_STATUS_OK) {
		c->last_status = h->status;
		return -EREMOTEIO;
	}
	return 0;
}

/* A borrowed [off, off+len) of msg, checked. */
static int msg_slice(const uint8_t *msg, size_t msg_len, size_t off, size_t len,
		     const uint8_t **ret) {
	if (off > msg_len || len > msg_len - off)
		return -EBADMSG;
	*ret = msg + off;
	return 0;
}

/* ---- NEGOTIATE ([MS-SMB2] 2.2.3, 2.2.4, 3.2.4.2.2) ---------------------------- */

static void put_context(Smb2Buf *b, uint16_t type, const uint8_t *data, uint16_t len) {
	smb2_buf_align(b, 8);
	uint8_t *p = smb2_buf_extend(b, 8 + len);
	if (!p)
		return;
	smb2_put16(p, type);
	smb2_put16(p + 2, len);
	memcpy(p + 8, data, len);
}

static int parse_neg_contexts(SmbClient *c, const uint8_t *msg, size_t len, size_t off,
			      unsigned count) {
	bool preauth = false;
	c->neg.sign_alg = SMB2_CRYPTO_SIGN_AES_CMAC;
	for (unsigned i = 0; i < count; i++) {
		off = (off + 7) & ~(size_t)7;
		const uint8_t *p, *d;
		if (msg_slice(msg, len, off, 8, &p) < 0)
			return -EBADMSG;
		uint16_t type = smb2_le16(p), dlen = smb2_le16(p + 2);
		if (msg_slice(msg, len, off + 8, dlen, &d) < 0)
			return -EBADMSG;
		if (type == SMB2_PREAUTH_INTEGRITY_CAPABILITIES)
			preauth = dlen >= 6 && smb2_le16(d) == 1 && smb2_le16(d + 4) == SMB2_PREAUTH_HASH_SHA512;
		else if (type == SMB2_ENCRYPTION_CAPABILITIES && dlen >= 4 && smb2_le16(d) == 1)
			c->neg.cipher = smb2_le16(d + 2);
		else if (type == SMB2_SIGNING_CAPABILITIES && dlen >= 4 && smb2_le16(d) == 1)
			c->neg.sign_alg = smb2_le16(d + 2);
		else if (type == SMB2_TRANSPORT_CAPABILITIES && dlen >= 4)
			c->neg.transport_security = c->quic && (smb2_le32(d) & SMB2_ACCEPT_TRANSPORT_LEVEL_SECURITY);
		off += 8 + dlen;
	}
	return preauth ? 0 : -EBADMSG;
}

int smb_client_negotiate(SmbClient *c, const SmbNegotiateParams *p, SmbNegotiateInfo *ret) {
	static const uint16_t all_ciphers[] = { SMB2_CRYPTO_CIPHER_AES128_GCM, SMB2_CRYPTO_CIPHER_AES128_CCM,
						SMB2_CRYPTO_CIPHER_AES256_GCM, SMB2_CRYPTO_CIPHER_AES256_CCM };
	static const uint16_t sign_algs[] = { SMB2_CRYPTO_SIGN_AES_GMAC, SMB2_CRYPTO_SIGN_AES_CMAC };
	if (c->negotiated || p->n_dialects == 0 || p->n_dialects > 8)
		return -EINVAL;
	bool has311 = false, has3 = false;
	for (size_t i = 0; i < p->n_dialects; i++) {
		has311 |= p->dialects[i] == SMB2_DIALECT_311;
		has3 |= p->dialects[i] >= SMB2_DIALECT_300;
	}
	_cleanup_(smb2_buf_free) Smb2Buf b = {};
	size_t bo = msg_begin(&b, 36);
	for (size_t i = 0; i < p->n_dialects; i++) {
		uint8_t *d = smb2_buf_extend(&b, 2);
		if (d)
			smb2_put16(d, p->dialects[i]);
	}
	size_t ctx_off = 0;
	unsigned n_ctx = 0;
	if (has311) {
		uint8_t pre[38] = {};
		smb2_put16(pre, 1);
		smb2_put16(pre + 2, 32);
		smb2_put16(pre + 4, SMB2_PREAUTH_HASH_SHA512);
		if (RAND_bytes(pre + 6, 32) != 1)
			return -EIO;
		smb2_buf_align(&b, 8);
		ctx_off = MSG_OFF(&b);
		put_context(&b, SMB2_PREAUTH_INTEGRITY_CAPABILITIES, pre, sizeof(pre));
		const uint16_t *ciphers = p->n_ciphers ? p->ciphers : all_ciphers;
		size_t nc = p->n_ciphers ? p->n_ciphers : ELEMENTSOF(all_ciphers);
		uint8_t enc[2 + 2 * 8];
		if (nc > 8)
			return -EINVAL;
		smb2_put16(enc, (uint16_t)nc);
		for (size_t i = 0; i < nc; i++)
			smb2_put16(enc + 2 + 2 * i, ciphers[i]);
		put_context(&b, SMB2_ENCRYPTION_CAPABILITIES, enc, (uint16_t)(2 + 2 * nc));
		uint8_t sig[2 + 2 * ELEMENTSOF(sign_algs)];
		smb2_put16(sig, ELEMENTSOF(sign_algs));
		for (size_t i = 0; i < ELEMENTSOF(sign_algs); i++)
			smb2_put16(sig + 2 + 2 * i, sign_algs[i]);
		put_context(&b, SMB2_SIGNING_CAPABILITIES, sig, sizeof(sig));
		n_ctx = 3;
		if (c->quic) {
			/* [MS-SMB2] 2.2.3.1.5: over QUIC, TLS may stand in for SMB
			 * encryption; the caller still encrypts when it asks to. */
			uint8_t tc[4];
			smb2_put32(tc, SMB2_ACCEPT_TRANSPORT_LEVEL_SECURITY);
			put_context(&b, SMB2_TRANSPORT_CAPABILITIES, tc, sizeof(tc));
			n_ctx++;
		}
	}
	if (b.failed)
		return -ENOMEM;
	uint8_t *body = b.data + bo;
	smb2_put16(body, 36);
	smb2_put16(body + 2, (uint16_t)p->n_dialects);
	smb2_put16(body + 4, p->signing_required ? SMB2_NEGOTIATE_SIGNING_REQUIRED | SMB2_NEGOTIATE_SIGNING_ENABLED
						 : SMB2_NEGOTIATE_SIGNING_ENABLED);
	smb2_put32(body + 8, has3 ? SMB2_GLOBAL_CAP_ENCRYPTION | SMB2_GLOBAL_CAP_LARGE_MTU
				  : SMB2_GLOBAL_CAP_LARGE_MTU);
	if (RAND_bytes(body + 12, 16) != 1)
		return -EIO;
	if (has311) {
		smb2_put32(body + 28, (uint32_t)ctx_off);
		smb2_put16(body + 32, (uint16_t)n_ctx);
	}

	/* The request must be hashed before the header is written by
	 * client_send: keep a copy of what goes out. */
	uint8_t *m;
	size_t n;
	Smb2Header h;
	uint64_t mid;
	int r = client_send(c, &b, SMB2_NEGOTIATE, 1, &mid);
	if (r < 0)
		return r;
	smb2_crypto_preauth_init(c->preauth);
	r = smb2_crypto_preauth_update(c->preauth, b.data + MSG_PREFIX, b.len - MSG_PREFIX);
	if (r < 0)
		return r;
	r = client_recv(c, &m, &n, &h);
	if (r < 0)
		return r;
	if (h.command != SMB2_NEGOTIATE || h.message_id != mid)
		return -EBADMSG;
	if (h.status != NT_STATUS_OK) {
		c->last_status = h.status;
		return -EREMOTEIO;
	}
	const uint8_t *rb, *sec;
	if (msg_slice(m, n, SMB2_HDR_SIZE, 64, &rb) < 0 || smb2_le16(rb) != 65)
		return -EBADMSG;
	c->neg = (SmbNegotiateInfo){
		.security_mode = smb2_le16(rb + 2),
		.dialect = smb2_le16(rb + 4),
		.capabilities = smb2_le32(rb + 24),
		.max_transact = smb2_le32(rb + 28),
		.max_read = smb2_le32(rb + 32),
		.max_write = smb2_le32(rb + 36),
	};
	bool offered = false;
	for (size_t i = 0; i < p->n_dialects; i++)
		offered |= p->dialects[i] == c->neg.dialect;
	if (!offered)
		return -EBADMSG;
	size_t sec_off = smb2_le16(rb + 56), sec_len = smb2_le16(rb + 58);
	if (msg_slice(m, n, sec_off, sec_len, &sec) < 0)
		return -EBADMSG;
	free(c->server_blob);
	c->server_blob = malloc(sec_len ? sec_len : 1);
	if (!c->server_blob)
		return -ENOMEM;
	memcpy(c->server_blob, sec, sec_len);
	c->server_blob_len = sec_len;
	if (c->neg.dialect == SMB2_DIALECT_311) {
		r = parse_neg_contexts(c, m, n, smb2_le32(rb + 60), smb2_le16(rb + 6));
		if (r < 0)
			return r;
		r = smb2_crypto_preauth_update(c->preauth, m, n);
		if (r < 0)
			return r;
	} else if (c->neg.dialect >= SMB2_DIALECT_300 && (c->neg.capabilities & SMB2_GLOBAL_CAP_ENCRYPTION)) {
		c->neg.cipher = SMB2_CRYPTO_CIPHER_AES128_CCM;
		c->neg.sign_alg = SMB2_CRYPTO_SIGN_AES_CMAC;
	} else
		c->neg.sign_alg = c->neg.dialect >= SMB2_DIALECT_300 ? SMB2_CRYPTO_SIGN_AES_CMAC
								     : SMB2_CRYPTO_SIGN_HMAC_SHA256;
	c->negotiated = true;
	if (ret)
		*ret = c->neg;
	return 0;
}

/* ---- SESSION_SETUP ([MS-SMB2] 2.2.5, 2.2.6, 3.2.5.3) ----------------------- */

static int setup_send(SmbClient *c, uint8_t security_mode, const uint8_t *tok, size_t tok_len,
		      uint8_t session_hash[SMB2_CRYPTO_PREAUTH_SIZE], uint64_t *ret_mid) {
	_cleanup_(smb2_buf_free) Smb2Buf b = {};
	size_t bo = msg_begin(&b, 24);
	smb2_buf_append(&b, tok, tok_len);
	if (b.failed)
		return -ENOMEM;
	uint8_t *body = b.data + bo;
	smb2_put16(body, 25);
	body[3] = security_mode;
	smb2_put16(body + 12, SMB2_HDR_SIZE + 24);
	smb2_put16(body + 14, (uint16_t)tok_len);
	int r = client_send(c, &b, SMB2_SESSION_SETUP, 1, ret_mid);
	if (r < 0)
		return r;
	if (c->neg.dialect == SMB2_DIALECT_311)
		r = smb2_crypto_preauth_update(session_hash, b.data + MSG_PREFIX, b.len - MSG_PREFIX);
	return r;
}

static int status_to_errno(uint32_t status) {
	switch (status) {
	case NT_STATUS_LOGON_FAILURE:
	case NT_STATUS_ACCESS_DENIED:
		return -EACCES;
	case NT_STATUS_NOT_SUPPORTED:
		return -EPROTONOSUPPORT;
	default:
		return -EREMOTEIO;
	}
}

static int session_keys(SmbClient *c, const uint8_t *key, size_t key_len,
			const uint8_t session_hash[SMB2_CRYPTO_PREAUTH_SIZE]) {
	int r = smb2_crypto_derive_keys(&c->keys, c->neg.dialect, c->neg.sign_alg, c->neg.cipher, false,
					key, key_len,
					c->neg.dialect == SMB2_DIALECT_311 ? session_hash : NULL);
	if (r < 0 || c->neg.cipher == SMB2_CRYPTO_CIPHER_NONE)
		return r;
	r = smb3_cipher_new(c->neg.cipher, c->keys.encrypt_key, c->keys.cipher_key_len, &c->enc);
	if (r < 0)
		return r;
	return smb3_cipher_new(c->neg.cipher, c->keys.decrypt_key, c->keys.cipher_key_len, &c->dec);
}

int smb_client_session_setup(SmbClient *c, const SmbAuthParams *a, bool encrypt,
			     SmbSessionInfo *ret) {
	if (!c->negotiated || c->established)
		return -EINVAL;
	if (!a->kerberos && !a->ntlm_allowed)
		return -EPROTONOSUPPORT;
	NtlmClientConfig cfg = { .user = a->user, .domain = a->domain, .password = a->password };
	_cleanup_(spnego_client_freep) SpnegoClient *sp = NULL;
	int r = spnego_client_new(&cfg, &sp);
	if (r < 0)
		return r;
	if (a->kerberos) {
		r = spnego_client_enable_kerberos(sp, a->krb_host ? a->krb_host : c->host, a->krb_ccache,
						  a->ntlm_allowed);
		if (r < 0)
			return r;
	}
	uint8_t session_hash[SMB2_CRYPTO_PREAUTH_SIZE];
	memcpy(session_hash, c->preauth, sizeof(session_hash));
	uint8_t mode = (c->neg.security_mode & SMB2_NEGOTIATE_SIGNING_REQUIRED)
			       ? SMB2_NEGOTIATE_SIGNING_ENABLED | SMB2_NEGOTIATE_SIGNING_REQUIRED
			       : SMB2_NEGOTIATE_SIGNING_ENABLED;
	c->auth_error[0] = 0;

	_cleanup_free_ uint8_t *in = malloc(c->server_blob_len ? c->server_blob_len : 1);
	if (!in)
		return -ENOMEM;
	memcpy(in, c->server_blob, c->server_blob_len);
	size_t in_len = c->server_blob_len;
	for (unsigned round = 0; round < 8; round++) {
		_cleanup_free_ uint8_t *out = NULL;
		size_t out_len = 0;
		r = spnego_client_step(sp, in, in_len, &out, &out_len);
		if (r < 0) {
			snprintf(c->auth_error, sizeof(c->auth_error), "%s", spnego_client_error(sp));
			return r;
		}
		if (r == 0 && !out)
			return -EBADMSG; /* done without the server's success */
		uint64_t mid;
		r = setup_send(c, mode, out, out_len, session_hash, &mid);
		if (r < 0)
			return r;
		uint8_t *m;
		size_t n;
		Smb2Header h;
		r = client_recv(c, &m, &n, &h);
		if (r < 0)
			return r;
		if (h.command != SMB2_SESSION_SETUP || h.message_id != mid)
			return -EBADMSG;
		if (h.status != NT_STATUS_OK && h.status != NT_STATUS_MORE_PROCESSING_REQUIRED) {
			c->last_status = h.status;
			return status_to_errno(h.status);
		}
		c->session_id = h.session_id;
		const uint8_t *rb, *tok;
		if (msg_slice(m, n, SMB2_HDR_SIZE, 8, &rb) < 0 || smb2_le16(rb) != 9)
			return -EBADMSG;
		uint16_t flags = smb2_le16(rb + 2);
		size_t tok_len = smb2_le16(rb + 6);
		if (msg_slice(m, n, smb2_le16(rb + 4), tok_len, &tok) < 0)
			return -EBADMSG;
		free(in);
		in = malloc(tok_len ? tok_len : 1);
		if (!in)
			return -ENOMEM;
		memcpy(in, tok, tok_len);
		in_len = tok_len;
		if (h.status == NT_STATUS_MORE_PROCESSING_REQUIRED) {
			if (c->neg.dialect == SMB2_DIALECT_311) {
				r = smb2_crypto_preauth_update(session_hash, m, n);
				if (r < 0)
					return r;
			}
			continue;
		}
		/* Success: keep the (signed) response to check once keys exist. */
		_cleanup_free_ uint8_t *final = malloc(n);
		if (!final)
			return -ENOMEM;
		memcpy(final, m, n);
		bool guest = flags & (SMB2_SESSION_FLAG_IS_GUEST | SMB2_SESSION_FLAG_IS_NULL);
		/* The server's last token: NTLM's mechListMIC, Kerberos' AP-REP
		 * (unless the context was already complete). */
		if (!spnego_client_used_kerberos(sp)) {
			_cleanup_free_ uint8_t *none = NULL;
			size_t none_len;
			r = spnego_client_step(sp, in, in_len, &none, &none_len);
			if (r < 0 && !guest) {
				snprintf(c->auth_error, sizeof(c->auth_error), "%s", spnego_client_error(sp));
				return r;
			}
		}
		size_t key_len = 0;
		const uint8_t *key = guest ? NULL : spnego_client_session_key(sp, &key_len);
		if (key) {
			r = session_keys(c, key, key_len, session_hash);
			if (r < 0)
				return r;
			if ((smb2_le32(final + 16) & SMB2_FLAGS_SIGNED) &&
			    smb2_crypto_verify(&c->keys, final, n) < 0)
				return -EBADMSG;
			c->signing = true;
		}
		bool want_encrypt = encrypt || (flags & SMB2_SESSION_FLAG_ENCRYPT_DATA);
		if (want_encrypt && !c->enc)
			return -EPROTONOSUPPORT;
		c->encrypting = want_encrypt;
		c->established = true;
		if (ret)
			*ret = (SmbSessionInfo){ .flags = flags,
						 .kerberos = spnego_client_used_kerberos(sp),
						 .signing = c->signing && !c->encrypting,
						 .encrypting = c->encrypting };
		return 0;
	}
	return -EBADMSG;
}

int smb_client_logoff(SmbClient *c) {
	_cleanup_(smb2_buf_free) Smb2Buf b = {};
	size_t bo = msg_begin(&b, 4);
	if (b.failed)
		return -ENOMEM;
	smb2_put16(b.data + bo, 4);
	uint8_t *m;
	size_t n;
	Smb2Header h;
	return client_call(c, &b, SMB2_LOGOFF, 1, &m, &n, &h);
}

/* ---- TREE_CONNECT ([MS-SMB2] 2.2.9, 2.2.10) ---------------------------------- */

int smb_client_tree_connect(SmbClient *c, const char *share, uint32_t *ret_share_flags) {
	_cleanup_(smb2_buf_free) Smb2Buf b = {};
	_cleanup_free_ char *path = strdup_printf("\\\\%s\\%s", c->host, share);
	if (!path)
		return -ENOMEM;
	size_t bo = msg_begin(&b, 8);
	int len = smb2_utf8_to_utf16(&b, path);
	if (len < 0)
		return len;
	if (b.failed)
		return -ENOMEM;
	uint8_t *body = b.data + bo;
	smb2_put16(body, 9);
	smb2_put16(body + 4, SMB2_HDR_SIZE + 8);
	smb2_put16(body + 6, (uint16_t)len);
	uint8_t *m;
	size_t n;
	Smb2Header h;
	int r = client_call(c, &b, SMB2_TREE_CONNECT, 1, &m, &n, &h);
	if (r < 0)
		return r;
	const uint8_t *rb;
	if (msg_slice(m, n, SMB2_HDR_SIZE, 16, &rb) < 0 || smb2_le16(rb) != 16)
		return -EBADMSG;
	uint32_t flags = smb2_le32(rb + 4);
	c->tree_id = h.tree_id;
	if ((flags & SMB2_SHAREFLAG_ENCRYPT_DATA) && c->enc)
		c->encrypting = true;
	if (ret_share_flags)
		*ret_share_flags = flags;
	return 0;
}

/* ---- CREATE / CLOSE ([MS-SMB2] 2.2.13 - 2.2.16) ------------------------------- */

#define FILE_READ_DATA 0x00000001u
#define FILE_WRITE_DATA 0x00000002u
#define FILE_LIST_DIRECTORY 0x00000001u
#define FILE_READ_ATTRIBUTES 0x00000080u
#define DELETE_ACCESS 0x00010000u
#define SYNCHRONIZE_ACCESS 0x00100000u
#define GENERIC_READ_ACCESS 0x80000000u
#define GENERIC_WRITE_ACCESS 0x40000000u
#define FILE_SHARE_ALL 0x00000007u
#define FILE_OPEN 0x00000001u
#define FILE_CREATE 0x00000002u
#define FILE_OVERWRITE_IF 0x00000005u
#define FILE_DIRECTORY_FILE 0x00000001u
#define FILE_NON_DIRECTORY_FILE 0x00000040u
#define FILE_DELETE_ON_CLOSE 0x00001000u

static const struct {
	uint32_t access, disposition, options, attributes;
} open_modes[] = {
	[SMB_OPEN_READ] = { GENERIC_READ_ACCESS | SYNCHRONIZE_ACCESS, FILE_OPEN, 0, 0 },
	[SMB_OPEN_WRITE] = { GENERIC_WRITE_ACCESS | GENERIC_READ_ACCESS | SYNCHRONIZE_ACCESS,
			     FILE_OVERWRITE_IF, FILE_NON_DIRECTORY_FILE, 0x80 },
	[SMB_OPEN_MKDIR] = { FILE_READ_ATTRIBUTES | SYNCHRONIZE_ACCESS, FILE_CREATE, FILE_DIRECTORY_FILE, 0x10 },
	[SMB_OPEN_DELETE] = { DELETE_ACCESS | FILE_READ_ATTRIBUTES, FILE_OPEN, FILE_DELETE_ON_CLOSE, 0 },
	[SMB_OPEN_DIR] = { FILE_LIST_DIRECTORY | FILE_READ_ATTRIBUTES | SYNCHRONIZE_ACCESS, FILE_OPEN,
			   FILE_DIRECTORY_FILE, 0 },
};

int smb_client_open(SmbClient *c, const char *path, int mode, Smb2FileId *ret_fid,
		    uint64_t *ret_size) {
	if (mode < 0 || (size_t)mode >= ELEMENTSOF(open_modes))
		return -EINVAL;
	_cleanup_free_ char *name = strdup(path);
	if (!name)
		return -ENOMEM;
	char *s = name;
	while (*s == '/' || *s == '\\')
		s++;
	for (char *q = s; *q; q++)
		if (*q == '/')
			*q = '\\';
	_cleanup_(smb2_buf_free) Smb2Buf b = {};
	size_t bo = msg_begin(&b, 56);
	int len = smb2_utf8_to_utf16(&b, s);
	if (len < 0)
		return len;
	if (len == 0)
		smb2_buf_extend(&b, 1); /* the variable part is never empty */
	if (b.failed)
		return -ENOMEM;
	uint8_t *body = b.data + bo;
	smb2_put16(body, 57);
	smb2_put32(body + 4, 2); /* impersonation */
	smb2_put32(body + 24, open_modes[mode].access);
	smb2_put32(body + 28, open_modes[mode].attributes);
	smb2_put32(body + 32, FILE_SHARE_ALL);
	smb2_put32(body + 36, open_modes[mode].disposition);
	smb2_put32(body + 40, open_modes[mode].options);
	smb2_put16(body + 44, SMB2_HDR_SIZE + 56);
	smb2_put16(body + 46, (uint16_t)len);
	uint8_t *m;
	size_t n;
	Smb2Header h;
	int r = client_call(c, &b, SMB2_CREATE, 1, &m, &n, &h);
	if (r < 0)
		return r;
	const uint8_t *rb;
	if (msg_slice(m, n, SMB2_HDR_SIZE, 88, &rb) < 0 || smb2_le16(rb) != 89)
		return -EBADMSG;
	ret_fid->persistent = smb2_le64(rb + 64);
	ret_fid->volatile_ = smb2_le64(rb + 72);
	if (ret_size)
		*ret_size = smb2_le64(rb + 48);
	return 0;
}

static void put_fid(uint8_t *p, const Smb2FileId *fid) {
	smb2_put64(p, fid->persistent);
	smb2_put64(p + 8, fid->volatile_);
}

int smb_client_close(SmbClient *c, const Smb2FileId *fid) {
	_cleanup_(smb2_buf_free) Smb2Buf b = {};
	size_t bo = msg_begin(&b, 24);
	if (b.failed)
		return -ENOMEM;
	smb2_put16(b.data + bo, 24);
	put_fid(b.data + bo + 8, fid);
	uint8_t *m;
	size_t n;
	Smb2Header h;
	return client_call(c, &b, SMB2_CLOSE, 1, &m, &n, &h);
}

/* ---- READ / WRITE, pipelined ([MS-SMB2] 2.2.19 - 2.2.22, 3.2.4.7) --------- */

typedef struct Inflight {
	uint64_t mid, offset;
	uint32_t len;
	int slot; /* its RDMA buffer slot; -1: the data travels in the messages */
} Inflight;

#define MAX_INFLIGHT 64

/* The Channel of a READ/WRITE of len bytes (see client.h: RDMA over SMB
 * Direct at 3.0+ above the threshold, never on an encrypting session). */
static uint32_t io_channel(const SmbClient *c, uint32_t len) {
	if (!c->rdma || c->encrypting || c->neg.dialect < SMB2_DIALECT_300 || len <= SMB_RDMA_THRESHOLD)
		return SMB2_CHANNEL_NONE;
	return c->neg.dialect >= SMB2_DIALECT_302 ? SMB2_CHANNEL_RDMA_V1_INVALIDATE : SMB2_CHANNEL_RDMA_V1;
}

/* Room for the SMB2 header, READ/WRITE body and transform header of a
 * message that carries its data over SMB Direct. */
#define SMBD_MESSAGE_SLACK 4096u

static uint32_t io_chunk(const SmbClient *c, uint32_t server_max) {
	uint32_t chunk = CLIENT_IO_CHUNK;
	if (c->neg.dialect == SMB2_DIALECT_202 || !(c->neg.capabilities & SMB2_GLOBAL_CAP_LARGE_MTU))
		chunk = 65536;
	if (server_max && chunk > server_max)
		chunk = server_max;
	if (c->rdma) {
		/* By RDMA: the server's MaxReadWriteSize; in messages: what
		 * both ends reassemble, in whole 64 KiB credits. */
		const RdmaClientInfo *ri = &c->rdma_info;
		uint32_t frag = ri->max_fragmented_send < ri->max_fragmented_receive ? ri->max_fragmented_send
										     : ri->max_fragmented_receive;
		uint32_t cap = io_channel(c, chunk) ? ri->max_read_write_size
						    : frag > SMBD_MESSAGE_SLACK + 65536 ? (frag - SMBD_MESSAGE_SLACK) & ~0xffffu
											: 65536;
		if (cap && chunk > cap)
			chunk = cap;
	}
	return chunk;
}

/* The RDMA buffers of one transfer: a slot per request in flight, each
 * registered only while its request is out. */
typedef struct IoSlots {
	SmbClient *c;
	size_t size;                        /* bytes per slot */
	uint8_t *mem[MAX_INFLIGHT];
	SmbdBufferDesc desc[MAX_INFLIGHT];
	uint64_t busy, registered;          /* bit per slot */
} IoSlots;

static void io_slots_done(IoSlots *s) {
	for (unsigned i = 0; i < MAX_INFLIGHT; i++) {
		if (s->registered & (1ull << i))
			(void)rdma_client_deregister(s->c->rdma, &s->desc[i]); /* before the free */
		free(s->mem[i]);
	}
}

/* A free slot (its memory allocated); its index, or -errno. */
static int io_slot_take(IoSlots *s) {
	unsigned i = 0;
	while (i < MAX_INFLIGHT && (s->busy & (1ull << i)))
		i++;
	if (i == MAX_INFLIGHT)
		return -ENOBUFS;
	if (!s->mem[i] && !(s->mem[i] = malloc(s->size)))
		return -ENOMEM;
	s->busy |= 1ull << i;
	return (int)i;
}

/* Register the first len bytes of slot i for the server. */
static int io_slot_register(IoSlots *s, int i, uint32_t len, unsigned access) {
	int r = rdma_client_register(s->c->rdma, s->mem[i], len, access, &s->desc[i]);
	if (r < 0)
		return r;
	s->registered |= 1ull << i;
	return 0;
}

static int io_slot_put(IoSlots *s, int i) {
	int r = 0;
	if (s->registered & (1ull << i))
		r = rdma_client_deregister(s->c->rdma, &s->desc[i]);
	s->registered &= ~(1ull << i);
	s->busy &= ~(1ull << i);
	return r;
}

/* Count a request; RDMA ones apart. */
static void io_count(SmbClient *c, uint16_t command, uint32_t channel) {
	bool read = command == SMB2_READ;
	(*(read ? &c->io.reads : &c->io.writes))++;
	if (channel == SMB2_CHANNEL_NONE)
		return;
	(*(read ? &c->io.rdma_reads : &c->io.rdma_writes))++;
	c->io.rdma_channel = channel;
}

/* A READ request body ([MS-SMB2] 2.2.19): len bytes at off; with an RDMA
 * channel, d (one buffer descriptor V1) is its channel info and the
 * server writes the data there. */
static int build_read(Smb2Buf *b, const Smb2FileId *fid, uint64_t off, uint32_t len, uint32_t channel,
		      const SmbdBufferDesc *d) {
	size_t bo = msg_begin(b, 48);
	uint8_t *info = smb2_buf_extend(b, channel ? SMBD_BUFFER_DESC_SIZE : 1);
	if (!info || b->failed)
		return -ENOMEM;
	uint8_t *body = b->data + bo;
	smb2_put16(body, 49);
	body[2] = 0x50;
	smb2_put32(body + 4, len);
	smb2_put64(body + 8, off);
	put_fid(body + 16, fid);
	if (channel) {
		smb2_put32(body + 36, channel);
		smb2_put16(body + 44, SMB2_HDR_SIZE + 48);
		smb2_put16(body + 46, SMBD_BUFFER_DESC_SIZE);
		smbd_buffer_desc_build(info, d, 1);
	}
	return 0;
}

/* The fields of a WRITE request body ([MS-SMB2] 2.2.21) whose buffer (at
 * body + 48) already holds len bytes of data, or with an RDMA channel the
 * descriptor of the len bytes the server is to read (Length 0,
 * RemainingBytes len). */
static void build_write(uint8_t *body, const Smb2FileId *fid, uint64_t off, uint32_t len, uint32_t channel) {
	smb2_put16(body, 49);
	smb2_put16(body + 2, SMB2_HDR_SIZE + 48);
	smb2_put32(body + 4, channel ? 0 : len);
	smb2_put64(body + 8, off);
	put_fid(body + 16, fid);
	if (channel) {
		smb2_put32(body + 32, channel);
		smb2_put32(body + 36, len);
		smb2_put16(body + 40, SMB2_HDR_SIZE + 48);
		smb2_put16(body + 42, SMBD_BUFFER_DESC_SIZE);
	}
}

static unsigned io_charge(const SmbClient *c, uint32_t len) {
	return c->neg.dialect > SMB2_DIALECT_202 ? smb2_credits_for_payload(len) : 1;
}

/* Take the response for one of the n requests in fl; returns its index. */
static int recv_inflight(SmbClient *c, Inflight *fl, size_t n, uint16_t command, uint8_t **m,
			 size_t *len) {
	Smb2Header h;
	int r = client_recv(c, m, len, &h);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if (fl[i].mid == h.message_id) {
			if (h.command != command)
				return -EBADMSG;
			if (h.status != NT_STATUS_OK) {
				c->last_status = h.status;
				return -EREMOTEIO;
			}
			return (int)i;
		}
	return -EBADMSG;
}

/* Send the READ of fl (len, offset set), by RDMA when its channel says so. */
static int send_read(SmbClient *c, IoSlots *slots, const Smb2FileId *fid, Inflight *fl) {
	uint32_t channel = io_channel(c, fl->len);
	fl->slot = -1;
	if (channel) {
		fl->slot = io_slot_take(slots);
		if (fl->slot < 0)
			return fl->slot;
		int r = io_slot_register(slots, fl->slot, fl->len, SMBD_ACCESS_REMOTE_WRITE);
		if (r < 0)
			return r;
	}
	_cleanup_(smb2_buf_free) Smb2Buf b = {};
	int r = build_read(&b, fid, fl->offset, fl->len, channel, channel ? &slots->desc[fl->slot] : NULL);
	if (r < 0)
		return r;
	r = client_send(c, &b, SMB2_READ, io_charge(c, fl->len), &fl->mid);
	if (r < 0)
		return r;
	io_count(c, SMB2_READ, channel);
	return 0;
}

/* The data of a READ response for fl: in the message, or (RDMA: DataLength
 * 0, DataRemaining the bytes written) in its slot, deregistered here. */
static int read_data(SmbClient *c, IoSlots *slots, const Inflight *fl, const uint8_t *m, size_t mlen,
		     const uint8_t **ret) {
	const uint8_t *rb;
	if (msg_slice(m, mlen, SMB2_HDR_SIZE, 16, &rb) < 0 || smb2_le16(rb) != 17)
		return -EBADMSG;
	uint32_t dlen = smb2_le32(rb + 4), remaining = smb2_le32(rb + 8);
	if (fl->slot < 0)
		return msg_slice(m, mlen, rb[2], dlen, ret) < 0 || dlen != fl->len ? -EBADMSG : 0;
	int r = io_slot_put(slots, fl->slot);
	if (r < 0)
		return r;
	if (dlen != 0 || remaining != fl->len)
		return -EBADMSG;
	c->io.rdma_bytes += remaining;
	*ret = slots->mem[fl->slot];
	return 0;
}

int smb_client_read_to_fd(SmbClient *c, const Smb2FileId *fid, uint64_t size, int fd) {
	uint32_t chunk = io_chunk(c, c->neg.max_read);
	_cleanup_(io_slots_done) IoSlots slots = { .c = c, .size = chunk };
	Inflight fl[MAX_INFLIGHT];
	size_t n = 0;
	uint64_t next = 0;
	while (next < size || n > 0) {
		while (next < size && n < MAX_INFLIGHT && (uint64_t)n * chunk < CLIENT_IO_INFLIGHT) {
			uint32_t len = size - next < chunk ? (uint32_t)(size - next) : chunk;
			unsigned charge = io_charge(c, len);
			if (c->credits < charge || (n > 0 && c->credits - charge < 1))
				break;
			fl[n] = (Inflight){ .offset = next, .len = len };
			int r = send_read(c, &slots, fid, &fl[n]);
			if (r < 0)
				return r;
			n++;
			next += len;
		}
		if (n == 0)
			return -ENOBUFS; /* no credits and nothing outstanding */
		uint8_t *m;
		size_t mlen;
		int i = recv_inflight(c, fl, n, SMB2_READ, &m, &mlen);
		if (i < 0)
			return i;
		const uint8_t *data;
		int r = read_data(c, &slots, &fl[i], m, mlen, &data);
		if (r < 0)
			return r;
		for (size_t done = 0; done < fl[i].len;) {
			ssize_t k = pwrite(fd, data + done, fl[i].len - done, (off_t)(fl[i].offset + done));
			if (k < 0)
				return -errno;
			done += (size_t)k;
		}
		fl[i] = fl[--n];
	}
	return 0;
}

/* Read the next piece of fd (at fl->offset, up to chunk bytes) and send
 * its WRITE: data in the message, or by RDMA from a slot when the
 * piece is large enough.  1: sent; 0: end of file; -errno. */
static int send_write(SmbClient *c, IoSlots *slots, const Smb2FileId *fid, int fd, uint32_t chunk,
		      Inflight *fl) {
	_cleanup_(smb2_buf_free) Smb2Buf b = {};
	size_t bo = msg_begin(&b, 48);
	bool rdma = io_channel(c, chunk) != SMB2_CHANNEL_NONE;
	fl->slot = rdma ? io_slot_take(slots) : -1;
	if (fl->slot < 0 && rdma)
		return fl->slot;
	uint8_t *d = rdma ? slots->mem[fl->slot] : smb2_buf_extend(&b, chunk);
	if (!d || b.failed)
		return -ENOMEM;
	ssize_t k = pread(fd, d, chunk, (off_t)fl->offset);
	if (k <= 0) {
		int r = k < 0 ? -errno : 0;
		if (rdma)
			io_slot_put(slots, fl->slot);
		return r;
	}
	fl->len = (uint32_t)k;
	uint32_t channel = io_channel(c, fl->len);
	int r = 0;
	if (!rdma)
		b.len -= chunk - (size_t)k;
	else if (!channel) { /* a small last piece: in the message after all */
		uint8_t *p = smb2_buf_extend(&b, fl->len);
		if (p)
			memcpy(p, d, fl->len);
		io_slot_put(slots, fl->slot);
		fl->slot = -1;
	} else {
		r = io_slot_register(slots, fl->slot, fl->len, SMBD_ACCESS_REMOTE_READ);
		uint8_t *p = smb2_buf_extend(&b, SMBD_BUFFER_DESC_SIZE);
		if (r >= 0 && p)
			smbd_buffer_desc_build(p, &slots->desc[fl->slot], 1);
	}
	if (r < 0)
		return r;
	if (b.failed)
		return -ENOMEM;
	build_write(b.data + bo, fid, fl->offset, fl->len, channel);
	r = client_send(c, &b, SMB2_WRITE, io_charge(c, fl->len), &fl->mid);
	if (r < 0)
		return r;
	io_count(c, SMB2_WRITE, channel);
	return 1;
}

int smb_client_write_from_fd(SmbClient *c, const Smb2FileId *fid, int fd) {
	uint32_t chunk = io_chunk(c, c->neg.max_write);
	_cleanup_(io_slots_done) IoSlots slots = { .c = c, .size = chunk };
	Inflight fl[MAX_INFLIGHT];
	size_t n = 0;
	uint64_t next = 0;
	bool eof = false;
	while (!eof || n > 0) {
		while (!eof && n < MAX_INFLIGHT && (uint64_t)n * chunk < CLIENT_IO_INFLIGHT) {
			unsigned charge = io_charge(c, chunk);
			if (c->credits < charge || (n > 0 && c->credits - charge < 1))
				break;
			fl[n] = (Inflight){ .offset = next };
			int r = send_write(c, &slots, fid, fd, chunk, &fl[n]);
			if (r < 0)
				return r;
			if (r == 0) {
				eof = true;
				break;
			}
			next += fl[n++].len;
		}
		if (n == 0) {
			if (eof)
				break;
			return -ENOBUFS;
		}
		uint8_t *m;
		size_t mlen;
		int i = recv_inflight(c, fl, n, SMB2_WRITE, &m, &mlen);
		if (i < 0)
			return i;
		const uint8_t *rb;
		if (msg_slice(m, mlen, SMB2_HDR_SIZE, 16, &rb) < 0 || smb2_le32(rb + 4) != fl[i].len)
			return -EBADMSG;
		if (fl[i].slot >= 0) {
			int r = io_slot_put(&slots, fl[i].slot);
			if (r < 0)
				return r;
			c->io.rdma_bytes += fl[i].len;
		}
		fl[i] = fl[--n];
	}
	return 0;
}

/* ---- QUERY_DIRECTORY ([MS-SMB2] 2.2.33, 2.2.34; FileDirectoryInformation) -- */

void smb_dir_entries_free(SmbDirEntry *e, size_t n) {
	for (size_t i = 0; i < n; i++)
		free(e[i].name);
	free(e);
}

static int parse_dir_entries(const uint8_t *p, size_t len, SmbDirEntry **list, size_t *n) {
	size_t off = 0;
	for (;;) {
		if (off > len || len - off < 64)
			return -EBADMSG;
		const uint8_t *e = p + off;
		uint32_t next = smb2_le32(e), name_len = smb2_le32(e + 60);
		if (name_len > len - off - 64)
			return -EBADMSG;
		_cleanup_free_ char *name = NULL;
		int r = smb2_utf16_to_utf8(e + 64, name_len, &name);
		if (r < 0)
			return r;
		if (!streq(name, ".") && !streq(name, "..")) {
			SmbDirEntry *l = realloc(*list, (*n + 1) * sizeof(**list));
			if (!l)
				return -ENOMEM;
			*list = l;
			l[(*n)++] = (SmbDirEntry){ .name = TAKE_PTR(name),
						   .size = smb2_le64(e + 40),
						   .attributes = smb2_le32(e + 56),
						   .write_time = smb2_le64(e + 24) };
		}
		if (next == 0)
			return 0;
		off += next;
	}
}

int smb_client_list(SmbClient *c, const Smb2FileId *dir, SmbDirEntry **ret, size_t *ret_n) {
	SmbDirEntry *list = NULL;
	size_t n = 0;
	for (bool first = true;; first = false) {
		_cleanup_(smb2_buf_free) Smb2Buf b = {};
		size_t bo = msg_begin(&b, 32);
		int len = smb2_utf8_to_utf16(&b, "*");
		if (len < 0 || b.failed) {
			smb_dir_entries_free(list, n);
			return len < 0 ? len : -ENOMEM;
		}
		uint8_t *body = b.data + bo;
		smb2_put16(body, 33);
		body[2] = 0x01;
		body[3] = first ? SMB2_RESTART_SCANS : 0;
		put_fid(body + 8, dir);
		smb2_put16(body + 24, SMB2_HDR_SIZE + 32);
		smb2_put16(body + 26, (uint16_t)len);
		smb2_put32(body + 28, 65536);
		uint8_t *m;
		size_t mlen;
		Smb2Header h;
		int r = client_call(c, &b, SMB2_QUERY_DIRECTORY, 1, &m, &mlen, &h);
		if (r == -EREMOTEIO && c->last_status == NT_STATUS_NO_MORE_FILES)
			break;
		const uint8_t *rb, *data;
		if (r >= 0 && (msg_slice(m, mlen, SMB2_HDR_SIZE, 8, &rb) < 0 ||
			       msg_slice(m, mlen, smb2_le16(rb + 2), smb2_le32(rb + 4), &data) < 0))
			r = -EBADMSG;
		if (r >= 0)
			r = parse_dir_entries(data, smb2_le32(rb + 4), &list, &n);
		if (r < 0) {
			smb_dir_entries_free(list, n);
			return r;
		}
	}
	c->last_status = 0;
	*ret = list;
	*ret_n = n;
	return 0;
}
