/*
 * context.h - smbpolicyd's one state object, shared by the daemon's files
 * (smbpolicyd.c: main, cycles, signals, timer; bus.c: the D-Bus object;
 * drift.c: the inotify watch; collector.c: audit events).
 *
 * Invariants: one Context per process, owned by run(); everything runs on
 * its sd-event loop (no threads), so a cycle is never re-entered; `last` is
 * the newest finished apply/verify report and `compliant` mirrors it.
 * Must never: be touched from a signal handler (signals arrive as sd-event
 * sources).
 */
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "engine.h"

typedef struct Drift Drift;
typedef struct Collector Collector;

typedef struct Context {
	/* options */
	const char *bus_spec; /* "system", "session" or an address */
	bool audit_only;
	bool once;
	uint64_t interval_usec;
	uint64_t splay_usec; /* first periodic cycle after 0..splay (splay.h) */
	EngineConfig cfg;
	char *state_path; /* owned; cfg.state_path points here */
	const char *audit_db_path;
	char *audit_db_owned; /* default path; audit_db_path points here */
	const char *audit_log_path;

	sd_event *event;
	sd_bus *bus;
	sd_event_source *timer;
	Engine *engine;
	Drift *drift;
	Collector *collector;

	Report *last;      /* newest apply or verify report */
	Report *last_plan; /* newest plan (kept for the reply only) */
	unsigned long long last_applied_usec;
	bool compliant;
} Context;

/* Run one cycle (kind; cached: engine_run_cached).  Apply and verify
 * cycles become c->last, update the properties, emit PolicyApplied (apply)
 * and re-arm the drift watch; a plan only becomes c->last_plan.  -errno
 * when no cycle could run.  *ret (may be NULL) borrows the report. */
int context_cycle(Context *c, ReportKind kind, bool cached, const Report **ret);
/* Reload the policy (SIGHUP, Refresh), then the periodic cycle, skipping
 * plugins nothing changed for.  Returns the cycle's result; the previous
 * policy stays when the new one is invalid. */
int context_refresh(Context *c);
/* The periodic cycle: apply (or verify in audit-only mode). */
int context_remediate(Context *c, bool cached);
/* Verify; for each plugin found drifted emit DriftDetected and, unless
 * audit-only, apply.  path: the managed file whose change prompted the
 * check (drift.c), or NULL for the periodic check. */
void context_check_drift(Context *c, const char *path);

/* bus.c */
int bus_setup(Context *c);
void bus_emit_policy_applied(Context *c, const Report *r);
void bus_emit_drift(Context *c, const char *plugin, const char *path, char *const *settings,
		    bool remediated);
void bus_emit_properties_changed(Context *c);

/* drift.c */
int drift_new(Context *c, Drift **ret);
void drift_free(Drift *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(Drift *, drift_free)
/* Watch exactly these files (parent directories with inotify). */
int drift_watch(Drift *d, char *const *paths);

/* collector.c */
#define AGENT_AUDIT_DB_PATH "/var/lib/smbpolicy/audit.db"
int collector_new(Context *ctx, const char *db_path, const char *log_path, Collector **ret);
void collector_free(Collector *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Collector *, collector_free)
/* Store a cycle's per-setting results as this host's actual state. */
void collector_record_report(Collector *c, const Report *r);
/* Append ListAuditEvents' a(tussa{ss}) to reply. */
int collector_append_events(Collector *c, sd_bus_message *reply, uint64_t since, uint32_t limit);
