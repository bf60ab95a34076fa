/*
 * test_agent_report.c - the cycle report model (agent/report.c) and its
 * D-Bus form (agent/report_bus.c): status names round-trip, compliance is
 * derived from the rows, JSON is escaped, a report survives a trip through
 * a sealed D-Bus message unchanged, and a message with an unknown status is
 * refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/socket.h>

#include "report.h"
#include "report_bus.h"

static Report *sample(void) {
	Report *r = NULL;
	assert_int_equal(report_new(REPORT_APPLY, "h\"1", "strict", "abc", &r), 0);
	assert_int_equal(report_add_plugin(r, "samba", RP_CHANGED, "2 changes"), 0);
	assert_int_equal(report_add_plugin(r, "ksmbd", RP_UNAVAILABLE, NULL), 0);
	assert_int_equal(report_add_setting(r, "samba", "server.signing.required", "server signing",
					    "auto", "mandatory", RS_CHANGED),
			 0);
	assert_int_equal(report_add_setting(r, "samba", "server.dialect.min", "server min protocol",
					    NULL, "SMB3_11", RS_OK),
			 0);
	report_finish(r);
	return r;
}

static void test_names_round_trip(void **state) {
	(void)state;
	for (int k = 0; k < _REPORT_KIND_MAX; k++)
		assert_int_equal(report_kind_from_string(report_kind_to_string(k)), k);
	for (int s = 0; s < _RP_MAX; s++)
		assert_int_equal(report_plugin_status_from_string(report_plugin_status_to_string(s)), s);
	for (int s = 0; s < _RS_MAX; s++)
		assert_int_equal(report_setting_status_from_string(report_setting_status_to_string(s)),
				 s);
	assert_int_equal(report_setting_status_from_string("bogus"), -EINVAL);
	assert_int_equal(report_kind_from_string(NULL), -EINVAL);
	assert_null(report_kind_to_string(_REPORT_KIND_MAX));
}

static void test_compliance_from_rows(void **state) {
	(void)state;
	_cleanup_(report_freep) Report *r = sample();
	assert_true(r->compliant);
	assert_int_equal(r->changed, 1);
	assert_int_equal(r->failed, 0);
	assert_string_equal(r->settings[1].actual, ""); /* NULL stored as "" */
	assert_int_equal(report_add_setting(r, "samba", "x", "y", "a", "b", RS_DRIFT), 0);
	report_finish(r);
	assert_false(r->compliant);
	_cleanup_(report_freep) Report *p = sample();
	assert_int_equal(report_add_plugin(p, "nft", RP_FAILED, "boom"), 0);
	report_finish(p);
	assert_false(p->compliant);
	assert_int_equal(p->failed, 1);
}

static void test_json_and_text(void **state) {
	(void)state;
	_cleanup_(report_freep) Report *r = sample();
	_cleanup_free_ char *json = NULL;
	assert_int_equal(report_to_json(r, &json), 0);
	assert_non_null(strstr(json, "\"host\":\"h\\\"1\""));
	assert_non_null(strstr(json, "\"compliant\":true"));
	assert_non_null(strstr(json, "\"target\":\"server signing\""));
	assert_non_null(strstr(json, "\"status\":\"unavailable\""));
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_int_equal(report_print(r, f, false, false), 0);
	fclose(f);
	assert_non_null(strstr(text, "changed  server.signing.required [server signing]: auto -> mandatory"));
	assert_null(strstr(text, "server.dialect.min")); /* ok rows only with verbose */
	free(text);
}

/* A message on an unconnected-but-started bus: enough to build and read. */
static sd_bus *scratch_bus(int fds[2]) {
	sd_bus *b = NULL;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
	assert_int_equal(sd_bus_new(&b), 0);
	assert_int_equal(sd_bus_set_fd(b, fds[0], fds[0]), 0);
	assert_true(sd_bus_start(b) >= 0);
	return b;
}

static void test_bus_round_trip(void **state) {
	(void)state;
	int fds[2];
	sd_bus *b = scratch_bus(fds);
	_cleanup_(report_freep) Report *r = sample();
	sd_bus_message *m = NULL;
	assert_int_equal(sd_bus_message_new_signal(b, &m, "/x", "x.y", "Z"), 0);
	assert_true(report_bus_append(m, r) >= 0);
	assert_true(sd_bus_message_seal(m, 1, 0) >= 0);
	assert_true(sd_bus_message_rewind(m, true) >= 0);
	assert_string_equal(sd_bus_message_get_signature(m, true), REPORT_BUS_SIGNATURE);
	_cleanup_(report_freep) Report *back = NULL;
	assert_int_equal(report_bus_read(m, &back), 0);
	_cleanup_free_ char *a = NULL, *z = NULL;
	assert_int_equal(report_to_json(r, &a), 0);
	assert_int_equal(report_to_json(back, &z), 0);
	assert_string_equal(a, z);
	sd_bus_message_unref(m);

	/* An unknown status name is refused. */
	assert_int_equal(sd_bus_message_new_signal(b, &m, "/x", "x.y", "Z"), 0);
	assert_true(sd_bus_message_append(m, "(ssssttbuua(sss)a(ssssss))", "apply", "h", "p", "v",
					  (uint64_t)0, (uint64_t)0, 1, 0u, 0u, 1, "samba",
					  "exploded", "", 0) >= 0);
	assert_true(sd_bus_message_seal(m, 2, 0) >= 0);
	assert_true(sd_bus_message_rewind(m, true) >= 0);
	Report *bad = NULL;
	assert_int_equal(report_bus_read(m, &bad), -EBADMSG);
	assert_null(bad);
	sd_bus_message_unref(m);
	/* No peer ever answers the auth handshake: close without flushing,
	 * or the flush waits out sd-bus's 90 s timeout. */
	close(fds[1]);
	sd_bus_close_unref(b);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_round_trip),
		cmocka_unit_test(test_compliance_from_rows),
		cmocka_unit_test(test_json_and_text),
		cmocka_unit_test(test_bus_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
