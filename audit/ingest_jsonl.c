/*
 * ingest_jsonl.c - ingest a JSON-lines audit file (what audit_emit and
 * smbrefd --audit-log write) into the audit DB.
 *
 * Invariants: the cursor ("INODE:OFFSET", origin "jsonl:REALPATH") only ever
 * points just after a complete line and is stored in the same transaction
 * as the events before it; a file whose inode changed or that shrank
 * (rotated, truncated) is read from its start (the unique key drops what
 * was already stored); a final line without its newline is left for the
 * next run (the writer may still be writing it).
 * Must never: hold more than AUDIT_LINE_MAX + one read buffer in memory:
 * an overlong line is skipped while it streams past.
 */
#include "audit_event_parse.h"
#include "audit_ingest.h"

#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

#define JSONL_READ_SIZE (256u * 1024u)
#define JSONL_FIELDS_MAX 64

typedef struct Jsonl {
	const char *path;
	char *origin;           /* NULL: stdin, no cursor */
	uint64_t inode;
	unsigned long long done; /* offset just after the last complete line */
	unsigned long long line;
	char *scratch;          /* AUDIT_LINE_MAX + 1 bytes for parsing */
} Jsonl;

static int jsonl_checkpoint(AuditDb *db, void *userdata) {
	Jsonl *j = userdata;
	if (!j->origin)
		return 0;
	char cursor[64];
	snprintf(cursor, sizeof cursor, "%" PRIu64 ":%llu", j->inode, j->done);
	return auditdb_set_cursor(db, j->origin, cursor);
}

static int jsonl_line(AuditDb *db, Jsonl *j, const char *line, size_t len,
		      AuditIngestStats *stats) {
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	if (len == 0)
		return 0;
	AuditRecord rec;
	AuditField fields[JSONL_FIELDS_MAX];
	const char *why = NULL;
	if (audit_event_parse_line(line, len, j->scratch, &rec, fields, ELEMENTSOF(fields), &why) < 0) {
		audit_ingest_warn(stats, j->path, j->line, why);
		return 0;
	}
	return audit_ingest_add(db, &rec, stats, jsonl_checkpoint, j);
}

/* Where to start: after the stored cursor when it still fits the file. */
static int jsonl_resume(AuditDb *db, Jsonl *j, int fd, const struct stat *st) {
	_cleanup_free_ char *cursor = NULL;
	int r = auditdb_get_cursor(db, j->origin, &cursor);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	uint64_t inode;
	unsigned long long off;
	if (sscanf(cursor, "%" SCNu64 ":%llu", &inode, &off) != 2 || inode != j->inode ||
	    off > (unsigned long long)st->st_size)
		return 0;
	if (lseek(fd, (off_t)off, SEEK_SET) < 0)
		return -errno;
	j->done = off;
	return 0;
}

static int jsonl_read_all(AuditDb *db, Jsonl *j, int fd, AuditIngestStats *stats) {
	_cleanup_free_ char *buf = malloc(AUDIT_LINE_MAX + JSONL_READ_SIZE);
	if (!buf)
		return -ENOMEM;
	unsigned long long pos = j->done; /* file offset of buf[0] */
	size_t have = 0;       /* bytes of the current (incomplete) line in buf */
	bool overlong = false; /* dropping the rest of a line past AUDIT_LINE_MAX */
	for (;;) {
		ssize_t n = read(fd, buf + have, JSONL_READ_SIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		size_t end = have + (size_t)n, start = 0;
		for (char *nl; (nl = memchr(buf + start, '\n', end - start));) {
			size_t len = (size_t)(nl - buf) - start;
			j->line++;
			if (overlong || len > AUDIT_LINE_MAX) {
				/* Its start was dropped, or it arrived whole in one
				 * read: either way too long to parse. */
				overlong = false;
				audit_ingest_warn(stats, j->path, j->line, "line too long");
			} else {
				int r = jsonl_line(db, j, buf + start, len, stats);
				if (r < 0)
					return r;
			}
			start = (size_t)(nl - buf) + 1;
			j->done = pos + start;
		}
		have = end - start;
		if (have > AUDIT_LINE_MAX) {
			overlong = true; /* forget its text, keep looking for its end */
			start = end;
			have = 0;
		}
		memmove(buf, buf + start, have);
		pos += start;
	}
}

int audit_ingest_jsonl(AuditDb *db, const char *path, AuditIngestStats *stats) {
	Jsonl j = {.path = path};
	_cleanup_close_ int fd = -1;
	int r;
	stats->warned = 0;
	if (streq(path, "-"))
		j.path = "stdin";
	else {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		struct stat st;
		if (fstat(fd, &st) < 0)
			return -errno;
		_cleanup_free_ char *real = realpath(path, NULL);
		if (!real)
			return -errno;
		j.origin = strdup_printf("jsonl:%s", real);
		if (!j.origin)
			return -ENOMEM;
		j.inode = (uint64_t)st.st_ino;
		r = jsonl_resume(db, &j, fd, &st);
		if (r < 0)
			goto out;
	}
	j.scratch = malloc(AUDIT_LINE_MAX + 1);
	if (!j.scratch) {
		r = -ENOMEM;
		goto out;
	}
	if (auditdb_begin(db) < 0) {
		r = -EIO;
		goto out;
	}
	r = jsonl_read_all(db, &j, fd >= 0 ? fd : STDIN_FILENO, stats);
	if (r >= 0)
		r = jsonl_checkpoint(db, &j);
	if (r >= 0 && auditdb_commit(db) < 0)
		r = -EIO;
	if (r < 0)
		auditdb_rollback(db);
out:
	free(j.scratch);
	free(j.origin);
	return r;
}
