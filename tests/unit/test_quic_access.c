/*
 * test_quic_access.c - unit tests of endpoint/quic_access.c: the SMB over
 * QUIC client-certificate decision (block anywhere wins, clientAuth EKU,
 * one allow needed, chain order, malformed DER), the audit fields, the RFC
 * 4514 comparison, and the server certificate check.  Certificates are
 * made here with OpenSSL (EC P-256, RSA) so the test needs no files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../endpoint/quic_access.c"
#include <openssl/sha.h>

typedef struct Cert {
	EVP_PKEY *key;
	X509 *x;
	uint8_t *der;
	int len;
} Cert;

static void cert_done(Cert *c) {
	EVP_PKEY_free(c->key);
	X509_free(c->x);
	OPENSSL_free(c->der);
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value) {
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(e);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

/* A certificate "O=org, CN=cn" signed by issuer (NULL: self-signed). */
static void make_cert(Cert *c, EVP_PKEY *key, const char *org, const char *cn, const Cert *issuer,
		      const char *eku, bool ca, long serial) {
	c->key = key;
	c->x = X509_new();
	assert_non_null(c->x);
	X509_set_version(c->x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c->x), serial);
	X509_gmtime_adj(X509_getm_notBefore(c->x), 0);
	X509_gmtime_adj(X509_getm_notAfter(c->x), 86400);
	X509_NAME *n = X509_get_subject_name(c->x);
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)org, -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(c->x, issuer ? X509_get_subject_name(issuer->x) : n);
	X509_set_pubkey(c->x, key);
	X509 *ix = issuer ? issuer->x : c->x;
	add_ext(c->x, ix, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	if (eku)
		add_ext(c->x, ix, NID_ext_key_usage, eku);
	assert_true(X509_sign(c->x, issuer ? issuer->key : key, EVP_sha256()) > 0);
	c->len = i2d_X509(c->x, &c->der);
	assert_true(c->len > 0);
}

static struct {
	Cert ca, evil, alice, noeku, server_eku, forged;
} pki;

static char ca_sha256[72], alice_sha256[72];

static int setup(void **state) {
	(void)state;
	make_cert(&pki.ca, EVP_EC_gen("P-256"), "Example Corp", "Example Client CA", NULL, NULL, true, 1);
	make_cert(&pki.evil, EVP_EC_gen("P-256"), "Evil Inc", "Evil CA", NULL, NULL, true, 2);
	make_cert(&pki.alice, EVP_EC_gen("P-256"), "Example Corp", "alice", &pki.ca, "clientAuth", false, 0x1234);
	make_cert(&pki.noeku, EVP_EC_gen("P-256"), "Example Corp", "noeku", &pki.ca, NULL, false, 4);
	make_cert(&pki.server_eku, EVP_EC_gen("P-256"), "Example Corp", "srv", &pki.ca, "serverAuth", false, 5);
	/* issued in the CA's name but signed by the evil CA's key */
	Cert fake_ca = { .key = pki.evil.key, .x = pki.ca.x };
	make_cert(&pki.forged, EVP_EC_gen("P-256"), "Example Corp", "mallory", &fake_ca, "clientAuth", false, 6);
	unsigned char md[32];
	char hex[65];
	SHA256(pki.ca.der, (size_t)pki.ca.len, md);
	hex_encode(md, 32, hex);
	snprintf(ca_sha256, sizeof(ca_sha256), "sha256:%s", hex);
	SHA256(pki.alice.der, (size_t)pki.alice.len, md);
	hex_encode(md, 32, hex);
	snprintf(alice_sha256, sizeof(alice_sha256), "sha256:%s", hex);
	return 0;
}

static int teardown(void **state) {
	(void)state;
	cert_done(&pki.ca);
	cert_done(&pki.evil);
	cert_done(&pki.alice);
	cert_done(&pki.noeku);
	cert_done(&pki.server_eku);
	cert_done(&pki.forged);
	return 0;
}

static QuicDer der(const Cert *c) { return (QuicDer) { c->der, (size_t)c->len }; }

static const char *ISSUER_CA = "issuer:CN=Example Client CA,O=Example Corp";

static QuicAccessVerdict decide2(const Cert *leaf, const Cert *ca, char **allow, char **block,
				 QuicAccessDecision *d) {
	QuicDer chain[2] = { der(leaf), der(ca) };
	assert_int_equal(quic_access_decide(chain, ca ? 2 : 1, allow, block, d), 0);
	return d->verdict;
}

static void test_allowed_by_issuer(void **state) {
	(void)state;
	char *allow[] = { "issuer:CN=Other CA", (char *)ISSUER_CA, NULL };
	QuicAccessDecision d;
	assert_int_equal(decide2(&pki.alice, &pki.ca, allow, NULL, &d), QUIC_ACCESS_ALLOWED);
	assert_int_equal(d.n_certs, 2);
	assert_string_equal(d.certs[0].subject, "CN=alice,O=Example Corp");
	assert_string_equal(d.certs[0].issuer, "CN=Example Client CA,O=Example Corp");
	assert_string_equal(d.certs[0].serial, "1234");
	assert_string_equal(d.certs[0].sha256, alice_sha256 + 7);
	assert_int_equal(strlen(d.certs[0].sha1), 40);
	assert_int_equal(strv_length(d.matched), 1);
	assert_string_equal(d.matched[0], ISSUER_CA);
	quic_access_decision_done(&d);
}

static void test_allowed_by_sha256_any_spelling(void **state) {
	(void)state;
	/* upper case with colons, as `openssl x509 -fingerprint -sha256` prints */
	char spelled[200] = "sha256:";
	for (size_t i = 7; alice_sha256[i]; i += 2)
		snprintf(spelled + strlen(spelled), sizeof(spelled) - strlen(spelled), "%s%c%c",
			 i > 7 ? ":" : "", toupper(alice_sha256[i]), toupper(alice_sha256[i + 1]));
	char *allow[] = { spelled, NULL };
	QuicAccessDecision d;
	assert_int_equal(decide2(&pki.alice, &pki.ca, allow, NULL, &d), QUIC_ACCESS_ALLOWED);
	quic_access_decision_done(&d);
	/* the CA's hash allows the whole chain below it */
	char *allow_ca[] = { ca_sha256, NULL };
	assert_int_equal(decide2(&pki.alice, &pki.ca, allow_ca, NULL, &d), QUIC_ACCESS_ALLOWED);
	quic_access_decision_done(&d);
}

static void test_block_anywhere_wins(void **state) {
	(void)state;
	char *allow[] = { alice_sha256, NULL };
	char *block[] = { ca_sha256, "issuer:CN=Evil CA,O=Evil Inc", NULL };
	QuicAccessDecision d;
	assert_int_equal(decide2(&pki.alice, &pki.ca, allow, block, &d), QUIC_ACCESS_DENIED);
	assert_string_equal(d.reason, "a block entry matches the client chain");
	assert_int_equal(strv_length(d.matched), 1);
	assert_string_equal(d.matched[0], ca_sha256);
	quic_access_decision_done(&d);
	/* block by issuer, spelled with blanks and other case */
	char *block_dn[] = { "issuer:cn = example client ca , o=EXAMPLE CORP", NULL };
	assert_int_equal(decide2(&pki.alice, &pki.ca, allow, block_dn, &d), QUIC_ACCESS_DENIED);
	assert_string_equal(d.matched[0], block_dn[0]);
	quic_access_decision_done(&d);
}

static void test_eku_required(void **state) {
	(void)state;
	char *allow[] = { (char *)ISSUER_CA, NULL };
	QuicAccessDecision d;
	assert_int_equal(decide2(&pki.noeku, &pki.ca, allow, NULL, &d), QUIC_ACCESS_DENIED);
	assert_string_equal(d.reason, "client certificate lacks EKU clientAuth");
	quic_access_decision_done(&d);
	assert_int_equal(decide2(&pki.server_eku, &pki.ca, allow, NULL, &d), QUIC_ACCESS_DENIED);
	assert_string_equal(d.reason, "client certificate lacks EKU clientAuth");
	quic_access_decision_done(&d);
}

static void test_no_allow_no_cert(void **state) {
	(void)state;
	char *allow[] = { "issuer:CN=Someone Else", NULL };
	QuicAccessDecision d;
	assert_int_equal(decide2(&pki.alice, &pki.ca, allow, NULL, &d), QUIC_ACCESS_DENIED);
	assert_string_equal(d.reason, "no allow entry matches the client chain");
	quic_access_decision_done(&d);
	assert_int_equal(decide2(&pki.alice, &pki.ca, NULL, NULL, &d), QUIC_ACCESS_DENIED);
	quic_access_decision_done(&d);
	assert_int_equal(quic_access_decide(NULL, 0, allow, NULL, &d), 0);
	assert_int_equal(d.verdict, QUIC_ACCESS_DENIED);
	assert_string_equal(d.reason, "no client certificate");
	quic_access_decision_done(&d);
}

static void test_chain_must_be_signed_in_order(void **state) {
	(void)state;
	char *allow[] = { (char *)ISSUER_CA, NULL };
	QuicAccessDecision d;
	/* names the CA as issuer, but the CA did not sign it */
	assert_int_equal(decide2(&pki.forged, &pki.ca, allow, NULL, &d), QUIC_ACCESS_ERROR);
	assert_string_equal(d.reason, "client chain is not signed in order");
	quic_access_decision_done(&d);
	/* chain in the wrong order */
	assert_int_equal(decide2(&pki.ca, &pki.alice, allow, NULL, &d), QUIC_ACCESS_ERROR);
	quic_access_decision_done(&d);
}

static void test_malformed_der(void **state) {
	(void)state;
	char *allow[] = { (char *)ISSUER_CA, NULL };
	QuicAccessDecision d;
	uint8_t junk[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	QuicDer bad[1] = { { junk, sizeof(junk) } };
	assert_int_equal(quic_access_decide(bad, 1, allow, NULL, &d), 0);
	assert_int_equal(d.verdict, QUIC_ACCESS_ERROR);
	quic_access_decision_done(&d);
	/* a valid certificate followed by trailing bytes is not one DER structure */
	_cleanup_free_ uint8_t *more = malloc((size_t)pki.alice.len + 1);
	memcpy(more, pki.alice.der, (size_t)pki.alice.len);
	more[pki.alice.len] = 0;
	QuicDer trailing[1] = { { more, (size_t)pki.alice.len + 1 } };
	assert_int_equal(quic_access_decide(trailing, 1, allow, NULL, &d), 0);
	assert_int_equal(d.verdict, QUIC_ACCESS_ERROR);
	quic_access_decision_done(&d);
	QuicDer many[17];
	for (size_t i = 0; i < 17; i++)
		many[i] = der(&pki.alice);
	assert_int_equal(quic_access_decide(many, 17, allow, NULL, &d), 0);
	assert_int_equal(d.verdict, QUIC_ACCESS_ERROR);
	quic_access_decision_done(&d);
}

static void test_audit_fields(void **state) {
	(void)state;
	char *allow[] = { (char *)ISSUER_CA, alice_sha256, NULL };
	QuicAccessDecision d;
	assert_int_equal(decide2(&pki.alice, &pki.ca, allow, NULL, &d), QUIC_ACCESS_ALLOWED);
	_cleanup_free_ AuditField *f = NULL;
	_cleanup_free_ char *matched = NULL;
	int n = quic_access_audit_fields(&d, "abcd", &matched, &f);
	assert_int_equal(n, 4 + 2 * 5);
	for (int i = 0; i < n; i++)
		assert_true(audit_field_name_valid(f[i].name));
	assert_string_equal(f[2].value, "abcd");
	assert_string_equal(f[3].value, "2");
	assert_non_null(strstr(matched, ISSUER_CA));
	assert_non_null(strstr(matched, alice_sha256));
	assert_string_equal(f[4].name, "cert0_subject");
	assert_string_equal(f[13].name, "cert1_sha256");
	quic_access_decision_done(&d);
}

static void test_dn_equal(void **state) {
	(void)state;
	assert_true(quic_access_dn_equal("CN=A B,O=C", "cn=a b , o = c"));
	assert_true(quic_access_dn_equal("CN=A\\,B,O=C", "CN=A\\,B, O=C"));
	assert_false(quic_access_dn_equal("CN=A B,O=C", "CN=AB,O=C"));
	assert_false(quic_access_dn_equal("CN=A,O=C", "CN=A,O=C,C=FR"));
	assert_false(quic_access_dn_equal("CN=A\\,B", "CN=A,B"));
}

static void test_server_cert(void **state) {
	(void)state;
	const char *why = NULL;
	assert_int_equal(quic_access_check_server_cert(pki.server_eku.der, (size_t)pki.server_eku.len, &why), 0);
	assert_int_equal(quic_access_check_server_cert(pki.alice.der, (size_t)pki.alice.len, &why), -EINVAL);
	assert_string_equal(why, "certificate lacks EKU serverAuth");
	assert_int_equal(quic_access_check_server_cert((const uint8_t *)"x", 1, &why), -EINVAL);
	struct {
		EVP_PKEY *key;
		int want;
	} keys[] = {
		{ EVP_RSA_gen(1024), -EINVAL },
		{ EVP_RSA_gen(2048), 0 },
		{ EVP_EC_gen("P-384"), 0 },
		{ EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"), -EINVAL },
	};
	for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
		Cert c = {};
		assert_non_null(keys[i].key);
		make_cert(&c, keys[i].key, "Example Corp", "srv", &pki.ca, "serverAuth", false, 10 + (long)i);
		assert_int_equal(quic_access_check_server_cert(c.der, (size_t)c.len, &why), keys[i].want);
		cert_done(&c);
	}
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed_by_issuer),
		cmocka_unit_test(test_allowed_by_sha256_any_spelling),
		cmocka_unit_test(test_block_anywhere_wins),
		cmocka_unit_test(test_eku_required),
		cmocka_unit_test(test_no_allow_no_cert),
		cmocka_unit_test(test_chain_must_be_signed_in_order),
		cmocka_unit_test(test_malformed_der),
		cmocka_unit_test(test_audit_fields),
		cmocka_unit_test(test_dn_equal),
		cmocka_unit_test(test_server_cert),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
