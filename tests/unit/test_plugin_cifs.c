/*
 * test_plugin_cifs.c - the cifs plugin against a scratch root: fstab and
 * .mount options edited for signing, sealing, dialects, Kerberos (NTLM
 * exceptions kept), alternative ports and guest, with every other byte kept;
 * the owned modprobe.d file; SecurityFlags written only when present
 * (unknown otherwise); rollback restores everything; a second plan is empty.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "../../plugins/cifs.c"
#include "test_plugin_common.h"

typedef TestPluginRoot Fixture;

static int setup(void **state) {
	if (test_plugin_root_new(state, "plugin-cifs") < 0)
		return -1;
	setenv("TMPDIR", ((Fixture *)*state)->dir, 1);
	return 0;
}

static int teardown(void **state) {
	return test_plugin_root_free(state);
}

static char *path_in(Fixture *f, const char *p) {
	return strdup_printf("%s%s", f->dir, p);
}

static void put(Fixture *f, const char *p, const char *text) {
	_cleanup_free_ char *path = path_in(f, p);
	test_put(path, text);
}

static char *get(Fixture *f, const char *p) {
	_cleanup_free_ char *path = path_in(f, p);
	return test_get(path);
}

static const char fstab[] =
	"# /etc/fstab: static file system information.\n"
	"UUID=1234   /      ext4   errors=remount-ro   0  1\n"
	"//nas.example.com/data   /mnt/data   cifs   credentials=/root/.c,uid=1000,vers=2.1,port=8445   0 0\n"
	"//legacy-nas/old\t/mnt/old\tcifs\tguest,vers=1.0\t0\t0\n"
	"#//commented/out /mnt/x cifs vers=1.0 0 0\n"
	"server:/nfs /mnt/nfs nfs defaults 0 0\n";

static const char unit[] = "[Unit]\nDescription=Edge share\n\n[Mount]\nWhat=//edge.example.com/s\n"
			   "Where=/mnt/edge\nType=smb3\nOptions=credentials=/root/.e\n\n[Install]\n"
			   "WantedBy=multi-user.target\n";

static char *t[] = { "true", NULL }, *fl[] = { "false", NULL }, *d311[] = { "3.1.1", NULL },
	    *exc[] = { "legacy-nas", NULL }, *gcm[] = { "aes-256-gcm", NULL },
	    *maps[] = { "edge.example.com:tcp:4445", NULL }, *srv[] = { "edge.example.com", NULL };
static const PluginSetting strict[] = {
	{ "client.signing.required", t },     { "client.encryption.required", t },
	{ "client.dialect.min", d311 },       { "client.dialect.max", d311 },
	{ "client.ntlm.block", t },           { "client.ntlm.exceptions", exc },
	{ "client.guest.insecure-logons", fl }, { "server.encryption.ciphers", gcm },
	{ "client.ports.alternate.allowed", t }, { "client.ports.alternate.servers", srv },
	{ "client.ports.alternate.mappings", maps },
};

static void test_mounts_modprobe_secflags(void **state) {
	Fixture *f = *state;
	put(f, "/etc/fstab", fstab);
	put(f, "/etc/systemd/system/mnt-edge.mount", unit);
	put(f, "/etc/systemd/system/mnt-nfs.mount", "[Mount]\nWhat=srv:/x\nType=nfs\nOptions=vers=4\n");
	put(f, "/proc/fs/cifs/SecurityFlags", "0xc5\n");
	PluginPolicy p = { .name = "strict", .settings = strict, .n_settings = ELEMENTSOF(strict) };
	_cleanup_(plugin_plan_freep) PluginPlan *plan = NULL;
	assert_int_equal(cifs_plan(&f->ctx, &p, &plan), 0);
	assert_true(plan->n_changes > 5);
	assert_int_equal(plan->n_files, 3); /* modprobe, fstab, one unit */
	assert_string_equal(plan->state, "0x49049");
	_cleanup_(plugin_backup_freep) PluginBackup *b = NULL;
	assert_int_equal(cifs_apply(&f->ctx, plan, &b), 0);
	assert_int_equal(cifs_verify(&f->ctx, plan), 0);

	_cleanup_free_ char *nf = get(f, "/etc/fstab"), *nu = get(f, "/etc/systemd/system/mnt-edge.mount");
	_cleanup_free_ char *nfs = get(f, "/etc/systemd/system/mnt-nfs.mount");
	_cleanup_free_ char *mp = get(f, CIFS_MODPROBE), *sf = get(f, CIFS_SECFLAGS);
	assert_string_equal(nf,
		"# /etc/fstab: static file system information.\n"
		"UUID=1234   /      ext4   errors=remount-ro   0  1\n"
		"//nas.example.com/data   /mnt/data   cifs   credentials=/root/.c,uid=1000,vers=3.1.1,sign,seal,sec=krb5i   0 0\n"
		"//legacy-nas/old\t/mnt/old\tcifs\tvers=3.1.1,sign,seal\t0\t0\n"
		"#//commented/out /mnt/x cifs vers=1.0 0 0\n"
		"server:/nfs /mnt/nfs nfs defaults 0 0\n");
	assert_string_equal(nu, "[Unit]\nDescription=Edge share\n\n[Mount]\nWhat=//edge.example.com/s\n"
				"Where=/mnt/edge\nType=smb3\n"
				"Options=credentials=/root/.e,sign,seal,vers=3.1.1,sec=krb5i,port=4445\n\n"
				"[Install]\nWantedBy=multi-user.target\n");
	assert_string_equal(nfs, "[Mount]\nWhat=srv:/x\nType=nfs\nOptions=vers=4\n");
	assert_non_null(strstr(mp, "options cifs enable_negotiate_signing=Y disable_legacy_dialects=Y "
				   "require_gcm_256=Y\n"));
	assert_string_equal(sf, "0x49049");

	_cleanup_(plugin_plan_freep) PluginPlan *again = NULL;
	assert_int_equal(cifs_plan(&f->ctx, &p, &again), 0);
	assert_int_equal(again->n_changes, 0);
	assert_int_equal(again->n_files, 0);

	assert_int_equal(cifs_rollback(&f->ctx, b), 0);
	_cleanup_free_ char *rf = get(f, "/etc/fstab"), *ru = get(f, "/etc/systemd/system/mnt-edge.mount");
	_cleanup_free_ char *rs = get(f, CIFS_SECFLAGS), *rm = get(f, CIFS_MODPROBE);
	assert_string_equal(rf, fstab);
	assert_string_equal(ru, unit);
	assert_string_equal(rs, "0xc5");
	assert_null(rm);
}

static void test_secflags_unknown_without_module(void **state) {
	Fixture *f = *state;
	PluginPolicy p = { .settings = strict, .n_settings = ELEMENTSOF(strict) };
	_cleanup_(plugin_plan_freep) PluginPlan *plan = NULL;
	assert_int_equal(cifs_plan(&f->ctx, &p, &plan), 0);
	assert_null(plan->state);
	PluginActual *a = NULL;
	size_t n = 0;
	assert_int_equal(cifs_read_actual(&f->ctx, &a, &n), 0);
	bool saw_unknown = false;
	for (size_t i = 0; i < n; i++) {
		const CifsRow *row = cifs_settings[i].impl;
		if (row->kind == CIFS_SECURITY_FLAGS) {
			assert_int_equal(a[i].state, PLUGIN_VALUE_UNKNOWN);
			saw_unknown = true;
		}
	}
	assert_true(saw_unknown);
	plugin_actual_free(a, n);
	PluginDetect d = {};
	assert_int_equal(cifs_detect(&f->ctx, &d), 0);
	assert_false(d.running);
	plugin_detect_clear(&d);
}

static void test_alternate_ports_disallowed(void **state) {
	Fixture *f = *state;
	put(f, "/etc/fstab", "//a/s /m cifs port=8445,vers=3.1.1 0 0\n//b/s /n cifs port=445 0 0\n");
	static char *no[] = { "false", NULL };
	PluginSetting s[] = { { "client.ports.alternate.allowed", no } };
	PluginPolicy p = { .settings = s, .n_settings = 1 };
	_cleanup_(plugin_plan_freep) PluginPlan *plan = NULL;
	_cleanup_(plugin_backup_freep) PluginBackup *b = NULL;
	assert_int_equal(cifs_plan(&f->ctx, &p, &plan), 0);
	assert_int_equal(cifs_apply(&f->ctx, plan, &b), 0);
	_cleanup_free_ char *nf = get(f, "/etc/fstab");
	assert_string_equal(nf, "//a/s /m cifs vers=3.1.1 0 0\n//b/s /n cifs port=445 0 0\n");
}

/* Kill -9 the applying child at random instants, 100 times: each managed
 * file is its old or its new version. */
static void test_kill9_during_apply(void **state) {
	Fixture *f = *state;
	put(f, "/etc/systemd/system/mnt-edge.mount", unit);
	PluginPolicy p = { .name = "strict", .settings = strict, .n_settings = ELEMENTSOF(strict) };
	_cleanup_(plugin_plan_freep) PluginPlan *plan = NULL;
	put(f, "/etc/fstab", fstab);
	assert_int_equal(cifs_plan(&f->ctx, &p, &plan), 0);
	assert_int_equal(plan->n_files, 3);
	char *old[3];
	for (size_t i = 0; i < 3; i++) {
		old[i] = NULL;
		(void)read_file(plan->files[i].path, 1 << 20, &old[i], NULL);
	}
	srand((unsigned)time(NULL));
	for (int i = 0; i < 100; i++) {
		for (size_t k = 0; k < 3; k++)
			if (old[k])
				assert_int_equal(write_file_atomic(plan->files[k].path, old[k], strlen(old[k]), 0644), 0);
			else
				unlink(plan->files[k].path);
		pid_t pid = fork();
		if (pid == 0) {
			PluginBackup *b = NULL;
			_exit(cifs_apply(&f->ctx, plan, &b) == 0 ? 0 : 1);
		}
		usleep((useconds_t)(rand() % 30000));
		kill(pid, SIGKILL);
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		for (size_t k = 0; k < 3; k++) {
			const PluginFile *nf = &plan->files[k];
			assert_true(plugin_file_has(nf->path, old[k], old[k] ? strlen(old[k]) : 0) ||
				    plugin_file_has(nf->path, nf->data, nf->len));
		}
	}
	for (size_t k = 0; k < 3; k++)
		free(old[k]);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mounts_modprobe_secflags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secflags_unknown_without_module, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alternate_ports_disallowed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill9_during_apply, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
