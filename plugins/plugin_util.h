/*
 * plugin_util.h - code shared by the target plugins: paths under the root
 * directory, logging through the context, reading the desired policy,
 * value-transform tables, the line-preserving ini editor (smb.conf,
 * ksmbd.conf), running a target's tool, plan bookkeeping and the atomic
 * multi-file apply with backup and restore.
 *
 * Invariants: the ini editor edits lines, never a parsed model: every byte
 * of a line it does not change is kept (comments, odd spacing, continuation
 * lines, other sections).  plugin_files_apply either leaves every file at
 * its new content or restores every file it touched, and each single file
 * is at any instant its old or its new content (write_file_atomic).
 *
 * Must never: log except through ctx->log, print, exit, or resolve a path
 * outside ctx->root.
 */
#pragma once

#include "plugin.h"
#include "strbuf.h"
#include "util.h"

/* The largest configuration, policy or state file a plugin reads. */
#define PLUGIN_FILE_MAX (16u << 20)

/* ---- logging ---- */
void plugin_log(const PluginContext *ctx, const char *plugin, PluginLogLevel level,
		const char *setting_id, const char *path, const char *fmt, ...) _printf_(6, 7);

/* ---- paths ---- */
/* ctx->root + path (path absolute); malloc'd, NULL on ENOMEM. */
char *plugin_path(const PluginContext *ctx, const char *path);
/* mkdir -p of the directory containing path (mode 0755). */
int plugin_mkdir_parents(const char *path);
/* The configured tool: override, else def.  NULL when disabled (""). */
const char *plugin_tool(const char *override, const char *def);

/* ---- the desired policy ---- */
/* Value vector of a setting, NULL when the policy does not hold it. */
char *const *plugin_policy_value(const PluginPolicy *p, const char *id);
/* The single value of a scalar setting, NULL when absent or a list. */
const char *plugin_policy_scalar(const PluginPolicy *p, const char *id);
/* "true"/"false" -> *ret; -ENOENT absent, -EINVAL not a bool. */
int plugin_policy_bool(const PluginPolicy *p, const char *id, bool *ret);
/* Boolean with a default when absent. */
bool plugin_policy_bool_or(const PluginPolicy *p, const char *id, bool def);

/* ---- value transforms (tables, not branches) ---- */
typedef struct PluginValueMap {
	const char *from; /* canonical policy value */
	const char *to;   /* target text */
} PluginValueMap;
#define PLUGIN_VALUE_MAP_END { NULL, NULL }

/* Target text for from, or NULL when the table has no row (the caller
 * reports -EINVAL with the setting id). */
const char *plugin_value_map(const PluginValueMap *map, const char *from);
/* Reverse direction (case-insensitive on the target text). */
const char *plugin_value_unmap(const PluginValueMap *map, const char *to);

/* A renderer turns the policy into the target text of one mapping row.
 * *ret = NULL means "leave this key at the target's default" (not written).
 * arg is the row's argument.  -EINVAL when the value cannot be expressed
 * (logged by the caller with the setting id). */
typedef int (*PluginRenderFunc)(const PluginPolicy *p, const char *id, const void *arg,
				char **ret);

/* arg: PluginValueMap[] over the scalar value (bools: "true"/"false"). */
int plugin_render_map(const PluginPolicy *p, const char *id, const void *arg, char **ret);
/* arg: PluginValueMap[] over list items, joined with ", ". */
int plugin_render_list_map(const PluginPolicy *p, const char *id, const void *arg, char **ret);
/* The scalar value itself (ints, strings); arg unused. */
int plugin_render_verbatim(const PluginPolicy *p, const char *id, const void *arg, char **ret);

/* A policy value a target cannot enforce: reported as a finding, never
 * silently dropped. */
typedef struct PluginLimit {
	const char *id;
	const char *when; /* scalar value that triggers it; NULL = a non-empty list */
	PluginFindingLevel level;
	const char *message;
} PluginLimit;
/* Add a finding for each row of the table the policy triggers. */
int plugin_plan_limits(const PluginPolicy *p, const PluginLimit *limits, size_t n, PluginPlan *plan);

/* ---- ini files (smb.conf syntax) ---- */
/* Keys compare case-insensitively ignoring white space ("server signing" ==
 * "ServerSigning"), as Samba does.  Lines before the first section header
 * belong to [global]. */
bool plugin_ini_key_equal(const char *a, const char *b);
/* Value of the last `key = value` line of section; -ENOENT when absent.
 * *ret_line (may be NULL) is its 1-based line number. */
int plugin_ini_get(const char *text, const char *section, const char *key, char **ret,
		   unsigned *ret_line);
/* New text with key set to value in section: the last such line gets the new
 * value (its key text and indentation kept); when there is none a line
 * "\tkey = value" goes after the section's last setting line (the section
 * is created at the top when missing).  value NULL removes every such line.
 * All other bytes are kept. */
int plugin_ini_set(const char *text, const char *section, const char *key, const char *value,
		   char **ret);
/* New text with one more line "key = value" in section, placed like a new
 * key of plugin_ini_set (existing lines with that key are kept). */
int plugin_ini_add(const char *text, const char *section, const char *key, const char *value,
		   char **ret);
/* New text where the last `key = old_value` line of section has new_value
 * instead; -ENOENT when there is no such line. */
int plugin_ini_replace_value(const char *text, const char *section, const char *key,
			     const char *old_value, const char *new_value, char **ret);
/* Calls cb for each `key = value` line of section (1-based line numbers). */
typedef int (*PluginIniFunc)(const char *key, const char *value, unsigned line, void *userdata);
int plugin_ini_foreach(const char *text, const char *section, PluginIniFunc cb, void *userdata);

/* ---- running tools ---- */
/* Run argv (argv[0] looked up in PATH) with stdin from /dev/null; capture
 * stdout/stderr (each may be NULL to discard).  Returns the exit status
 * (0..255), -ENOENT when the tool is missing, -ETIMEDOUT after timeout_ms
 * (child killed), or -errno. */
int plugin_run(char *const argv[], unsigned timeout_ms, char **ret_stdout, char **ret_stderr);

/* ---- plan bookkeeping ---- */
int plugin_plan_new(PluginPlan **ret);
int plugin_plan_add_change(PluginPlan *p, const char *id, const char *target, const char *actual,
			   const char *desired);
int plugin_plan_add_finding(PluginPlan *p, PluginFindingLevel level, const char *id,
			    const char *path, unsigned line, const char *fmt, ...) _printf_(6, 7);
/* Takes ownership of data (NULL = remove the file). */
int plugin_plan_add_file(PluginPlan *p, const char *path, char *data, size_t len, unsigned mode);
void plugin_plan_free(PluginPlan *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(PluginPlan *, plugin_plan_free)

int plugin_actual_add(PluginActual **a, size_t *n, const char *id, const char *target,
		      PluginValueState state, const char *raw);
void plugin_actual_free(PluginActual *a, size_t n);
/* The value a row's target holds now (malloc'd), NULL when unset. */
typedef char *(*PluginActualValueFunc)(const PluginSettingInfo *row, const void *userdata);
/* read_actual for plugins whose rows each read one value: one entry per
 * row, named by the row's target, SET/UNSET by value(), or UNKNOWN for
 * every row when known is false (the target could not be read). */
int plugin_actual_collect(const PluginSettingInfo *rows, size_t n_rows, bool known,
			  PluginActualValueFunc value, const void *userdata, PluginActual **ret,
			  size_t *ret_n);
void plugin_detect_clear(PluginDetect *d);

/* ---- files: apply with backup, restore ---- */
/* Save the current content of each plan file (or its absence) in a new
 * backup named plugin. */
int plugin_backup_files(const char *plugin, const PluginFile *files, size_t n,
			PluginBackup **ret);
/* Write every file in order (write_file_atomic, parents created); on a
 * failure restore the ones already written from backup and return the
 * error.  dry_run: nothing written. */
int plugin_files_apply(const PluginContext *ctx, const char *plugin, const PluginFile *files,
		       size_t n, const PluginBackup *backup);
/* The usual apply of a plan's files: back them up, then write them
 * (plugin_files_apply).  *ret_backup gets the backup; on a dry run only
 * what would be written is logged and *ret_backup stays NULL. */
int plugin_plan_write(const PluginContext *ctx, const char *plugin, const PluginPlan *plan,
		      PluginBackup **ret_backup);
/* Put every file of the backup back (reverse order); returns the first
 * error but tries them all. */
int plugin_backup_restore(const PluginContext *ctx, const PluginBackup *b);
void plugin_backup_free(PluginBackup *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(PluginBackup *, plugin_backup_free)

/* Whether path's content equals data (NULL: file absent). */
bool plugin_file_has(const char *path, const char *data, size_t len);

/* Case-insensitive compare of two comma/space separated lists, item by item
 * ("AES-256-GCM, AES-128-GCM" == "aes-256-gcm,aes-128-gcm"). */
bool plugin_list_equal(const char *a, const char *b);
