/*
 * crypto_pool.c - threads that encrypt large responses (READ data) so one
 * connection's AES work spreads over the cores while its worker thread
 * goes on reading the next request.
 *
 * A job is one whole transport frame already queued on its connection as a
 * pending OutChunk; conn.c never writes past a pending chunk, so replies
 * keep their order.  Each pool thread has its own queue and encrypts with
 * a cipher used by that thread only (Session.pool_enc[k]: Smb3Cipher is not
 * thread safe); the finished job goes back to its worker through a
 * completion list and an eventfd, and the worker (the only thread touching
 * the Conn) marks the chunk ready and flushes.
 *
 * Invariants: a Conn, its Sessions and its queued chunks outlive every job
 * of theirs (conn_wait_jobs() before freeing); jobs of one connection are
 * completed in any order but written in queue order.
 * Must never: touch a Conn from a pool thread, except its atomic count of
 * jobs still in the pool.
 */
#include <stdio.h>
#include <sys/eventfd.h>

#include "server.h"

typedef struct PoolThread {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	CryptoJob *head, *tail;
	bool stop;
} PoolThread;

struct CryptoPool {
	PoolThread *threads;
	unsigned n;
};

static void *pool_main(void *userdata) {
	PoolThread *t = userdata;
	for (;;) {
		pthread_mutex_lock(&t->lock);
		while (!t->head && !t->stop)
			pthread_cond_wait(&t->cond, &t->lock);
		CryptoJob *j = t->head;
		if (!j) {
			pthread_mutex_unlock(&t->lock);
			return NULL;
		}
		t->head = j->next;
		if (!t->head)
			t->tail = NULL;
		pthread_mutex_unlock(&t->lock);

		j->result = smb3_encrypt(j->cipher, j->session_id, j->buf, j->len);
		j->next = NULL;
		Worker *w = j->worker;
		pthread_mutex_lock(&w->done_lock);
		if (w->done_tail)
			w->done_tail->next = j;
		else
			w->done_head = j;
		w->done_tail = j;
		pthread_mutex_unlock(&w->done_lock);
		atomic_fetch_sub(&j->conn->jobs_in_pool, 1);
		uint64_t one = 1;
		(void)write(w->done_fd, &one, sizeof(one));
	}
}

int crypto_pool_new(unsigned n, CryptoPool **ret) {
	CryptoPool *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->threads = calloc(n, sizeof(PoolThread));
	if (!p->threads) {
		free(p);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		PoolThread *t = &p->threads[i];
		pthread_mutex_init(&t->lock, NULL);
		pthread_cond_init(&t->cond, NULL);
		if (pthread_create(&t->thread, NULL, pool_main, t) != 0) {
			p->n = i;
			crypto_pool_free(p);
			return -EAGAIN;
		}
		p->n = i + 1;
	}
	*ret = p;
	return 0;
}

void crypto_pool_free(CryptoPool *p) {
	if (!p)
		return;
	for (unsigned i = 0; i < p->n; i++) {
		PoolThread *t = &p->threads[i];
		pthread_mutex_lock(&t->lock);
		t->stop = true;
		pthread_cond_signal(&t->cond);
		pthread_mutex_unlock(&t->lock);
		pthread_join(t->thread, NULL);
		pthread_mutex_destroy(&t->lock);
		pthread_cond_destroy(&t->cond);
	}
	free(p->threads);
	free(p);
}

unsigned crypto_pool_size(const CryptoPool *p) {
	return p ? p->n : 0;
}

void crypto_pool_submit(CryptoPool *p, unsigned k, CryptoJob *j) {
	PoolThread *t = &p->threads[k % p->n];
	atomic_fetch_add(&j->conn->jobs_in_pool, 1);
	j->conn->jobs_pending++;
	j->next = NULL;
	pthread_mutex_lock(&t->lock);
	if (t->tail)
		t->tail->next = j;
	else
		t->head = j;
	t->tail = j;
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->lock);
}

CryptoJob *crypto_pool_take_done(Worker *w, Conn *only) {
	pthread_mutex_lock(&w->done_lock);
	CryptoJob **pp = &w->done_head, *prev = NULL;
	while (*pp && only && (*pp)->conn != only) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	CryptoJob *j = *pp;
	if (j) {
		*pp = j->next;
		if (w->done_tail == j)
			w->done_tail = prev;
	}
	pthread_mutex_unlock(&w->done_lock);
	return j;
}
