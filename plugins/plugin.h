/*
 * plugin.h - the one versioned ABI between the agent (smbpolicyd) and the
 * target plugins (samba, ksmbd, cifs, nftables, endpoint).
 *
 * Purpose: every target is a shared object $(BUILD)/plugins/NAME.so (or
 * $SMBPOLICY_PLUGIN_DIR/NAME.so, installed in SMBPOLICY_PLUGINDIR) that
 * exports exactly one data symbol:
 *
 *     const SmbpolicyPlugin smbpolicy_plugin;
 *
 * Invariants: all ABI types here are plain C structs; no libsmbpolicy type
 * (Catalog, Policy, Rsop) crosses the boundary, so a plugin needs neither
 * libxml2 nor SQLite.  Every op returns 0 (or a positive count) on success
 * and -errno on failure, logs through ctx->log only, never prints, never
 * exits, never touches a path outside ctx->root, and writes nothing when
 * ctx->dry_run is set.  Strings handed out by a plugin are malloc'd and freed
 * by the matching *_free op of that same plugin (or plugin_*_free below,
 * which are the same code).
 *
 * What a plugin must never do: write a file non-atomically, leave a target
 * half-configured after an op returned an error, edit anything it does not
 * own (the admin's smb.conf gets exactly one `include` line, nftables tables
 * other than `inet smbpolicy` are never touched).
 *
 * ---------------------------------------------------------------------------
 * HOW THE AGENT DRIVES A PLUGIN (for agent/ engineers)
 *
 *   void *h = dlopen(".../samba.so", RTLD_NOW | RTLD_LOCAL);
 *   const SmbpolicyPlugin *p = dlsym(h, SMBPOLICY_PLUGIN_SYMBOL);
 *   if (!p || p->abi_version != SMBPOLICY_PLUGIN_ABI_VERSION) -> refuse it.
 *
 *   PluginContext ctx = {
 *           .abi_version = SMBPOLICY_PLUGIN_ABI_VERSION,
 *           .root = "/"  (or the --root DIR; every path is under it),
 *           .dry_run = false,
 *           .log = my_log, .userdata = me,
 *           .tools = { NULL fields = defaults from PATH },
 *   };
 *
 *   1. detect:   PluginDetect d = {}; p->detect(&ctx, &d);
 *                d.applicable == false -> skip the plugin (it claims no
 *                setting on this host; d.detail says why, e.g. "ksmbd not
 *                installed, module not loaded").  p->detect_clear(&d).
 *   2. read:     p->read_actual(&ctx, &actual)      (for status / GetStatus)
 *   3. plan:     build a PluginPolicy from the resultant policy: one
 *                PluginSetting {id, value strv} per catalog setting (every
 *                setting, defaults included: plugins read other settings,
 *                e.g. samba's `smb ports` depends on firewall.netbios.legacy)
 *                and .xml = rsop_to_policy_xml() text (endpoint plugin).
 *                p->plan(&ctx, &policy, &plan).
 *                plan->n_changes == 0 -> compliant, nothing to do.
 *                plan->findings -> log them (e.g. ksmbd `required`).
 *                Dry run / `smbpolicy plan`: stop here.
 *   4. apply:    p->apply(&ctx, plan, &backup).  On error nothing changed
 *                (the plugin restored what it had touched) and backup is
 *                NULL.  On success keep backup until verified.
 *   5. verify:   p->verify(&ctx, plan) == 0 -> done, p->backup_free(backup).
 *                -EBADE (read back != desired) or any error ->
 *                p->rollback(&ctx, backup); p->backup_free(backup).
 *   p->plan_free(plan); p->actual_free(actual).
 *
 *   The backup is plain data (PluginBackup: file contents / saved state), so
 *   the agent may persist it in its state DB and roll back after a restart.
 *   A plan is self-contained: apply and verify use only the plan (plus ctx),
 *   never re-read the policy.
 *
 *   Errors worth mapping: -ENOENT (target not installed / file missing),
 *   -EINVAL (policy value the target cannot express, named in the log),
 *   -EBADMSG (the target's own validator, e.g. testparm, rejected the new
 *   configuration: nothing was changed), -EBADE (verify mismatch),
 *   -ESRCH (reload: daemon not running; not an error for apply).
 * ---------------------------------------------------------------------------
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* Bump on any change of a struct layout or op signature in this file. */
#define SMBPOLICY_PLUGIN_ABI_VERSION 1u
#define SMBPOLICY_PLUGIN_SYMBOL "smbpolicy_plugin"

/* syslog(3) priorities, so the agent can hand them to sd_journal_send. */
typedef enum PluginLogLevel {
	PLUGIN_LOG_ERR = 3,
	PLUGIN_LOG_WARNING = 4,
	PLUGIN_LOG_NOTICE = 5,
	PLUGIN_LOG_INFO = 6,
	PLUGIN_LOG_DEBUG = 7,
} PluginLogLevel;

/* One pre-formatted message; setting_id and path may be NULL. */
typedef void (*PluginLogFunc)(void *userdata, PluginLogLevel level, const char *plugin,
			      const char *setting_id, const char *path, const char *message);

/* Tool overrides.  NULL = the default (the tool's name looked up in PATH).
 * An empty string "" disables the step that uses the tool (e.g. no reload). */
typedef struct PluginTools {
	const char *testparm;      /* samba: validator and read-back */
	const char *smbcontrol;    /* samba: `smbcontrol smbd reload-config` */
	const char *smbstatus;     /* samba: `smbstatus --json` when smbd runs */
	const char *ksmbd_control; /* ksmbd: `ksmbd.control --reload` */
	const char *netns;         /* nftables: path of a network namespace
				    * (/run/netns/NAME, /proc/PID/ns/net) to
				    * work in; NULL = the caller's */
	const char *smb_conf;      /* samba: smb.conf path relative to root;
				    * NULL = /etc/samba/smb.conf */
} PluginTools;

typedef struct PluginContext {
	unsigned abi_version; /* SMBPOLICY_PLUGIN_ABI_VERSION of the caller */
	const char *root;     /* NULL or "/" = the real system */
	bool dry_run;         /* apply/rollback log what they would do, write nothing */
	PluginLogFunc log;    /* may be NULL */
	void *userdata;
	PluginTools tools;
} PluginContext;

/* One resolved setting: canonical values as in the catalog (bool
 * "true"/"false", decimal ints, dialects "3.1.1", ...).  value is a
 * NULL-terminated vector: one item for scalars, 0..n for lists. */
typedef struct PluginSetting {
	const char *id;
	char *const *value;
} PluginSetting;

/* The desired state handed to plan(). */
typedef struct PluginPolicy {
	const char *name;   /* policy name, written into comments; may be NULL */
	const char *hash;   /* content hash/version tag; may be NULL */
	const PluginSetting *settings;
	size_t n_settings;
	const char *xml;    /* resultant policy document (endpoint plugin); may be NULL */
} PluginPolicy;

/* What the plugin knows about its target on this host. */
typedef struct PluginDetect {
	bool installed;   /* the target's software is present */
	bool running;     /* its daemon / module is active (reload needed) */
	bool applicable;  /* false: skip, the plugin claims nothing here */
	char *version;    /* may be NULL */
	char *detail;     /* one human line, e.g. "smbd 4.17.12 pid 1234" */
} PluginDetect;

/* One row of a plugin's mapping table, exported as-is for `smbpolicy
 * targets`.  A setting id may have several rows (one per target key). */
typedef struct PluginSettingInfo {
	const char *id;        /* catalog setting id */
	const char *target;    /* target's own name: "server signing", "options cifs
				* require_gcm_256", "inet smbpolicy tcp dport 139" */
	const char *transform; /* human text: "true -> mandatory, false -> auto" */
	const void *impl;      /* plugin-private row data; the agent ignores it */
} PluginSettingInfo;

typedef enum PluginValueState {
	PLUGIN_VALUE_SET,     /* raw holds the value configured now */
	PLUGIN_VALUE_UNSET,   /* nothing configured: the target's default applies */
	PLUGIN_VALUE_UNKNOWN, /* cannot be read here (module not loaded, no tool) */
} PluginValueState;

/* Current state of one mapping row (read_actual). */
typedef struct PluginActual {
	char *id;       /* setting id */
	char *target;   /* target key */
	PluginValueState state;
	char *raw;      /* target-side text, NULL unless SET */
} PluginActual;

/* One difference plan() found: target key `target` of setting `id` goes from
 * actual to desired (target-side text; NULL = unset/absent).  id and target
 * are never NULL. */
typedef struct PluginChange {
	char *id;
	char *target;
	char *actual;
	char *desired;
} PluginChange;

typedef enum PluginFindingLevel {
	PLUGIN_FINDING_INFO,
	PLUGIN_FINDING_WARNING, /* e.g. ksmbd `required` (read as disabled) */
	PLUGIN_FINDING_ERROR,   /* the policy cannot be enforced on this target */
} PluginFindingLevel;

typedef struct PluginFinding {
	PluginFindingLevel level;
	char *id;       /* setting id, may be NULL */
	char *path;     /* file, may be NULL */
	unsigned line;  /* 0 = unknown */
	char *message;
} PluginFinding;

/* A managed file's rendered new content, part of a plan. */
typedef struct PluginFile {
	char *path;     /* absolute, root included */
	char *data;     /* NULL = remove the file */
	size_t len;
	unsigned mode;
} PluginFile;

typedef struct PluginPlan {
	PluginChange *changes;
	size_t n_changes;
	PluginFinding *findings;
	size_t n_findings;
	PluginFile *files;  /* what apply() writes, in this order */
	size_t n_files;
	char *state;        /* plugin-specific non-file state, e.g. the nft
			     * ruleset text; may be NULL */
} PluginPlan;

/* A saved copy of what apply() replaced, enough for rollback(). */
typedef struct PluginBackupFile {
	char *path;
	bool existed;  /* false: rollback removes the file */
	char *data;
	size_t len;
	unsigned mode;
} PluginBackupFile;

typedef struct PluginBackup {
	char *plugin;               /* name of the plugin that made it */
	PluginBackupFile *files;
	size_t n_files;
	char *state;                /* e.g. previous `inet smbpolicy` table text,
				     * NULL = did not exist */
	bool state_existed;
} PluginBackup;

typedef struct SmbpolicyPlugin {
	unsigned abi_version; /* SMBPOLICY_PLUGIN_ABI_VERSION */
	const char *name;     /* "samba", "ksmbd", "cifs", "nftables", "endpoint" */
	const char *description;
	const PluginSettingInfo *settings; /* the mapping table */
	size_t n_settings;

	int (*detect)(const PluginContext *ctx, PluginDetect *ret);
	/* One entry per mapping row. */
	int (*read_actual)(const PluginContext *ctx, PluginActual **ret, size_t *ret_n);
	int (*plan)(const PluginContext *ctx, const PluginPolicy *policy, PluginPlan **ret);
	/* Atomic; on error nothing is changed and *ret_backup is NULL.  With
	 * ctx->dry_run: validates, logs, writes nothing, *ret_backup NULL. */
	int (*apply)(const PluginContext *ctx, const PluginPlan *plan, PluginBackup **ret_backup);
	/* 0 when the target reads back every desired value; -EBADE otherwise
	 * (each mismatch logged with its setting id). */
	int (*verify)(const PluginContext *ctx, const PluginPlan *plan);
	int (*rollback)(const PluginContext *ctx, const PluginBackup *backup);

	void (*detect_clear)(PluginDetect *d);
	void (*actual_free)(PluginActual *a, size_t n);
	void (*plan_free)(PluginPlan *p);
	void (*backup_free)(PluginBackup *b);
} SmbpolicyPlugin;

/* Unique setting ids of a plugin (distinct ids of p->settings, in table
 * order) are what it "implements"; helper for hosts: */
static inline bool plugin_implements(const SmbpolicyPlugin *p, const char *id) {
	for (size_t i = 0; i < p->n_settings; i++)
		if (strcmp(p->settings[i].id, id) == 0)
			return true;
	return false;
}
