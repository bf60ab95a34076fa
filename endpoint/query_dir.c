/*
 * query_dir.c - QUERY_DIRECTORY ([MS-SMB2] 3.3.5.18): the directory
 * information classes smbclient, impacket and smbtorture use, with DOS
 * wildcard matching.
 *
 * A listing is read once per open (or on RESTART_SCANS/REOPEN) into a
 * snapshot of names and stat data, then returned in pieces that fit the
 * client's output buffer.  Entry layouts are a table (class -> fixed size
 * and which optional fields it carries), not a branch per class.
 *
 * Invariants: every entry is 8-byte aligned and its NextEntryOffset points
 * at the next one (0 for the last); output never exceeds the requested
 * OutputBufferLength.
 * Must never: stat a name outside the directory (fstatat with
 * AT_SYMLINK_NOFOLLOW relative to the open directory fd).
 */
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>

#include "server.h"
#include "vfs.h"

struct DirEntry {
	char *name;
	struct stat st;
};

enum {
	HAS_TIMES = 1 << 0,  /* times, sizes, attributes (56 bytes after FileIndex) */
	HAS_EA = 1 << 1,     /* EaSize */
	HAS_SHORT = 1 << 2,  /* ShortNameLength, Reserved, ShortName[24] */
	HAS_ID_BOTH = 1 << 3, /* Reserved2(2), FileId(8) */
	HAS_ID_FULL = 1 << 4, /* Reserved(4), FileId(8) */
};

static const struct {
	uint8_t info_class;
	unsigned fields;
} dir_classes[] = {
	{ 0x01, HAS_TIMES },                                    /* FileDirectoryInformation */
	{ 0x02, HAS_TIMES | HAS_EA },                           /* FileFullDirectoryInformation */
	{ 0x03, HAS_TIMES | HAS_EA | HAS_SHORT },               /* FileBothDirectoryInformation */
	{ 0x0c, 0 },                                            /* FileNamesInformation */
	{ 0x25, HAS_TIMES | HAS_EA | HAS_SHORT | HAS_ID_BOTH }, /* FileIdBothDirectoryInformation */
	{ 0x26, HAS_TIMES | HAS_EA | HAS_ID_FULL },             /* FileIdFullDirectoryInformation */
};

void open_dir_reset(Open *o) {
	for (size_t i = 0; i < o->n_entries; i++)
		free(o->entries[i].name);
	free(o->entries);
	o->entries = NULL;
	o->n_entries = o->next_entry = 0;
	o->listed = false;
}

/* DOS wildcards ('<' '>' '"') as their fnmatch equivalents. */
static bool name_matches(const char *pattern, const char *name) {
	if (!*pattern || streq(pattern, "*"))
		return true;
	char pat[1024];
	size_t n = 0;
	for (const char *p = pattern; *p && n < sizeof(pat) - 2; p++)
		pat[n++] = *p == '<' ? '*' : *p == '>' ? '?' : *p == '"' ? '.' : *p;
	pat[n] = 0;
	return fnmatch(pat, name, FNM_CASEFOLD) == 0;
}

static int dir_read(Open *o, const char *pattern) {
	int fd = openat(o->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	size_t cap = 0;
	int r = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!name_matches(pattern, de->d_name))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (o->n_entries == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			DirEntry *e = realloc(o->entries, ncap * sizeof(*e));
			if (!e) {
				r = -ENOMEM;
				break;
			}
			o->entries = e;
			cap = ncap;
		}
		char *name = strdup(de->d_name);
		if (!name) {
			r = -ENOMEM;
			break;
		}
		o->entries[o->n_entries++] = (DirEntry) { name, st };
	}
	closedir(d);
	o->listed = true;
	return r;
}

/* Append one entry; returns false when it does not fit in limit. */
static bool put_entry(Smb2Buf *b, size_t start, size_t limit, unsigned fields, const DirEntry *e,
		      size_t *last) {
	size_t fixed = 12; /* NextEntryOffset, FileIndex, FileNameLength */
	if (fields & HAS_TIMES)
		fixed += 52;
	if (fields & HAS_EA)
		fixed += 4;
	if (fields & HAS_SHORT)
		fixed += 26;
	if (fields & HAS_ID_BOTH)
		fixed += 10;
	if (fields & HAS_ID_FULL)
		fixed += 12;
	size_t before = b->len;
	smb2_buf_align(b, 8);
	size_t at = b->len;
	if (!smb2_buf_extend(b, fixed))
		return false;
	int nlen = smb2_utf8_to_utf16(b, e->name);
	if (nlen < 0 || b->len - start > limit) {
		b->len = before;
		return false;
	}
	uint8_t *p = b->data + at;
	size_t off = 8;
	if (fields & HAS_TIMES) {
		FileTimes t;
		smb2_file_times(&e->st, &t);
		smb2_put_file_times(p + 8, &t);
		/* directory info orders EndOfFile before AllocationSize */
		smb2_put64(p + 40, t.eof);
		smb2_put64(p + 48, t.alloc);
		off = 60;
	}
	smb2_put32(p + off, (uint32_t)nlen);
	off += 4;
	if (fields & HAS_EA)
		off += 4;
	if (fields & HAS_SHORT)
		off += 26;
	if (fields & HAS_ID_BOTH) {
		smb2_put64(p + off + 2, (uint64_t)e->st.st_ino);
		off += 10;
	}
	if (fields & HAS_ID_FULL)
		smb2_put64(p + off + 4, (uint64_t)e->st.st_ino);
	if (*last != SIZE_MAX)
		smb2_put32(b->data + *last, (uint32_t)(at - *last));
	*last = at;
	return true;
}

int smb2_query_directory(Smb2Request *r) {
	Smb2QueryDirectoryReq q;
	Open *o;
	_cleanup_free_ char *pattern = NULL;
	if (smb2_parse_query_directory(r->msg, r->len, &q) < 0) {
		r->status = NT_STATUS_INVALID_PARAMETER;
		return 0;
	}
	FIND_OPEN(r, o, q.fid);
	if (!o->is_dir) {
		r->status = NT_STATUS_INVALID_PARAMETER;
		return 0;
	}
	size_t ci;
	for (ci = 0; ci < ELEMENTSOF(dir_classes); ci++)
		if (dir_classes[ci].info_class == q.info_class)
			break;
	if (ci == ELEMENTSOF(dir_classes)) {
		r->status = NT_STATUS_INVALID_INFO_CLASS;
		return 0;
	}
	if (q.pattern.len == 0)
		pattern = strdup("*");
	else if (smb2_utf16_to_utf8(q.pattern.data, q.pattern.len, &pattern) < 0) {
		r->status = NT_STATUS_OBJECT_NAME_INVALID;
		return 0;
	}
	if (!pattern)
		return -ENOMEM;
	bool first = false;
	if (q.flags & (SMB2_RESTART_SCANS | SMB2_REOPEN) || !o->listed) {
		open_dir_reset(o);
		int k = dir_read(o, pattern);
		if (k < 0) {
			r->status = vfs_status_from_errno(k);
			return 0;
		}
		first = true;
	}
	if (o->next_entry >= o->n_entries) {
		r->status = first ? NT_STATUS_NO_SUCH_FILE : NT_STATUS_NO_MORE_FILES;
		return 0;
	}
	size_t body = r->out->len;
	if (!smb2_buf_extend(r->out, 8))
		return -ENOMEM;
	size_t start = r->out->len, last = SIZE_MAX;
	size_t limit = q.output_buffer_length;
	while (o->next_entry < o->n_entries) {
		if (!put_entry(r->out, start, limit, dir_classes[ci].fields, &o->entries[o->next_entry], &last))
			break;
		o->next_entry++;
		if (q.flags & SMB2_RETURN_SINGLE_ENTRY)
			break;
	}
	if (r->out->failed)
		return -ENOMEM;
	if (last == SIZE_MAX) {
		r->status = NT_STATUS_INFO_LENGTH_MISMATCH;
		return 0;
	}
	uint8_t *p = r->out->data + body;
	smb2_put16(p, 9);
	smb2_put16(p + 2, SMB2_HDR_SIZE + 8);
	smb2_put32(p + 4, (uint32_t)(r->out->len - start));
	return 0;
}
