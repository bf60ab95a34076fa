/*
 * bench_policy.c - how long importing and validating one policy document
 * takes: read + hardened parse + XSD validation + catalog type/range checks
 * + constraints + canonical XML + SHA-256 (policy_parse_file), mean over
 * N runs, for a full policy (every catalog setting set) and the other
 * examples.  Target: <= 10 ms per full policy.
 *
 * Neighbour figure from the same run: Samba's `testparm -s` on an smb.conf
 * with the equivalent [global] settings (process start included, as an admin
 * runs it), mean over a few runs.  Also the one-off catalog load.
 *
 * Prints figures only; not a pass/fail test.  Writes only to a scratch
 * directory, which it removes.
 */
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include "policy.h"

#define N_RUNS 2000
#define N_TESTPARM 10

extern char **environ;

static double ms_since(unsigned long long start, unsigned n) {
	return (double)(now_mono_usec() - start) / 1e3 / n;
}

static int bench_file(const Catalog *c, const char *path, unsigned n, double *ret_ms) {
	unsigned long long t0 = now_mono_usec();
	for (unsigned i = 0; i < n; i++) {
		_cleanup_(policy_freep) Policy *p = NULL;
		_cleanup_(diag_clear) DiagList d = { 0 };
		int r = policy_parse_file(c, path, &p, &d);
		if (r < 0) {
			diag_print(&d, stderr);
			return r;
		}
	}
	*ret_ms = ms_since(t0, n);
	return 0;
}

/* The smb.conf a Samba admin would write for the Windows 2025 defaults. */
static const char smb_conf[] =
	"[global]\n"
	"  server signing = mandatory\n"
	"  client signing = required\n"
	"  server min protocol = SMB2_02\n"
	"  server max protocol = SMB3_11\n"
	"  client min protocol = SMB2_02\n"
	"  client max protocol = SMB3_11\n"
	"  server smb encrypt = if_required\n"
	"  client smb encrypt = if_required\n"
	"  server smb3 encryption algorithms = AES-128-GCM, AES-128-CCM, AES-256-GCM, AES-256-CCM\n"
	"  map to guest = Never\n"
	"  restrict anonymous = 2\n"
	"  smb ports = 445\n"
	"  disable netbios = yes\n"
	"  client use kerberos = desired\n"
	"[share]\n"
	"  path = /tmp\n";

static int run_quiet(char *const argv[]) {
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	pid_t pid;
	int r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return -r;
	int st;
	if (waitpid(pid, &st, 0) < 0)
		return -errno;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

static void bench_testparm(void) {
	char dir[] = "/tmp/bench-policy.XXXXXX";
	if (!mkdtemp(dir))
		return;
	_cleanup_free_ char *conf = strdup_printf("%s/smb.conf", dir);
	if (write_file_atomic(conf, smb_conf, sizeof smb_conf - 1, 0644) < 0)
		goto out;
	char *argv[] = { "testparm", "-s", "--suppress-prompt", conf, NULL };
	if (run_quiet(argv) < 0) {
		printf("testparm -s (Samba, same settings):        not available\n");
		goto out;
	}
	unsigned long long t0 = now_mono_usec();
	for (unsigned i = 0; i < N_TESTPARM; i++)
		(void)run_quiet(argv);
	printf("testparm -s (Samba, same settings):        %8.3f ms  (mean of %u, process start included)\n",
	       ms_since(t0, N_TESTPARM), N_TESTPARM);
out:
	unlink(conf);
	rmdir(dir);
}

int main(void) {
	unsigned long long t0 = now_mono_usec();
	_cleanup_(catalog_freep) Catalog *c = NULL;
	int r = catalog_load_default(&c);
	if (r < 0)
		return 1;
	printf("catalog load (%zu settings, %zu constraints, 2 XSDs): %.3f ms (once per process)\n",
	       c->n_settings, c->n_constraints, ms_since(t0, 1));

	static const char *const files[] = { "windows-2025-defaults.xml", "strict.xml",
					     "legacy-compat.xml" };
	for (size_t i = 0; i < ELEMENTSOF(files); i++) {
		_cleanup_free_ char *path = strdup_printf("%s/policies/%s", catalog_schema_dir(), files[i]);
		double ms;
		if ((r = bench_file(c, path, N_RUNS, &ms)) < 0) {
			fprintf(stderr, "bench_policy: %s: %s\n", path, strerror(-r));
			return 1;
		}
		printf("import+validate %-26s %8.3f ms  (mean of %u)%s\n", files[i], ms, N_RUNS,
		       i == 0 ? "  [full policy: every setting; target <= 10 ms]" : "");
	}
	bench_testparm();
	return 0;
}
