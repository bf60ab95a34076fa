/*
 * test_plugin_endpoint.c - the endpoint plugin against a scratch root: the
 * resultant policy document lands byte for byte, per-setting changes are
 * named, the process in the pid file gets SIGHUP (a stand-in child here; the
 * real smbrefd in tests/integration), a stale pid file is left alone, a
 * document without the policy namespace is refused, rollback restores.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/wait.h>

#include "../../plugins/endpoint.c"
#include "test_plugin_common.h"

typedef TestPluginRoot Fixture;

static int setup(void **state) {
	return test_plugin_root_new(state, "plugin-endpoint");
}

static int teardown(void **state) {
	return test_plugin_root_free(state);
}

static const char doc1[] = "<?xml version=\"1.0\"?>\n<policy xmlns=\"urn:smbpolicy:policy:1\" name=\"a\">\n"
			   "  <setting id=\"server.signing.required\">true</setting>\n"
			   "  <setting id=\"server.encryption.ciphers\"><item>aes-256-gcm</item></setting>\n"
			   "</policy>\n";
static const char doc2[] = "<?xml version=\"1.0\"?>\n<policy xmlns=\"urn:smbpolicy:policy:1\" name=\"a\">\n"
			   "  <setting id=\"server.signing.required\">false</setting>\n"
			   "  <setting id=\"server.encryption.ciphers\"><item>aes-256-gcm</item></setting>\n"
			   "</policy>\n";

static volatile sig_atomic_t got_hup;
static void on_hup(int sig) {
	(void)sig;
	got_hup = 1;
}

/* A child that exits 0 once it got SIGHUP, 1 after 5 s without. */
static pid_t hup_child(void) {
	signal(SIGHUP, on_hup);
	pid_t pid = fork();
	if (pid == 0) {
		for (int i = 0; i < 500 && !got_hup; i++)
			usleep(10000);
		_exit(got_hup ? 0 : 1);
	}
	signal(SIGHUP, SIG_DFL);
	return pid;
}

static void write_pidfile(Fixture *f, pid_t pid) {
	_cleanup_free_ char *pf = strdup_printf("%s" EP_PIDFILE, f->dir), *s = strdup_printf("%d\n", (int)pid);
	test_put(pf, s);
}

static void test_apply_sighup_verify_rollback(void **state) {
	Fixture *f = *state;
	_cleanup_free_ char *path = strdup_printf("%s" EP_POLICY, f->dir);
	PluginPolicy p1 = { .xml = doc1 }, p2 = { .xml = doc2 };
	_cleanup_(plugin_plan_freep) PluginPlan *plan1 = NULL, *plan2 = NULL;
	_cleanup_(plugin_backup_freep) PluginBackup *b1 = NULL, *b2 = NULL;
	assert_int_equal(ep_plan(&f->ctx, &p1, &plan1), 0);
	assert_int_equal(plan1->n_changes, 2);
	assert_int_equal(ep_apply(&f->ctx, plan1, &b1), 0); /* no pid file: no signal */
	assert_true(plugin_file_has(path, doc1, strlen(doc1)));

	pid_t child = hup_child();
	write_pidfile(f, child);
	assert_int_equal(ep_plan(&f->ctx, &p2, &plan2), 0);
	assert_int_equal(plan2->n_changes, 1);
	assert_string_equal(plan2->changes[0].id, "server.signing.required");
	assert_int_equal(ep_apply(&f->ctx, plan2, &b2), 0);
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(ep_verify(&f->ctx, plan2), 0);

	/* the child is gone: its pid file is stale, rollback must not signal */
	assert_int_equal(ep_rollback(&f->ctx, b2), 0);
	assert_true(plugin_file_has(path, doc1, strlen(doc1)));
	assert_int_equal(ep_verify(&f->ctx, plan2), -EBADE);
	assert_int_equal(ep_rollback(&f->ctx, b1), 0);
	assert_true(plugin_file_has(path, NULL, 0));
}

static void test_refuses_foreign_document(void **state) {
	Fixture *f = *state;
	PluginPolicy p = { .xml = "<policy name=\"x\"/>" }, none = {};
	PluginPlan *plan = NULL;
	assert_int_equal(ep_plan(&f->ctx, &p, &plan), -EINVAL);
	assert_int_equal(ep_plan(&f->ctx, &none, &plan), -EINVAL);
}

static void test_setting_text(void **state) {
	(void)state;
	_cleanup_free_ char *a = ep_setting_text(doc1, "server.encryption.ciphers");
	assert_string_equal(a, "<setting id=\"server.encryption.ciphers\"><item>aes-256-gcm</item></setting>");
	assert_null(ep_setting_text(doc1, "server.guest.allowed"));
	_cleanup_free_ char *e = ep_setting_text("<setting id=\"x\"/><setting id=\"y\">1</setting>", "x");
	assert_string_equal(e, "<setting id=\"x\"/>");
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_apply_sighup_verify_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_foreign_document, setup, teardown),
		cmocka_unit_test(test_setting_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
