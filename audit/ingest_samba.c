/*
 * ingest_samba.c - observation events from Samba: every session in
 * `smbstatus --json` that neither signs nor encrypts becomes one
 * session-unprotected event (Samba cannot log per-session signing itself).
 *
 * Invariants: one event per Samba session (server pid + session id), however
 * often it is observed: the session's identity is remembered in the cursor
 * table ("samba:HOST:PID:SESSION", value = this run's mark) while the session
 * lasts, and forgotten once it is gone (mark and sweep), so the table
 * stays as small as the live sessions; the peer is "ADDR:PORT" as smbrefd
 * writes it; dialects are translated to the catalog's names (SMB3_11 ->
 * 3.1.1) by one table.
 * Must never: run anything but smbstatus, or pass it input text.
 */
#include "audit_ingest.h"

#include <sys/wait.h>

#define SMBSTATUS_MAX (64u * 1024u * 1024u)

static const struct {
	const char *samba, *dialect;
} samba_dialects[] = {
	{"SMB2_02", "2.0.2"}, {"SMB2_10", "2.1"}, {"SMB3_00", "3.0"}, {"SMB3_02", "3.0.2"},
	{"SMB3_11", "3.1.1"},
};

static const char *samba_dialect(const char *s) {
	for (size_t i = 0; s && i < ELEMENTSOF(samba_dialects); i++)
		if (streq(samba_dialects[i].samba, s))
			return samba_dialects[i].dialect;
	return s ? s : "";
}

/* Samba 4.17 reports per session a degree: "full" when every message is
 * signed (signing required), "partial" when only the session setup was
 * (its tree connects then show signing "none"), "none".  Signing counts
 * as used only when "full"; encryption when not "none" (some tree connects
 * encrypted).  A missing degree falls back to the cipher ("-" = none). */
static bool samba_used(const AuditJson *session, const char *what, bool need_full) {
	const AuditJson *o = audit_json_get(session, what);
	const char *degree = audit_json_get_str(o, "degree");
	const char *cipher = audit_json_get_str(o, "cipher");
	if (degree)
		return need_full ? streq(degree, "full") : !streq(degree, "none") && *degree;
	return cipher && *cipher && !streq(cipher, "-");
}

/* "ipv4:1.2.3.4:5" -> "1.2.3.4:5", "ipv6:::1:5" -> "[::1]:5". */
static char *samba_peer(const char *hostname, const char *remote) {
	if (hostname && startswith(hostname, "ipv4:"))
		return strdup(hostname + 5);
	if (hostname && startswith(hostname, "ipv6:")) {
		const char *addr = hostname + 5, *colon = strrchr(addr, ':');
		if (colon)
			return strdup_printf("[%.*s]%s", (int)(colon - addr), addr, colon);
	}
	return strdup(remote ? remote : hostname ? hostname : "");
}

static int samba_read(const char *path, char **ret, size_t *ret_len) {
	if (path)
		return read_file(path, SMBSTATUS_MAX, ret, ret_len);
	FILE *p = popen("smbstatus --json 2>/dev/null", "r");
	if (!p)
		return -errno;
	StrBuf b = {0};
	char chunk[65536];
	for (size_t n; (n = fread(chunk, 1, sizeof chunk, p)) > 0;)
		if (b.len < SMBSTATUS_MAX)
			strbuf_append_len(&b, chunk, n);
	int status = pclose(p);
	if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		strbuf_free(&b);
		return -ENOEXEC;
	}
	*ret_len = b.len;
	return strbuf_finish(&b, ret);
}

int audit_ingest_samba(AuditDb *db, const char *path, const char *host, AuditIngestStats *stats) {
	char hostbuf[256];
	int r = host_or_local(host, hostbuf, sizeof hostbuf, &host);
	if (r < 0)
		return r;
	const char *where = path ? path : "smbstatus --json";
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	r = samba_read(path, &text, &len);
	if (r < 0)
		return r;
	_cleanup_(audit_json_freep) AuditJson *j = NULL;
	if (audit_json_parse(text, len, &j) < 0) {
		audit_ingest_warn(stats, where, 0, "malformed JSON");
		return 0;
	}
	const AuditJson *sessions = audit_json_get(j, "sessions");
	if (auditdb_begin(db) < 0)
		return -EIO;
	unsigned long long now = now_usec();
	char mark[32];
	snprintf(mark, sizeof mark, "seen:%llu", now);
	for (const AuditJson *s = sessions ? sessions->child : NULL; s && r >= 0; s = s->next) {
		if (samba_used(s, "signing", true) || samba_used(s, "encryption", false))
			continue;
		const char *sid = audit_json_get_str(s, "session_id");
		const char *pid = audit_json_get_str(audit_json_get(s, "server_id"), "pid");
		_cleanup_free_ char *origin = strdup_printf("samba:%s:%s:%s", host, pid ? pid : "",
							    sid ? sid : (s->key ? s->key : ""));
		_cleanup_free_ char *peer = samba_peer(audit_json_get_str(s, "hostname"),
						       audit_json_get_str(s, "remote_machine"));
		_cleanup_free_ char *seen = NULL;
		if (!origin || !peer) {
			r = -ENOMEM;
			break;
		}
		if (auditdb_get_cursor(db, origin, &seen) >= 0) {
			stats->duplicates++;
			r = auditdb_set_cursor(db, origin, mark);
			continue;
		}
		const char *user = audit_json_get_str(s, "username");
		AuditField fields[] = {
			{"user", user ? user : ""},
			{"dialect", samba_dialect(audit_json_get_str(s, "session_dialect"))},
			{"signing", "false"},
			{"encryption", "false"},
		};
		AuditRecord rec = {.time_usec = now, .host = host, .source = "samba", .peer = peer,
				   .event_id = AUDIT_OBSERVED_SESSION_UNPROTECTED, .fields = fields,
				   .n_fields = ELEMENTSOF(fields)};
		r = audit_ingest_add(db, &rec, stats, NULL, NULL);
		if (r >= 0)
			r = auditdb_set_cursor(db, origin, mark);
	}
	_cleanup_free_ char *prefix = strdup_printf("samba:%s:", host);
	if (r >= 0)
		r = prefix ? auditdb_sweep_cursors(db, prefix, mark) : -ENOMEM;
	if (r >= 0 && auditdb_commit(db) < 0)
		r = -EIO;
	if (r < 0)
		auditdb_rollback(db);
	return r < 0 ? r : 0;
}
