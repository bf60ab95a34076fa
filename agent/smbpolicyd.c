/*
 * smbpolicyd.c - the per-host agent: main() -> run(), the Context, the
 * cycles it runs (at start, on the timer, on SIGHUP/Refresh, on drift, on
 * D-Bus Apply) and its signals.
 *
 * Overview of the daemon (agent/):
 *   smbpolicyd.c  options, Context, sd-event loop, cycles, SIGTERM/SIGHUP
 *   bus.c         org.smbpolicy.Agent1 object (properties, methods, signals,
 *                 root-or-polkit check for Apply/Refresh)
 *   drift.c       inotify on the managed files' directories -> verify
 *   collector.c   audit log -> audit DB -> AuditEvent; actual state
 * and libsmbagent.a, shared with `smbpolicy ... --local`:
 *   engine.c      the cycle itself; source.c signed bundles over http(s)
 *                 (source_curl.c: libcurl, dlopen()ed only for --source)
 *   splay.c       when the periodic cycle runs (start-up splay, jitter)
 *   plugin_host.c dlopen + ABI check; state.c SQLite state; journal.c logs
 *   report.c      the cycle result; report_bus.c its D-Bus form
 *
 * Invariants: main() only calls run(); run() returns 0 or -errno and
 * releases everything through _cleanup_; READY=1 is sent only after the bus
 * name is owned; the process never forks (Type=notify).
 * Must never: exit from inside a callback (sd_event_exit instead), or keep
 * running after the bus connection was lost (exit-on-disconnect).
 */
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <sqlite3.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>

#include "context.h"
#include "journal.h"
#include "report_bus.h"
#include "splay.h"

#ifndef SMBPOLICY_VERSION
#define SMBPOLICY_VERSION "0.1"
#endif

#define DEFAULT_INTERVAL_SEC 900
/* SQLite's page caches (state DB, audit DB) recycle pages near this much
 * heap instead of growing with every recorded cycle (2 MiB and 64 MiB
 * caches otherwise fill over days of an idle daemon; the audit DB reads
 * through mmap, so little is lost). */
#define SQLITE_SOFT_HEAP_LIMIT (512 * 1024)

static void help(void) {
	printf("usage: smbpolicyd [OPTIONS]\n\n"
	       "The smbpolicy agent: applies the resultant SMB security policy to this host's\n"
	       "targets (Samba, ksmbd, cifs, nftables, smbrefd) through plugins, watches for\n"
	       "drift and serves org.smbpolicy.Agent1 on D-Bus.\n\n"
	       "  --bus system|session|ADDRESS  bus to serve on (default system)\n"
	       "  --root DIR          apply under DIR instead of / (tests, dry runs)\n"
	       "  --policy FILE       policy document to enforce (e.g. `smbpolicy rsop H --xml`)\n"
	       "  --store PATH        central store to resolve from, with --host\n"
	       "  --host NAME         this host's name in the store (default hostname)\n"
	       "  --source URL        pull the policy as a signed bundle (https://, http://, file://)\n"
	       "  --trusted-keys PATH public key file or directory verifying the bundles\n"
	       "  --ca-file FILE      CA certificates for https (default: the system's)\n"
	       "  --state PATH        local state DB (default [ROOT]%s)\n"
	       "  --plugin-dir DIR    plugins (default $SMBPOLICY_PLUGIN_DIR or %s)\n"
	       "  --audit-db PATH     audit DB for events and actual state\n"
	       "                      (default $SMBPOLICY_AUDIT_DB or [ROOT]%s)\n"
	       "  --audit-log FILE    collect audit events from this JSON-lines file\n"
	       "                      (smbrefd --audit-log) and signal them\n"
	       "  --interval SEC      re-verify/remediate (and poll --source) every SEC seconds,\n"
	       "                      +-10%% at random (default %d, 0 = never)\n"
	       "  --splay SEC         first periodic cycle after a random 0..SEC seconds (default:\n"
	       "                      the interval); a --source is not polled before it\n"
	       "  --audit-only        report drift, never remediate it automatically\n"
	       "  --once              run one cycle, print its report, exit (no bus)\n"
	       "  --foreground        stay in the foreground (always the case; for scripts)\n"
	       "  -h, --help          this help\n"
	       "  --version           print the version\n\n"
	       "Exit status: 0 success (--once: compliant), 1 failure or not compliant, 2 usage.\n",
	       ENGINE_STATE_PATH, plugin_host_default_dir(), AGENT_AUDIT_DB_PATH, DEFAULT_INTERVAL_SEC);
}

enum { PARSE_EXIT_OK = 1 };
static bool usage_error; /* parse_argv() refused the command line: exit 2 */

/* 0: run; PARSE_EXIT_OK: help/version printed; -EINVAL: usage error (printed). */
static int parse_argv(Context *c, int argc, char *argv[]) {
	enum {
		OPT_BUS = 0x100,
		OPT_ROOT,
		OPT_POLICY,
		OPT_STORE,
		OPT_HOST,
		OPT_SOURCE,
		OPT_TRUSTED_KEYS,
		OPT_CA_FILE,
		OPT_STATE,
		OPT_PLUGIN_DIR,
		OPT_INTERVAL,
		OPT_SPLAY,
		OPT_AUDIT_DB,
		OPT_AUDIT_LOG,
		OPT_AUDIT_ONLY,
		OPT_ONCE,
		OPT_FOREGROUND,
		OPT_VERSION,
	};
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "bus", required_argument, NULL, OPT_BUS },
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "store", required_argument, NULL, OPT_STORE },
		{ "host", required_argument, NULL, OPT_HOST },
		{ "source", required_argument, NULL, OPT_SOURCE },
		{ "trusted-keys", required_argument, NULL, OPT_TRUSTED_KEYS },
		{ "ca-file", required_argument, NULL, OPT_CA_FILE },
		{ "state", required_argument, NULL, OPT_STATE },
		{ "plugin-dir", required_argument, NULL, OPT_PLUGIN_DIR },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "splay", required_argument, NULL, OPT_SPLAY },
		{ "audit-db", required_argument, NULL, OPT_AUDIT_DB },
		{ "audit-log", required_argument, NULL, OPT_AUDIT_LOG },
		{ "audit-only", no_argument, NULL, OPT_AUDIT_ONLY },
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "foreground", no_argument, NULL, OPT_FOREGROUND },
		{},
	};
	c->bus_spec = "system";
	c->interval_usec = DEFAULT_INTERVAL_SEC * 1000000ULL;
	c->splay_usec = UINT64_MAX; /* unset: the interval */
	long long v;
	int opt;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0)
		switch (opt) {
		case 'h':
			help();
			return PARSE_EXIT_OK;
		case OPT_VERSION:
			printf("smbpolicyd %s (plugin ABI %u)\n", SMBPOLICY_VERSION,
			       SMBPOLICY_PLUGIN_ABI_VERSION);
			return PARSE_EXIT_OK;
		case OPT_BUS:
			c->bus_spec = optarg;
			break;
		case OPT_ROOT:
			c->cfg.root = optarg;
			break;
		case OPT_POLICY:
			c->cfg.policy_path = optarg;
			break;
		case OPT_STORE:
			c->cfg.store_path = optarg;
			break;
		case OPT_HOST:
			c->cfg.host = optarg;
			break;
		case OPT_SOURCE:
			c->cfg.source_url = optarg;
			break;
		case OPT_TRUSTED_KEYS:
			c->cfg.trusted_keys = optarg;
			break;
		case OPT_CA_FILE:
			c->cfg.ca_file = optarg;
			break;
		case OPT_STATE:
			c->cfg.state_path = optarg;
			break;
		case OPT_PLUGIN_DIR:
			c->cfg.plugin_dir = optarg;
			break;
		case OPT_INTERVAL:
			if (parse_int64(optarg, &v) < 0 || v < 0 || v > 7 * 24 * 3600) {
				fprintf(stderr, "smbpolicyd: --interval: not a number of seconds: %s\n",
					optarg);
				return -EINVAL;
			}
			c->interval_usec = (uint64_t)v * 1000000ULL;
			break;
		case OPT_SPLAY:
			if (parse_int64(optarg, &v) < 0 || v < 0 || v > 7 * 24 * 3600) {
				fprintf(stderr, "smbpolicyd: --splay: not a number of seconds: %s\n",
					optarg);
				return -EINVAL;
			}
			c->splay_usec = (uint64_t)v * 1000000ULL;
			break;
		case OPT_AUDIT_DB:
			c->audit_db_path = optarg;
			break;
		case OPT_AUDIT_LOG:
			c->audit_log_path = optarg;
			break;
		case OPT_AUDIT_ONLY:
			c->audit_only = true;
			break;
		case OPT_ONCE:
			c->once = true;
			break;
		case OPT_FOREGROUND:
			break;
		default:
			fprintf(stderr, "Try 'smbpolicyd --help'.\n");
			return -EINVAL;
		}
	if (optind < argc) {
		fprintf(stderr, "smbpolicyd: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (!!c->cfg.policy_path + !!c->cfg.store_path + !!c->cfg.source_url != 1) {
		fprintf(stderr, "smbpolicyd: give one of --policy FILE, --store PATH, --source URL\n");
		return -EINVAL;
	}
	if (!!c->cfg.source_url != !!c->cfg.trusted_keys) {
		fprintf(stderr, "smbpolicyd: --source and --trusted-keys go together\n");
		return -EINVAL;
	}
	if (c->splay_usec == UINT64_MAX)
		c->splay_usec = c->interval_usec;
	if (!c->cfg.state_path) {
		c->state_path = engine_default_state_path(c->cfg.root);
		if (!c->state_path)
			return -ENOMEM;
		c->cfg.state_path = c->state_path;
	}
	const char *env = getenv("SMBPOLICY_AUDIT_DB");
	if (!c->audit_db_path && env && *env)
		c->audit_db_path = env;
	if (!c->audit_db_path) {
		const char *root = c->cfg.root && !streq(c->cfg.root, "/") ? c->cfg.root : "";
		c->audit_db_owned = strdup_printf("%s%s", root, AGENT_AUDIT_DB_PATH);
		if (!c->audit_db_owned)
			return -ENOMEM;
		c->audit_db_path = c->audit_db_owned;
	}
	return 0;
}

static void context_done(Context *c) {
	collector_free(c->collector);
	drift_free(c->drift);
	report_free(c->last);
	report_free(c->last_plan);
	engine_free(c->engine);
	sd_event_source_unref(c->timer);
	sd_bus_flush_close_unref(c->bus);
	sd_event_unref(c->event);
	free(c->state_path);
	free(c->audit_db_owned);
}

int context_cycle(Context *c, ReportKind kind, bool cached, const Report **ret) {
	Report *r = NULL;
	int k = cached ? engine_run_cached(c->engine, kind, &r) : engine_run(c->engine, kind, &r);
	if (k < 0) {
		journal_log(JOURNAL_AGENT, LOG_ERR, NULL, "%s cycle failed: %s",
			    report_kind_to_string(kind), strerror(-k));
		return k;
	}
	/* A plan describes what would change, not the host's state: it is kept
	 * apart and changes no property. */
	if (kind == REPORT_PLAN) {
		report_free(c->last_plan);
		c->last_plan = r;
		if (ret)
			*ret = r;
		return 0;
	}
	report_free(c->last);
	c->last = r;
	c->compliant = r->compliant;
	if (kind == REPORT_APPLY)
		c->last_applied_usec = r->finished_usec;
	if (c->drift)
		(void)drift_watch(c->drift, engine_managed_paths(c->engine));
	if (c->collector)
		collector_record_report(c->collector, r);
	if (c->bus) {
		if (kind == REPORT_APPLY)
			bus_emit_policy_applied(c, r);
		bus_emit_properties_changed(c);
	}
	/* A cycle's parse trees and plugin buffers are gone: give the freed
	 * heap back so the idle daemon stays small. */
	(void)malloc_trim(0);
	if (ret)
		*ret = r;
	return 0;
}

int context_remediate(Context *c, bool cached) {
	return context_cycle(c, c->audit_only ? REPORT_VERIFY : REPORT_APPLY, cached, NULL);
}

/* (Re)load the policy, logging why it failed.  engine_load_policy()'s
 * result. */
static int context_load_policy(Context *c) {
	DiagList diag = {};
	int k = engine_load_policy(c->engine, &diag);
	/* -EAGAIN: a bundle source backing off, which it has logged already. */
	if (k < 0 && k != -EAGAIN) {
		for (size_t i = 0; i < diag.n; i++) {
			const Diag *d = &diag.items[i];
			char line[32] = "";
			if (d->line)
				snprintf(line, sizeof(line), ":%u", d->line);
			journal_log(JOURNAL_AGENT, LOG_ERR,
				    &(JournalFields){ .setting = d->setting, .path = d->file },
				    "policy: %s%s%s%s%s%s", d->file ? d->file : "", line,
				    d->file ? ": " : "", d->setting ? d->setting : "",
				    d->setting ? ": " : "", d->message);
		}
		journal_log(JOURNAL_AGENT, LOG_ERR, NULL, "cannot load policy (%s)%s", strerror(-k),
			    engine_policy_name(c->engine) ? ", keeping the previous one" : "");
	}
	diag_clear(&diag);
	return k;
}

int context_refresh(Context *c) {
	engine_source_retry_now(c->engine);
	int k = context_load_policy(c);
	if (k < 0 && !engine_policy_name(c->engine))
		return k;
	return context_remediate(c, true);
}

/* The drifted setting ids of one plugin in a verify report (strv). */
static char **drifted_ids(const Report *r, const char *plugin) {
	char **ids = calloc(1, sizeof(char *));
	for (size_t i = 0; ids && i < r->n_settings; i++) {
		const ReportSetting *s = &r->settings[i];
		if (s->status == RS_DRIFT && streq(s->plugin, plugin) && !strv_contains(ids, s->setting))
			(void)strv_push_dup(&ids, s->setting);
	}
	return ids;
}

void context_check_drift(Context *c, const char *path) {
	const Report *r = NULL;
	if (context_cycle(c, REPORT_VERIFY, false, &r) < 0 || r->compliant)
		return;
	/* Copied: the apply below replaces both the report and the engine's
	 * managed-path table. */
	const char *o = path ? engine_path_owner(c->engine, path) : NULL;
	_cleanup_free_ char *owner = o ? strdup(o) : NULL;
	_cleanup_strv_free_ char **plugins = calloc(1, sizeof(char *));
	for (size_t i = 0; plugins && i < r->n_plugins; i++)
		if (r->plugins[i].status == RP_DRIFT)
			(void)strv_push_dup(&plugins, r->plugins[i].name);
	size_t n_plugins = strv_length(plugins);
	char ***ids = calloc(n_plugins + 1, sizeof(char **));
	for (size_t i = 0; ids && i < n_plugins; i++)
		ids[i] = drifted_ids(r, plugins[i]);

	bool remediated = false;
	if (!c->audit_only && context_cycle(c, REPORT_APPLY, false, &r) >= 0)
		remediated = r->compliant;
	for (size_t i = 0; ids && i < n_plugins; i++) {
		/* The changed file belongs to one plugin; others drifted too. */
		const char *where = owner && streq(owner, plugins[i]) ? path : "";
		journal_log(JOURNAL_DRIFT, LOG_WARNING,
			    &(JournalFields){ .plugin = plugins[i], .path = where },
			    "drift in %zu setting(s)%s%s; %s", strv_length(ids[i]),
			    *where ? " after a change of " : " found by a periodic check", where,
			    c->audit_only ? "audit-only: not remediated"
			    : remediated  ? "remediated"
					  : "remediation FAILED");
		if (c->bus)
			bus_emit_drift(c, plugins[i], where, ids[i], remediated);
		strv_free(ids[i]);
	}
	free(ids);
}

static int on_timer(sd_event_source *s, uint64_t usec _unused_, void *userdata) {
	Context *c = userdata;
	/* A bundle source is polled every period (an unchanged one costs a
	 * 304); a new policy is applied, not reported as drift. */
	if (c->cfg.source_url && context_load_policy(c) > 0)
		(void)context_remediate(c, false);
	/* Otherwise read back everything: drift that no file change announced
	 * (the firewall, an included file) is found, signalled, remediated. */
	else if (engine_policy_name(c->engine))
		context_check_drift(c, NULL);
	uint64_t now;
	if (sd_event_now(sd_event_source_get_event(s), CLOCK_MONOTONIC, &now) >= 0)
		(void)sd_event_source_set_time(s, now + splay_next_usec(c->interval_usec,
									splay_random()));
	return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static int on_sighup(sd_event_source *s _unused_, const struct signalfd_siginfo *si _unused_,
		     void *userdata) {
	journal_log(JOURNAL_AGENT, LOG_INFO, NULL, "SIGHUP: reloading the policy");
	(void)context_refresh(userdata);
	return 0;
}

static int on_start(sd_event_source *s _unused_, void *userdata) {
	Context *c = userdata;
	if (engine_policy_name(c->engine))
		(void)context_remediate(c, false);
	return 0;
}

static int run_once(Context *c) {
	const Report *r = NULL;
	int k = context_cycle(c, c->audit_only ? REPORT_VERIFY : REPORT_APPLY, false, &r);
	if (k < 0)
		return k;
	(void)report_print(r, stdout, false, false);
	return r->compliant ? 0 : -EBADE;
}

static int run(int argc, char *argv[]) {
	_cleanup_(context_done) Context c = {};
	int k = parse_argv(&c, argc, argv);
	if (k != 0) {
		usage_error = k < 0;
		return k == PARSE_EXIT_OK ? 0 : k;
	}

	if (!c.once)
		(void)sqlite3_soft_heap_limit64(SQLITE_SOFT_HEAP_LIMIT);
	k = engine_new(&c.cfg, &c.engine);
	if (k < 0) {
		journal_log(JOURNAL_AGENT, LOG_ERR, NULL, "cannot start the engine: %s", strerror(-k));
		return k;
	}
	/* The periodic cycle's first run: splayed, so that a fleet started
	 * together (a mass reboot) does not poll in step.  A bundle source is
	 * not polled before it: the cached last good policy is enforced at
	 * start meanwhile.  --once polls at once. */
	uint64_t first_usec = 0;
	if (!c.once && c.interval_usec > 0) {
		first_usec = splay_first_usec(c.splay_usec, splay_random());
		bool deferred = engine_source_defer(c.engine, first_usec);
		journal_log(JOURNAL_AGENT, LOG_NOTICE, NULL,
			    "first periodic cycle%s in %llu.%03llu s (random splay 0..%llu s), "
			    "then every %llu s +-%d%%",
			    deferred ? " and bundle poll" : "",
			    (unsigned long long)(first_usec / 1000000ULL),
			    (unsigned long long)(first_usec / 1000ULL % 1000ULL),
			    (unsigned long long)(c.splay_usec / 1000000ULL),
			    (unsigned long long)(c.interval_usec / 1000000ULL),
			    100 / SPLAY_JITTER_DIV);
	}
	k = context_load_policy(&c);
	/* A daemon on a bundle source waits for its first bundle (timer). */
	if (k < 0 && (c.once || !c.cfg.source_url))
		return k;
	if (c.once)
		return run_once(&c);

	k = sd_event_default(&c.event);
	if (k < 0)
		return k;
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	/* NULL handler: SIGTERM/SIGINT exit the loop cleanly. */
	if ((k = sd_event_add_signal(c.event, NULL, SIGTERM, NULL, NULL)) < 0 ||
	    (k = sd_event_add_signal(c.event, NULL, SIGINT, NULL, NULL)) < 0 ||
	    (k = sd_event_add_signal(c.event, NULL, SIGHUP, on_sighup, &c)) < 0)
		return k;
	(void)sd_event_set_watchdog(c.event, true);

	k = drift_new(&c, &c.drift);
	if (k < 0)
		return k;
	k = collector_new(&c, c.audit_db_path, c.audit_log_path, &c.collector);
	if (k < 0)
		return k;
	k = bus_setup(&c);
	if (k < 0) {
		journal_log(JOURNAL_AGENT, LOG_ERR, NULL, "cannot serve %s on the %s bus: %s",
			    AGENT_BUS_NAME, c.bus_spec, strerror(-k));
		return k;
	}
	if ((k = sd_event_add_defer(c.event, NULL, on_start, &c)) < 0)
		return k;
	if (c.interval_usec > 0 &&
	    (k = sd_event_add_time_relative(
		     c.event, &c.timer, CLOCK_MONOTONIC,
		     first_usec ? first_usec : splay_next_usec(c.interval_usec, splay_random()), 0,
		     on_timer, &c)) < 0)
		return k;

	const char *name = engine_policy_name(c.engine) ? engine_policy_name(c.engine) : "(none yet)";
	(void)sd_notifyf(false, "READY=1\nSTATUS=serving %s, policy %s", AGENT_BUS_NAME, name);
	journal_log(JOURNAL_AGENT, LOG_INFO, NULL, "serving %s on the %s bus, policy %s, root %s%s",
		    AGENT_BUS_NAME, c.bus_spec, name, engine_root(c.engine),
		    c.audit_only ? ", audit-only" : "");
	k = sd_event_loop(c.event);
	(void)sd_notify(false, "STOPPING=1");
	journal_log(JOURNAL_AGENT, LOG_INFO, NULL, "stopping");
	return k;
}

int main(int argc, char *argv[]) {
	int k = run(argc, argv);
	if (usage_error)
		return 2;
	return k < 0 ? 1 : 0;
}
