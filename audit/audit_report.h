/*
 * audit_report.h - the compliance report model: built once from the audit
 * DB (events, the agent's actual state) and the catalog, then written as
 * HTML (report_html.c), JSON (report_json.c, schema/report.schema.json) or
 * CSV (report_csv.c).  All three show the same data.
 *
 * Contents: fleet summary (hosts compliant / not compliant / unknown, per
 * group and per seed feature), one row per host with its verdict, per host
 * and setting the desired and actual values, verdict and evidence, and the
 * audit statistics sections (clients that cannot sign or encrypt, QUIC
 * connections and certificates, refused guests, rate-limited sources,
 * authentication failures, dialects in use, events per kind and per day).
 *
 * Invariants: "unknown" is never counted or shown as compliant; a host is
 * compliant only when it has settings and every one is compliant; every
 * list is sorted deterministically; the model owns all its strings.
 * Must never: read anything after audit_report_build() returns (renderers
 * are pure functions of the model).
 */
#pragma once

#include "audit_tally.h"
#include "auditdb.h"
#include "catalog.h"

typedef enum AuditVerdict {
	AUDIT_COMPLIANT,
	AUDIT_NOT_COMPLIANT,
	AUDIT_UNKNOWN,
	_AUDIT_VERDICT_MAX,
} AuditVerdict;

/* "compliant", "not-compliant", "unknown" */
const char *audit_verdict_to_string(AuditVerdict v);

typedef struct AuditSettingResult {
	char *setting;
	char *feature;  /* catalog seed feature, "" when unknown */
	char *desired;
	char *actual;   /* "" when not read back */
	AuditVerdict verdict;
	char *evidence; /* why: read-back and observed events */
} AuditSettingResult;

typedef struct AuditHostResult {
	char *host;
	char *group;
	AuditVerdict verdict;
	AuditSettingResult *settings;
	size_t n_settings;
	unsigned long long actual_usec; /* when the agent read back; 0: never */
	unsigned long long events, warnings, last_usec;
	unsigned long long unprotected; /* events of peers lacking signing/encryption */
} AuditHostResult;

typedef struct AuditVerdictCount {
	char *name; /* group path or feature */
	unsigned long long n[_AUDIT_VERDICT_MAX];
} AuditVerdictCount;

/* The statistics sections, in report order. */
typedef enum AuditSectionId {
	AUDIT_SEC_CLIENT_NO_SIGNING,
	AUDIT_SEC_CLIENT_NO_ENCRYPTION,
	AUDIT_SEC_SERVER_NO_SIGNING,
	AUDIT_SEC_SERVER_NO_ENCRYPTION,
	AUDIT_SEC_QUIC,
	AUDIT_SEC_QUIC_DENIED,
	AUDIT_SEC_GUESTS,
	AUDIT_SEC_RATE_LIMITED,
	AUDIT_SEC_AUTH_FAILED,
	AUDIT_SEC_DIALECTS,
	AUDIT_SEC_KINDS,
	AUDIT_SEC_DAYS,
	_AUDIT_SEC_MAX,
} AuditSectionId;

typedef struct AuditSectionInfo {
	const char *id;           /* JSON/CSV name: "client-no-signing" */
	const char *title;        /* "Clients that do not sign" */
	const char *key_label;    /* "Client address" */
	const char *detail_label; /* "Last user" (NULL: no detail column) */
	bool chart;               /* HTML shows a bar chart */
} AuditSectionInfo;

const AuditSectionInfo *audit_section_info(AuditSectionId id);

typedef struct AuditSection {
	AuditTally tally;
	AuditTallyEntry **rows; /* sorted (AUDIT_SEC_DAYS: by key) */
	size_t n_rows;
} AuditSection;

typedef struct AuditReport {
	unsigned long long generated_usec, since_usec;
	unsigned long long first_usec, last_usec, events;
	char *group_filter; /* NULL: whole fleet */
	AuditHostResult *hosts; /* not compliant first, then unknown, then compliant; by name */
	size_t n_hosts;
	unsigned long long hosts_by_verdict[_AUDIT_VERDICT_MAX];
	AuditVerdictCount *groups;   /* by path */
	size_t n_groups;
	AuditVerdictCount *features; /* by name */
	size_t n_features;
	AuditSection sections[_AUDIT_SEC_MAX];
	AuditTally host_names; /* every host seen; sections borrow its keys */
} AuditReport;

typedef struct AuditReportOptions {
	unsigned long long since_usec;
	const char *group;             /* only hosts in this group or below */
	const Catalog *catalog;        /* NULL: no features, no observed checks */
	const AuditTally *host_groups; /* key host, detail group (NULL: all "/") */
} AuditReportOptions;

int audit_report_build(AuditDb *db, const AuditReportOptions *opt, AuditReport **ret);
void audit_report_free(AuditReport *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(AuditReport *, audit_report_free)

/* Renderers: the whole document in *ret (malloc'd). */
int audit_report_html(const AuditReport *r, char **ret);
int audit_report_json(const AuditReport *r, char **ret);
int audit_report_csv(const AuditReport *r, char **ret);

/* --- compliance.c: per host and setting verdicts --- */

typedef struct AuditCompliance AuditCompliance;
/* Load the agent's actual state from db for the hosts the filter keeps. */
int audit_compliance_new(AuditDb *db, const Catalog *catalog, AuditCompliance **ret);
/* The host's compliance state (NULL: no read-back), looked up once per
 * host by the caller. */
void *audit_compliance_find(AuditCompliance *c, const char *host);
/* Feed one event of that host (observed evidence); events older than the
 * host's read-back are ignored. */
int audit_compliance_observe(AuditCompliance *c, void *host, const AuditRecord *rec);
/* Fill host->settings and host->verdict for host->host. */
int audit_compliance_host(AuditCompliance *c, AuditHostResult *host);
/* Every host with actual state (for hosts that have no events). */
int audit_compliance_hosts(AuditCompliance *c, char ***ret);
void audit_compliance_free(AuditCompliance *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(AuditCompliance *, audit_compliance_free)
