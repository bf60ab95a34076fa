/*
 * report.h - the result of one agent cycle (plan, apply, verify), as the
 * engine produces it, the state DB stores it, D-Bus carries it and the CLI
 * prints it.
 *
 * One model for all four so that `smbpolicy apply` prints the same thing
 * whether the engine ran in-process (--local) or in smbpolicyd.
 *
 * Invariants: every string in a report is owned by it (malloc'd, never
 * NULL: unknown values are ""); status names are the table in report.c;
 * `compliant` is true exactly when no setting row is in a non-compliant
 * status and no plugin failed.  Rendering never fails half-way: output is
 * built in a StrBuf and written once.
 */
#pragma once

#include <stdio.h>

#include "util.h"

typedef enum ReportKind {
	REPORT_PLAN,   /* dry run: nothing written */
	REPORT_APPLY,  /* plan + apply + verify */
	REPORT_VERIFY, /* read back only (drift check, status) */
	_REPORT_KIND_MAX,
} ReportKind;

/* Per plugin. */
typedef enum ReportPluginStatus {
	RP_OK,           /* in the desired state (possibly after changes) */
	RP_CHANGED,      /* apply changed something and verify passed */
	RP_PENDING,      /* plan: changes would be made */
	RP_DRIFT,        /* verify: actual differs from desired */
	RP_FAILED,       /* apply or verify failed, rolled back */
	RP_UNAVAILABLE,  /* target not installed/detected: nothing claimed */
	_RP_MAX,
} ReportPluginStatus;

/* Per setting of a plugin. */
typedef enum ReportSettingStatus {
	RS_OK,       /* actual == desired */
	RS_CHANGE,   /* plan: would change */
	RS_CHANGED,  /* apply: changed and verified */
	RS_DRIFT,    /* verify: differs */
	RS_FAILED,   /* apply/verify failed (rolled back) */
	RS_SKIPPED,  /* not applied (plugin unavailable or rolled back) */
	_RS_MAX,
} ReportSettingStatus;

typedef struct ReportPlugin {
	char *name;
	ReportPluginStatus status;
	char *message; /* detect summary or error text */
} ReportPlugin;

typedef struct ReportSetting {
	char *plugin;
	char *setting;
	char *target; /* the target's own key ("server signing") */
	char *actual;
	char *desired;
	ReportSettingStatus status;
} ReportSetting;

typedef struct Report {
	ReportKind kind;
	char *host;
	char *policy;  /* policy name */
	char *version; /* policy version (store version or content hash) */
	unsigned long long started_usec, finished_usec;
	ReportPlugin *plugins;
	size_t n_plugins;
	ReportSetting *settings;
	size_t n_settings;
	bool compliant;
	unsigned changed, failed;
} Report;

int report_new(ReportKind kind, const char *host, const char *policy, const char *version,
	       Report **ret);
void report_free(Report *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(Report *, report_free)

/* Append rows (strings copied; NULL stored as ""). -ENOMEM. */
int report_add_plugin(Report *r, const char *name, ReportPluginStatus st, const char *message);
int report_add_setting(Report *r, const char *plugin, const char *setting, const char *target,
		       const char *actual, const char *desired, ReportSettingStatus st);
/* Recompute compliant / changed / failed from the rows. */
void report_finish(Report *r);

const char *report_kind_to_string(ReportKind k);
int report_kind_from_string(const char *s);
const char *report_plugin_status_to_string(ReportPluginStatus s);
int report_plugin_status_from_string(const char *s);
const char *report_setting_status_to_string(ReportSettingStatus s);
int report_setting_status_from_string(const char *s);

/* Text for people (only non-ok rows unless verbose) or one JSON object. */
int report_print(const Report *r, FILE *f, bool json, bool verbose);
int report_to_json(const Report *r, char **ret);
