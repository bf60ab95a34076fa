/*
 * context.h - smbpolicyd's one state object, shared by the daemon's files
 * (smbpolicyd.c: main, cycles, signals, timer; bus.c: the D-Bus object;
 * drift.c: the inotify watch).
 *
 * Invariants: one Context per process, owned by run(); everything runs on
 * its sd-event loop (no threads), so a cycle is never re-entered; `last` is
 * the newest finished report and `compliant` mirrors it.
 * Must never: be touched from a signal handler (signals arrive as sd-event
 * sources).
 */
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "engine.h"

typedef struct Drift Drift;

typedef struct Context {
	/* options */
	const char *bus_spec; /* "system", "session" or an address */
	bool audit_only;
	bool once;
	uint64_t interval_usec;
	EngineConfig cfg;
	char *state_path; /* owned; cfg.state_path points here */

	sd_event *event;
	sd_bus *bus;
	sd_event_source *timer;
	Engine *engine;
	Drift *drift;

	Report *last; /* newest report of any kind */
	unsigned long long last_applied_usec;
	bool compliant;
} Context;

/* Run one cycle (kind; cached: engine_run_cached), keep it as c->last,
 * update properties, emit PolicyApplied (apply cycles), re-arm the drift
 * watch.  -errno when no cycle could run.  *ret (may be NULL) borrows
 * c->last. */
int context_cycle(Context *c, ReportKind kind, bool cached, const Report **ret);
/* Reload the policy (SIGHUP, Refresh), then the periodic cycle, skipping
 * plugins nothing changed for.  Returns the cycle's result; the previous
 * policy stays when the new one is invalid. */
int context_refresh(Context *c);
/* The periodic cycle: apply (or verify in audit-only mode). */
int context_remediate(Context *c, bool cached);
/* A managed file changed (drift.c): verify, signal, remediate. */
void context_on_drift(Context *c, const char *path);

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
