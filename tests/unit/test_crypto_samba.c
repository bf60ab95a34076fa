/*
 * test_crypto_samba.c - the client half of smbrefd's security core against
 * a real Samba smbd (Debian 12: 4.17): for every dialect and every 3.1.1
 * signing algorithm and cipher, our SPNEGO client logs on with NTLMv2 and
 * with Kerberos (MIT KDC in a scratch realm, smbd with a dedicated
 * keytab, NTLM blocked on our side), the keys
 * our KDF derives (with our pre-auth integrity hash for 3.1.1) verify
 * smbd's signature on the final SESSION_SETUP response, smbd accepts our
 * signed TREE_CONNECT, and for SMB 3.x an ECHO we encrypt is answered with
 * one we decrypt.  A wrong password is refused.
 *
 * smbd (and the KDC) run in a scratch directory on free loopback ports,
 * started by the group setup and stopped by its teardown; the tests skip
 * when smbd (or, for Kerberos, krb5kdc) is not installed or we are not
 * root.  The SMB2 framing here is the minimum for these exchanges.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <openssl/rand.h>

#include "crypto.h"
#include "smb2_pdu.h"
#include "spnego.h"
#include "util.h"
#include "scratch_peer.h"

#define PASSWORD "Interop-Pw-42"

static char dir[] = "/tmp/test_crypto_samba.XXXXXX";
static bool dir_made; /* (mkdtemp may well end the name in 'X') */
static pid_t smbd_pid = -1;
static int port;

static KrbRealm realm = { .dir = dir, .kdc = -1 };

/* smbd with NTLM (user root in passdb) and, when a KDC can run here,
 * Kerberos from a dedicated keytab (service cifs/localhost, client
 * principal root, whose tickets are in $KRB5CCNAME). */
static int smbd_setup(void **state) {
	(void)state;
	/* smbd maps the SMB user to the Unix account root: needs root */
	if (geteuid() != 0 || access("/usr/sbin/smbd", X_OK) < 0 ||
	    system("command -v pdbedit >/dev/null") != 0)
		return 0; /* tests skip */
	if (!mkdtemp(dir))
		return -1;
	dir_made = true;
	static const char *const users[] = { "root", NULL };
	static const char *const services[] = { "cifs/localhost", NULL };
	bool krb = krb_realm_available() && krb_realm_start(&realm, users, services) == 0 &&
		   krb_realm_kinit(&realm, "root") == 0;
	if (!krb)
		krb_realm_stop(&realm);
	port = free_port();
	if (sh("mkdir -p %s/share %s/priv %s/lock %s/state %s/cache %s/pid %s/log", dir, dir, dir,
	       dir, dir, dir, dir) != 0)
		return -1;
	char path[512];
	snprintf(path, sizeof path, "%s/smb.conf", dir);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f,
		"[global]\n workgroup = WORKGROUP\n netbios name = AUTHTEST\n smb ports = %d\n"
		" interfaces = lo\n bind interfaces only = yes\n"
		" private dir = %s/priv\n lock directory = %s/lock\n state directory = %s/state\n"
		" cache directory = %s/cache\n pid directory = %s/pid\n"
		" ncalrpc dir = %s/state/ncalrpc\n log file = %s/log/log.%%m\n"
		" passdb backend = tdbsam:%s/priv/passdb.tdb\n server role = standalone server\n"
		" server signing = mandatory\n server min protocol = SMB2_02\n"
		" server max protocol = SMB3_11\n map to guest = Never\n disable netbios = yes\n"
		" load printers = no\n printcap name = /dev/null\n disable spoolss = yes\n",
		port, dir, dir, dir, dir, dir, dir, dir, dir);
	if (krb)
		fprintf(f,
			" realm = " SCRATCH_REALM "\n kerberos method = dedicated keytab\n"
			" dedicated keytab file = FILE:%s/cifs_localhost.keytab\n",
			dir);
	fprintf(f, "[share]\n path = %s/share\n", dir);
	fclose(f);
	if (sh("printf '%%s\\n%%s\\n' " PASSWORD " " PASSWORD
	       " | pdbedit -s %s -a -u root -t >/dev/null 2>&1",
	       path) != 0)
		return -1;
	char *argv[] = { (char *)"/usr/sbin/smbd", (char *)"-s", path, (char *)"-F",
			 (char *)"--no-process-group", (char *)"-d", (char *)"0", NULL };
	smbd_pid = spawn(argv);
	return wait_port(port) ? 0 : -1;
}

static int smbd_teardown(void **state) {
	(void)state;
	stop(&smbd_pid); /* smbd and the children it forked */
	krb_realm_stop(&realm);
	if (dir_made)
		sh("rm -rf %s", dir);
	return 0;
}

/* ---- minimal SMB2 client ---- */

typedef struct Conn {
	int fd;
	uint16_t dialect, sign_alg, cipher;
	uint64_t mid, session_id;
	uint8_t preauth[SMB2_CRYPTO_PREAUTH_SIZE];
	uint8_t buf[65536];
	size_t len; /* last message received */
	Smb2Keys keys;
} Conn;

static void send_frame(Conn *c, const uint8_t *msg, size_t len) {
	uint8_t nb[4] = { 0, (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len };
	assert_int_equal(send(c->fd, nb, 4, MSG_NOSIGNAL), 4);
	assert_int_equal(send(c->fd, msg, len, MSG_NOSIGNAL), (ssize_t)len);
}

static void recv_exact(int fd, uint8_t *p, size_t n) {
	while (n > 0) {
		ssize_t k = recv(fd, p, n, 0);
		assert_true(k > 0);
		p += k;
		n -= (size_t)k;
	}
}

/* Next message, skipping interim STATUS_PENDING responses. */
static void recv_msg(Conn *c) {
	for (;;) {
		uint8_t nb[4];
		recv_exact(c->fd, nb, 4);
		c->len = (size_t)nb[1] << 16 | (size_t)nb[2] << 8 | nb[3];
		assert_true(c->len >= SMB2_HDR_SIZE && c->len <= sizeof c->buf);
		recv_exact(c->fd, c->buf, c->len);
		if (memcmp(c->buf, SMB2_MAGIC, 4) != 0 ||
		    smb2_le32(c->buf + 8) != NT_STATUS_PENDING)
			return;
	}
}

/* Header for command at msg; body follows at msg + 64. */
static void header(Conn *c, uint8_t *msg, uint16_t cmd) {
	memset(msg, 0, SMB2_HDR_SIZE);
	memcpy(msg, SMB2_MAGIC, 4);
	smb2_put16(msg + 4, 64);
	smb2_put16(msg + 6, 1);
	smb2_put16(msg + 12, cmd);
	smb2_put16(msg + 14, 64);
	smb2_put64(msg + 24, c->mid++);
	smb2_put32(msg + 32, 0xfeff);
	smb2_put64(msg + 40, c->session_id);
}

static void negotiate(Conn *c, uint16_t dialect, uint16_t sign_alg, uint16_t cipher) {
	uint8_t msg[512] = { 0 };
	header(c, msg, SMB2_NEGOTIATE);
	uint8_t *b = msg + SMB2_HDR_SIZE;
	smb2_put16(b, 36);
	smb2_put16(b + 2, 1);
	smb2_put16(b + 4, SMB2_NEGOTIATE_SIGNING_ENABLED);
	smb2_put32(b + 8, SMB2_GLOBAL_CAP_ENCRYPTION | SMB2_GLOBAL_CAP_LARGE_MTU);
	RAND_bytes(b + 12, 16);
	smb2_put16(b + 36, dialect);
	size_t len = SMB2_HDR_SIZE + 36 + 2;
	if (dialect == SMB2_DIALECT_311) {
		len = (len + 7) & ~(size_t)7;
		smb2_put32(b + 28, (uint32_t)len);
		smb2_put16(b + 32, 3);
		const struct {
			uint16_t type;
			uint8_t data[40];
			uint16_t n;
		} ctx[] = {
			{ SMB2_PREAUTH_INTEGRITY_CAPABILITIES,
			  { 1, 0, 32, 0, SMB2_PREAUTH_HASH_SHA512, 0, 7, 7, 7 }, 38 },
			{ SMB2_ENCRYPTION_CAPABILITIES, { 1, 0, (uint8_t)cipher, 0 }, 4 },
			{ SMB2_SIGNING_CAPABILITIES, { 1, 0, (uint8_t)sign_alg, 0 }, 4 },
		};
		for (size_t i = 0; i < ELEMENTSOF(ctx); i++) {
			len = (len + 7) & ~(size_t)7;
			smb2_put16(msg + len, ctx[i].type);
			smb2_put16(msg + len + 2, ctx[i].n);
			memcpy(msg + len + 8, ctx[i].data, ctx[i].n);
			len += 8 + ctx[i].n;
		}
		smb2_crypto_preauth_init(c->preauth);
		assert_int_equal(smb2_crypto_preauth_update(c->preauth, msg, len), 0);
	}
	send_frame(c, msg, len);
	recv_msg(c);
	assert_int_equal(smb2_le32(c->buf + 8), NT_STATUS_OK);
	c->dialect = smb2_le16(c->buf + SMB2_HDR_SIZE + 4);
	assert_int_equal(c->dialect, dialect);
	c->sign_alg = SMB2_CRYPTO_SIGN_AES_CMAC;
	c->cipher = dialect >= SMB2_DIALECT_300 ? SMB2_CRYPTO_CIPHER_AES128_CCM
						: SMB2_CRYPTO_CIPHER_NONE;
	if (dialect == SMB2_DIALECT_311) {
		assert_int_equal(smb2_crypto_preauth_update(c->preauth, c->buf, c->len), 0);
		/* the contexts smbd selected */
		const uint8_t *rb = c->buf + SMB2_HDR_SIZE;
		size_t off = smb2_le32(rb + 60), count = smb2_le16(rb + 6);
		c->cipher = SMB2_CRYPTO_CIPHER_NONE;
		for (size_t i = 0; i < count; i++) {
			off = (off + 7) & ~(size_t)7;
			assert_true(off + 8 <= c->len);
			uint16_t type = smb2_le16(c->buf + off), n = smb2_le16(c->buf + off + 2);
			assert_true(off + 8 + n <= c->len);
			if (type == SMB2_SIGNING_CAPABILITIES)
				c->sign_alg = smb2_le16(c->buf + off + 10);
			if (type == SMB2_ENCRYPTION_CAPABILITIES)
				c->cipher = smb2_le16(c->buf + off + 10);
			off += 8 + n;
		}
	}
}

/* SESSION_SETUP rounds; returns the final status. */
static uint32_t session_setup(Conn *c, const char *password, bool kerberos) {
	NtlmClientConfig cfg = { .user = "root", .domain = "WORKGROUP", .password = password };
	_cleanup_(spnego_client_freep) SpnegoClient *sp = NULL;
	assert_int_equal(spnego_client_new(&cfg, &sp), 0);
	if (kerberos) /* NTLM blocked: Kerberos or nothing */
		assert_int_equal(spnego_client_enable_kerberos(sp, "localhost", NULL, false), 0);
	const uint8_t *nb = c->buf + SMB2_HDR_SIZE;
	uint8_t *tok = NULL;
	size_t tok_len = 0;
	assert_int_equal(spnego_client_step(sp, c->buf + smb2_le16(nb + 56), smb2_le16(nb + 58), &tok,
					    &tok_len),
			 SPNEGO_CONTINUE);
	for (;;) {
		uint8_t msg[4096] = { 0 };
		header(c, msg, SMB2_SESSION_SETUP);
		uint8_t *b = msg + SMB2_HDR_SIZE;
		smb2_put16(b, 25);
		b[3] = SMB2_NEGOTIATE_SIGNING_ENABLED;
		smb2_put16(b + 12, SMB2_HDR_SIZE + 24);
		smb2_put16(b + 14, (uint16_t)tok_len);
		assert_true(tok_len < sizeof msg - 88);
		memcpy(b + 24, tok, tok_len);
		free(tok);
		size_t len = SMB2_HDR_SIZE + 24 + tok_len;
		if (c->dialect == SMB2_DIALECT_311)
			assert_int_equal(smb2_crypto_preauth_update(c->preauth, msg, len), 0);
		send_frame(c, msg, len);
		recv_msg(c);
		uint32_t status = smb2_le32(c->buf + 8);
		c->session_id = smb2_le64(c->buf + 40);
		if (status != NT_STATUS_MORE_PROCESSING_REQUIRED && status != NT_STATUS_OK) {
			print_message("%s\n", spnego_client_error(sp));
			return status;
		}
		if (status == NT_STATUS_MORE_PROCESSING_REQUIRED && c->dialect == SMB2_DIALECT_311)
			assert_int_equal(smb2_crypto_preauth_update(c->preauth, c->buf, c->len), 0);
		const uint8_t *rb = c->buf + SMB2_HDR_SIZE;
		int r = spnego_client_step(sp, c->buf + smb2_le16(rb + 4), smb2_le16(rb + 6), &tok,
					   &tok_len);
		if (status == NT_STATUS_OK) {
			assert_int_equal(r, 0); /* incl. smbd's mechListMIC */
			break;
		}
		assert_int_equal(r, SPNEGO_CONTINUE);
	}
	size_t key_len = 0;
	const uint8_t *key = spnego_client_session_key(sp, &key_len);
	assert_non_null(key);
	assert_int_equal(spnego_client_used_kerberos(sp), kerberos);
	assert_int_equal(smb2_crypto_derive_keys(&c->keys, c->dialect, c->sign_alg, c->cipher, false,
						 key, key_len,
						 c->dialect == SMB2_DIALECT_311 ? c->preauth : NULL),
			 0);
	return NT_STATUS_OK;
}

/* A signed TREE_CONNECT to IPC$; returns smbd's status. */
static uint32_t tree_connect_signed(Conn *c) {
	static const char path[] = "\\\\127.0.0.1\\IPC$";
	uint8_t msg[256] = { 0 };
	header(c, msg, SMB2_TREE_CONNECT);
	smb2_put32(msg + 16, SMB2_FLAGS_SIGNED);
	uint8_t *b = msg + SMB2_HDR_SIZE;
	smb2_put16(b, 9);
	smb2_put16(b + 4, SMB2_HDR_SIZE + 8);
	smb2_put16(b + 6, (uint16_t)(2 * strlen(path)));
	for (size_t i = 0; path[i]; i++)
		smb2_put16(b + 8 + 2 * i, (uint8_t)path[i]);
	size_t len = SMB2_HDR_SIZE + 8 + 2 * strlen(path);
	assert_int_equal(smb2_crypto_sign(&c->keys, msg, len), 0);
	send_frame(c, msg, len);
	recv_msg(c);
	return smb2_le32(c->buf + 8);
}

/* An encrypted ECHO; checks smbd's encrypted answer. */
static void echo_encrypted(Conn *c) {
	_cleanup_(smb3_cipher_freep) Smb3Cipher *enc = NULL, *dec = NULL;
	assert_int_equal(smb3_cipher_new(c->cipher, c->keys.encrypt_key, c->keys.cipher_key_len, &enc),
			 0);
	assert_int_equal(smb3_cipher_new(c->cipher, c->keys.decrypt_key, c->keys.cipher_key_len, &dec),
			 0);
	uint8_t frame[SMB3_TRANSFORM_HEADER_SIZE + SMB2_HDR_SIZE + 4] = { 0 };
	uint8_t *msg = frame + SMB3_TRANSFORM_HEADER_SIZE;
	header(c, msg, SMB2_ECHO);
	smb2_put16(msg + SMB2_HDR_SIZE, 4);
	assert_int_equal(smb3_encrypt(enc, c->session_id, frame, SMB2_HDR_SIZE + 4), 0);
	send_frame(c, frame, sizeof frame);
	recv_msg(c);
	uint64_t sid;
	assert_int_equal(smb3_transform_parse(c->buf, c->len, &sid), 0);
	assert_int_equal(sid, c->session_id);
	size_t mlen;
	assert_int_equal(smb3_decrypt(dec, c->buf, c->len, &mlen), 0);
	const uint8_t *resp = c->buf + SMB3_TRANSFORM_HEADER_SIZE;
	assert_memory_equal(resp, SMB2_MAGIC, 4);
	assert_int_equal(smb2_le16(resp + 12), SMB2_ECHO);
	assert_int_equal(smb2_le32(resp + 8), NT_STATUS_OK);
}

static void logon_case(uint16_t dialect, uint16_t sign_alg, uint16_t cipher, bool kerberos) {
	if (smbd_pid <= 0 || (kerberos && realm.kdc <= 0))
		skip();
	Conn *c = calloc(1, sizeof *c);
	assert_non_null(c);
	c->fd = tcp_connect(port);
	assert_true(c->fd >= 0);
	negotiate(c, dialect, sign_alg, cipher);
	assert_int_equal(session_setup(c, PASSWORD, kerberos), NT_STATUS_OK);
	/* smbd signed the final SESSION_SETUP response with the key we derived */
	assert_true(smb2_le32(c->buf + 16) & SMB2_FLAGS_SIGNED);
	assert_int_equal(smb2_crypto_verify(&c->keys, c->buf, c->len), 0);
	print_message("%s dialect %04x: signing %s, cipher %s\n", kerberos ? "krb5" : "ntlm", dialect,
		      smb2_crypto_sign_alg_name(c->keys.sign_alg),
		      c->cipher ? smb2_crypto_cipher_name(c->cipher) : "none");
	if (dialect == SMB2_DIALECT_311) {
		assert_int_equal(c->sign_alg, sign_alg);
		assert_int_equal(c->cipher, cipher);
	}
	/* smbd checks our signature, and signs its answer */
	assert_int_equal(tree_connect_signed(c), NT_STATUS_OK);
	assert_int_equal(smb2_crypto_verify(&c->keys, c->buf, c->len), 0);
	if (c->cipher)
		echo_encrypted(c);
	close(c->fd);
	smb2_crypto_keys_clear(&c->keys);
	free(c);
}

/* Each dialect; for 3.1.1 each signing algorithm and cipher. */
static void run_all(bool kerberos) {
	static const uint16_t older[] = { SMB2_DIALECT_202, SMB2_DIALECT_210, SMB2_DIALECT_300,
					  SMB2_DIALECT_302 };
	for (size_t i = 0; i < ELEMENTSOF(older); i++)
		logon_case(older[i], 0, 0, kerberos);
	static const struct {
		uint16_t sign_alg, cipher;
	} v311[] = {
		{ SMB2_CRYPTO_SIGN_AES_GMAC, SMB2_CRYPTO_CIPHER_AES128_GCM },
		{ SMB2_CRYPTO_SIGN_AES_CMAC, SMB2_CRYPTO_CIPHER_AES128_CCM },
		{ SMB2_CRYPTO_SIGN_HMAC_SHA256, SMB2_CRYPTO_CIPHER_AES256_GCM },
		{ SMB2_CRYPTO_SIGN_AES_GMAC, SMB2_CRYPTO_CIPHER_AES256_CCM },
	};
	for (size_t i = 0; i < ELEMENTSOF(v311); i++)
		logon_case(SMB2_DIALECT_311, v311[i].sign_alg, v311[i].cipher, kerberos);
}

static void test_ntlm(void **state) {
	(void)state;
	run_all(false);
}

/* Kerberos: the subkey (32 bytes with AES-256 enctypes) feeds the keys. */
static void test_kerberos(void **state) {
	(void)state;
	run_all(true);
}

static void test_wrong_password(void **state) {
	(void)state;
	if (smbd_pid <= 0)
		skip();
	Conn *c = calloc(1, sizeof *c);
	assert_non_null(c);
	c->fd = tcp_connect(port);
	assert_true(c->fd >= 0);
	negotiate(c, SMB2_DIALECT_311, SMB2_CRYPTO_SIGN_AES_GMAC, SMB2_CRYPTO_CIPHER_AES128_GCM);
	assert_int_equal(session_setup(c, "not-the-password", false), NT_STATUS_LOGON_FAILURE);
	close(c->fd);
	free(c);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ntlm),
		cmocka_unit_test(test_kerberos),
		cmocka_unit_test(test_wrong_password),
	};
	return cmocka_run_group_tests_name("samba", tests, smbd_setup, smbd_teardown);
}
