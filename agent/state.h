/*
 * state.h - the agent's local state DB (SQLite): what each cycle found and
 * did, per plugin and per setting, and the files the plugins manage.
 * (Audit events live in the audit DB, audit/auditdb.h.)
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
