/*
 * bench_publish.c - fleet distribution at scale: how long `smbpolicy
 * publish` takes for 100,000 hosts in 1,000 groups, and how much CPU an
 * agent spends on a poll that finds nothing new.
 *
 * Builds, in a scratch directory and one store batch, 1,000 groups (9
 * sites of 110 groups each under "/"), 100,000 hosts and 20 policies linked
 * at the root, the sites and some leaves; then times:
 *   - publish into an empty directory (every bundle signed and written;
 *     target <= 5 s), again with nothing changed (nothing written), and
 *     after one site's policy changed (only that site's bundles); beside
 *     the reference: writing each bundle with its own fsync pair;
 *   - the agent's no-change poll (agent/source.c, CPU from getrusage;
 *     target <= 5 ms): over file:// (read + verify every time) and over
 *     HTTP from a real nginx on 127.0.0.1 (If-None-Match -> 304), beside
 *     the peer: the curl tool making the same conditional request
 *     (`curl --etag-compare`), CPU of the child processes.
 *
 * Prints figures only; not a pass/fail test.  Never writes outside its
 * scratch directory, which it removes; kills the nginx it started.
 */
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <syslog.h>
#include <netinet/in.h>

#include "../agent/journal.h"
#include "../agent/source.h"
#include "bundle.h"
#include "publish.h"

#define N_HOSTS 100000
#define N_SITES 9
#define N_PER_SITE 110 /* + the sites + "/" = 1,000 groups */
#define N_POLICIES 20
#define N_POLLS 500
#define N_PEER_POLLS 50

extern char **environ;

static double seconds_since(unsigned long long start) {
	return (double)(now_mono_usec() - start) / 1e6;
}

static double cpu_seconds(int who) {
	struct rusage ru;
	getrusage(who, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int die(const char *what, int r) {
	fprintf(stderr, "bench_publish: %s: %s\n", what, strerror(r < 0 ? -r : r));
	return 1;
}

static int import(Store *s, const Catalog *c, unsigned i, unsigned delay) {
	_cleanup_free_ char *xml = strdup_printf(
		"<policy xmlns=\"urn:smbpolicy:policy:1\" name=\"p%02u\">\n"
		"  <setting id=\"server.auth-rate-limiter.delay-ms\">%u</setting>\n"
		"  <setting id=\"server.transport.tcp.port\">%u</setting>\n"
		"  <setting id=\"client.ntlm.block\">true</setting>\n"
		"  <setting id=\"client.ntlm.exceptions\"><item>nas%u.example.com</item></setting>\n"
		"</policy>\n",
		i, delay, 1000 + i, i);
	_cleanup_(policy_freep) Policy *p = NULL;
	DiagList diag = {};
	int r = xml ? policy_parse_memory(c, xml, strlen(xml), "bench", &p, &diag) : -ENOMEM;
	diag_print(&diag, stderr);
	diag_clear(&diag);
	return r < 0 ? r : store_import(s, p, "bench", NULL, NULL, NULL);
}

static int build_store(Store *s, const Catalog *c) {
	int r = store_batch_begin(s);
	for (unsigned i = 0; i < N_POLICIES && r >= 0; i++)
		r = import(s, c, i, 100 * (i + 1));
	if (r >= 0)
		r = store_link_add(s, "p00", "/", -1, false, false);
	_cleanup_strv_free_ char **groups = calloc(1, sizeof(char *));
	for (unsigned site = 0; site < N_SITES && r >= 0 && groups; site++) {
		char path[64], name[8];
		snprintf(path, sizeof(path), "/site%u", site);
		snprintf(name, sizeof(name), "p%02u", 1 + site);
		r = store_group_add(s, path);
		if (r >= 0)
			r = store_link_add(s, name, path, -1, false, false);
		for (unsigned g = 0; g < N_PER_SITE && r >= 0; g++) {
			char leaf[96];
			snprintf(leaf, sizeof(leaf), "%s/g%03u", path, g);
			r = store_group_add(s, leaf);
			if (r >= 0 && g % 10 == 0)
				r = store_link_add(s, g % 20 ? "p11" : "p12", leaf, -1, false, false);
			if (r >= 0)
				r = strv_push_dup(&groups, leaf);
		}
	}
	size_t n = strv_length(groups);
	for (unsigned i = 0; i < N_HOSTS && r >= 0 && n; i++) {
		char name[32];
		snprintf(name, sizeof(name), "host%06u.example.com", i);
		r = store_host_add(s, name, groups[(i * 7919u) % n]);
	}
	if (r < 0 || !groups) {
		fprintf(stderr, "bench_publish: %s\n", store_errmsg(s));
		store_batch_rollback(s);
		return r < 0 ? r : -ENOMEM;
	}
	return store_batch_commit(s);
}

static int publish(Store *s, const Catalog *c, const char *dir, const Key *k, const char *what) {
	PublishOptions o = { .dir = dir, .key = k, .lifetime_sec = PUBLISH_DEFAULT_LIFETIME_SEC };
	PublishResult res;
	DiagList diag = {};
	unsigned long long t = now_mono_usec();
	int r = publish_run(s, c, &o, &res, &diag);
	double sec = seconds_since(t);
	diag_print(&diag, stderr);
	diag_clear(&diag);
	if (r < 0)
		return die("publish", r);
	printf("publish, %-34s %7.3f s  (%zu groups: %zu written, %zu unchanged)%s\n", what, sec,
	       res.groups, res.written, res.unchanged,
	       res.written == res.groups ? (sec <= 5.0 ? "  target <= 5 s: met" : "  target <= 5 s: MISSED") : "");
	return 0;
}

/* Reference: the same bundles written one by one with write_file_atomic()
 * (fsync of each file and of the directory), on a sample of 100. */
static int per_file_fsync(const char *pub, const char *tmp) {
	_cleanup_free_ char *src = strdup_printf("%s/groups/@site1@g005.bundle", pub), *text = NULL;
	size_t len;
	int r = src ? read_file(src, BUNDLE_MAX_BYTES, &text, &len) : -ENOMEM;
	if (r < 0)
		return die(src, r);
	unsigned long long t = now_mono_usec();
	for (unsigned i = 0; i < 100 && r >= 0; i++) {
		_cleanup_free_ char *p = strdup_printf("%s/fsync-%u.bundle", tmp, i);
		r = p ? write_file_atomic(p, text, len, 0644) : -ENOMEM;
	}
	if (r < 0)
		return die("write_file_atomic", r);
	printf("reference: 1,000 bundles written with an fsync each   %7.3f s  (100 timed x 10)\n",
	       seconds_since(t) * 10);
	return 0;
}

/* CPU per no-change poll of an agent source at url (after one fetch). */
static int poll_cpu(const char *url, const char *trust, const char *cache, const char *what) {
	SourceConfig cfg = { .url = url, .trusted_keys = trust, .cache_dir = cache };
	_cleanup_(source_freep) Source *src = NULL;
	int r = source_new(&cfg, &src);
	if (r < 0 || (r = source_update(src)) != SOURCE_CHANGED)
		return die(url, r < 0 ? r : -EIO);
	double cpu = cpu_seconds(RUSAGE_SELF);
	unsigned long long t = now_mono_usec();
	for (unsigned i = 0; i < N_POLLS; i++)
		if ((r = source_update(src)) != SOURCE_UNCHANGED)
			return die("poll", r < 0 ? r : -EIO);
	double per = (cpu_seconds(RUSAGE_SELF) - cpu) / N_POLLS * 1e3;
	printf("agent no-change poll, %-22s %7.3f ms CPU, %.3f ms wall (last status %ld, %zu body bytes)  target <= 5 ms: %s\n",
	       what, per, seconds_since(t) / N_POLLS * 1e3, source_last_status(src),
	       source_last_body_bytes(src), per <= 5.0 ? "met" : "MISSED");
	return 0;
}

static int free_port(void) {
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	int port = -1;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &l) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static bool port_open(int port) {
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static pid_t spawn(char *const argv[]) {
	pid_t pid;
	return posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) == 0 ? pid : -1;
}

/* nginx (foreground, one process) serving root on 127.0.0.1:port. */
static pid_t start_nginx(const char *tmp, const char *root, int port) {
	_cleanup_free_ char *conf = strdup_printf("%s/nginx.conf", tmp);
	_cleanup_free_ char *text = strdup_printf(
		"daemon off; master_process off; worker_processes 1;\n"
		"pid %1$s/nginx.pid; error_log %1$s/nginx-error.log;\n"
		"events { worker_connections 64; }\n"
		"http { access_log off; client_body_temp_path %1$s; proxy_temp_path %1$s;\n"
		"  fastcgi_temp_path %1$s; uwsgi_temp_path %1$s; scgi_temp_path %1$s;\n"
		"  server { listen 127.0.0.1:%2$d; root %3$s; } }\n",
		tmp, port, root);
	if (!conf || !text || write_file_atomic(conf, text, strlen(text), 0644) < 0)
		return -1;
	char *argv[] = { "nginx", "-e", "/dev/null", "-c", conf, "-p", (char *)tmp, NULL };
	pid_t pid = spawn(argv);
	for (int i = 0; pid > 0 && i < 100 && !port_open(port); i++)
		usleep(50000);
	return pid;
}

static void peer_curl(const char *url, const char *tmp) {
	_cleanup_free_ char *etag = strdup_printf("%s/curl-etag", tmp);
	char *argv[] = { "curl", "-s", "-o", "/dev/null", "--etag-compare", etag, "--etag-save",
			 etag, (char *)url, NULL };
	pid_t pid = spawn(argv); /* the first one saves the ETag */
	if (pid <= 0) {
		printf("peer: curl tool not installed, no peer figure\n");
		return;
	}
	waitpid(pid, NULL, 0);
	double cpu = cpu_seconds(RUSAGE_CHILDREN);
	for (unsigned i = 0; i < N_PEER_POLLS; i++)
		if ((pid = spawn(argv)) > 0)
			waitpid(pid, NULL, 0);
	printf("peer: curl --etag-compare (a process per poll) %7.3f ms CPU\n",
	       (cpu_seconds(RUSAGE_CHILDREN) - cpu) / N_PEER_POLLS * 1e3);
}

static int run(const char *tmp) {
	_cleanup_free_ char *db = strdup_printf("%s/store.db", tmp);
	_cleanup_free_ char *pub = strdup_printf("%s/pub", tmp);
	_cleanup_free_ char *trust = strdup_printf("%s/key.pub", tmp);
	_cleanup_(catalog_freep) Catalog *c = NULL;
	_cleanup_(store_closep) Store *s = NULL;
	_cleanup_(key_freep) Key *k = NULL;
	int r;
	if ((r = catalog_load_default(&c)) < 0 || (r = store_open(db, &s)) < 0 ||
	    (r = key_generate(&k)) < 0 || (r = key_write_public(k, trust)) < 0)
		return die("setup", r);
	unsigned long long t = now_mono_usec();
	if ((r = build_store(s, c)) < 0)
		return die("build store", r);
	printf("store: %d hosts, %d groups, %d policies (built in %.2f s)\n", N_HOSTS,
	       1 + N_SITES * (1 + N_PER_SITE), N_POLICIES, seconds_since(t));

	if (publish(s, c, pub, k, "empty directory:") || publish(s, c, pub, k, "nothing changed:"))
		return 1;
	if ((r = import(s, c, 3, 9900)) < 0) /* p03 is linked at /site2 */
		return die("import", r);
	if (publish(s, c, pub, k, "one site's policy changed:") || per_file_fsync(pub, tmp))
		return 1;

	journal_set_stderr_level(LOG_WARNING);
	_cleanup_free_ char *file_url = strdup_printf("file://%s/groups/@site1@g005.bundle", pub);
	_cleanup_free_ char *cache1 = strdup_printf("%s/cache-file", tmp);
	if (poll_cpu(file_url, trust, cache1, "file:// (verify):"))
		return 1;

	int port = free_port();
	pid_t nginx = port > 0 ? start_nginx(tmp, pub, port) : -1;
	if (nginx <= 0 || !port_open(port)) {
		printf("agent no-change poll over HTTP: skipped (nginx did not start)\n");
		if (nginx > 0)
			kill(nginx, SIGTERM), waitpid(nginx, NULL, 0);
		return 0;
	}
	_cleanup_free_ char *http_url =
		strdup_printf("http://127.0.0.1:%d/groups/@site1@g005.bundle", port);
	_cleanup_free_ char *cache2 = strdup_printf("%s/cache-http", tmp);
	r = poll_cpu(http_url, trust, cache2, "HTTP 304 (nginx):");
	if (!r)
		peer_curl(http_url, tmp);
	kill(nginx, SIGTERM);
	waitpid(nginx, NULL, 0);
	return r;
}

int main(void) {
	char tmp[] = "/tmp/bench-publish.XXXXXX";
	if (!mkdtemp(tmp))
		return die("mkdtemp", -errno);
	int r = run(tmp);
	_cleanup_free_ char *cmd = strdup_printf("rm -rf '%s'", tmp);
	if (!cmd || system(cmd) != 0)
		fprintf(stderr, "bench_publish: could not remove %s\n", tmp);
	return r;
}
