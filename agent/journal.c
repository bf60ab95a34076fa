/*
 * journal.c - structured journal entries for the agent (see journal.h).
 *
 * Invariants: the MESSAGE_ID table below is an interface (admins' journalctl
 * filters and the audit reports use it): ids are never changed or reused.
 * Must never: return an error or block the event loop.
 */
#include "journal.h"

#include <errno.h>
#include <stdarg.h>
#include <syslog.h>
#include <systemd/sd-journal.h>

static const struct {
	const char *name;
	const char *message_id;
} kinds[_JOURNAL_KIND_MAX] = {
	[JOURNAL_AGENT] = { "agent", "01a654ef00904ff8a453a98737d40fb3" },
	[JOURNAL_POLICY_APPLIED] = { "policy-applied", "2b7ee58851ff4e04b267025a5af54c96" },
	[JOURNAL_SETTING_CHANGED] = { "setting-changed", "7c5439121abe4a6d97a28eb6c03b3cae" },
	[JOURNAL_PLUGIN_FAILED] = { "plugin-failed", "1b93faafafe94d0aac277392a357ba9b" },
	[JOURNAL_ROLLED_BACK] = { "rolled-back", "e742dc18de8f4a3d8ff7903c0fbd132d" },
	[JOURNAL_DRIFT] = { "drift", "888967be708847e6afb546f67d2ab8af" },
	[JOURNAL_FINDING] = { "finding", "5d3528a8315446b2b1dfe764e8ad27c4" },
	[JOURNAL_PLUGIN_LOG] = { "plugin-log", "8182affc43c84640992af054626ef792" },
};

static int stderr_level = LOG_NOTICE;

void journal_set_stderr_level(int level) { stderr_level = level; }

const char *journal_kind_message_id(JournalKind k) {
	return k < _JOURNAL_KIND_MAX ? kinds[k].message_id : NULL;
}

const char *journal_kind_name(JournalKind k) {
	return k < _JOURNAL_KIND_MAX ? kinds[k].name : NULL;
}

void journal_log(JournalKind kind, int priority, const JournalFields *f, const char *fmt, ...) {
	if (kind >= _JOURNAL_KIND_MAX)
		kind = JOURNAL_AGENT;
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	const JournalFields none = {};
	if (!f)
		f = &none;
	/* Unknown fields are sent empty, so every entry has the same keys. */
	sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", priority, "MESSAGE_ID=%s",
			kinds[kind].message_id, "SMBPOLICY_KIND=%s", kinds[kind].name,
			"SMBPOLICY_PLUGIN=%s", f->plugin ? f->plugin : "", "SMBPOLICY_SETTING=%s",
			f->setting ? f->setting : "", "SMBPOLICY_PATH=%s", f->path ? f->path : "",
			"SYSLOG_IDENTIFIER=%s", program_invocation_short_name, NULL);
	if (priority <= stderr_level)
		fprintf(stderr, "%s: %s%s%s\n", program_invocation_short_name, f->plugin ? f->plugin : "",
			f->plugin ? ": " : "", msg);
}
