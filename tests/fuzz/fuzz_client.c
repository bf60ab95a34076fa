/*
 * fuzz_client.c - the reference client's response handling (framing,
 * transform headers, NEGOTIATE response and its contexts, SESSION_SETUP
 * rounds through SPNEGO/NTLM, TREE_CONNECT, CREATE, QUERY_DIRECTORY, READ)
 * fed with arbitrary server bytes through an in-memory transport.
 * Invariant checked: no crash, leak or out-of-bounds read whatever the
 * server sends.
 */
#include <fcntl.h>

#include "../../endpoint/client.c"

typedef struct MemPeer {
	const uint8_t *data;
	size_t len, off;
} MemPeer;

static int mem_send(Transport *t, const struct iovec *iov, int n) {
	(void)t;
	(void)iov;
	(void)n;
	return 0;
}

static int mem_recv(Transport *t, uint8_t *buf, size_t len) {
	MemPeer *m = t->userdata;
	if (m->len - m->off < len)
		return -ECONNRESET;
	memcpy(buf, m->data + m->off, len);
	m->off += len;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	static int devnull = -1;
	if (devnull < 0)
		devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	MemPeer peer = { .data = data, .len = size };
	SmbClient *c = calloc(1, sizeof(*c));
	if (!c)
		return 0;
	c->t = (Transport){ .send = mem_send, .recv = mem_recv, .fd = -1, .userdata = &peer };
	c->host = strdup("srv");
	c->credits = 1;
	static const uint16_t dialects[] = { SMB2_DIALECT_202, SMB2_DIALECT_210, SMB2_DIALECT_300,
					     SMB2_DIALECT_302, SMB2_DIALECT_311 };
	SmbNegotiateParams np = { .dialects = dialects, .n_dialects = ELEMENTSOF(dialects) };
	SmbNegotiateInfo ni;
	SmbSessionInfo si;
	SmbAuthParams a = { .user = "alice", .password = "Secret-1", .ntlm_allowed = true };
	Smb2FileId fid;
	uint64_t fsize;
	SmbDirEntry *e = NULL;
	size_t n = 0;
	if (c->host && smb_client_negotiate(c, &np, &ni) >= 0 && smb_client_session_setup(c, &a, false, &si) >= 0 &&
	    smb_client_tree_connect(c, "share", NULL) >= 0) {
		if (smb_client_open(c, "", SMB_OPEN_DIR, &fid, NULL) >= 0 && smb_client_list(c, &fid, &e, &n) >= 0)
			smb_dir_entries_free(e, n);
		if (smb_client_open(c, "f", SMB_OPEN_READ, &fid, &fsize) >= 0)
			smb_client_read_to_fd(c, &fid, fsize > (1u << 20) ? 1u << 20 : fsize, devnull);
	}
	smb_client_free(c);
	return 0;
}
