/*
 * client.h - the reference SMB2/3 client library: transport, NEGOTIATE,
 * SESSION_SETUP (SPNEGO: NTLMv2 or Kerberos), signing, encryption,
 * TREE_CONNECT and the file commands (CREATE, READ, WRITE, CLOSE,
 * QUERY_DIRECTORY), with credits and multi-credit, pipelined reads/writes.
 *
 * It is the client half of the same protocol core smbrefd uses: wire
 * helpers from smb2_pdu.h, auth from spnego.h/ntlm.h/kerberos.h, keys,
 * signing and TRANSFORM from crypto.h.  Nothing here knows about policy:
 * client_policy.c decides what to allow and drives these calls; probe.c
 * uses the low-level steps (one negotiate per dialect, unsigned or
 * unencrypted requests on purpose) to measure a server.
 *
 * Invariants:
 *  - A request is sent only when the credits granted cover its charge;
 *    message ids advance by the charge ([MS-SMB2] 3.2.4.1.5).
 *  - Once a session has keys, every request is signed (or encrypted) unless
 *    the caller asked for one unprotected request (probe), and every
 *    signed response is verified; an encrypting session accepts no
 *    plaintext response but STATUS_ACCESS_DENIED (a server refusing an
 *    unencrypted request answers in plaintext), which carries no data.
 *  - Functions return 0 (or a count) or -errno; NT status failures come
 *    back as -EREMOTEIO with the status in smb_client_last_status().
 * Must never: log (callers log once), print secrets, or keep the password
 * beyond session setup (it goes to ntlm_client_new, which hashes it).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smb2_pdu.h"

typedef struct SmbClient SmbClient;

/* Transports behind one seam: TCP (port 445), QUIC (quic_client.c, 443)
 * and SMB Direct (rdma_client.c, 5445). */
typedef enum SmbTransportKind {
	SMB_TRANSPORT_TCP,
	SMB_TRANSPORT_QUIC,
	SMB_TRANSPORT_RDMA,
} SmbTransportKind;

typedef struct SmbNegotiateInfo {
	uint16_t dialect;        /* chosen by the server */
	uint16_t security_mode;  /* SMB2_NEGOTIATE_SIGNING_* */
	uint32_t capabilities;
	uint16_t cipher;         /* 3.1.1 encryption context answer, or NONE */
	uint16_t sign_alg;       /* 3.1.1 signing context answer (CMAC when none) */
	uint32_t max_read, max_write, max_transact;
	bool transport_security; /* QUIC: the server accepted SMB2_ACCEPT_TRANSPORT_LEVEL_SECURITY,
				    so it does not ask for SMB encryption inside QUIC */
} SmbNegotiateInfo;

typedef struct SmbNegotiateParams {
	const uint16_t *dialects; /* offered, in this order */
	size_t n_dialects;
	const uint16_t *ciphers;  /* 3.1.1 encryption context, preference order */
	size_t n_ciphers;
	bool signing_required;    /* our SecurityMode says REQUIRED */
} SmbNegotiateParams;

typedef struct SmbAuthParams {
	const char *user;        /* NULL or "" = anonymous */
	const char *domain;
	const char *password;
	bool kerberos;           /* try Kerberos (service cifs/krb_host) first */
	const char *krb_host;    /* NULL = the host connected to */
	const char *krb_ccache;  /* NULL = KRB5CCNAME */
	bool ntlm_allowed;       /* false: NTLM never used (client.ntlm.block) */
} SmbAuthParams;

typedef struct SmbSessionInfo {
	uint16_t flags;          /* SMB2_SESSION_FLAG_IS_GUEST / IS_NULL / ENCRYPT_DATA */
	bool kerberos;           /* authenticated by Kerberos */
	bool signing;            /* requests are signed */
	bool encrypting;         /* requests are encrypted */
} SmbSessionInfo;

typedef struct SmbDirEntry {
	char *name;
	uint64_t size;
	uint32_t attributes;     /* FILE_ATTRIBUTE_DIRECTORY = 0x10 */
	uint64_t write_time;     /* FILETIME */
} SmbDirEntry;

#define SMB_FILE_ATTRIBUTE_DIRECTORY 0x10u

/* Split //HOST[:PORT]/SHARE (backslashes work too; IPv6 as //[::1]:PORT/SHARE)
 * into malloc'd host and share; *ret_port 0 when none.  -EINVAL, -ENOMEM. */
int smb_unc_parse(const char *unc, char **ret_host, uint16_t *ret_port, char **ret_share);

/* Connect to address:port (address NULL: host) for server host (the name
 * in tree connect paths and Kerberos' cifs/host).  timeout_ms bounds every
 * later receive (and, for QUIC, the handshake).  Returns 0, -EHOSTUNREACH
 * (no address), -ECONNREFUSED (also: a QUIC server closed the handshake,
 * e.g. for want of a client certificate), -errno of connect(). */
int smb_client_connect(SmbTransportKind kind, const char *host, const char *address, uint16_t port,
		       unsigned timeout_ms, SmbClient **ret);
/* The same with SMB_CONNECT_* flags.  A QUIC server's certificate is
 * verified (chain and host name) against $SMBREFC_QUIC_CA, or the system
 * trust store when unset; -EKEYREJECTED when it fails.  Opting out:
 * SMB_CONNECT_QUIC_INSECURE (the probe, which targets IPs and test
 * certificates) or $SMBREFC_QUIC_INSECURE=1 (smbrefc's explicit option). */
enum { SMB_CONNECT_QUIC_INSECURE = 1u << 0 };
int smb_client_connect_flags(SmbTransportKind kind, const char *host, const char *address, uint16_t port,
			     unsigned timeout_ms, unsigned flags, SmbClient **ret);
/* All of it.  SMB Direct: the verbs stack (an RDMA NIC) unless a libfabric
 * provider is named (rdma_provider, else $SMBREFC_RDMA_PROVIDER): then
 * the ofi stack with it.  -ENODEV: no RDMA device / no such provider
 * (rdma_client_error_hint() words it for the user); -EPROTO: the server
 * refused the SMB Direct negotiate. */
typedef struct SmbConnectOptions {
	unsigned timeout_ms;
	unsigned flags;            /* SMB_CONNECT_* */
	const char *rdma_provider; /* NULL: $SMBREFC_RDMA_PROVIDER; "" or unset: the verbs stack */
} SmbConnectOptions;
int smb_client_connect_opts(SmbTransportKind kind, const char *host, const char *address, uint16_t port,
			    const SmbConnectOptions *o, SmbClient **ret);
/* The libfabric provider SMB Direct would use with o (o may be NULL);
 * NULL: the verbs stack. */
const char *smb_client_rdma_provider(const SmbConnectOptions *o);
void smb_client_free(SmbClient *c);
static inline void smb_client_freep(SmbClient **c) {
	if (*c)
		smb_client_free(*c);
}

/* NEGOTIATE.  Returns 0 with *ret filled, -EREMOTEIO (error status, e.g.
 * no common dialect), -ECONNRESET (server closed: also how some servers
 * refuse), -EBADMSG, -ETIMEDOUT. */
int smb_client_negotiate(SmbClient *c, const SmbNegotiateParams *p, SmbNegotiateInfo *ret);

/* SESSION_SETUP rounds until success or failure.  encrypt: encrypt every
 * later request (3.x with a cipher only, else -EPROTONOSUPPORT).
 * Returns 0, -EACCES (logon failure / auth refused), -EPROTONOSUPPORT (no
 * mechanism in common, e.g. NTLM blocked and no Kerberos),
 * -EREMOTEIO, -EBADMSG (bad signature on the final response)... */
int smb_client_session_setup(SmbClient *c, const SmbAuthParams *a, bool encrypt,
			     SmbSessionInfo *ret);

/* The next request goes out unsigned and/or unencrypted (probe).  An
 * unencrypted request on a signing session is still signed unless
 * SMB_NEXT_UNSIGNED is given too. */
#define SMB_NEXT_UNSIGNED 0x1u
#define SMB_NEXT_UNENCRYPTED 0x2u
void smb_client_next_unprotected(SmbClient *c, unsigned what);

/* TREE_CONNECT to \\host\share; *ret_share_flags may be NULL. */
int smb_client_tree_connect(SmbClient *c, const char *share, uint32_t *ret_share_flags);

/* CREATE; path uses '/' or '\\' separators, "" = share root. */
#define SMB_OPEN_READ 0       /* existing file or directory, read */
#define SMB_OPEN_WRITE 1      /* create or overwrite a file */
#define SMB_OPEN_MKDIR 2      /* create a directory */
#define SMB_OPEN_DELETE 3     /* open for delete-on-close (file or dir) */
#define SMB_OPEN_DIR 4        /* existing directory, for listing */
int smb_client_open(SmbClient *c, const char *path, int mode, Smb2FileId *ret_fid,
		    uint64_t *ret_size);
int smb_client_close(SmbClient *c, const Smb2FileId *fid);

/* Read the whole file (size bytes) to fd, or write all of fd (size bytes)
 * to the file, with up to depth requests of chunk bytes in flight
 * (chunk clamped to the negotiated maximum).  Over SMB Direct at 3.0+ a
 * READ/WRITE above SMB_RDMA_THRESHOLD bytes moves its data by RDMA
 * (Channel RDMA_V1, _V1_INVALIDATE from 3.0.2; at most the negotiated
 * MaxReadWriteSize), unless the session encrypts: without
 * SMB2_RDMA_TRANSFORM (which neither side offers) RDMA would carry the
 * data in clear, so an encrypting session keeps it in its encrypted
 * messages, as Windows did before Server 2022.  Returns 0 or -errno. */
#define SMB_RDMA_THRESHOLD 4096u
int smb_client_read_to_fd(SmbClient *c, const Smb2FileId *fid, uint64_t size, int fd);
int smb_client_write_from_fd(SmbClient *c, const Smb2FileId *fid, int fd);

/* List a directory (open with SMB_OPEN_DIR); *ret is an array of *ret_n
 * entries ("." and ".." left out), freed with smb_dir_entries_free. */
int smb_client_list(SmbClient *c, const Smb2FileId *dir, SmbDirEntry **ret, size_t *ret_n);
void smb_dir_entries_free(SmbDirEntry *e, size_t n);

int smb_client_logoff(SmbClient *c);

/* Counters of the READ/WRITE requests sent (what went by RDMA). */
typedef struct SmbIoStats {
	uint64_t reads, writes;           /* requests */
	uint64_t rdma_reads, rdma_writes; /* of them with an RDMA channel */
	uint64_t rdma_bytes;              /* bytes the server moved by RDMA (responses' counts) */
	uint32_t rdma_channel;            /* SMB2_CHANNEL_* of the last RDMA request, 0 when none */
} SmbIoStats;
void smb_client_io_stats(const SmbClient *c, SmbIoStats *ret);

/* Status of the last failed response (0 when none). */
uint32_t smb_client_last_status(const SmbClient *c);
/* SMB over QUIC: TLS version, cipher, ALPN, server certificate SHA-256
 * (quic_client.h); NULL over TCP. */
struct QuicClientInfo;
const struct QuicClientInfo *smb_client_quic_info(const SmbClient *c);
/* SMB Direct: the negotiated values (rdma_client.h); NULL otherwise. */
struct RdmaClientInfo;
const struct RdmaClientInfo *smb_client_rdma_info(const SmbClient *c);
/* Printable NT status ("STATUS_ACCESS_DENIED" or "0xc0000022"). */
const char *smb_status_name(uint32_t status, char buf[16]);
/* The auth layer's explanation of the last session setup failure
 * (GSS-API message), or "". */
const char *smb_client_auth_error(const SmbClient *c);
