/*
 * audit_ingest.h - reading audit events into the audit DB from every source:
 * JSON-lines files (audit_emit's form), journal directories or files
 * (sd-journal, by MESSAGE_ID), Samba's smbstatus --json (sessions that
 * neither sign nor encrypt), and the agent's actual-state reports.
 *
 * Invariants: ingestion is idempotent (journal cursors and JSON-lines
 * offsets are stored in the same transaction as the events, and every event
 * has a unique key); a hostile input (malformed line, huge line, corrupt
 * journal file) is skipped with a warning on stderr naming the input and
 * place, and nothing else is lost; events are inserted in batches of
 * AUDIT_INGEST_BATCH per transaction.
 *
 * Must never: stop at the first bad record, or keep a line longer than
 * AUDIT_LINE_MAX in memory.
 */
#pragma once

#include "audit_json.h"
#include "auditdb.h"

#define AUDIT_INGEST_BATCH 50000
/* At most this many warnings per input; the rest are only counted. */
#define AUDIT_INGEST_WARN_MAX 10

typedef struct AuditIngestStats {
	unsigned long long added;      /* new events stored */
	unsigned long long duplicates; /* already in the DB */
	unsigned long long skipped;    /* malformed, skipped with a warning */
	unsigned warned;               /* warnings printed for the current input */
	unsigned long long in_batch;   /* records since the last commit */
} AuditIngestStats;

/* One JSON-lines file ("-": stdin, read without a cursor). */
int audit_ingest_jsonl(AuditDb *db, const char *path, AuditIngestStats *stats);
/* Every journal file of a directory (as systemd-journal-remote writes). */
int audit_ingest_journal_dir(AuditDb *db, const char *dir, AuditIngestStats *stats);
/* This machine's journal (system and runtime, sd_journal_open local). */
int audit_ingest_journal_local(AuditDb *db, AuditIngestStats *stats);
/* smbstatus --json output (path) or, path NULL, run `smbstatus --json`;
 * host names the Samba server in the events (NULL: this host). */
int audit_ingest_samba(AuditDb *db, const char *path, const char *host, AuditIngestStats *stats);
/* The agent's report JSON for one host: {"host":..., "finished"|"time":...,
 * "settings":[{"plugin","setting","actual","desired","status"}]}. */
int audit_ingest_actual(AuditDb *db, const char *path, AuditIngestStats *stats);

/* "smbpolicy: audit: WHERE: skipped: WHY" unless over the warning limit. */
void audit_ingest_warn(AuditIngestStats *stats, const char *where, unsigned long long line,
		       const char *why);
/* Store one record inside a batch: counts added/duplicates, commits and
 * begins a new transaction every AUDIT_INGEST_BATCH records (after calling
 * checkpoint(userdata) so the cursor lands in the same transaction). */
typedef int (*AuditCheckpointFn)(AuditDb *db, void *userdata);
int audit_ingest_add(AuditDb *db, const AuditRecord *rec, AuditIngestStats *stats,
		     AuditCheckpointFn checkpoint, void *userdata);
