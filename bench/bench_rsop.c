/*
 * bench_rsop.c - how fast the resultant policy of a large fleet resolves,
 * and how fast one policy imports.
 *
 * Builds, in a scratch directory and in one store batch, a store with
 * 100,000 hosts, 1,000 groups (a tree four levels deep), 200 policies and
 * 200 links (some enforced, some disabled, some groups blocking
 * inheritance), then times:
 *   - rsop_resolve_all over every host (target: <= 1 s in total);
 *   - the same plus rendering every host's result as JSON;
 *   - the naive way, rsop_resolve() per host (re-reading the store and
 *     re-parsing policies each time), on a sample, extrapolated: the
 *     reference figure the batch resolver is measured against;
 *   - parse + validate and import of each example policy (target <= 10 ms).
 *
 * Prints figures only; it is not a pass/fail test.  Never writes outside
 * its scratch directory, which it removes.
 */
#include <dirent.h>

#include "rsop.h"
#include "strbuf.h"
#include "bench_common.h"

#define N_HOSTS 100000
#define N_GROUPS 1000
#define N_POLICIES 200
#define N_LINKS 200
#define N_NAIVE_SAMPLE 200

static int die(const char *what, int r) {
	fprintf(stderr, "bench_rsop: %s: %s\n", what, strerror(-r));
	return 1;
}

/* Policy i: a few settings whose combination never breaks a constraint. */
static char *policy_xml(unsigned i) {
	return strdup_printf(
		"<policy xmlns=\"urn:smbpolicy:policy:1\" name=\"bench-%03u\">\n"
		"  <description>bench policy %u</description>\n"
		"  <setting id=\"server.auth-rate-limiter.delay-ms\">%u</setting>\n"
		"  <setting id=\"server.transport.tcp.port\">%u</setting>\n"
		"  <setting id=\"server.transport.quic.port\">%u</setting>\n"
		"  <setting id=\"server.signing.required\">true</setting>\n"
		"  <setting id=\"client.ntlm.block\">true</setting>\n"
		"  <setting id=\"client.ntlm.exceptions\"><item>nas%u.example.com</item></setting>\n"
		"</policy>\n",
		i, i, 100 * (i % 100 + 1), 1000 + i, 2000 + i, i);
}

/* Group i's path: parent of i is (i - 1) / 10, so 1 + 10 + 100 + 889. */
static char *group_path(char **paths, unsigned i) {
	if (i == 0)
		return strdup("/");
	const char *parent = paths[(i - 1) / 10];
	return strdup_printf("%s/g%u", streq(parent, "/") ? "" : parent, i);
}

static int build_store(Store *s, const Catalog *c) {
	char *paths[N_GROUPS] = { 0 };
	int r = store_batch_begin(s);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < N_GROUPS && r >= 0; i++) {
		paths[i] = group_path(paths, i);
		r = !paths[i] ? -ENOMEM : i == 0 ? 0 : store_group_add(s, paths[i]);
		if (r >= 0 && i % 50 == 7)
			r = store_group_block_inheritance(s, paths[i], true);
	}
	for (unsigned i = 0; i < N_POLICIES && r >= 0; i++) {
		_cleanup_free_ char *xml = policy_xml(i);
		_cleanup_(policy_freep) Policy *p = NULL;
		DiagList diag = { 0 };
		r = xml ? policy_parse_memory(c, xml, strlen(xml), "bench", &p, &diag) : -ENOMEM;
		diag_print(&diag, stderr);
		diag_clear(&diag);
		if (r >= 0)
			r = store_import(s, p, "bench", NULL, NULL, NULL);
	}
	for (unsigned i = 0; i < N_LINKS && r >= 0; i++) {
		_cleanup_free_ char *name = strdup_printf("bench-%03u", i);
		/* Spread over the tree: the root, a top group, a site, leaves. */
		unsigned g = i == 0 ? 0 : i < 10 ? i : i < 50 ? 10 + i * 2 : 110 + (i * 37) % 890;
		r = name ? store_link_add(s, name, paths[g], -1, i % 10 == 3, i % 17 == 5) : -ENOMEM;
	}
	for (unsigned i = 0; i < N_HOSTS && r >= 0; i++) {
		char name[32];
		snprintf(name, sizeof(name), "host%06u.example.com", i);
		r = store_host_add(s, name, paths[(i * 7919u) % N_GROUPS]);
	}
	for (unsigned i = 0; i < N_GROUPS; i++)
		free(paths[i]);
	if (r < 0) {
		fprintf(stderr, "bench_rsop: %s\n", store_errmsg(s));
		store_batch_rollback(s);
		return r;
	}
	return store_batch_commit(s);
}

typedef struct Tally {
	size_t hosts, problems, bytes;
	bool json;
} Tally;

static int on_host(const Rsop *r, int status, void *userdata) {
	Tally *t = userdata;
	t->hosts++;
	if (status < 0)
		t->problems++;
	if (t->json) {
		_cleanup_free_ char *json = NULL;
		int q = rsop_to_json(r, &json);
		if (q < 0)
			return q;
		t->bytes += strlen(json);
	}
	return 0;
}

static int resolve_every_host(Store *s, const Catalog *c, bool json) {
	Tally t = { .json = json };
	DiagList diag = { 0 };
	unsigned long long start = now_mono_usec();
	int r = rsop_resolve_all(s, c, on_host, &t, &diag);
	double secs = bench_seconds_since(start);
	diag_print(&diag, stderr);
	diag_clear(&diag);
	if (r < 0)
		return die("rsop_resolve_all", r);
	printf("rsop: every host%-9s %6zu hosts in %.3f s = %9.0f hosts/s (%zu with problems",
	       json ? " + JSON" : "", t.hosts, secs, (double)t.hosts / secs, t.problems);
	if (json)
		printf(", %.1f MB JSON", (double)t.bytes / 1e6);
	printf(")%s\n", !json && secs > 1.0 ? "  ** above the 1 s target **" : "");
	return 0;
}

static int resolve_naive(Store *s, const Catalog *c) {
	unsigned long long start = now_mono_usec();
	for (unsigned i = 0; i < N_NAIVE_SAMPLE; i++) {
		char name[32];
		snprintf(name, sizeof(name), "host%06u.example.com", i * (N_HOSTS / N_NAIVE_SAMPLE));
		_cleanup_(rsop_freep) Rsop *r = NULL;
		DiagList diag = { 0 };
		int q = rsop_resolve(s, c, name, &r, &diag);
		diag_clear(&diag);
		if (q < 0 && q != -EINVAL)
			return die("rsop_resolve", q);
	}
	double per_host = bench_seconds_since(start) / N_NAIVE_SAMPLE;
	printf("reference: rsop_resolve per host (naive), %u sampled: %.2f ms/host = %.0f s for "
	       "%u hosts (%.0f hosts/s)\n",
	       N_NAIVE_SAMPLE, per_host * 1e3, per_host * N_HOSTS, N_HOSTS, 1.0 / per_host);
	return 0;
}

/* Parse + validate, then import, each schema/policies example, plus a full
 * document (every catalog setting: a resultant policy). */
static int import_examples(const Catalog *c, const char *dir) {
	_cleanup_free_ char *db = strdup_printf("%s/import.db", dir);
	_cleanup_(store_closep) Store *s = NULL;
	int r = db ? store_open(db, &s) : -ENOMEM;
	if (r < 0)
		return die("store_open", r);
	_cleanup_free_ char *pdir = strdup_printf("%s/policies", catalog_schema_dir());
	DIR *d = pdir ? opendir(pdir) : NULL;
	if (!d)
		return die(pdir ? pdir : "policies", -errno);
	for (struct dirent *de; (de = readdir(d));) {
		if (!strstr(de->d_name, ".xml"))
			continue;
		_cleanup_free_ char *path = strdup_printf("%s/%s", pdir, de->d_name);
		_cleanup_(policy_freep) Policy *p = NULL;
		DiagList diag = { 0 };
		unsigned long long t0 = now_mono_usec();
		r = policy_parse_file(c, path, &p, &diag);
		unsigned long long t1 = now_mono_usec();
		diag_print(&diag, stderr);
		diag_clear(&diag);
		if (r < 0)
			continue;
		r = store_import(s, p, "bench", NULL, NULL, NULL);
		unsigned long long t2 = now_mono_usec();
		if (r < 0)
			break;
		printf("import: %-28s %2zu settings: parse+validate %.2f ms, store %.2f ms, "
		       "total %.2f ms\n",
		       de->d_name, p->n_entries, (double)(t1 - t0) / 1e3, (double)(t2 - t1) / 1e3,
		       (double)(t2 - t0) / 1e3);
	}
	closedir(d);
	return r < 0 ? die("import", r) : 0;
}

/* A full policy: every setting of the catalog, as `rsop --xml` writes it. */
static int import_full(Store *big, const Catalog *c, const char *dir) {
	_cleanup_(rsop_freep) Rsop *rsop = NULL;
	DiagList diag = { 0 };
	int r = rsop_resolve(big, c, "host000001.example.com", &rsop, &diag);
	diag_clear(&diag);
	if (r < 0)
		return die("rsop_resolve", r);
	_cleanup_free_ char *xml = NULL;
	if ((r = rsop_to_policy_xml(rsop, &xml)) < 0)
		return die("rsop_to_policy_xml", r);
	_cleanup_free_ char *db = strdup_printf("%s/full.db", dir);
	_cleanup_(store_closep) Store *s = NULL;
	if ((r = store_open(db, &s)) < 0)
		return die("store_open", r);
	unsigned long long t0 = now_mono_usec();
	_cleanup_(policy_freep) Policy *p = NULL;
	r = policy_parse_memory(c, xml, strlen(xml), "full", &p, &diag);
	diag_print(&diag, stderr);
	diag_clear(&diag);
	unsigned long long t1 = now_mono_usec();
	if (r >= 0)
		r = store_import(s, p, "bench", NULL, NULL, NULL);
	unsigned long long t2 = now_mono_usec();
	if (r < 0)
		return die("full policy import", r);
	printf("import: %-28s %2zu settings: parse+validate %.2f ms, store %.2f ms, total %.2f ms%s\n",
	       "full (every setting)", p->n_entries, (double)(t1 - t0) / 1e3,
	       (double)(t2 - t1) / 1e3, (double)(t2 - t0) / 1e3,
	       t2 - t0 > 10000 ? "  ** above the 10 ms target **" : "");
	return 0;
}

int main(void) {
	char dir[] = "/tmp/bench-rsop.XXXXXX";
	if (!mkdtemp(dir))
		return die("mkdtemp", -errno);
	_cleanup_(catalog_freep) Catalog *c = NULL;
	int r = catalog_load_default(&c);
	if (r < 0)
		return die("catalog", r);
	_cleanup_free_ char *db = strdup_printf("%s/store.db", dir);
	Store *s = NULL;
	r = store_open(db, &s);
	if (r < 0)
		return die("store_open", r);

	unsigned long long start = now_mono_usec();
	r = build_store(s, c);
	if (r < 0)
		return die("building the store", r);
	printf("store: %u hosts, %u groups, %u policies, %u links built in %.2f s (one batch)\n",
	       N_HOSTS, N_GROUPS, N_POLICIES, N_LINKS, bench_seconds_since(start));

	int rc = resolve_every_host(s, c, false) || resolve_every_host(s, c, true) ||
		 resolve_naive(s, c) || import_examples(c, dir) || import_full(s, c, dir);
	store_close(s);
	_cleanup_free_ char *cmd = strdup_printf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
