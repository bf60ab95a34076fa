/*
 * audit_event.c - the table of audit event kinds and the emitter that writes
 * events to the journal and to a JSON-lines file.
 *
 * Purpose: the one place where an event kind's number, name, MESSAGE_ID and
 * priority are defined for C code (schema/audit-events.xml holds the same
 * table as data; tests/unit/test_audit_event.c checks they agree), and the
 * one writer of audit events every producer (smbrefd, the reference client,
 * the Samba observer) uses.
 *
 * Invariants: MESSAGE_IDs never change once published (tools outside the
 * project filter on them); one event is written with exactly one write(2)
 * of one complete line to a file opened with O_APPEND, so concurrent
 * writers and crashes never leave half a line; a field whose name is not
 * [a-z0-9_]+ is dropped (and counted) instead of written.
 *
 * Must never: block on the network, fail or abort the caller's operation,
 * or log through the caller: failures are only counted
 * (audit_emitter_errors()).
 */
#include "audit_event.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <syslog.h>
#include <time.h>

#define SD_JOURNAL_SUPPRESS_LOCATION 1
#include <systemd/sd-journal.h>

#include "strbuf.h"

/* Values longer than this are cut (and marked) so one hostile peer string
 * cannot make a line too large for readers; see AUDIT_LINE_MAX readers use. */
#define AUDIT_VALUE_MAX 1024
#define AUDIT_FIELDS_MAX 32

static const AuditKind audit_kind_table[] = {
	/* server side */
	{AUDIT_SERVER_AUTH_FAILED, "auth-failed", "b3c89f8b6b914aa3860de9e82955ca76", LOG_NOTICE,
	 "A client failed to authenticate"},
	{AUDIT_SERVER_QUIC_CONNECTION, "server-quic-connection", "c7bfa4620260479fbc37d63ebc9bd8d4",
	 LOG_INFO, "A client connected over SMB over QUIC"},
	{AUDIT_SERVER_QUIC_ACCESS_ALLOWED, "quic-access-allowed", "bd3607a3e08c46a2bec2072f9d024145",
	 LOG_INFO, "QUIC client access control allowed a client certificate"},
	{AUDIT_SERVER_QUIC_ACCESS_DENIED, "quic-access-denied", "0f782408e9bd4417be1aade3494326e3",
	 LOG_WARNING, "QUIC client access control denied a client certificate"},
	{AUDIT_SERVER_QUIC_ACCESS_ERROR, "quic-access-error", "7dc024e28cbf445caa0fba6943171e3b",
	 LOG_ERR, "QUIC client access control could not evaluate a client certificate"},
	{AUDIT_SERVER_CLIENT_NO_ENCRYPTION, "client-no-encryption", "6d845bcb12204b30938acfc94f77a88b",
	 LOG_WARNING, "A client does not support or use encryption"},
	{AUDIT_SERVER_CLIENT_NO_SIGNING, "client-no-signing", "3429b7a27b1d4a148524455a27f5572e",
	 LOG_WARNING, "A client does not support or use signing"},
	{AUDIT_SERVER_GUEST_REFUSED, "guest-refused", "9119edd0849b47c89ba737d37488b4cf", LOG_WARNING,
	 "A guest or anonymous logon was refused"},
	{AUDIT_SERVER_RATE_LIMITED, "rate-limited", "a00d8987bc994a32ab11ca8a7fc93a65", LOG_NOTICE,
	 "A failed authentication was delayed by the rate limiter"},
	{AUDIT_SERVER_DIALECT_REFUSED, "dialect-refused", "67f99f2d1d844620a0b2385a288dfbf7",
	 LOG_WARNING, "A client offered no dialect inside the allowed range"},
	{AUDIT_SERVER_SESSION, "session", "769ec32ea2004b9c96084268aac0135e", LOG_INFO,
	 "A session was set up"},
	{AUDIT_SERVER_ENCRYPTION_REFUSED, "encryption-refused", "92d7b49128d74245ab97abe251e56f5c",
	 LOG_WARNING, "An unencrypted request was refused"},
	{AUDIT_SERVER_SIGNING_REFUSED, "signing-refused", "d3acf4cea0c64262afa4cb31311e5960",
	 LOG_WARNING, "An unsigned or badly signed request was refused"},
	/* client side */
	{AUDIT_CLIENT_INSECURE_GUEST_REFUSED, "insecure-guest-refused",
	 "d71e456aeb8a4e00af168705f3bb7d0d", LOG_WARNING,
	 "The client refused an insecure guest logon"},
	{AUDIT_CLIENT_INSECURE_GUEST_USED, "insecure-guest-used", "60f991eb4bc44b90ad80a1fca5a2bca0",
	 LOG_WARNING, "The client used an insecure guest logon"},
	{AUDIT_CLIENT_SERVER_NO_ENCRYPTION, "server-no-encryption", "a85ebddfee554b52acd9b1a3d66e8672",
	 LOG_WARNING, "A server does not support or use encryption"},
	{AUDIT_CLIENT_SERVER_NO_SIGNING, "server-no-signing", "b13cc198ec354109a788fc95827ce3e2",
	 LOG_WARNING, "A server does not support or use signing"},
	{AUDIT_CLIENT_QUIC_CONNECTION, "client-quic-connection", "25454ae6fa5442b69f6284347d20a240",
	 LOG_INFO, "The client connected to a server over SMB over QUIC"},
	{AUDIT_CLIENT_NTLM_BLOCKED, "ntlm-blocked", "f1d3669a12f548ceb94be0eecc71e332", LOG_WARNING,
	 "The client refused to use NTLM with a server"},
	{AUDIT_CLIENT_SETTING_REFUSED, "setting-refused", "3ec576c88e204ad2987ea4294038a748",
	 LOG_WARNING, "A client setting refused a server"},
	/* observations */
	{AUDIT_OBSERVED_SESSION_UNPROTECTED, "session-unprotected", "a48f7994aaac4186872e9ad6f93eda7e",
	 LOG_WARNING, "An observed session neither signs nor encrypts"},
};

const AuditKind *audit_kinds(size_t *ret_n) {
	*ret_n = ELEMENTSOF(audit_kind_table);
	return audit_kind_table;
}

const AuditKind *audit_kind_by_id(AuditEventId id) {
	for (size_t i = 0; i < ELEMENTSOF(audit_kind_table); i++)
		if (audit_kind_table[i].id == id)
			return &audit_kind_table[i];
	return NULL;
}

const AuditKind *audit_kind_by_name(const char *name) {
	for (size_t i = 0; name && i < ELEMENTSOF(audit_kind_table); i++)
		if (streq(audit_kind_table[i].name, name))
			return &audit_kind_table[i];
	return NULL;
}

const AuditKind *audit_kind_by_message_id(const char *message_id) {
	for (size_t i = 0; message_id && i < ELEMENTSOF(audit_kind_table); i++)
		if (streq(audit_kind_table[i].message_id, message_id))
			return &audit_kind_table[i];
	return NULL;
}

/* Names the journal form already uses for the common part of an event. */
static const char *const audit_reserved_fields[] = {
	"time", "host", "source", "peer", "event", "event_id",
};

bool audit_field_name_valid(const char *name) {
	if (!name || !*name || strlen(name) > AUDIT_FIELD_NAME_MAX)
		return false;
	for (size_t i = 0; i < ELEMENTSOF(audit_reserved_fields); i++)
		if (name[0] == audit_reserved_fields[i][0] && streq(name, audit_reserved_fields[i]))
			return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

const char *audit_format_time(unsigned long long usec, char *buf, size_t len) {
	time_t t = (time_t)(usec / 1000000ULL);
	struct tm tm;
	char base[32];
	gmtime_r(&t, &tm);
	strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%06lluZ", base, usec % 1000000ULL);
	return buf;
}

struct AuditEmitter {
	char *host;
	char *source;
	char *json_path;
	int fd;
	bool want_journal, use_journal;
	unsigned long long errors;
};

static void audit_emitter_count_error(AuditEmitter *e) {
	__atomic_add_fetch(&e->errors, 1, __ATOMIC_RELAXED);
}

static bool audit_journal_available(void) {
	return access("/run/systemd/journal/socket", W_OK) == 0;
}

int audit_emitter_reopen(AuditEmitter *e) {
	e->use_journal = e->want_journal && audit_journal_available();
	if (!e->json_path)
		return 0;
	int fd = open(e->json_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	if (fd < 0)
		return -errno;
	if (e->fd >= 0)
		close(e->fd);
	e->fd = fd;
	return 0;
}

int audit_emitter_new(const char *host, const char *source, const char *json_path,
		      bool use_journal, AuditEmitter **ret) {
	char hostbuf[256];
	int r = host_or_local(host, hostbuf, sizeof hostbuf, &host);
	if (r < 0)
		return r;
	_cleanup_(audit_emitter_freep) AuditEmitter *e = calloc(1, sizeof *e);
	if (!e)
		return -ENOMEM;
	e->fd = -1;
	/* Without journald (containers, these test machines) sending would
	 * fail for every event: that is not an error of the emitter, so the
	 * journal is simply not used (checked again on reopen). */
	e->want_journal = use_journal;
	e->use_journal = use_journal && audit_journal_available();
	e->host = strdup(host);
	e->source = strdup(source ? source : "smbpolicy");
	if (!e->host || !e->source)
		return -ENOMEM;
	if (json_path) {
		e->json_path = strdup(json_path);
		if (!e->json_path)
			return -ENOMEM;
		r = audit_emitter_reopen(e);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(e);
	return 0;
}

void audit_emitter_free(AuditEmitter *e) {
	if (!e)
		return;
	if (e->fd >= 0)
		close(e->fd);
	free(e->host);
	free(e->source);
	free(e->json_path);
	free(e);
}

unsigned long long audit_emitter_errors(const AuditEmitter *e) {
	return e ? __atomic_load_n(&e->errors, __ATOMIC_RELAXED) : 0;
}

/* A value as written: at most AUDIT_VALUE_MAX bytes (cut on a UTF-8
 * boundary by strbuf's own replacement of broken sequences). */
static void audit_json_value(StrBuf *b, const char *v) {
	if (!v)
		v = "";
	if (strlen(v) <= AUDIT_VALUE_MAX) {
		strbuf_json_string(b, v);
		return;
	}
	char cut[AUDIT_VALUE_MAX + 1];
	memcpy(cut, v, AUDIT_VALUE_MAX);
	cut[AUDIT_VALUE_MAX] = 0;
	strbuf_json_string(b, cut);
}

int audit_event_format_json(const char *time, const char *host, const char *source,
			    const AuditKind *k, const char *peer, const AuditField *fields,
			    size_t n_fields, char **ret, size_t *ret_len) {
	StrBuf b = {0};
	strbuf_append(&b, "{\"time\":");
	strbuf_json_string(&b, time);
	strbuf_append(&b, ",\"host\":");
	audit_json_value(&b, host);
	strbuf_append(&b, ",\"source\":");
	audit_json_value(&b, source);
	strbuf_printf(&b, ",\"event_id\":%d,\"event\":", (int)k->id);
	strbuf_json_string(&b, k->name);
	strbuf_append(&b, ",\"peer\":");
	audit_json_value(&b, peer);
	strbuf_append(&b, ",\"fields\":{");
	size_t written = 0;
	for (size_t i = 0; i < n_fields && i < AUDIT_FIELDS_MAX; i++) {
		if (!audit_field_name_valid(fields[i].name))
			continue;
		if (written++)
			strbuf_append(&b, ",");
		strbuf_json_string(&b, fields[i].name);
		strbuf_append(&b, ":");
		audit_json_value(&b, fields[i].value);
	}
	strbuf_append(&b, "}}\n");
	size_t len = b.len;
	int r = strbuf_finish(&b, ret);
	if (r < 0)
		return r;
	if (ret_len)
		*ret_len = len;
	return (int)(n_fields - written); /* dropped fields */
}

static int audit_write_line(AuditEmitter *e, const char *line, size_t len) {
	for (;;) {
		ssize_t n = write(e->fd, line, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		return (size_t)n == len ? 0 : -EIO;
	}
}

static void audit_send_journal(AuditEmitter *e, const char *time, const AuditKind *k,
			       const char *peer, const AuditField *fields, size_t n_fields) {
	/* Fixed fields, then one SMBPOLICY_<NAME>= per valid field.
	 * SMBPOLICY_TIME is the JSON line's time, so a collector reading both
	 * the journal and the JSON file sees one event, not two. */
	char *strs[9 + AUDIT_FIELDS_MAX] = {0};
	struct iovec iov[9 + AUDIT_FIELDS_MAX];
	size_t n = 0;
	strs[n++] = strdup_printf("MESSAGE_ID=%s", k->message_id);
	strs[n++] = strdup_printf("MESSAGE=%s: %s%s", k->summary, peer ? "peer " : "",
				  peer ? peer : "");
	strs[n++] = strdup_printf("PRIORITY=%d", k->priority);
	strs[n++] = strdup_printf("SMBPOLICY_EVENT_ID=%d", (int)k->id);
	strs[n++] = strdup_printf("SMBPOLICY_EVENT=%s", k->name);
	strs[n++] = strdup_printf("SMBPOLICY_HOST=%s", e->host);
	strs[n++] = strdup_printf("SMBPOLICY_SOURCE=%s", e->source);
	strs[n++] = strdup_printf("SMBPOLICY_PEER=%s", peer ? peer : "");
	strs[n++] = strdup_printf("SMBPOLICY_TIME=%s", time);
	for (size_t i = 0; i < n_fields && i < AUDIT_FIELDS_MAX; i++) {
		if (!audit_field_name_valid(fields[i].name))
			continue;
		char *s = strdup_printf("SMBPOLICY_%s=%.*s", fields[i].name, AUDIT_VALUE_MAX,
					fields[i].value ? fields[i].value : "");
		if (s)
			for (char *p = s + strlen("SMBPOLICY_"); *p != '='; p++)
				*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
		strs[n++] = s;
	}
	size_t n_iov = 0;
	bool ok = true;
	for (size_t i = 0; i < n; i++) {
		if (!strs[i]) {
			ok = false;
			continue;
		}
		iov[n_iov++] = (struct iovec){.iov_base = strs[i], .iov_len = strlen(strs[i])};
	}
	if (!ok || sd_journal_sendv(iov, (int)n_iov) < 0)
		audit_emitter_count_error(e);
	for (size_t i = 0; i < n; i++)
		free(strs[i]);
}

void audit_emit(AuditEmitter *e, AuditEventId id, const char *peer, const AuditField *fields,
		size_t n_fields) {
	if (!e)
		return;
	const AuditKind *k = audit_kind_by_id(id);
	if (!k) {
		audit_emitter_count_error(e);
		return;
	}
	if (!fields)
		n_fields = 0;
	char tbuf[48];
	audit_format_time(now_usec(), tbuf, sizeof tbuf);
	if (e->use_journal)
		audit_send_journal(e, tbuf, k, peer, fields, n_fields);
	if (e->fd < 0)
		return;
	_cleanup_free_ char *line = NULL;
	size_t len = 0;
	int r = audit_event_format_json(tbuf, e->host, e->source, k, peer, fields, n_fields, &line,
					&len);
	if (r != 0)
		audit_emitter_count_error(e);
	if (r >= 0 && audit_write_line(e, line, len) < 0)
		audit_emitter_count_error(e);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
static long long days_from_civil(long long y, unsigned m, unsigned d) {
	y -= m <= 2;
	long long era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

/* n decimal digits at s, or -1. */
static int digits(const char *s, int n) {
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int audit_parse_time(const char *s, unsigned long long *ret_usec) {
	/* YYYY-MM-DDTHH:MM:SS, fixed positions (checked before reading on). */
	if (!s || strnlen(s, 20) < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':')
		return -EINVAL;
	int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2), h = digits(s + 11, 2),
	    mi = digits(s + 14, 2), sec = digits(s + 17, 2);
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 ||
	    mi > 59 || sec < 0 || sec > 60)
		return -EINVAL;
	const char *p = s + 19;
	unsigned long long frac = 0;
	if (*p == '.') {
		unsigned n = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, n++)
			if (n < 6)
				frac = frac * 10 + (unsigned long long)(*p - '0');
		if (n == 0)
			return -EINVAL;
		for (; n < 6; n++)
			frac *= 10;
	}
	if (!streq(p, "Z") && !streq(p, "z") && !streq(p, "+00:00"))
		return -EINVAL;
	long long days = days_from_civil(y, (unsigned)mo, (unsigned)d);
	*ret_usec = (unsigned long long)(days * 86400 + h * 3600 + mi * 60 + sec) * 1000000ULL + frac;
	return 0;
}
