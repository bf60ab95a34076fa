/*
 * bench_audit.c - audit collection and report benchmark (`make bench`).
 *
 *   bench_audit [EVENTS [HOSTS]]   (default 1,000,000 events, 10,000 hosts)
 *     1. writes EVENTS JSON lines from HOSTS hosts (audit_event_format_json,
 *        the emitter's own line format; times spread over 30 days);
 *     2. ingests them into a fresh audit DB: events/s (target >= 200,000);
 *     3. gives every host the agent's read-back of 12 settings, builds the
 *        report (verdicts with observed evidence) and renders HTML + JSON:
 *        seconds (target <= 2);
 *     4. the peer figure from the same run: python3's json module parsing
 *        the same lines (parse only, no storage), events/s.
 *   bench_audit emit FILE N HOSTS
 *     appends N events through audit_emit (the real emitter) for tests:
 *     host "hostNNN", a fixed mix of kinds, distinct peers, so no two
 *     events are identical.
 *
 * Invariants: works in a scratch directory it removes; prints wall-clock
 * and CPU figures (the machine may be shared: targets are judged on CPU
 * time, which does not depend on the other load), and exits 1 when a
 * target is missed.
 */
#include <sys/stat.h>
#include <time.h>

#include "audit_ingest.h"
#include "audit_report.h"
#include "bench_common.h"

/* The mix: kind and the fields it carries, by weight. */
static const struct {
	AuditEventId id;
	unsigned weight;
} bench_mix[] = {
	{AUDIT_SERVER_SESSION, 40},           {AUDIT_SERVER_CLIENT_NO_ENCRYPTION, 15},
	{AUDIT_SERVER_CLIENT_NO_SIGNING, 10}, {AUDIT_SERVER_AUTH_FAILED, 10},
	{AUDIT_SERVER_RATE_LIMITED, 5},       {AUDIT_SERVER_GUEST_REFUSED, 5},
	{AUDIT_SERVER_QUIC_CONNECTION, 5},    {AUDIT_SERVER_DIALECT_REFUSED, 5},
	{AUDIT_CLIENT_SERVER_NO_SIGNING, 5},
};

static const char *const bench_dialects[] = {"2.1", "3.0", "3.0.2", "3.1.1", "3.1.1", "3.1.1"};

static AuditEventId bench_kind(unsigned long long i) {
	unsigned total = 0, pick;
	for (size_t k = 0; k < ELEMENTSOF(bench_mix); k++)
		total += bench_mix[k].weight;
	pick = (unsigned)((i * 2654435761ULL) % total);
	for (size_t k = 0; k < ELEMENTSOF(bench_mix); k++) {
		if (pick < bench_mix[k].weight)
			return bench_mix[k].id;
		pick -= bench_mix[k].weight;
	}
	return AUDIT_SERVER_SESSION;
}

/* Fields of event i (buffers in the caller). */
static size_t bench_fields(unsigned long long i, AuditField *f, char *user, char *cert) {
	snprintf(user, 32, "user%llu", i % 5000);
	snprintf(cert, 80, "%064llx", (i % 50) * 0x9e3779b97f4a7c15ULL);
	const char *dialect = bench_dialects[i % ELEMENTSOF(bench_dialects)];
	size_t n = 0;
	f[n++] = (AuditField){"user", user};
	f[n++] = (AuditField){"dialect", dialect};
	f[n++] = (AuditField){"signing", i % 7 ? "required" : "off"};
	f[n++] = (AuditField){"encryption", i % 3 ? "aes-128-gcm" : "off"};
	f[n++] = (AuditField){"cert_sha256", cert};
	return n;
}

/* Clients come from a pool of 50,000 addresses, as in a real fleet. */
static void bench_peer(unsigned long long i, char *buf, size_t len) {
	unsigned long long a = (i * 7919) % 50000;
	snprintf(buf, len, "10.%llu.%llu.%llu:%llu", (a / 65536) % 256, (a / 256) % 256, a % 256,
		 40000 + i % 20000);
}

static int emit(const char *path, unsigned long long n, unsigned hosts) {
	for (unsigned long long i = 0; i < n; i++) {
		char host[32], peer[64], user[32], cert[80];
		AuditField f[8];
		snprintf(host, sizeof host, "host%03llu", i % hosts);
		_cleanup_(audit_emitter_freep) AuditEmitter *e = NULL;
		int r = audit_emitter_new(host, "bench", path, false, &e);
		if (r < 0) {
			fprintf(stderr, "bench_audit: %s: %s\n", path, strerror(-r));
			return 1;
		}
		bench_peer(i, peer, sizeof peer);
		audit_emit(e, bench_kind(i), peer, f, bench_fields(i, f, user, cert));
		if (audit_emitter_errors(e))
			return 1;
	}
	return 0;
}

static int write_lines(const char *path, unsigned long long n, unsigned hosts) {
	_cleanup_fclose_ FILE *f = fopen(path, "w");
	if (!f)
		return -errno;
	unsigned long long base = now_usec() - 30ULL * 86400ULL * 1000000ULL;
	unsigned long long step = 30ULL * 86400ULL * 1000000ULL / (n ? n : 1);
	for (unsigned long long i = 0; i < n; i++) {
		char host[32], peer[64], user[32], cert[80], tbuf[48];
		AuditField fields[8];
		snprintf(host, sizeof host, "host%05llu", i % hosts);
		bench_peer(i, peer, sizeof peer);
		size_t nf = bench_fields(i, fields, user, cert);
		_cleanup_free_ char *line = NULL;
		size_t len;
		int r = audit_event_format_json(audit_format_time(base + i * step, tbuf, sizeof tbuf),
						host, "bench", audit_kind_by_id(bench_kind(i)), peer,
						fields, nf, &line, &len);
		if (r < 0)
			return r;
		fwrite(line, 1, len, f);
	}
	return fflush(f) == 0 ? 0 : -errno;
}

static double python_rate(const char *path, unsigned long long n) {
	_cleanup_free_ char *cmd = strdup_printf(
		"python3 -c 'import json,sys\nfor l in open(sys.argv[1]): json.loads(l)' %s", path);
	unsigned long long start = now_mono_usec();
	if (!cmd || system(cmd) != 0)
		return 0;
	return (double)n / bench_seconds_since(start);
}

int main(int argc, char *argv[]) {
	if (argc == 5 && streq(argv[1], "emit"))
		return emit(argv[2], strtoull(argv[3], NULL, 10), (unsigned)strtoul(argv[4], NULL, 10));
	unsigned long long n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000ULL;
	unsigned hosts = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 10000;
	char dir[] = "/tmp/bench-audit.XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	_cleanup_free_ char *jsonl = strdup_printf("%s/events.jsonl", dir);
	_cleanup_free_ char *dbp = strdup_printf("%s/audit.db", dir);
	_cleanup_free_ char *rm = strdup_printf("rm -rf %s", dir);
	int ok = 1, r;

	printf("audit bench: %llu events from %u hosts\n", n, hosts);
	if ((r = write_lines(jsonl, n, hosts)) < 0) {
		fprintf(stderr, "bench_audit: cannot write events: %s\n", strerror(-r));
		return 1;
	}
	_cleanup_(auditdb_closep) AuditDb *db = NULL;
	if (auditdb_open(dbp, &db) < 0)
		return 1;
	AuditIngestStats st = {0};
	unsigned long long start = now_mono_usec();
	double cpu = bench_cpu_seconds();
	r = audit_ingest_jsonl(db, jsonl, &st);
	double t_ingest = bench_seconds_since(start), c_ingest = bench_cpu_seconds() - cpu;
	double rate = (double)st.added / t_ingest, crate = (double)st.added / c_ingest;
	printf("ingest: %llu events in %.2f s wall = %.0f events/s; %.2f s CPU = %.0f events/s "
	       "(target >= 200000)%s\n",
	       st.added, t_ingest, rate, c_ingest, crate,
	       r < 0 || st.added != n || crate < 200000 ? "  MISSED" : "");
	ok &= r >= 0 && st.added == n && crate >= 200000;

	/* Every host has the agent's read-back of a realistic policy, so the
	 * report judges each setting (observed evidence included). */
	static const AuditActual readback[] = {
		{"server.signing.required", "samba", "true", "true", "ok"},
		{"server.encryption.required", "samba", "true", "true", "ok"},
		{"server.dialect.min", "samba", "3.0", "3.0", "ok"},
		{"server.dialect.max", "samba", "3.1.1", "3.1.1", "ok"},
		{"server.guest.allowed", "samba", "false", "false", "ok"},
		{"server.auth-rate-limiter.enabled", "endpoint", "true", "true", "ok"},
		{"server.auth-rate-limiter.delay-ms", "endpoint", "2000", "2000", "ok"},
		{"client.ntlm.block", "cifs", "true", "true", "ok"},
		{"client.signing.required", "cifs", "true", "true", "ok"},
		{"client.encryption.required", "cifs", "false", "false", "drift"},
		{"firewall.netbios.legacy", "nftables", "false", "false", "ok"},
		{"server.transport.quic.enabled", "endpoint", "true", "true", "ok"},
	};
	if (auditdb_begin(db) < 0)
		return 1;
	for (unsigned h = 0; h < hosts; h++) {
		char host[32];
		snprintf(host, sizeof host, "host%05u", h);
		if (auditdb_set_actual_host(db, host, 1, readback, ELEMENTSOF(readback)) < 0)
			return 1;
	}
	if (auditdb_commit(db) < 0)
		return 1;
	_cleanup_(catalog_freep) Catalog *catalog = NULL;
	if (catalog_load_default(&catalog) < 0)
		fprintf(stderr, "bench_audit: no catalog: reporting without observed checks\n");

	start = now_mono_usec();
	cpu = bench_cpu_seconds();
	_cleanup_(audit_report_freep) AuditReport *report = NULL;
	_cleanup_free_ char *html = NULL, *json = NULL;
	AuditReportOptions opt = {.catalog = catalog};
	r = audit_report_build(db, &opt, &report);
	double t_build = bench_seconds_since(start);
	if (r >= 0)
		r = audit_report_html(report, &html);
	if (r >= 0)
		r = audit_report_json(report, &json);
	double t_report = bench_seconds_since(start), c_report = bench_cpu_seconds() - cpu;
	printf("report: HTML (%zu KiB) + JSON (%zu KiB) over %llu events, %zu hosts in %.2f s wall, "
	       "%.2f s CPU (scan+model %.2f s wall; target <= 2 s)%s\n",
	       html ? strlen(html) / 1024 : 0, json ? strlen(json) / 1024 : 0,
	       report ? report->events : 0, report ? report->n_hosts : 0, t_report, c_report, t_build,
	       r < 0 || c_report > 2.0 ? "  MISSED" : "");
	ok &= r >= 0 && c_report <= 2.0;

	double py = python_rate(jsonl, n);
	printf("peer: python3 json.loads over the same lines (parse only): %.0f events/s\n", py);
	if (system(rm) != 0)
		fprintf(stderr, "bench_audit: could not remove %s\n", dir);
	return ok ? 0 : 1;
}
