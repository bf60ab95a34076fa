/*
 * collector.c - the agent's audit collector: the audit events smbrefd (and
 * other emitters) append to JSON-lines files (--audit-log FILE) are
 * ingested into the audit DB (audit/, the DB the compliance reports read)
 * as soon as the file changes, and each new event is announced with the
 * AuditEvent D-Bus signal; ListAuditEvents reads the same DB.  After every
 * cycle the agent's per-setting result for this host is stored there as
 * the host's actual state, which is what compliance reports compare.
 *
 * Invariants: ingestion is the audit library's (idempotent: offsets and
 * events in one transaction), so re-reading a file never duplicates an
 * event; signals are emitted for events newer than the newest one already
 * announced (the watermark starts at the agent's start time), in time
 * order; a failing audit DB never fails a cycle (logged and counted).
 * Must never: run ingestion from inside the inotify callback (a short
 * settle timer does it), or block the loop on a huge file for longer than
 * one ingestion pass.
 */
#include <libgen.h>
#include <sys/inotify.h>
#include <syslog.h>

#include "audit_ingest.h"
#include "context.h"
#include "journal.h"
#include "report_bus.h"

#define COLLECTOR_SETTLE_USEC (100 * 1000ULL)

struct Collector {
	Context *ctx;
	AuditDb *db;
	char *log_path; /* JSON-lines file to follow, or NULL */
	char *log_name; /* its basename, as inotify reports it */
	sd_event_source *watch, *settle;
	unsigned long long watermark; /* newest event time already signalled */
};

void collector_free(Collector *c) {
	if (!c)
		return;
	sd_event_source_disable_unref(c->watch);
	sd_event_source_disable_unref(c->settle);
	auditdb_close(c->db);
	free(c->log_path);
	free(c->log_name);
	free(c);
}

/* Append one event's "tussa{ss}" fields (time, id, kind name, peer, fields)
 * to m, which the caller has opened at that point; 0 or -errno. */
static int append_event_fields(sd_bus_message *m, const AuditRecord *r) {
	const AuditKind *kind = audit_kind_by_id((AuditEventId)r->event_id);
	int k = sd_bus_message_append(m, "tuss", (uint64_t)r->time_usec, (uint32_t)r->event_id,
				      kind ? kind->name : "", r->peer ? r->peer : "");
	if (k >= 0)
		k = sd_bus_message_open_container(m, 'a', "{ss}");
	for (size_t i = 0; k >= 0 && i < r->n_fields; i++)
		k = sd_bus_message_append(m, "{ss}", r->fields[i].name, r->fields[i].value);
	if (k >= 0)
		k = sd_bus_message_close_container(m);
	return k;
}

static int emit_one(const AuditRecord *r, void *userdata) {
	Collector *c = userdata;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	int k = sd_bus_message_new_signal(c->ctx->bus, &m, AGENT_BUS_PATH, AGENT_BUS_INTERFACE,
					  "AuditEvent");
	if (k >= 0)
		k = append_event_fields(m, r);
	if (k >= 0)
		k = sd_bus_send(c->ctx->bus, m, NULL);
	if (r->time_usec > c->watermark)
		c->watermark = r->time_usec;
	return 0; /* a signal that could not be sent does not stop the others */
}

/* Ingest the followed file, then signal what is new. */
static void collector_poll(Collector *c) {
	if (c->log_path) {
		AuditIngestStats stats = {};
		int k = audit_ingest_jsonl(c->db, c->log_path, &stats);
		if (k < 0 && k != -ENOENT)
			journal_log(JOURNAL_AGENT, LOG_WARNING, &(JournalFields){ .path = c->log_path },
				    "audit ingestion failed: %s", strerror(-k));
		if (stats.added == 0)
			return;
	}
	if (!c->ctx->bus)
		return;
	AuditQuery q = { .since_usec = c->watermark + 1 };
	(void)auditdb_foreach(c->db, &q, emit_one, c);
}

static int on_settle(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
	Collector *c = userdata;
	c->settle = sd_event_source_disable_unref(c->settle);
	collector_poll(c);
	return 0;
}

static int on_inotify(sd_event_source *s _unused_, const struct inotify_event *ev, void *userdata) {
	Collector *c = userdata;
	if (!ev->len || !streq(ev->name, c->log_name) || c->settle)
		return 0;
	return sd_event_add_time_relative(c->ctx->event, &c->settle, CLOCK_MONOTONIC,
					  COLLECTOR_SETTLE_USEC, 0, on_settle, c);
}

int collector_new(Context *ctx, const char *db_path, const char *log_path, Collector **ret) {
	_cleanup_(collector_freep) Collector *c = calloc(1, sizeof(Collector));
	if (!c)
		return -ENOMEM;
	c->ctx = ctx;
	c->watermark = now_usec();
	int k = auditdb_open(db_path, &c->db);
	if (k < 0) {
		journal_log(JOURNAL_AGENT, LOG_ERR, &(JournalFields){ .path = db_path },
			    "cannot open the audit DB: %s", strerror(-k));
		return k;
	}
	if (log_path) {
		_cleanup_free_ char *dir = strdup(log_path), *base = strdup(log_path);
		c->log_path = strdup(log_path);
		if (!dir || !base || !c->log_path)
			return -ENOMEM;
		c->log_name = strdup(basename(base));
		if (!c->log_name)
			return -ENOMEM;
		/* The directory: the emitter may create or rotate the file. */
		k = sd_event_add_inotify(ctx->event, &c->watch, dirname(dir),
					 IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE | IN_MOVED_TO, on_inotify,
					 c);
		if (k < 0) {
			journal_log(JOURNAL_AGENT, LOG_ERR, &(JournalFields){ .path = log_path },
				    "cannot watch the audit log's directory: %s", strerror(-k));
			return k;
		}
		/* What is already in the file goes to the DB (not signalled). */
		AuditIngestStats stats = {};
		(void)audit_ingest_jsonl(c->db, c->log_path, &stats);
	}
	*ret = TAKE_PTR(c);
	return 0;
}

/* Cycle results -> the host's actual state in the audit DB. */
void collector_record_report(Collector *c, const Report *r) {
	if (r->kind == REPORT_PLAN)
		return;
	AuditActual *rows = calloc(r->n_settings ? r->n_settings : 1, sizeof(AuditActual));
	if (!rows)
		return;
	for (size_t i = 0; i < r->n_settings; i++) {
		const ReportSetting *s = &r->settings[i];
		rows[i] = (AuditActual){ s->setting, s->plugin, s->actual, s->desired,
					 report_setting_status_to_string(s->status) };
	}
	int k = auditdb_set_actual_host(c->db, r->host, r->finished_usec, rows, r->n_settings);
	if (k < 0)
		journal_log(JOURNAL_AGENT, LOG_WARNING, NULL, "cannot store actual state: %s",
			    auditdb_errmsg(c->db));
	free(rows);
}

typedef struct ListState {
	sd_bus_message *reply;
	int error;
} ListState;

static int list_one(const AuditRecord *r, void *userdata) {
	ListState *st = userdata;
	sd_bus_message *m = st->reply;
	int k = sd_bus_message_open_container(m, 'r', "tussa{ss}");
	if (k >= 0)
		k = append_event_fields(m, r);
	if (k >= 0)
		k = sd_bus_message_close_container(m);
	return k < 0 ? (st->error = k) : 0;
}

int collector_append_events(Collector *c, sd_bus_message *reply, uint64_t since, uint32_t limit) {
	ListState st = { reply, 0 };
	AuditQuery q = { .since_usec = since, .limit = limit ? limit : 1000 };
	int k = sd_bus_message_open_container(reply, 'a', "(tussa{ss})");
	if (k < 0)
		return k;
	k = auditdb_foreach(c->db, &q, list_one, &st);
	if (st.error < 0)
		return st.error;
	if (k < 0)
		return k;
	return sd_bus_message_close_container(reply);
}
