/*
 * test_client_policy.c - unit tests of endpoint/client_policy.c: loading
 * the client settings (catalog defaults and a document), host matching of
 * the exception / server lists (name, NetBIOS name of an FQDN, address),
 * the port choice (mappings, alternative-port refusals naming their
 * setting), the QUIC refusals, and smb_unc_parse of the client library.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../endpoint/client_policy.c"
#include "test_common.h"

static char *write_policy(const char *body) { return test_write_policy("client-policy", body); }

static void test_defaults(void **state) {
	(void)state;
	_cleanup_(client_policy_freep) ClientPolicy *p = NULL;
	assert_int_equal(client_policy_load(NULL, &p), 0);
	/* The catalog's (Windows 2025) defaults. */
	assert_true(p->signing_required);
	assert_false(p->encryption_required);
	assert_int_equal(p->dialect_min, SMB2_DIALECT_202);
	assert_int_equal(p->dialect_max, SMB2_DIALECT_311);
	assert_false(p->guest_insecure_logons);
	assert_false(p->ntlm_block);
	assert_false(p->mailslots_enabled);
	assert_int_equal(strv_length(p->ntlm_exceptions), 0);
}

static void test_document(void **state) {
	(void)state;
	_cleanup_free_ char *path = write_policy(
		"<setting id=\"client.ntlm.block\">true</setting>\n"
		"<setting id=\"client.ntlm.exceptions\"><item>nas1.example.com</item><item>10.0.0.7</item></setting>\n"
		"<setting id=\"client.dialect.min\">3.0</setting>\n"
		"<setting id=\"client.encryption.required\">true</setting>\n"
		"<setting id=\"client.ports.alternate.allowed\">true</setting>\n"
		"<setting id=\"client.ports.alternate.mappings\"><item>edge1:quic:450</item>"
		"<item>nas1.example.com:tcp:8445</item><item>nas1:tcp:9445</item><item>nas1:rdma:5446</item>"
		"</setting>\n");
	_cleanup_(client_policy_freep) ClientPolicy *p = NULL;
	assert_int_equal(client_policy_load(path, &p), 0);
	unlink(path);
	assert_true(p->ntlm_block);
	assert_int_equal(strv_length(p->ntlm_exceptions), 2);
	assert_int_equal(p->dialect_min, SMB2_DIALECT_300);
	assert_true(p->encryption_required);
	/* first tcp mapping whose server matches; quic mappings are not ours */
	assert_int_equal(mapped_port(p, "nas1.example.com", SMB_TRANSPORT_TCP), 8445);
	assert_int_equal(mapped_port(p, "NAS1", SMB_TRANSPORT_TCP), 9445);
	assert_int_equal(mapped_port(p, "edge1", SMB_TRANSPORT_TCP), 0);
	assert_int_equal(mapped_port(p, "edge1", SMB_TRANSPORT_QUIC), 450);
	assert_int_equal(mapped_port(p, "nas1", SMB_TRANSPORT_QUIC), 0);
	assert_int_equal(mapped_port(p, "other", SMB_TRANSPORT_TCP), 0);
	/* rdma mappings are SMB Direct's alone */
	assert_int_equal(mapped_port(p, "nas1", SMB_TRANSPORT_RDMA), 5446);
	assert_int_equal(mapped_port(p, "edge1", SMB_TRANSPORT_RDMA), 0);
}

static void test_invalid_document(void **state) {
	(void)state;
	_cleanup_free_ char *path = write_policy("<setting id=\"client.dialect.min\">9.9</setting>\n");
	ClientPolicy *p = NULL;
	assert_true(client_policy_load(path, &p) < 0);
	assert_null(p);
	unlink(path);
}

static void test_host_listed(void **state) {
	(void)state;
	char *list[] = { "NAS1.example.com", "legacy", "127.0.0.1", NULL };
	assert_true(client_policy_host_listed(list, "nas1.EXAMPLE.com"));  /* FQDN, any case */
	assert_true(client_policy_host_listed(list, "legacy.corp.example")); /* NetBIOS name */
	assert_true(client_policy_host_listed(list, "LEGACY"));
	assert_true(client_policy_host_listed(list, "127.0.0.1"));
	assert_true(client_policy_host_listed(list, "localhost"));         /* resolves to a listed IP */
	assert_false(client_policy_host_listed(list, "nas2.example.com"));
	assert_false(client_policy_host_listed(list, "10.1.2.3"));
	char *none[] = { NULL };
	assert_false(client_policy_host_listed(none, "nas1"));
}

static void test_ports(void **state) {
	(void)state;
	char *servers[] = { "nas1", NULL };
	ClientPolicy p = { .ports_alternate_allowed = false };
	ClientConnectParams cp = { .host = "nas1" };
	ClientRefusal why = {};
	uint16_t port = 0;
	assert_int_equal(choose_port(&p, &cp, NULL, &port, &why), 0);
	assert_int_equal(port, 445);
	cp.port = 445;
	assert_int_equal(choose_port(&p, &cp, NULL, &port, &why), 0);
	cp.port = 8445;
	assert_int_equal(choose_port(&p, &cp, NULL, &port, &why), -EPERM);
	assert_string_equal(why.setting, "client.ports.alternate.allowed");
	p.ports_alternate_allowed = true;
	p.ports_alternate_servers = servers;
	assert_int_equal(choose_port(&p, &cp, NULL, &port, &why), 0);
	assert_int_equal(port, 8445);
	cp.host = "nas2";
	assert_int_equal(choose_port(&p, &cp, NULL, &port, &why), -EPERM);
	assert_string_equal(why.setting, "client.ports.alternate.servers");
	assert_non_null(strstr(why.message, "nas2"));
	/* QUIC's own default is 443; 445 is an alternative port there */
	cp.transport = SMB_TRANSPORT_QUIC;
	cp.port = 0;
	assert_int_equal(choose_port(&p, &cp, NULL, &port, &why), 0);
	assert_int_equal(port, 443);
	cp.port = 445;
	assert_int_equal(choose_port(&p, &cp, NULL, &port, &why), -EPERM);
}

/* SMB Direct's default is 5445: 445 and 5446 are alternative ports there,
 * and a mapping "server:rdma:port" picks its port. */
static void test_rdma_ports(void **state) {
	(void)state;
	char *servers[] = { "nas1", NULL };
	char *mappings[] = { "nas1:tcp:8445", "nas1:rdma:5446", NULL };
	ClientPolicy p = { .ports_alternate_allowed = false };
	ClientConnectParams cp = { .host = "nas1", .transport = SMB_TRANSPORT_RDMA };
	ClientRefusal why = {};
	uint16_t port = 0;
	assert_int_equal(choose_port(&p, &cp, NULL, &port, &why), 0);
	assert_int_equal(port, 5445);
	cp.port = 445;
	assert_int_equal(choose_port(&p, &cp, NULL, &port, &why), -EPERM);
	assert_string_equal(why.setting, "client.ports.alternate.allowed");
	assert_non_null(strstr(why.message, "445"));
	cp.port = 0;
	p.ports_alternate_mappings = mappings;
	assert_int_equal(choose_port(&p, &cp, NULL, &port, &why), -EPERM); /* mapped, but not allowed */
	p.ports_alternate_allowed = true;
	p.ports_alternate_servers = servers;
	assert_int_equal(choose_port(&p, &cp, NULL, &port, &why), 0);
	assert_int_equal(port, 5446);
	cp.host = "nas2";
	cp.port = 5446;
	assert_int_equal(choose_port(&p, &cp, NULL, &port, &why), -EPERM);
	assert_string_equal(why.setting, "client.ports.alternate.servers");
	cp.port = 5445; /* the default port needs no permission */
	assert_int_equal(choose_port(&p, &cp, NULL, &port, &why), 0);
}

/* No RDMA device here (or none the test may count on): the verbs stack
 * refuses with -ENODEV and the refusal says so in words, not "No such
 * device"; it is no policy refusal. */
static void test_rdma_no_device(void **state) {
	(void)state;
	if (access("/sys/class/infiniband", F_OK) == 0)
		skip();
	ClientPolicy p = { .dialect_min = SMB2_DIALECT_202, .dialect_max = SMB2_DIALECT_311 };
	ClientConnectParams cp = { .host = "127.0.0.1", .transport = SMB_TRANSPORT_RDMA, .rdma_provider = "" };
	ClientRefusal why = {};
	SmbClient *c = NULL;
	unsetenv("SMBREFC_RDMA_PROVIDER");
	assert_int_equal(client_policy_connect(&p, &cp, NULL, &c, NULL, &why), -ENODEV);
	assert_null(why.setting);
	assert_non_null(strstr(why.message, "no RDMA device"));
	assert_non_null(strstr(why.message, "--rdma-provider tcp"));
	assert_null(c);
}

static void test_quic(void **state) {
	(void)state;
	char *servers[] = { "edge1.example.com", NULL };
	ClientPolicy p = { .quic_enabled = false };
	ClientConnectParams cp = { .host = "edge1.example.com", .transport = SMB_TRANSPORT_TCP };
	ClientRefusal why = {};
	assert_int_equal(check_transport(&p, &cp, NULL, &why), 0); /* TCP is not QUIC */
	cp.transport = SMB_TRANSPORT_QUIC;
	assert_int_equal(check_transport(&p, &cp, NULL, &why), -EPERM);
	assert_string_equal(why.setting, "client.quic.enabled");
	p.quic_enabled = true;
	p.quic_servers = servers;
	assert_int_equal(check_transport(&p, &cp, NULL, &why), 0);
	cp.host = "edge2.example.com";
	assert_int_equal(check_transport(&p, &cp, NULL, &why), -EPERM);
	assert_string_equal(why.setting, "client.quic.servers");
	/* QUIC is 3.1.1 only: nothing left to offer below it. */
	ClientPolicy old = { .quic_enabled = true, .dialect_min = SMB2_DIALECT_202, .dialect_max = SMB2_DIALECT_302 };
	SmbClient *c = NULL;
	assert_int_equal(client_policy_connect(&old, &cp, NULL, &c, NULL, &why), -EPERM);
	assert_string_equal(why.setting, "client.dialect.max");
	assert_null(c);
}

static void test_no_dialect_left(void **state) {
	(void)state;
	ClientPolicy p = { .dialect_min = SMB2_DIALECT_202, .dialect_max = SMB2_DIALECT_210,
			   .encryption_required = true };
	ClientConnectParams cp = { .host = "127.0.0.1", .port = 445 };
	ClientRefusal why = {};
	SmbClient *c = NULL;
	assert_int_equal(client_policy_connect(&p, &cp, NULL, &c, NULL, &why), -EPERM);
	assert_string_equal(why.setting, "client.encryption.required");
}

static void test_unc(void **state) {
	(void)state;
	static const struct {
		const char *unc, *host, *share;
		uint16_t port;
	} ok[] = {
		{ "//srv/share", "srv", "share", 0 },
		{ "//srv:8445/share", "srv", "share", 8445 },
		{ "\\\\srv\\share", "srv", "share", 0 },
		{ "//[::1]:99/s", "::1", "s", 99 },
		{ "//10.0.0.1/a/b", "10.0.0.1", "a/b", 0 },
	};
	for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
		_cleanup_free_ char *h = NULL, *s = NULL;
		uint16_t port = 1;
		assert_int_equal(smb_unc_parse(ok[i].unc, &h, &port, &s), 0);
		assert_string_equal(h, ok[i].host);
		assert_string_equal(s, ok[i].share);
		assert_int_equal(port, ok[i].port);
	}
	static const char *bad[] = { "srv/share", "//srv", "//srv/", "//srv:0/s", "//srv:99999/s", "//srv:x/s",
				     "//[::1/s" };
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		char *h = NULL, *s = NULL;
		uint16_t port;
		assert_int_equal(smb_unc_parse(bad[i], &h, &port, &s), -EINVAL);
		assert_null(h);
	}
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_document),
		cmocka_unit_test(test_invalid_document),
		cmocka_unit_test(test_host_listed),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_rdma_ports),
		cmocka_unit_test(test_rdma_no_device),
		cmocka_unit_test(test_quic),
		cmocka_unit_test(test_no_dialect_left),
		cmocka_unit_test(test_unc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
