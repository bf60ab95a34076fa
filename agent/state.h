/*
 * state.h - the agent's local state DB (SQLite): what each cycle found and
 * did, per plugin and per setting, and the audit events the agent saw.
 *
 * Invariants: WAL mode; a report is recorded in exactly one transaction
 * (all its rows or none); the schema version is PRAGMA user_version and
 * state_open() migrates forward in one transaction; only the newest
 * STATE_KEEP_RUNS runs are kept.  Must never: hold a transaction open across
 * calls, or be shared between processes without SQLite's own locking (the
 * CLI's --local mode may open the same file as the daemon).
 */
#pragma once

#include <stdint.h>

#include "report.h"

#define STATE_KEEP_RUNS 1000
#define STATE_KEEP_EVENTS 10000

typedef struct AgentState AgentState;

/* Opens (creating parent-less file) and migrates.  -EIO on SQLite errors. */
int state_open(const char *path, AgentState **ret);
void state_close(AgentState *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(AgentState *, state_close)

/* Store a finished report; *ret_id (may be NULL) is its run id. */
int state_record(AgentState *s, const Report *r, int64_t *ret_id);
/* The newest recorded report of a kind (kind < 0: any kind); -ENOENT. */
int state_last(AgentState *s, int kind, Report **ret);
/* The newest report that applied (kind apply) and finished compliant or
 * not: its finish time, 0 when never. */
int state_last_applied_usec(AgentState *s, unsigned long long *ret);

/* The files the plugins manage, with the owning plugin (parallel strv),
 * so a restarted agent watches them before its first plan names them. */
int state_managed_save(AgentState *s, char *const *paths, char *const *owners);
int state_managed_load(AgentState *s, char ***ret_paths, char ***ret_owners);

typedef struct StateEvent {
	unsigned long long time_usec;
	uint32_t event_id;
	char *name;
	char *peer;
	char **fields; /* strv of alternating name, value */
} StateEvent;

int state_add_event(AgentState *s, const StateEvent *e);
/* Events with time >= since_usec, oldest first, at most limit (0 = 1000). */
int state_list_events(AgentState *s, unsigned long long since_usec, unsigned limit,
		      StateEvent **ret, size_t *ret_n);
void state_events_free(StateEvent *e, size_t n);
