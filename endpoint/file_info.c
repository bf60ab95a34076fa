/*
 * file_info.c - QUERY_INFO and SET_INFO ([MS-SMB2] 3.3.5.20, 3.3.5.21;
 * layouts in [MS-FSCC] 2.4 and 2.5): the file, file system and security
 * classes smbclient, impacket and smbtorture's basic tests use.
 *
 * Each class is a row in a table (info type, class, writer, whether the
 * answer may be truncated); a writer appends the class's structure to the
 * response.  The security descriptor is a fixed one granting Everyone full
 * access: smbrefd enforces access through the share and the session, not
 * through ACLs.
 *
 * Invariants: a reply never exceeds OutputBufferLength (fixed-size classes
 * answer INFO_LENGTH_MISMATCH, variable ones BUFFER_OVERFLOW with a
 * truncated structure, security BUFFER_TOO_SMALL with the size needed);
 * renames stay beneath the share (vfs.c).
 * Must never: change a file through a class it does not implement (unknown
 * SET_INFO classes are refused, not ignored).
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "server.h"
#include "vfs.h"

typedef struct InfoCtx {
	Smb2Request *r;
	Open *o;
	struct stat st;
	Smb2Buf *b;
	uint32_t additional;
} InfoCtx;

typedef int (*InfoWriter)(InfoCtx *x);

static void put_basic(InfoCtx *x) {
	FileTimes t;
	smb2_file_times(&x->st, &t);
	uint8_t *p = smb2_buf_extend(x->b, 40);
	if (!p)
		return;
	smb2_put64(p, t.creation);
	smb2_put64(p + 8, t.access);
	smb2_put64(p + 16, t.write);
	smb2_put64(p + 24, t.change);
	smb2_put32(p + 32, t.attrs);
}

static void put_standard(InfoCtx *x) {
	FileTimes t;
	smb2_file_times(&x->st, &t);
	uint8_t *p = smb2_buf_extend(x->b, 24);
	if (!p)
		return;
	smb2_put64(p, t.alloc);
	smb2_put64(p + 8, t.eof);
	smb2_put32(p + 16, (uint32_t)x->st.st_nlink);
	p[20] = x->o->delete_on_close;
	p[21] = S_ISDIR(x->st.st_mode);
}

static void put_u64(InfoCtx *x, uint64_t v) {
	uint8_t *p = smb2_buf_extend(x->b, 8);
	if (p)
		smb2_put64(p, v);
}

static void put_u32(InfoCtx *x, uint32_t v) {
	uint8_t *p = smb2_buf_extend(x->b, 4);
	if (p)
		smb2_put32(p, v);
}

/* FileNameInformation: length + "\path" in UTF-16 */
static void put_name(InfoCtx *x) {
	size_t at = x->b->len;
	put_u32(x, 0);
	int n = smb2_utf8_to_utf16(x->b, "\\");
	for (const char *s = x->o->path; n >= 0 && *s; s++) {
		char c[2] = { *s == '/' ? '\\' : *s, 0 };
		/* multi-byte UTF-8 is copied through whole */
		if ((unsigned char)*s >= 0x80) {
			size_t len = 1;
			while ((s[len] & 0xc0) == 0x80)
				len++;
			_cleanup_free_ char *u = strndup(s, len);
			n = u ? smb2_utf8_to_utf16(x->b, u) : -ENOMEM;
			s += len - 1;
			continue;
		}
		n = smb2_utf8_to_utf16(x->b, c);
	}
	if (n >= 0 && !x->b->failed)
		smb2_put32(x->b->data + at, (uint32_t)(x->b->len - at - 4));
}

/* FileAlternateNameInformation: an 8.3-style name derived from the last
 * component (smbrefd keeps no real short names). */
static int q_alt_name(InfoCtx *x) {
	const char *base = strrchr(x->o->path, '/');
	base = base ? base + 1 : x->o->path;
	char shortname[13] = "";
	size_t n = 0;
	for (const char *s = base; *s && n < 12; s++)
		if ((unsigned char)*s < 0x80)
			shortname[n++] = (char)toupper((unsigned char)*s);
	if (strlen(base) > 12 && n >= 8)
		memcpy(shortname + 6, "~1", 3);
	size_t at = x->b->len;
	put_u32(x, 0);
	int k = smb2_utf8_to_utf16(x->b, shortname);
	if (k < 0)
		return k;
	if (!x->b->failed)
		smb2_put32(x->b->data + at, (uint32_t)k);
	return 0;
}

static int q_basic(InfoCtx *x) { put_basic(x); return 0; }
static int q_standard(InfoCtx *x) { put_standard(x); return 0; }
static int q_internal(InfoCtx *x) { put_u64(x, (uint64_t)x->st.st_ino); return 0; }
static int q_ea(InfoCtx *x) { put_u32(x, 0); return 0; }
static int q_access(InfoCtx *x) { put_u32(x, x->o->access); return 0; }
static int q_position(InfoCtx *x) { put_u64(x, 0); return 0; }
static int q_mode(InfoCtx *x) { put_u32(x, 0); return 0; }
static int q_alignment(InfoCtx *x) { put_u32(x, 0); return 0; }
static int q_name(InfoCtx *x) { put_name(x); return 0; }

static int q_all(InfoCtx *x) {
	put_basic(x);
	put_standard(x);
	q_internal(x);
	q_ea(x);
	q_access(x);
	q_position(x);
	q_mode(x);
	q_alignment(x);
	put_name(x);
	return 0;
}

static int q_network_open(InfoCtx *x) {
	FileTimes t;
	smb2_file_times(&x->st, &t);
	uint8_t *p = smb2_buf_extend(x->b, 56);
	if (p)
		smb2_put_file_times(p, &t);
	return 0;
}

static int q_attribute_tag(InfoCtx *x) {
	FileTimes t;
	smb2_file_times(&x->st, &t);
	put_u32(x, t.attrs);
	put_u32(x, 0);
	return 0;
}

static int q_stream(InfoCtx *x) {
	if (S_ISDIR(x->st.st_mode))
		return 0;
	FileTimes t;
	smb2_file_times(&x->st, &t);
	uint8_t *p = smb2_buf_extend(x->b, 24);
	if (!p)
		return 0;
	int n = smb2_utf8_to_utf16(x->b, "::$DATA");
	if (n < 0)
		return n;
	p = x->b->data + x->b->len - n - 24;
	smb2_put32(p + 4, (uint32_t)n);
	smb2_put64(p + 8, t.eof);
	smb2_put64(p + 16, t.alloc);
	return 0;
}

static int q_compression(InfoCtx *x) {
	FileTimes t;
	smb2_file_times(&x->st, &t);
	uint8_t *p = smb2_buf_extend(x->b, 16);
	if (p)
		smb2_put64(p, t.eof);
	return 0;
}

static int q_id(InfoCtx *x) {
	put_u64(x, (uint64_t)x->st.st_dev);
	put_u64(x, (uint64_t)x->st.st_ino);
	put_u64(x, 0);
	return 0;
}

/* ---- file system classes ---- */
static int fs_volume(InfoCtx *x) {
	uint8_t *p = smb2_buf_extend(x->b, 18);
	if (!p)
		return 0;
	smb2_put64(p, x->r->server->start_time);
	smb2_put32(p + 8, (uint32_t)x->st.st_dev);
	int n = smb2_utf8_to_utf16(x->b, x->o->tree->share->name);
	if (n < 0)
		return n;
	smb2_put32(x->b->data + x->b->len - n - 18 + 12, (uint32_t)n);
	return 0;
}

static int fs_sizes(InfoCtx *x, bool full) {
	struct statvfs v;
	if (fstatvfs(x->o->fd, &v) < 0)
		return -errno;
	uint64_t unit = v.f_frsize ? v.f_frsize : 4096;
	uint32_t sector = 512, per_unit = (uint32_t)(unit / sector ? unit / sector : 1);
	put_u64(x, (uint64_t)v.f_blocks);
	put_u64(x, (uint64_t)v.f_bavail);
	if (full)
		put_u64(x, (uint64_t)v.f_bfree);
	put_u32(x, per_unit);
	put_u32(x, sector);
	return 0;
}
static int fs_size(InfoCtx *x) { return fs_sizes(x, false); }
static int fs_full_size(InfoCtx *x) { return fs_sizes(x, true); }

static int fs_device(InfoCtx *x) {
	put_u32(x, 0x00000007); /* FILE_DEVICE_DISK */
	put_u32(x, 0x00000020); /* FILE_DEVICE_IS_MOUNTED */
	return 0;
}

static int fs_attribute(InfoCtx *x) {
	/* case sensitive search, case preserved names, unicode on disk */
	put_u32(x, 0x00000007);
	put_u32(x, 255);
	size_t at = x->b->len;
	put_u32(x, 0);
	int n = smb2_utf8_to_utf16(x->b, "NTFS");
	if (n < 0)
		return n;
	if (!x->b->failed)
		smb2_put32(x->b->data + at, (uint32_t)n);
	return 0;
}

static int fs_object_id(InfoCtx *x) {
	smb2_buf_extend(x->b, 64);
	return 0;
}

static int fs_sector_size(InfoCtx *x) {
	for (int i = 0; i < 4; i++)
		put_u32(x, 512);
	put_u32(x, 0x3); /* aligned device, partition aligned */
	put_u32(x, 0);
	put_u32(x, 0);
	return 0;
}

/* ---- security: self-relative descriptor, Everyone: full access ---- */
#define OWNER_SECURITY_INFORMATION 0x1
#define GROUP_SECURITY_INFORMATION 0x2
#define DACL_SECURITY_INFORMATION 0x4
static const uint8_t sid_everyone[12] = { 1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0 };

static int q_security(InfoCtx *x) {
	size_t at = x->b->len;
	uint8_t *p = smb2_buf_extend(x->b, 20);
	if (!p)
		return 0;
	uint16_t control = 0x8000; /* SE_SELF_RELATIVE */
	size_t off = 20;
	uint32_t owner = 0, group = 0, dacl = 0;
	if (x->additional & OWNER_SECURITY_INFORMATION) {
		owner = (uint32_t)off;
		smb2_buf_append(x->b, sid_everyone, 12);
		off += 12;
	}
	if (x->additional & GROUP_SECURITY_INFORMATION) {
		group = (uint32_t)off;
		smb2_buf_append(x->b, sid_everyone, 12);
		off += 12;
	}
	if (x->additional & DACL_SECURITY_INFORMATION) {
		control |= 0x0004; /* SE_DACL_PRESENT */
		dacl = (uint32_t)off;
		uint8_t acl[8 + 20] = { 2, 0 };
		smb2_put16(acl + 2, sizeof(acl));
		smb2_put16(acl + 4, 1);
		acl[8] = 0; /* ACCESS_ALLOWED_ACE_TYPE */
		acl[9] = 0x3; /* object + container inherit */
		smb2_put16(acl + 10, 20);
		smb2_put32(acl + 12, 0x001f01ff);
		memcpy(acl + 16, sid_everyone, 12);
		smb2_buf_append(x->b, acl, sizeof(acl));
	}
	if (x->b->failed)
		return 0;
	p = x->b->data + at;
	p[0] = 1;
	smb2_put16(p + 2, control);
	smb2_put32(p + 4, owner);
	smb2_put32(p + 8, group);
	smb2_put32(p + 16, dacl);
	return 0;
}

enum { FIXED, TRUNCATABLE, SECURITY };

static int fs_control(InfoCtx *x) {
	/* FileFsControlInformation: no quota filtering, no limits */
	uint8_t *p = smb2_buf_extend(x->b, 48);
	if (p) {
		smb2_put64(p + 24, UINT64_MAX);
		smb2_put64(p + 32, UINT64_MAX);
	}
	return 0;
}

/* kind: FIXED answers INFO_LENGTH_MISMATCH below its size; TRUNCATABLE
 * answers INFO_LENGTH_MISMATCH below min (its fixed part) and
 * BUFFER_OVERFLOW with a truncated structure above it. */
static const struct {
	uint8_t type, cls;
	InfoWriter write;
	int kind;
	uint32_t min;
} query_table[] = {
	{ SMB2_0_INFO_FILE, 4, q_basic, FIXED, 0 },
	{ SMB2_0_INFO_FILE, 5, q_standard, FIXED, 0 },
	{ SMB2_0_INFO_FILE, 6, q_internal, FIXED, 0 },
	{ SMB2_0_INFO_FILE, 7, q_ea, FIXED, 0 },
	{ SMB2_0_INFO_FILE, 8, q_access, FIXED, 0 },
	{ SMB2_0_INFO_FILE, 9, q_name, TRUNCATABLE, 4 },
	{ SMB2_0_INFO_FILE, 14, q_position, FIXED, 0 },
	{ SMB2_0_INFO_FILE, 16, q_mode, FIXED, 0 },
	{ SMB2_0_INFO_FILE, 17, q_alignment, FIXED, 0 },
	{ SMB2_0_INFO_FILE, 18, q_all, TRUNCATABLE, 100 },
	{ SMB2_0_INFO_FILE, 21, q_alt_name, TRUNCATABLE, 4 },
	{ SMB2_0_INFO_FILE, 22, q_stream, TRUNCATABLE, 24 },
	{ SMB2_0_INFO_FILE, 28, q_compression, FIXED, 0 },
	{ SMB2_0_INFO_FILE, 34, q_network_open, FIXED, 0 },
	{ SMB2_0_INFO_FILE, 35, q_attribute_tag, FIXED, 0 },
	{ SMB2_0_INFO_FILE, 59, q_id, FIXED, 0 },
	{ SMB2_0_INFO_FILESYSTEM, 1, fs_volume, TRUNCATABLE, 18 },
	{ SMB2_0_INFO_FILESYSTEM, 3, fs_size, FIXED, 0 },
	{ SMB2_0_INFO_FILESYSTEM, 4, fs_device, FIXED, 0 },
	{ SMB2_0_INFO_FILESYSTEM, 5, fs_attribute, TRUNCATABLE, 12 },
	{ SMB2_0_INFO_FILESYSTEM, 6, fs_control, FIXED, 0 },
	{ SMB2_0_INFO_FILESYSTEM, 7, fs_full_size, FIXED, 0 },
	{ SMB2_0_INFO_FILESYSTEM, 8, fs_object_id, FIXED, 0 },
	{ SMB2_0_INFO_FILESYSTEM, 11, fs_sector_size, FIXED, 0 },
	{ SMB2_0_INFO_SECURITY, 0, q_security, SECURITY, 0 },
};

int smb2_query_info(Smb2Request *r) {
	Smb2QueryInfoReq q;
	Open *o;
	if (smb2_parse_query_info(r->msg, r->len, &q) < 0) {
		r->status = NT_STATUS_INVALID_PARAMETER;
		return 0;
	}
	FIND_OPEN(r, o, q.fid);
	size_t i;
	for (i = 0; i < ELEMENTSOF(query_table); i++)
		if (query_table[i].type == q.info_type &&
		    (query_table[i].cls == q.info_class || q.info_type == SMB2_0_INFO_SECURITY))
			break;
	if (i == ELEMENTSOF(query_table)) {
		r->status = q.info_type == SMB2_0_INFO_QUOTA ? NT_STATUS_NOT_SUPPORTED : NT_STATUS_INVALID_INFO_CLASS;
		return 0;
	}
	InfoCtx x = { .r = r, .o = o, .b = r->out, .additional = q.additional_information };
	if (fstat(o->fd, &x.st) < 0) {
		r->status = vfs_status_from_errno(errno);
		return 0;
	}
	size_t body = r->out->len;
	if (!smb2_buf_extend(r->out, 8))
		return -ENOMEM;
	size_t start = r->out->len;
	int k = query_table[i].write(&x);
	if (k < 0) {
		r->status = vfs_status_from_errno(k);
		return 0;
	}
	if (r->out->failed)
		return -ENOMEM;
	size_t n = r->out->len - start;
	uint32_t status = NT_STATUS_OK;
	if (n > q.output_buffer_length) {
		switch (query_table[i].kind) {
		case FIXED:
			r->status = NT_STATUS_INFO_LENGTH_MISMATCH;
			return 0;
		case SECURITY: {
			/* ErrorData: the size needed ([MS-SMB2] 3.3.5.20.3) */
			r->out->len = body;
			uint8_t *p = smb2_buf_extend(r->out, 12);
			if (!p)
				return -ENOMEM;
			smb2_put16(p, 9);
			smb2_put32(p + 4, 4);
			smb2_put32(p + 8, (uint32_t)n);
			r->status = NT_STATUS_BUFFER_TOO_SMALL;
			r->keep_error_body = true;
			return 0;
		}
		default:
			if (q.output_buffer_length < query_table[i].min) {
				r->status = NT_STATUS_INFO_LENGTH_MISMATCH;
				return 0;
			}
			n = q.output_buffer_length;
			r->out->len = start + n;
			status = NT_STATUS_BUFFER_OVERFLOW;
		}
	}
	uint8_t *p = r->out->data + body;
	smb2_put16(p, 9);
	smb2_put16(p + 2, SMB2_HDR_SIZE + 8);
	smb2_put32(p + 4, (uint32_t)n);
	if (n == 0)
		smb2_buf_extend(r->out, 1);
	r->status = status;
	return 0;
}

/* ---- SET_INFO ---- */
typedef uint32_t (*SetWriter)(Smb2Request *r, Open *o, Smb2Blob d);

static uint32_t set_basic(Smb2Request *r, Open *o, Smb2Blob d) {
	(void)r;
	if (d.len < 36)
		return NT_STATUS_INFO_LENGTH_MISMATCH;
	/* 0 and -1 mean "leave unchanged" ([MS-FSCC] 2.4.7) */
	struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT } };
	uint64_t at = smb2_le64(d.data + 8), wt = smb2_le64(d.data + 16);
	const uint64_t epoch = 116444736000000000ULL;
	if (at && at != UINT64_MAX && at >= epoch)
		ts[0] = (struct timespec) { (time_t)((at - epoch) / 10000000), (long)((at - epoch) % 10000000) * 100 };
	if (wt && wt != UINT64_MAX && wt >= epoch)
		ts[1] = (struct timespec) { (time_t)((wt - epoch) / 10000000), (long)((wt - epoch) % 10000000) * 100 };
	if (futimens(o->fd, ts) < 0)
		return vfs_status_from_errno(errno);
	return NT_STATUS_OK;
}

static uint32_t set_rename(Smb2Request *r, Open *o, Smb2Blob d) {
	(void)r;
	if (d.len < 20)
		return NT_STATUS_INFO_LENGTH_MISMATCH;
	bool replace = d.data[0];
	uint32_t nlen = smb2_le32(d.data + 16);
	if (nlen > d.len - 20 || nlen == 0)
		return NT_STATUS_INVALID_PARAMETER;
	_cleanup_free_ char *name = NULL, *path = NULL;
	if (smb2_utf16_to_utf8(d.data + 20, nlen, &name) < 0 || vfs_path_from_smb(name, &path) < 0)
		return NT_STATUS_OBJECT_NAME_INVALID;
	int k = vfs_rename(o->tree->share->dirfd, o->path, path, replace);
	if (k < 0)
		return k == -EEXIST ? NT_STATUS_OBJECT_NAME_COLLISION : vfs_status_from_errno(k);
	free(o->path);
	o->path = TAKE_PTR(path);
	return NT_STATUS_OK;
}

static uint32_t set_disposition(Smb2Request *r, Open *o, Smb2Blob d) {
	(void)r;
	if (d.len < 1)
		return NT_STATUS_INFO_LENGTH_MISMATCH;
	if (d.data[0] && !*o->path)
		return NT_STATUS_CANNOT_DELETE;
	if (d.data[0] && o->is_dir) {
		/* a non-empty directory cannot be marked ([MS-FSA] 2.1.5.14.3) */
		int fd = openat(o->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
		bool empty = true;
		struct dirent *de;
		while (dir && (de = readdir(dir)))
			if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
				empty = false;
		if (dir)
			closedir(dir);
		else if (fd >= 0)
			close(fd);
		if (!empty)
			return NT_STATUS_DIRECTORY_NOT_EMPTY;
	}
	o->delete_on_close = d.data[0] != 0;
	return NT_STATUS_OK;
}

static uint32_t set_eof(Smb2Request *r, Open *o, Smb2Blob d) {
	(void)r;
	if (d.len < 8)
		return NT_STATUS_INFO_LENGTH_MISMATCH;
	if (ftruncate(o->fd, (off_t)(smb2_le64(d.data) & INT64_MAX)) < 0)
		return vfs_status_from_errno(errno);
	return NT_STATUS_OK;
}

static uint32_t set_ignored(Smb2Request *r, Open *o, Smb2Blob d) {
	(void)r, (void)o, (void)d;
	return NT_STATUS_OK;
}

static const struct {
	uint8_t type, cls;
	SetWriter write;
} set_table[] = {
	{ SMB2_0_INFO_FILE, 4, set_basic },
	{ SMB2_0_INFO_FILE, 10, set_rename },
	{ SMB2_0_INFO_FILE, 13, set_disposition },
	{ SMB2_0_INFO_FILE, 14, set_ignored },  /* position */
	{ SMB2_0_INFO_FILE, 16, set_ignored },  /* mode */
	{ SMB2_0_INFO_FILE, 19, set_ignored },  /* allocation: sparse files grow on write */
	{ SMB2_0_INFO_FILE, 20, set_eof },
	{ SMB2_0_INFO_SECURITY, 0, set_ignored }, /* the descriptor is fixed */
};

int smb2_set_info(Smb2Request *r) {
	Smb2SetInfoReq q;
	Open *o;
	if (smb2_parse_set_info(r->msg, r->len, &q) < 0) {
		r->status = NT_STATUS_INVALID_PARAMETER;
		return 0;
	}
	FIND_OPEN(r, o, q.fid);
	size_t i;
	for (i = 0; i < ELEMENTSOF(set_table); i++)
		if (set_table[i].type == q.info_type &&
		    (set_table[i].cls == q.info_class || q.info_type == SMB2_0_INFO_SECURITY))
			break;
	if (i == ELEMENTSOF(set_table)) {
		r->status = NT_STATUS_INVALID_INFO_CLASS;
		return 0;
	}
	uint32_t st = set_table[i].write(r, o, q.data);
	if (st != NT_STATUS_OK) {
		r->status = st;
		return 0;
	}
	uint8_t *p = smb2_buf_extend(r->out, 2);
	if (!p)
		return -ENOMEM;
	smb2_put16(p, 2);
	return 0;
}
