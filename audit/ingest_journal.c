/*
 * ingest_journal.c - ingest audit events from a journal directory (the local
 * journal, or one host's directory as systemd-journal-remote writes it) via
 * sd-journal, matching only smbpolicy's MESSAGE_IDs.
 *
 * Invariants: the cursor (origin "journal:REALPATH") is the cursor of the
 * last entry stored, written in the same transaction; on the next run
 * reading resumes after it, so no entry is stored twice (and the unique key
 * catches what a cursor cannot, e.g. the same event also ingested from the
 * JSON-lines file, thanks to SMBPOLICY_TIME).  An unreadable journal file is
 * named in a warning and the others are still read; an entry that is not a
 * valid event (no host, oversized field) is skipped with a warning.
 * Must never: write to the journal directory.
 */
#include "audit_ingest.h"

#include <dirent.h>
#include <systemd/sd-journal.h>

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir)

#define JOURNAL_FIELDS_MAX 64
#define JOURNAL_PREFIX "SMBPOLICY_"

/* The common part of an event, stored in fixed SMBPOLICY_ fields. */
enum { JF_TIME, JF_HOST, JF_SOURCE, JF_PEER, JF_EVENT_ID, JF_EVENT, _JF_MAX };
static const char *const journal_fixed[_JF_MAX] = {
	[JF_TIME] = "TIME", [JF_HOST] = "HOST", [JF_SOURCE] = "SOURCE",
	[JF_PEER] = "PEER", [JF_EVENT_ID] = "EVENT_ID", [JF_EVENT] = "EVENT",
};

typedef struct JournalIn {
	sd_journal *j;
	const char *dir;
	char *origin;
	char *cursor; /* of the last entry stored */
	unsigned long long entry;
} JournalIn;

static int journal_checkpoint(AuditDb *db, void *userdata) {
	JournalIn *in = userdata;
	return in->cursor ? auditdb_set_cursor(db, in->origin, in->cursor) : 0;
}

/* Open each journal file alone: name the ones sd-journal cannot read (it
 * would skip them silently when opening the directory). */
static void journal_check_files(const char *dir, AuditIngestStats *stats) {
	_cleanup_(closedirp) DIR *d = opendir(dir);
	for (struct dirent *de; d && (de = readdir(d));) {
		const char *dot = strstr(de->d_name, ".journal");
		if (!dot || (!streq(dot, ".journal") && !streq(dot, ".journal~")))
			continue;
		_cleanup_free_ char *path = strdup_printf("%s/%s", dir, de->d_name);
		const char *paths[] = {path, NULL};
		sd_journal *j = NULL;
		int r = path ? sd_journal_open_files(&j, paths, 0) : -ENOMEM;
		if (r >= 0) {
			r = sd_journal_seek_head(j);
			if (r >= 0)
				r = sd_journal_next(j);
		}
		sd_journal_close(j);
		if (r < 0 && path) {
			_cleanup_free_ char *why = strdup_printf("unreadable journal file (%s)",
								 strerror(-r));
			audit_ingest_warn(stats, path, 0, why ? why : "unreadable journal file");
		}
	}
}

/* Copy "NAME=value" data into a NUL-terminated string. */
static char *journal_value(const void *data, size_t len, size_t name_len) {
	return strndup((const char *)data + name_len + 1, len - name_len - 1);
}

static int journal_entry(AuditDb *db, JournalIn *in, AuditIngestStats *stats) {
	char *fixed[_JF_MAX] = {0};
	char *names[JOURNAL_FIELDS_MAX] = {0}, *values[JOURNAL_FIELDS_MAX] = {0};
	AuditField fields[JOURNAL_FIELDS_MAX];
	char *hostname = NULL, *message_id = NULL;
	size_t n = 0;
	const char *why = NULL;
	int r = 0;
	const void *data;
	size_t len;
	SD_JOURNAL_FOREACH_DATA(in->j, data, len) {
		const char *eq = memchr(data, '=', len);
		if (!eq)
			continue;
		size_t name_len = (size_t)(eq - (const char *)data);
		if (len > AUDIT_LINE_MAX) {
			why = "field too large";
			break;
		}
		if (name_len == 9 && memcmp(data, "_HOSTNAME", 9) == 0) {
			free(hostname);
			hostname = journal_value(data, len, name_len);
			continue;
		}
		if (name_len == 10 && memcmp(data, "MESSAGE_ID", 10) == 0) {
			free(message_id);
			message_id = journal_value(data, len, name_len);
			continue;
		}
		if (name_len <= strlen(JOURNAL_PREFIX) || memcmp(data, JOURNAL_PREFIX, strlen(JOURNAL_PREFIX)))
			continue;
		const char *name = (const char *)data + strlen(JOURNAL_PREFIX);
		size_t nl = name_len - strlen(JOURNAL_PREFIX);
		int fi = -1;
		for (int i = 0; i < _JF_MAX; i++)
			if (strlen(journal_fixed[i]) == nl && memcmp(journal_fixed[i], name, nl) == 0)
				fi = i;
		if (fi >= 0) {
			free(fixed[fi]);
			fixed[fi] = journal_value(data, len, name_len);
			continue;
		}
		if (n >= JOURNAL_FIELDS_MAX) {
			why = "too many fields";
			break;
		}
		names[n] = strndup(name, nl);
		values[n] = journal_value(data, len, name_len);
		if (!names[n] || !values[n]) {
			r = -ENOMEM;
			n++;
			break;
		}
		for (char *p = names[n]; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
		fields[n] = (AuditField){names[n], values[n]};
		n++;
	}
	AuditRecord rec = {.host = fixed[JF_HOST] ? fixed[JF_HOST] : hostname,
			   .source = fixed[JF_SOURCE] ? fixed[JF_SOURCE] : "journal",
			   .peer = fixed[JF_PEER], .fields = fields, .n_fields = n};
	const AuditKind *k = audit_kind_by_message_id(message_id);
	long long id = k ? (long long)k->id : 0;
	if (r < 0 || why)
		;
	else if (!rec.host || !*rec.host)
		why = "no host";
	else if (fixed[JF_EVENT_ID] && (parse_int64(fixed[JF_EVENT_ID], &id) < 0 || id <= 0 ||
					(k && id != (long long)k->id)))
		why = "SMBPOLICY_EVENT_ID does not match MESSAGE_ID";
	else if (!fixed[JF_TIME] || audit_parse_time(fixed[JF_TIME], &rec.time_usec) < 0) {
		uint64_t t;
		if (sd_journal_get_realtime_usec(in->j, &t) < 0)
			why = "no time";
		rec.time_usec = t;
	}
	for (size_t i = 0; !why && r >= 0 && i < n; i++)
		if (!audit_field_name_valid(names[i]))
			why = "invalid field name";
	if (r >= 0 && !why) {
		rec.event_id = (int)id;
		free(in->cursor);
		in->cursor = NULL;
		r = sd_journal_get_cursor(in->j, &in->cursor);
		if (r >= 0)
			r = audit_ingest_add(db, &rec, stats, journal_checkpoint, in);
	} else if (why)
		audit_ingest_warn(stats, in->dir, in->entry, why);
	for (size_t i = 0; i < n; i++)
		free(names[i]), free(values[i]);
	for (int i = 0; i < _JF_MAX; i++)
		free(fixed[i]);
	free(hostname);
	free(message_id);
	return r;
}

static int journal_seek(AuditDb *db, JournalIn *in) {
	_cleanup_free_ char *cursor = NULL;
	int r = auditdb_get_cursor(db, in->origin, &cursor);
	if (r == -ENOENT)
		return sd_journal_seek_head(in->j);
	if (r < 0)
		return r;
	r = sd_journal_seek_cursor(in->j, cursor);
	if (r < 0)
		return sd_journal_seek_head(in->j);
	/* Positioned at (or near) the stored entry: step over it. */
	r = sd_journal_next(in->j);
	if (r > 0 && sd_journal_test_cursor(in->j, cursor) <= 0)
		r = sd_journal_previous(in->j);
	return r < 0 ? r : 0;
}

/* Read an opened journal (in->j) from the stored cursor on; takes
 * ownership of in->j and in->origin. */
static int journal_read(AuditDb *db, JournalIn *in, AuditIngestStats *stats) {
	int r = 0;
	const char *dir = in->dir;
	/* Several matches on one field are OR'ed. */
	size_t n_kinds;
	const AuditKind *kinds = audit_kinds(&n_kinds);
	for (size_t i = 0; r >= 0 && i < n_kinds; i++) {
		char match[64];
		snprintf(match, sizeof match, "MESSAGE_ID=%s", kinds[i].message_id);
		r = sd_journal_add_match(in->j, match, 0);
	}
	if (r >= 0)
		r = sd_journal_set_data_threshold(in->j, AUDIT_LINE_MAX + 1);
	if (r >= 0)
		r = journal_seek(db, in);
	if (r < 0)
		goto out;
	if (auditdb_begin(db) < 0) {
		r = -EIO;
		goto out;
	}
	for (;;) {
		r = sd_journal_next(in->j);
		if (r == 0)
			break;
		if (r < 0) {
			/* A damaged entry or file: name it and stop this
			 * directory; what was read so far is kept. */
			_cleanup_free_ char *why = strdup_printf("journal read error (%s)", strerror(-r));
			audit_ingest_warn(stats, dir, in->entry, why ? why : "journal read error");
			r = 0;
			break;
		}
		in->entry++;
		r = journal_entry(db, in, stats);
		if (r < 0)
			break;
	}
	if (r >= 0)
		r = journal_checkpoint(db, in);
	if (r >= 0 && auditdb_commit(db) < 0)
		r = -EIO;
	if (r < 0)
		auditdb_rollback(db);
out:
	sd_journal_close(in->j);
	in->j = NULL;
	free(in->cursor);
	free(in->origin);
	return r < 0 ? r : 0;
}

int audit_ingest_journal_dir(AuditDb *db, const char *dir, AuditIngestStats *stats) {
	JournalIn in = {.dir = dir};
	stats->warned = 0;
	_cleanup_free_ char *real = realpath(dir, NULL);
	if (!real)
		return -errno;
	journal_check_files(real, stats);
	in.origin = strdup_printf("journal:%s", real);
	if (!in.origin)
		return -ENOMEM;
	int r = sd_journal_open_directory(&in.j, real, 0);
	if (r < 0) {
		free(in.origin);
		return r;
	}
	return journal_read(db, &in, stats);
}

int audit_ingest_journal_local(AuditDb *db, AuditIngestStats *stats) {
	JournalIn in = {.dir = "local journal", .origin = strdup("journal:local")};
	stats->warned = 0;
	if (!in.origin)
		return -ENOMEM;
	int r = sd_journal_open(&in.j, SD_JOURNAL_LOCAL_ONLY);
	if (r < 0) {
		free(in.origin);
		return r;
	}
	return journal_read(db, &in, stats);
}
