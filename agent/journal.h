/*
 * journal.h - the agent's structured log: one sd_journal_send entry per
 * event, with a stable MESSAGE_ID per kind so `journalctl MESSAGE_ID=...`
 * finds every policy application, drift, rollback and plugin message.
 *
 * Every entry carries MESSAGE=, PRIORITY=, MESSAGE_ID=, SMBPOLICY_KIND= and,
 * SMBPOLICY_PLUGIN=, SMBPOLICY_SETTING=, SMBPOLICY_PATH= (empty when unknown).  The
 * same line goes to stderr (for foreground runs and tests, where there is no
 * journald) when its priority is at or below the stderr threshold.
 *
 * Must never: fail the caller (logging errors are ignored), or block.
 */
#pragma once

#include "util.h"

typedef enum JournalKind {
	JOURNAL_AGENT,          /* start, stop, reload, errors of the daemon itself */
	JOURNAL_POLICY_APPLIED, /* a cycle finished (apply or verify) */
	JOURNAL_SETTING_CHANGED,
	JOURNAL_PLUGIN_FAILED,  /* apply/verify failed */
	JOURNAL_ROLLED_BACK,
	JOURNAL_DRIFT,          /* managed state differs from the policy */
	JOURNAL_FINDING,        /* a plugin finding (e.g. ksmbd `required`) */
	JOURNAL_PLUGIN_LOG,     /* a plugin's own message */
	_JOURNAL_KIND_MAX,
} JournalKind;

typedef struct JournalFields {
	const char *plugin;
	const char *setting;
	const char *path;
} JournalFields;

/* syslog priority threshold for the stderr copy (-1: none). Default LOG_NOTICE. */
void journal_set_stderr_level(int level);
/* The kind's MESSAGE_ID (32 hex digits) and name, for tests and docs. */
const char *journal_kind_message_id(JournalKind k);
const char *journal_kind_name(JournalKind k);

void journal_log(JournalKind kind, int priority, const JournalFields *f, const char *fmt, ...)
	_printf_(4, 5);
