/*
 * conn.c - one SMB connection: non-blocking reads, transport framing,
 * the output queue, the rate limiter's held response, teardown, and the
 * re-check against a new policy after SIGHUP.
 *
 * Invariants: frames are handed to the dispatcher whole and in order; while
 * a response is held (paused) no further frame of the connection is
 * processed, so replies keep request order; the input buffer is released
 * whenever it is empty, so an idle connection costs little memory.
 * Must never: block, or touch another worker's connection.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <sys/uio.h>

#include "server.h"

#define CONN_MAX_FRAME (16u * 1024u * 1024u)  /* 8 MiB write + headers, with room */
#define CONN_READ_CHUNK (64u * 1024u)
#define CONN_MAX_QUEUED (64u * 1024u * 1024u) /* stop reading above this */

typedef struct OutChunk {
	struct OutChunk *next;
	uint8_t *data;
	size_t off, len;
	bool pending; /* being encrypted by the crypto pool */
} OutChunk;

static bool conn_can_write(const Conn *c) {
	return c->out_head && !c->out_head->pending && !c->paused;
}

static void conn_update_events(Conn *c) {
	uint32_t ev = 0;
	if (!c->paused && c->out_bytes < CONN_MAX_QUEUED)
		ev |= EPOLLIN;
	if (conn_can_write(c))
		ev |= EPOLLOUT;
	(void)sd_event_source_set_io_events(c->io, ev);
}

void conn_free(Conn *c) {
	if (!c)
		return;
	Worker *w = c->worker;
	conn_wait_jobs(c);
	while (c->sessions) {
		Session *s = c->sessions;
		c->sessions = s->next;
		session_free(s);
	}
	open_close_all(c, NULL, NULL);
	free(c->opens);
	sd_event_source_disable_unref(c->io);
	sd_event_source_disable_unref(c->delay_timer);
	sd_event_source_disable_unref(c->auth_timer);
	if (c->fd >= 0)
		close(c->fd);
	while (c->out_head) {
		OutChunk *o = c->out_head;
		c->out_head = o->next;
		free(o->data);
		free(o);
	}
	free(c->in);
	if (c->prev)
		c->prev->next = c->next;
	else if (w->conns == c)
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	w->n_conns--;
	config_unref(c->config);
	free(c);
}

/* Write as much of the queue as the socket takes.  -errno on a dead socket. */
static int conn_flush(Conn *c) {
	while (conn_can_write(c)) { /* a held or pending response holds everything behind it */
		struct iovec iov[16];
		int n = 0;
		for (OutChunk *o = c->out_head; o && !o->pending && n < 16; o = o->next, n++)
			iov[n] = (struct iovec) { o->data + o->off, o->len };
		ssize_t k = writev(c->fd, iov, n);
		if (k < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			return -errno;
		}
		c->out_bytes -= (size_t)k;
		while (k > 0) {
			OutChunk *o = c->out_head;
			if ((size_t)k >= o->len) {
				k -= (ssize_t)o->len;
				c->out_head = o->next;
				free(o->data);
				free(o);
			} else {
				o->off += (size_t)k;
				o->len -= (size_t)k;
				k = 0;
			}
		}
		if (!c->out_head)
			c->out_tail = NULL;
	}
	return 0;
}

int conn_send(Conn *c, uint8_t *data, size_t off, size_t len) {
	OutChunk *o = malloc(sizeof(*o));
	if (!o) {
		free(data);
		return -ENOMEM;
	}
	*o = (OutChunk) { NULL, data, off, len, false };
	if (c->out_tail)
		c->out_tail->next = o;
	else
		c->out_head = o;
	c->out_tail = o;
	c->out_bytes += len;
	return 0;
}

int conn_send_encrypted(Conn *c, Session *s, uint8_t *data, size_t off, size_t len, size_t msg_len) {
	CryptoPool *pool = c->worker->server->crypto_pool;
	unsigned k = c->worker->next_pool_thread++ % crypto_pool_size(pool);
	if (!s->pool_enc[k]) {
		/* a copy shares s->enc's nonce sequence: no nonce is used twice */
		int r = smb3_cipher_dup(s->enc, &s->pool_enc[k]);
		if (r < 0) {
			free(data);
			return r;
		}
	}
	CryptoJob *j = calloc(1, sizeof(*j));
	int r = j ? conn_send(c, data, off, len) : -ENOMEM;
	if (r < 0) {
		if (!j)
			free(data);
		free(j);
		return r;
	}
	c->out_tail->pending = true;
	*j = (CryptoJob) { .cipher = s->pool_enc[k], .session_id = s->id, .buf = data + off + 4,
			   .len = msg_len, .chunk = c->out_tail, .conn = c, .worker = c->worker };
	crypto_pool_submit(pool, k, j);
	return 0;
}

/* A finished job: its chunk may go out now.  Returns the job's result. */
static int conn_job_done(Conn *c, CryptoJob *j) {
	int r = j->result;
	j->chunk->pending = false;
	c->jobs_pending--;
	free(j);
	return r;
}

void conn_wait_jobs(Conn *c) {
	while (atomic_load(&c->jobs_in_pool) > 0)
		usleep(50);
	CryptoJob *j;
	while ((j = crypto_pool_take_done(c->worker, c)))
		(void)conn_job_done(c, j);
}

static int conn_process_input(Conn *c);

int conn_on_crypto_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
	Worker *w = userdata;
	uint64_t v;
	(void)s, (void)revents;
	(void)read(fd, &v, sizeof(v));
	CryptoJob *j;
	while ((j = crypto_pool_take_done(w, NULL))) {
		Conn *c = j->conn;
		int r = conn_job_done(c, j);
		if (r >= 0)
			r = conn_flush(c);
		if (r >= 0 && !c->paused && c->in_len > 0 && c->out_bytes < CONN_MAX_QUEUED) {
			r = conn_process_input(c); /* frames left behind by back-pressure */
			if (r >= 0)
				r = conn_flush(c);
		}
		if (r < 0 || (c->closing && !c->out_head))
			conn_free(c); /* waits for and takes back its other jobs */
		else
			conn_update_events(c);
	}
	return 0;
}

/* Process every complete frame in the input buffer (stops when paused). */
static int conn_process_input(Conn *c) {
	size_t pos = 0;
	int r = 0;
	while (!c->paused && c->in_len - pos >= 4) {
		const uint8_t *p = c->in + pos;
		size_t flen = (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
		if (p[0] != 0x00 || flen > CONN_MAX_FRAME) {
			r = -EBADMSG;
			break;
		}
		if (c->in_len - pos < 4 + flen)
			break;
		pos += 4 + flen;
		if (flen == 0)
			continue;
		r = smb2_dispatch_frame(c, c->in + pos - flen, flen);
		if (r < 0)
			break;
		if (c->out_bytes >= CONN_MAX_QUEUED)
			break;
	}
	if (pos > 0) {
		memmove(c->in, c->in + pos, c->in_len - pos);
		c->in_len -= pos;
	}
	if (c->in_len == 0) {
		free(c->in);
		c->in = NULL;
		c->in_cap = 0;
	}
	return r;
}

static int conn_read(Conn *c) {
	for (int rounds = 0; rounds < 64; rounds++) {
		size_t want = CONN_READ_CHUNK;
		if (c->in_len >= 4) {
			size_t flen = (size_t)c->in[1] << 16 | (size_t)c->in[2] << 8 | c->in[3];
			if (4 + flen > c->in_len + want)
				want = 4 + flen - c->in_len;
		}
		if (c->in_cap - c->in_len < want) {
			uint8_t *n = realloc(c->in, c->in_len + want);
			if (!n)
				return -ENOMEM;
			c->in = n;
			c->in_cap = c->in_len + want;
		}
		ssize_t k = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
		if (k == 0)
			return -ECONNRESET;
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return -errno;
		}
		c->in_len += (size_t)k;
		int r = conn_process_input(c);
		if (r < 0)
			return r;
		if (c->paused || c->out_bytes >= CONN_MAX_QUEUED)
			return 0;
		r = conn_flush(c);
		if (r < 0)
			return r;
	}
	return 0;
}

static int conn_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
	Conn *c = userdata;
	(void)s;
	(void)fd;
	int r = 0;
	if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR))
		r = conn_read(c);
	if (r >= 0)
		r = conn_flush(c);
	if (r >= 0 && !c->paused && c->in_len > 0 && c->out_bytes < CONN_MAX_QUEUED) {
		/* frames left behind by back-pressure */
		r = conn_process_input(c);
		if (r >= 0)
			r = conn_flush(c);
	}
	if (r < 0 || (c->closing && !c->out_head)) {
		conn_free(c);
		return 0;
	}
	conn_update_events(c);
	return 0;
}

static int conn_on_delay(sd_event_source *s, uint64_t usec, void *userdata) {
	Conn *c = userdata;
	(void)s;
	(void)usec;
	c->delay_timer = sd_event_source_disable_unref(c->delay_timer);
	c->paused = false;
	int r = conn_process_input(c);
	if (r >= 0)
		r = conn_flush(c);
	if (r < 0 || (c->closing && !c->out_head)) {
		conn_free(c);
		return 0;
	}
	conn_update_events(c);
	return 0;
}

int conn_delay_frame(Conn *c, uint8_t *data, size_t off, size_t len, uint64_t release) {
	/* The held frame is queued now but the queue is not written until the
	 * timer fires: paused connections are not flushed. */
	int r = conn_send(c, data, off, len);
	if (r < 0)
		return r;
	c->paused = true;
	r = sd_event_add_time(c->worker->event, &c->delay_timer, CLOCK_MONOTONIC, release, 1000,
			      conn_on_delay, c);
	if (r < 0)
		return r;
	conn_update_events(c);
	return 0;
}

static int conn_on_auth_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
	Conn *c = userdata;
	(void)s, (void)usec;
	if (!c->jobs_pending)
		conn_free(c);
	else
		c->closing = true;
	return 0;
}

void conn_authenticated(Conn *c) {
	c->auth_timer = sd_event_source_disable_unref(c->auth_timer);
}

int conn_new(Worker *w, int fd, const struct sockaddr_storage *addr, Conn **ret) {
	Conn *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->fd = fd;
	c->worker = w;
	c->addr = *addr;
	c->config = config_ref(w->config);
	c->sign_alg = SMB2_CRYPTO_SIGN_AES_CMAC;
	smb2_crypto_preauth_init(c->preauth);
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (addr->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)addr;
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		port = ntohs(a->sin_port);
		snprintf(c->peer, sizeof(c->peer), "%s:%u", host, port);
	} else if (addr->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)addr;
		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		port = ntohs(a->sin6_port);
		snprintf(c->peer, sizeof(c->peer), "[%s]:%u", host, port);
	}
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	w->n_conns++;
	int r = sd_event_add_io(w->event, &c->io, fd, EPOLLIN, conn_on_io, c);
	if (r >= 0) /* a connection has a minute to authenticate, then it may idle */
		r = sd_event_add_time_relative(w->event, &c->auth_timer, CLOCK_MONOTONIC,
					       CONN_AUTH_TIMEOUT_USEC, 1000000, conn_on_auth_timeout, c);
	if (r < 0) {
		conn_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

void conn_policy_changed(Conn *c, Config *n) {
	/* A connection stays up while what it negotiated still complies: its
	 * dialect within the new range, and each session signing/encrypting
	 * as the new policy requires ([MS-SMB2] has no renegotiation). */
	bool ok = !c->negotiated || (c->dialect >= n->dialect_min && c->dialect <= n->dialect_max);
	if (c->tcp && !n->tcp_enabled)
		ok = false; /* the policy turned TCP off */
	for (Session *s = c->sessions; ok && s; s = s->next) {
		if (s->state != SESSION_VALID)
			continue;
		if (n->signing_required && !s->signing_required && !s->encrypt)
			ok = false;
		if (n->encryption_required && n->reject_unencrypted && !s->encrypt && !c->transport_security)
			ok = false;
		if ((s->guest || s->anonymous) && (!n->guest_allowed || n->signing_required))
			ok = false;
	}
	if (!ok) {
		c->closing = true;
		if (!c->out_head) {
			conn_free(c);
			return;
		}
		conn_update_events(c);
		return;
	}
	config_unref(c->config);
	c->config = config_ref(n);
}
