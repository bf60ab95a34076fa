/*
 * server.h - smbrefd's server state: the Context (Server), worker threads,
 * connections, sessions, tree connects and opens, and the interfaces
 * between the files that implement them (one SMB concern per file).
 *
 * Ownership: Server owns the Workers, shares, users and the current Config
 * (refcounted, replaced as a whole on SIGHUP).  A Worker owns its event loop,
 * its listeners and its Conns; a Conn owns its Sessions and Opens; a Session
 * owns its Trees.  A Conn lives on exactly one worker thread and is touched
 * by no other thread, so nothing below Worker needs a lock.
 *
 * Invariants: a Session's keys are set before any signed or encrypted
 * response of it is sent; a Session in state VALID has passed policy
 * enforcement (guest, signing, encryption) with the Config it holds; every
 * Open's fd lies beneath its share's directory.
 *
 * Must never: let a thread other than the Conn's worker touch a Conn; block
 * the event loop (the rate limiter uses timers, not sleep).
 */
#pragma once

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

#include "audit_event.h"
#include "crypto.h"
#include "smb2_pdu.h"
#include "spnego.h"
#include "users.h"

/* ---- configuration (config.c): the policy settings smbrefd enforces ---- */
#define CONFIG_MAX_CIPHERS 4
typedef struct Config {
	atomic_uint refcount;
	char *policy_name;
	bool signing_required;
	bool guest_allowed;
	uint16_t dialect_min, dialect_max; /* wire values */
	bool encryption_required;
	bool reject_unencrypted;
	uint16_t ciphers[CONFIG_MAX_CIPHERS]; /* preference order */
	size_t n_ciphers;
	bool ratelimit_enabled;
	unsigned ratelimit_delay_ms;
	bool audit_client_no_signing;
	bool audit_client_no_encryption;
	bool tcp_enabled;
	unsigned tcp_port;
	/* SMB over QUIC (transport_quic.c, quic_access.c) */
	bool quic_enabled;
	unsigned quic_port;
	char *quic_certificate, *quic_key; /* PEM paths, "" when unset */
	bool quic_client_access_required;
	char **quic_allow, **quic_block; /* cert ids: sha256:HEX, issuer:DN */
	/* SMB Direct (transport_rdma.c) */
	bool rdma_enabled;
	unsigned rdma_port;
} Config;

/* Read the resolved policy document at path (policy XSD + catalog checked
 * by lib/) into a new Config.  Errors are printed (file, line, setting).
 * Returns 0, -EINVAL, -ENOMEM, or the -errno of reading. */
int config_load(const char *path, Config **ret);
Config *config_ref(Config *c);
Config *config_unref(Config *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Config *, config_unref)

/* ---- rate limiter (ratelimit.c) ---- */
typedef struct RateLimiter RateLimiter;
int ratelimit_new(RateLimiter **ret);
void ratelimit_free(RateLimiter *rl);
/* A failed authentication from addr at monotonic time now: returns the
 * monotonic time at which its response may go out (now + delay, or later
 * when earlier failures from the same address are still being held), or
 * -EBUSY when that would be more than RATELIMIT_MAX_BACKLOG_USEC away.
 * Thread safe. */
#define RATELIMIT_MAX_BACKLOG_USEC (60ULL * 1000000ULL)
int ratelimit_failure(RateLimiter *rl, const struct sockaddr_storage *addr, uint64_t now,
		      uint64_t delay, uint64_t *ret_release);

/* ---- the Context ---- */
typedef struct Share {
	char *name;
	char *path;
	int dirfd; /* O_PATH|O_DIRECTORY of path */
} Share;

typedef struct Listen {
	struct sockaddr_storage addr;
	socklen_t addr_len;
	char *text;
	bool quic; /* quic:ADDR:PORT (transport_quic.c) */
	bool rdma; /* rdma:ADDR:PORT (transport_rdma.c) */
	bool down; /* not served (transport_rdma.c: no RDMA device) */
	bool port_from_policy; /* no port in --listen: server.transport.*.port */
} Listen;

typedef struct Conn Conn;
typedef struct Server Server;
typedef struct Worker Worker;

/* ---- crypto pool (crypto_pool.c): large responses encrypted off-loop ---- */
#define CRYPTO_POOL_MAX 8
#define CRYPTO_POOL_MIN_BYTES (256u * 1024u) /* smaller frames are encrypted inline */
typedef struct CryptoJob {
	struct CryptoJob *next;
	Smb3Cipher *cipher; /* the pool thread's own cipher of the session */
	uint64_t session_id;
	uint8_t *buf;       /* transform header space + plaintext */
	size_t len;         /* plaintext bytes */
	int result;
	struct OutChunk *chunk;
	Conn *conn;
	Worker *worker;
} CryptoJob;
typedef struct CryptoPool CryptoPool;
int crypto_pool_new(unsigned n, CryptoPool **ret);
void crypto_pool_free(CryptoPool *p);
unsigned crypto_pool_size(const CryptoPool *p);
/* Queue j on pool thread k (the thread whose cipher j->cipher is). */
void crypto_pool_submit(CryptoPool *p, unsigned k, CryptoJob *j);
/* Next finished job of worker w (of connection only, when not NULL). */
CryptoJob *crypto_pool_take_done(Worker *w, Conn *only);

struct Worker {
	Server *server;
	unsigned index;
	pthread_t thread;
	sd_event *event;
	int *listen_fds;
	size_t n_listen;
	struct QuicWorker *quic; /* transport_quic.c, NULL without quic listens */
	int wake_fd; /* eventfd: config changed or stop */
	atomic_bool stop;
	Config *config; /* this worker's reference to the current config */
	Conn *conns;    /* doubly linked */
	size_t n_conns;
	/* finished crypto jobs, filled by pool threads */
	int done_fd;
	pthread_mutex_t done_lock;
	CryptoJob *done_head, *done_tail;
	unsigned next_pool_thread;
};

struct Server {
	char *policy_path;
	char *users_path;
	char *audit_path;
	char *host;
	char *keytab; /* --keytab: Kerberos accepted beside NTLM, NULL: NTLM only */
	Listen *listens;
	size_t n_listens;
	/* --rdma-provider: rdma: listeners use this libfabric provider
	 * (rdma_ofi.c) instead of verbs (rdma_verbs.c); NULL: verbs */
	const char *rdma_provider;
	bool restart; /* SIGHUP moved a policy port: run() re-executes */
	Share *shares;
	size_t n_shares;

	pthread_mutex_t lock; /* guards config and users swaps, audit writes */
	Config *config;
	Users *users;
	AuditEmitter *audit;
	RateLimiter *ratelimit;
	CryptoPool *crypto_pool;

	Worker *workers;
	size_t n_workers;
	uint8_t server_guid[16];
	uint64_t start_time; /* FILETIME */
	char *netbios_name;  /* upper-case short host name for NTLM */
};

/* The current config, referenced (caller unrefs).  Thread safe. */
Config *server_config(Server *s);
/* Emit an audit event (thread safe).  fields may be NULL. */
void server_audit(Server *s, AuditEventId id, const char *peer, const AuditField *fields,
		  size_t n_fields);
/* Share by name (ASCII case-insensitive), NULL when unknown. */
Share *server_find_share(Server *s, const char *name);
/* NT hash lookup against the current users file (NtlmLookupFn). */
int server_lookup_user(void *userdata, const char *user, const char *domain, uint8_t nt_hash[16]);

/* ---- sessions, trees, opens ---- */
typedef enum SessionState {
	SESSION_IN_PROGRESS,
	SESSION_VALID,
} SessionState;

typedef struct Tree {
	struct Tree *next;
	uint32_t id;
	Share *share; /* NULL: IPC$ */
} Tree;

typedef struct Session {
	struct Session *next;
	Conn *conn;
	uint64_t id;
	SessionState state;
	SpnegoServer *auth; /* while IN_PROGRESS */
	uint8_t preauth[SMB2_CRYPTO_PREAUTH_SIZE];
	Smb2Keys keys;
	bool has_keys;
	bool signing_required; /* every request and response signed */
	bool encrypt;          /* every response encrypted; SMB2_SESSION_FLAG_ENCRYPT_DATA */
	bool guest, anonymous;
	bool kerberos; /* authenticated by Kerberos (else NTLM) */
	Smb3Cipher *enc, *dec;
	Smb3Cipher *pool_enc[CRYPTO_POOL_MAX]; /* one per crypto pool thread */
	char *user;
	Tree *trees;
	uint32_t next_tree_id;
} Session;

typedef struct DirEntry DirEntry;

typedef struct Open {
	uint64_t persistent;
	uint64_t volatile_;
	Session *session;
	Tree *tree;
	int fd;
	char *path; /* relative to the share root; "" is the root */
	bool is_dir;
	bool delete_on_close;
	uint32_t access;
	/* QUERY_DIRECTORY state */
	DirEntry *entries;
	size_t n_entries, next_entry;
	bool listed;
} Open;

/* ---- connections (conn.c, transport_tcp.c) ---- */
struct Conn {
	Conn *prev, *next;
	Worker *worker;
	Config *config; /* config this connection negotiated under */
	int fd;
	sd_event_source *io;
	sd_event_source *delay_timer;
	sd_event_source *auth_timer; /* drops a connection that never authenticates */
	struct sockaddr_storage addr;
	char peer[INET6_ADDRSTRLEN + 8];

	uint8_t *in;
	size_t in_len, in_cap;
	struct OutChunk *out_head, *out_tail;
	size_t out_bytes;
	bool tcp;    /* accepted by transport_tcp.c (server.transport.tcp.enabled applies) */
	bool paused; /* a response is held by the rate limiter */
	bool closing;
	bool quic; /* stream 0 of an SMB over QUIC connection (transport_quic.c) */
	struct SmbdConn *smbd; /* its SMB Direct side (transport_rdma.c), NULL on TCP/QUIC */
	atomic_uint jobs_in_pool; /* crypto jobs not finished by the pool */
	unsigned jobs_pending;    /* crypto jobs not yet taken back by the worker */

	/* NEGOTIATE state */
	bool negotiated;
	uint16_t dialect;
	uint32_t max_io; /* MaxRead/Write/TransactSize the NEGOTIATE response offered */
	uint16_t client_security_mode;
	uint32_t client_capabilities;
	uint32_t server_capabilities;
	uint8_t client_guid[16];
	uint16_t client_dialects[SMB2_MAX_DIALECTS];
	size_t n_client_dialects;
	uint16_t cipher;   /* 3.1.1 negotiated cipher, or NONE */
	uint16_t sign_alg; /* 3.1.1 negotiated signing algorithm */
	bool transport_security; /* QUIC + SMB2_ACCEPT_TRANSPORT_LEVEL_SECURITY agreed (negotiate.c):
				    QUIC's TLS stands in for SMB encryption */
	uint8_t preauth[SMB2_CRYPTO_PREAUTH_SIZE];

	uint32_t credits_granted; /* outstanding credits */
	Session *sessions;
	Open **opens; /* index = volatile id - 1 */
	size_t n_opens;
};

/* Create a connection for an accepted socket (takes fd). */
int conn_new(Worker *w, int fd, const struct sockaddr_storage *addr, Conn **ret);
/* Close and free (safe to call from its own callbacks: freed at once, the
 * caller must not touch c afterwards). */
void conn_free(Conn *c);
/* Queue a complete transport frame (takes data, which holds the frame at
 * data + off, len bytes, 4-byte NBSS header included). */
int conn_send(Conn *c, uint8_t *data, size_t off, size_t len);
/* Queue a frame whose encryption (msg_len bytes at data + off + 4 + 52)
 * is done by the crypto pool with session s's keys; it is written once
 * encrypted, in order. */
int conn_send_encrypted(Conn *c, Session *s, uint8_t *data, size_t off, size_t len, size_t msg_len);
/* Wait until no crypto job of c is in the pool and take its finished ones
 * back (before freeing c or one of its sessions). */
void conn_wait_jobs(Conn *c);
/* Worker event: finished crypto jobs to take back. */
int conn_on_crypto_done(sd_event_source *s, int fd, uint32_t revents, void *userdata);
/* Hold the connection's next response until release (monotonic usec). */
int conn_delay_frame(Conn *c, uint8_t *data, size_t off, size_t len, uint64_t release);
/* A session of c became VALID: the connection may stay idle from now on. */
void conn_authenticated(Conn *c);
#define CONN_AUTH_TIMEOUT_USEC (60ULL * 1000000ULL)
/* MaxReadSize/MaxWriteSize/MaxTransactSize offered from SMB 2.1 on
 * (negotiate.c).  1 MiB, not Samba's and Windows' 8 MiB: a client with a
 * fixed window in flight (smbclient: 16 MiB) then keeps 16 READs going
 * instead of 2, so reading the file, encrypting it (crypto pool) and
 * sending overlap across requests: 1.45x -> 1.7x smbd's throughput for a
 * 1 GiB encrypted download at the same CPU (bench/RESULTS.md "Endpoint"),
 * and a READ in flight holds 1 MiB of buffers, not 8.  It is also SMB
 * Direct's MaxReadWriteSize. */
#define SMB2_SERVER_MAX_IO (1024u * 1024u)
#define CONN_MAX_SESSIONS 64
#define CONN_MAX_OPENS 65536
/* The config changed: drop the connection when it no longer complies. */
void conn_policy_changed(Conn *c, Config *new_config);

/* Listeners (transport_tcp.c). */
int transport_tcp_listen(const Listen *l, int *ret_fd);
int transport_tcp_attach(Worker *w);

/* ---- the dispatcher (dispatch.c) and handlers ---- */
typedef struct Smb2Request {
	Conn *conn;
	Server *server;
	Config *config;
	Smb2Header hdr;
	const uint8_t *msg; /* this element: header + body */
	size_t len;
	bool encrypted;     /* arrived in a TRANSFORM_HEADER */
	Session *transform_session; /* whose key decrypted it */
	Session *session;   /* looked up for commands that need one */
	Tree *tree;
	Smb2FileId *related_fid; /* compound: file id of the previous CREATE */
	Smb2Buf *out;       /* the response body is appended here */
	uint32_t status;    /* response status */
	bool no_response;   /* CANCEL */
	bool sign_with_session;      /* sign with r->session even if IN_PROGRESS (final setup) */
	uint8_t *preauth_response;   /* update this hash with the response */
	uint64_t delay_until;        /* rate limiter: hold the reply until then */
	bool keep_error_body; /* the handler wrote the error body itself */
	bool logoff;        /* free the session once the response is sent */
	bool disconnect;
} Smb2Request;

/* Process one transport frame (an SMB1 negotiate, an SMB2 message or
 * compound, or a transform).  Returns 0, or -errno to drop the
 * connection. */
int smb2_dispatch_frame(Conn *c, uint8_t *frame, size_t len);

/* The error response body ([MS-SMB2] 2.2.2). */
void smb2_error_body(Smb2Request *r, uint32_t status);

int smb2_negotiate(Smb2Request *r);
int smb2_negotiate_smb1(Conn *c, const uint8_t *msg, size_t len, Smb2Buf *out);
int smb2_session_setup(Smb2Request *r);
int smb2_logoff(Smb2Request *r);
int smb2_tree_connect(Smb2Request *r);
int smb2_tree_disconnect(Smb2Request *r);
int smb2_create(Smb2Request *r);
int smb2_close(Smb2Request *r);
int smb2_flush(Smb2Request *r);
int smb2_read(Smb2Request *r);
int smb2_write(Smb2Request *r);
int smb2_lock(Smb2Request *r);
int smb2_query_directory(Smb2Request *r);
int smb2_query_info(Smb2Request *r);
int smb2_set_info(Smb2Request *r);
int smb2_ioctl(Smb2Request *r);
int smb2_echo(Smb2Request *r);
int smb2_cancel(Smb2Request *r);
int smb2_change_notify(Smb2Request *r);
int smb2_oplock_break(Smb2Request *r);

/* Session / tree / open helpers (session.c, tree.c, file_ops.c). */
Session *session_find(Conn *c, uint64_t id);
void session_free(Session *s);
Tree *tree_find(Session *s, uint32_t id);
void tree_free(Session *s, Tree *t);
/* Close every open of a session (or a tree, when t is not NULL). */
void open_close_all(Conn *c, Session *s, Tree *t);
Open *open_find(Smb2Request *r, Smb2FileId fid);
/* In a command handler: look the open of a request up, or answer
 * FILE_CLOSED and return 0 from the handler. */
#define FIND_OPEN(r, o, fid)                                   \
	do {                                                   \
		(o) = open_find((r), (fid));                   \
		if (!(o)) {                                    \
			(r)->status = NT_STATUS_FILE_CLOSED;   \
			return 0;                              \
		}                                              \
	} while (0)
/* Forget a directory listing (query_dir.c). */
void open_dir_reset(Open *o);

#define FILE_ATTRIBUTE_READONLY 0x00000001u
#define FILE_ATTRIBUTE_DIRECTORY 0x00000010u
#define FILE_ATTRIBUTE_ARCHIVE 0x00000020u
#define FILE_ATTRIBUTE_NORMAL 0x00000080u

/* The times, sizes and attributes SMB reports for a file (file_ops.c). */
typedef struct FileTimes {
	uint64_t creation, access, write, change;
	uint64_t alloc, eof;
	uint32_t attrs;
} FileTimes;
struct stat;
void smb2_file_times(const struct stat *st, FileTimes *ret);
/* 52 bytes: four times, allocation size, end of file, attributes. */
void smb2_put_file_times(uint8_t *p, const FileTimes *t);

/* Policy enforcement of requests (enforce.c): returns NT_STATUS_OK or the
 * status to answer with, auditing a refusal. */
uint32_t enforce_request(Smb2Request *r);
