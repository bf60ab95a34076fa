/*
 * test_client_probe.c - unit tests of endpoint/probe.c's output and its
 * comparison with a policy: each measured server setting that differs is
 * named once, unknown measurements never count, the rate limiter's delay
 * is compared with slack and only where the policy turns it on, cipher
 * lists compare as sets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../endpoint/probe.c"
#include "test_common.h"

static char *write_policy(const char *body) { return test_write_policy("client-probe", body); }

/* A server as the catalog defaults want it. */
static ProbeResult default_server(void) {
	ProbeResult r = { .signing_required = PROBE_YES, .unsigned_refused = PROBE_YES,
			  .ntlm_accepted = PROBE_YES, .encryption_required = PROBE_NO,
			  .unencrypted_refused = PROBE_UNKNOWN, .guest_allowed = PROBE_NO,
			  .anonymous_allowed = PROBE_NO, .failed_login_delay_ms = 2003,
			  .quic = PROBE_UNKNOWN, .quic_client_cert_required = PROBE_UNKNOWN,
			  .rdma = PROBE_UNKNOWN };
	for (unsigned i = 0; i < PROBE_N_DIALECTS; i++)
		r.dialect[i] = PROBE_YES;
	for (unsigned i = 0; i < PROBE_N_CIPHERS; i++)
		r.cipher[i] = PROBE_YES;
	return r;
}

static int compare(const ProbeResult *r, const char *body, DiagList *d) {
	_cleanup_free_ char *path = write_policy(body);
	int n = probe_compare(r, path, d);
	unlink(path);
	return n;
}

static bool named(const DiagList *d, const char *id) {
	for (size_t i = 0; i < d->n; i++)
		if (d->items[i].setting && streq(d->items[i].setting, id))
			return true;
	return false;
}

static void test_names(void **state) {
	(void)state;
	assert_string_equal(probe_dialect_name(0), "2.0.2");
	assert_string_equal(probe_dialect_name(4), "3.1.1");
	assert_null(probe_dialect_name(5));
	assert_string_equal(probe_cipher_name(1), "aes-128-gcm");
	assert_string_equal(probe_cipher_name(2), "aes-256-ccm");
	assert_null(probe_cipher_name(4));
}

static void test_agrees(void **state) {
	(void)state;
	ProbeResult r = default_server();
	_cleanup_(diag_clear) DiagList d = {};
	assert_int_equal(compare(&r, "", &d), 0);
	assert_int_equal(d.n, 0);
}

static void test_differences(void **state) {
	(void)state;
	ProbeResult r = default_server();
	r.dialect[0] = r.dialect[1] = PROBE_NO;      /* min 3.0 */
	r.signing_required = PROBE_NO;
	r.cipher[0] = r.cipher[2] = PROBE_NO;         /* GCM only */
	r.failed_login_delay_ms = 3;                  /* no limiter */
	_cleanup_(diag_clear) DiagList d = {};
	assert_int_equal(compare(&r, "", &d), 4);
	assert_true(named(&d, "server.dialect.min"));
	assert_true(named(&d, "server.signing.required"));
	assert_true(named(&d, "server.encryption.ciphers"));
	assert_true(named(&d, "server.auth-rate-limiter.enabled"));
	assert_false(named(&d, "server.auth-rate-limiter.delay-ms")); /* the row above covers it */
}

static void test_announced_not_enforced(void **state) {
	(void)state;
	ProbeResult r = default_server();
	r.unsigned_refused = PROBE_NO;
	_cleanup_(diag_clear) DiagList d = {};
	assert_int_equal(compare(&r, "", &d), 1);
	assert_true(named(&d, "server.signing.required"));
}

static void test_unknown_never_differs(void **state) {
	(void)state;
	ProbeResult r = default_server();
	r.signing_required = r.unsigned_refused = PROBE_UNKNOWN;
	r.guest_allowed = r.anonymous_allowed = PROBE_UNKNOWN;
	r.cipher[3] = PROBE_UNKNOWN;
	r.failed_login_delay_ms = -1;
	_cleanup_(diag_clear) DiagList d = {};
	assert_int_equal(compare(&r, "<setting id=\"server.signing.required\">false</setting>\n", &d), 0);
}

static void test_delay_and_sets(void **state) {
	(void)state;
	ProbeResult r = default_server();
	r.failed_login_delay_ms = 540;
	r.cipher[0] = r.cipher[2] = PROBE_NO;
	_cleanup_(diag_clear) DiagList d = {};
	/* 540 ms is within slack of 500; cipher order does not matter */
	assert_int_equal(compare(&r, "<setting id=\"server.auth-rate-limiter.delay-ms\">500</setting>\n"
				     "<setting id=\"server.encryption.ciphers\"><item>aes-256-gcm</item>"
				     "<item>aes-128-gcm</item></setting>\n", &d), 0);
	assert_int_equal(compare(&r, "<setting id=\"server.auth-rate-limiter.delay-ms\">2000</setting>\n"
				     "<setting id=\"server.encryption.ciphers\"><item>aes-256-gcm</item></setting>\n",
				 &d), 2);
	assert_true(named(&d, "server.auth-rate-limiter.delay-ms"));
	assert_true(named(&d, "server.encryption.ciphers"));
	/* a limiter the policy turns off: its delay is not compared */
	diag_clear(&d);
	r = default_server();
	r.failed_login_delay_ms = 4;
	assert_int_equal(compare(&r, "<setting id=\"server.auth-rate-limiter.enabled\">false</setting>\n", &d), 0);
}

static void test_quic(void **state) {
	(void)state;
	ProbeResult r = default_server();
	r.quic = PROBE_YES;
	r.quic_client_cert_required = PROBE_NO;
	_cleanup_(diag_clear) DiagList d = {};
#define QUIC_ON "<setting id=\"server.transport.quic.enabled\">true</setting>\n" \
		"<setting id=\"server.quic.certificate\">/etc/smb/cert.pem</setting>\n" \
		"<setting id=\"server.quic.key\">/etc/smb/key.pem</setting>\n"
	assert_int_equal(compare(&r, QUIC_ON, &d), 0);
	assert_int_equal(compare(&r, QUIC_ON "<setting id=\"server.quic.client-access.required\">true</setting>\n"
				     "<setting id=\"server.quic.client-access.allow\"><item>issuer:CN=CA</item></setting>\n",
				 &d), 1);
	assert_true(named(&d, "server.quic.client-access.required"));
	diag_clear(&d);
	assert_int_equal(compare(&r, "", &d), 1);
	assert_true(named(&d, "server.transport.quic.enabled"));
	snprintf(r.quic_tls_version, sizeof(r.quic_tls_version), "TLS1.3");
	snprintf(r.quic_alpn, sizeof(r.quic_alpn), "smb");
	_cleanup_free_ char *j = NULL;
	assert_int_equal(probe_to_json(&r, &j), 0);
	assert_non_null(strstr(j, "\"quic\":true,\"quic_tls_version\":\"TLS1.3\",\"quic_alpn\":\"smb\""));
	assert_non_null(strstr(j, "\"quic_client_cert_required\":false"));
}

/* SMB Direct: enabled compares with whether it answered; port with the
 * port it answered on (a port without an answer says nothing); a probe
 * that could not measure (no RDMA device here) never differs. */
static void test_rdma(void **state) {
	(void)state;
	ProbeResult r = default_server();
	_cleanup_(diag_clear) DiagList d = {};
#define RDMA_ON "<setting id=\"server.transport.rdma.enabled\">true</setting>\n"
	r.rdma_port = 5446;
	snprintf(r.rdma_error, sizeof(r.rdma_error), "no RDMA device");
	assert_int_equal(compare(&r, RDMA_ON, &d), 0); /* unknown */
	r.rdma_error[0] = 0;
	r.rdma = PROBE_NO;
	assert_int_equal(compare(&r, "", &d), 0);
	assert_int_equal(compare(&r, RDMA_ON "<setting id=\"server.transport.rdma.port\">5446</setting>\n", &d), 1);
	assert_true(named(&d, "server.transport.rdma.enabled"));
	diag_clear(&d);
	r.rdma = PROBE_YES;
	r.rdma_dialect = SMB2_DIALECT_311;
	r.rdma_max_read_write_size = 1048576;
	r.rdma_send_credits = 255;
	snprintf(r.rdma_stack, sizeof(r.rdma_stack), "ofi");
	snprintf(r.rdma_provider, sizeof(r.rdma_provider), "tcp");
	assert_int_equal(compare(&r, RDMA_ON "<setting id=\"server.transport.rdma.port\">5446</setting>\n", &d), 0);
	assert_int_equal(compare(&r, RDMA_ON, &d), 1);
	assert_true(named(&d, "server.transport.rdma.port"));
	assert_non_null(strstr(d.items[0].message, "policy says 5445, server does 5446"));
	diag_clear(&d);
	assert_int_equal(compare(&r, "", &d), 1);
	assert_true(named(&d, "server.transport.rdma.enabled"));
	_cleanup_free_ char *j = NULL, *t = NULL;
	assert_int_equal(probe_to_json(&r, &j), 0);
	assert_non_null(strstr(j, "\"rdma\":true,\"rdma_port\":5446,\"rdma_stack\":\"ofi\",\"rdma_provider\":\"tcp\","
				  "\"rdma_dialect\":\"3.1.1\",\"rdma_max_read_write_size\":1048576,\"rdma_send_credits\":255"));
	assert_int_equal(probe_to_text(&r, &t), 0);
	assert_non_null(strstr(t, "SMB Direct (RDMA)              port 5446 (ofi provider tcp), SMB 3.1.1; "
				  "MaxReadWriteSize 1048576"));
#undef RDMA_ON
}

static void test_cipher_order(void **state) {
	(void)state;
	ProbeResult r = default_server();
	r.cipher[0] = PROBE_NO;
	r.cipher_order[0] = 3; /* aes-256-gcm */
	r.cipher_order[1] = 1; /* aes-128-gcm */
	r.cipher_order[2] = 2; /* aes-256-ccm */
	r.n_cipher_order = 3;
	_cleanup_(diag_clear) DiagList d = {};
	assert_int_equal(compare(&r, "<setting id=\"server.encryption.ciphers\"><item>aes-256-gcm</item>"
				     "<item>aes-128-gcm</item><item>aes-256-ccm</item></setting>\n", &d), 0);
	assert_int_equal(compare(&r, "<setting id=\"server.encryption.ciphers\"><item>aes-128-gcm</item>"
				     "<item>aes-256-gcm</item><item>aes-256-ccm</item></setting>\n", &d), 1);
	assert_true(named(&d, "server.encryption.ciphers"));
	_cleanup_free_ char *j = NULL;
	assert_int_equal(probe_to_json(&r, &j), 0);
	assert_non_null(strstr(j, "\"cipher_order\":[\"aes-256-gcm\",\"aes-128-gcm\",\"aes-256-ccm\"]"));
}

static void test_invalid_policy(void **state) {
	(void)state;
	ProbeResult r = default_server();
	_cleanup_(diag_clear) DiagList d = {};
	assert_true(compare(&r, "<setting id=\"server.dialect.min\">4.0</setting>\n", &d) < 0);
	assert_true(d.n > 0);
}

static void test_json(void **state) {
	(void)state;
	ProbeResult r = default_server();
	r.dialect[0] = PROBE_NO;
	r.unencrypted_refused = PROBE_UNKNOWN;
	_cleanup_free_ char *j = NULL, *t = NULL;
	assert_int_equal(probe_to_json(&r, &j), 0);
	assert_non_null(strstr(j, "\"dialects\":{\"2.0.2\":false,\"2.1\":true"));
	assert_non_null(strstr(j, "\"aes-256-gcm\":true"));
	assert_non_null(strstr(j, "\"unencrypted_refused\":null"));
	assert_non_null(strstr(j, "\"failed_login_delay_ms\":2003"));
	assert_int_equal(probe_to_text(&r, &t), 0);
	assert_non_null(strstr(t, "dialect 2.0.2  refused"));
	assert_non_null(strstr(t, "unencrypted request            unknown"));
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_agrees),
		cmocka_unit_test(test_differences),
		cmocka_unit_test(test_announced_not_enforced),
		cmocka_unit_test(test_unknown_never_differs),
		cmocka_unit_test(test_delay_and_sets),
		cmocka_unit_test(test_quic),
		cmocka_unit_test(test_rdma),
		cmocka_unit_test(test_cipher_order),
		cmocka_unit_test(test_invalid_policy),
		cmocka_unit_test(test_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
