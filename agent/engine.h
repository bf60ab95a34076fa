/*
 * engine.h - the agent's apply engine: one cycle is
 *     load policy -> resolve -> for each plugin: detect -> plan -> apply ->
 *     verify (-> rollback of that plugin alone on failure) -> record.
 *
 * The engine is a library object (libsmbagent.a) linked into both
 * smbpolicyd and `smbpolicy --local`, so both run exactly the same code.
 *
 * Policy sources: a policy document (--policy FILE, usually a resultant
 * policy written by `smbpolicy rsop HOST --xml`), the central store
 * resolved for a host (--store PATH --host NAME), or a signed bundle pulled
 * from a URL (--source URL --trusted-keys KEYS, agent/source.c; its last
 * good policy is cached beside the state DB).  Either way the engine hands
 * every catalog setting (defaults included) to every plugin.
 *
 * Invariants: plugins run in name order; a plugin that fails is rolled back
 * and reported, and the next plugin still runs; a plan/verify cycle writes
 * nothing (plugins run with dry_run); each finished report is recorded in
 * the state DB when one is open.  The engine keeps no state between cycles
 * except the loaded policy, the plugins and the managed paths the plans
 * named.  Must never: write outside cfg->root, or leave a plugin applied but
 * unverified.
 */
#pragma once

#include "diag.h"
#include "plugin_host.h"
#include "report.h"
#include "state.h"

typedef struct EngineConfig {
	const char *root;        /* NULL or "/" = the real system */
	const char *plugin_dir;  /* NULL = plugin_host_default_dir() */
	const char *policy_path; /* a policy document, or ... */
	const char *store_path;  /* ... the central store and */
	const char *host;        /* this host's name (NULL = gethostname) */
	const char *state_path;  /* local state DB; NULL = not recorded */
	const char *source_url;  /* ... or a signed bundle (source.h) at this URL, */
	const char *trusted_keys; /* verified with these keys, */
	const char *ca_file;     /* fetched over TLS trusting this CA (NULL: system) */
	PluginTools tools;
} EngineConfig;

typedef struct Engine Engine;

/* Copies cfg (not the tools' strings, which must outlive the engine), loads
 * the plugins and the catalog, opens the state DB and the bundle source.
 * -EINVAL unless exactly one policy source is given, -ENOENT when no
 * plugin loads (a cycle without plugins would claim compliance).  The
 * policy is loaded by engine_load_policy(). */
int engine_new(const EngineConfig *cfg, Engine **ret);
void engine_free(Engine *e);
DEFINE_TRIVIAL_CLEANUP_FUNC(Engine *, engine_free)

/* (Re)load and resolve the policy (with a bundle source: poll it first).
 * Returns 1 when a policy was (re)loaded, 0 when a bundle source had
 * nothing new and a policy is already loaded.  On error the previous policy
 * (if any) stays in force; diagnostics naming file, line and setting go to
 * diag.  A bundle source that cannot be reached is not an error while its
 * last good policy is cached (the source logs why). */
int engine_load_policy(Engine *e, DiagList *diag);
/* Bundle source: poll at the next engine_load_policy() even while backing
 * off (an operator's explicit reload).  No-op for other sources. */
void engine_source_retry_now(Engine *e);
/* Bundle source: do not poll for usec from now; engine_load_policy() loads
 * the cached last good policy meanwhile (source_defer()).  Returns false
 * for other sources (nothing deferred). */
bool engine_source_defer(Engine *e, uint64_t usec);

/* Run one cycle of the given kind (plan: dry run; apply: change and verify;
 * verify: read back only).  Returns 0 and a finished report even when
 * plugins failed (see report->failed); -errno only when no cycle could run
 * (no policy loaded, ENOMEM). */
int engine_run(Engine *e, ReportKind kind, Report **ret);

/* engine_run() that may skip a plugin whose last cycle left it in the
 * desired state when neither the policy nor any file it manages changed
 * since (same policy hash; same device, inode, size and mtime of each
 * managed file).  Such a plugin is reported "ok" without being run.  A
 * plugin that manages no known file always runs.  For cheap repeated
 * refreshes; read-backs (GetCompliance, drift checks) use engine_run(). */
int engine_run_cached(Engine *e, ReportKind kind, Report **ret);

/* The loaded policy: name, version (content hash), host. NULL before load. */
const char *engine_policy_name(const Engine *e);
const char *engine_policy_version(const Engine *e);
const char *engine_host(const Engine *e);
const char *engine_root(const Engine *e);
/* The resultant policy document text, borrowed. */
const char *engine_policy_xml(const Engine *e);

/* Files the plugins manage (every file any cycle's plans named), borrowed
 * strv; and the plugin that owns path (NULL if none). */
char *const *engine_managed_paths(const Engine *e);
const char *engine_path_owner(const Engine *e, const char *path);

const PluginHost *engine_plugins(const Engine *e);
/* The state DB (NULL when not configured). */
AgentState *engine_state(const Engine *e);

#define ENGINE_STATE_PATH "/var/lib/smbpolicy/agent.db"
/* ENGINE_STATE_PATH under root (root NULL or "/": as is); malloc'd. */
char *engine_default_state_path(const char *root);
