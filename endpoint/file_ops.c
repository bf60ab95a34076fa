/*
 * file_ops.c - the open table and CREATE, CLOSE, READ, WRITE, FLUSH, LOCK
 * ([MS-SMB2] 3.3.5.9 - 3.3.5.14).  Oplocks and leases are declined (level
 * none); create contexts are accepted and ignored.
 *
 * Invariants: an Open is found only through its (persistent, volatile)
 * pair, by the session and tree that made it; every fd comes from vfs.c
 * (beneath the share); READ and WRITE never exceed the negotiated maximum.
 * Must never: open a path outside the share, or serve a file of one
 * session to another.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "server.h"
#include "transport_rdma.h"
#include "vfs.h"

#define FILE_DIRECTORY_FILE 0x00000001u
#define FILE_NON_DIRECTORY_FILE 0x00000040u
#define FILE_DELETE_ON_CLOSE 0x00001000u

#define FILE_SUPERSEDE 0
#define FILE_OPEN 1
#define FILE_CREATE 2
#define FILE_OPEN_IF 3
#define FILE_OVERWRITE 4
#define FILE_OVERWRITE_IF 5

#define FILE_SUPERSEDED 0
#define FILE_OPENED 1
#define FILE_CREATED 2
#define FILE_OVERWRITTEN 3

/* access bits that need a writable descriptor */
#define WRITE_ACCESS (0x00000002u | 0x00000004u | 0x40000000u | 0x10000000u | 0x02000000u)
/* FILE_READ_DATA, FILE_EXECUTE, GENERIC_READ/EXECUTE/ALL, MAXIMUM_ALLOWED */
#define READ_ACCESS (0x00000001u | 0x00000020u | 0x80000000u | 0x20000000u | 0x10000000u | 0x02000000u)

#define SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB 0x0001

void smb2_file_times(const struct stat *st, FileTimes *ret) {
	*ret = (FileTimes) {
		.creation = smb2_filetime(&st->st_mtim),
		.access = smb2_filetime(&st->st_atim),
		.write = smb2_filetime(&st->st_mtim),
		.change = smb2_filetime(&st->st_ctim),
		.alloc = S_ISDIR(st->st_mode) ? 0 : (uint64_t)st->st_blocks * 512,
		.eof = S_ISDIR(st->st_mode) ? 0 : (uint64_t)st->st_size,
		.attrs = S_ISDIR(st->st_mode) ? FILE_ATTRIBUTE_DIRECTORY : FILE_ATTRIBUTE_ARCHIVE,
	};
}

/* Creation .. FileAttributes as in CREATE / CLOSE / network-open info. */
void smb2_put_file_times(uint8_t *p, const FileTimes *t) {
	smb2_put64(p, t->creation);
	smb2_put64(p + 8, t->access);
	smb2_put64(p + 16, t->write);
	smb2_put64(p + 24, t->change);
	smb2_put64(p + 32, t->alloc);
	smb2_put64(p + 40, t->eof);
	smb2_put32(p + 48, t->attrs);
}

static void open_free(Open *o) {
	if (!o)
		return;
	if (o->delete_on_close && o->tree && o->tree->share)
		(void)vfs_unlink(o->tree->share->dirfd, o->path, o->is_dir);
	if (o->fd >= 0)
		close(o->fd);
	open_dir_reset(o);
	free(o->path);
	free(o);
}

void open_close_all(Conn *c, Session *s, Tree *t) {
	for (size_t i = 0; i < c->n_opens; i++) {
		Open *o = c->opens[i];
		if (o && (!s || o->session == s) && (!t || o->tree == t)) {
			c->opens[i] = NULL;
			open_free(o);
		}
	}
}

Open *open_find(Smb2Request *r, Smb2FileId fid) {
	if (fid.persistent == SMB2_FILE_ID_RELATED && fid.volatile_ == SMB2_FILE_ID_RELATED)
		fid = *r->related_fid;
	Conn *c = r->conn;
	if (fid.volatile_ == 0 || fid.volatile_ > c->n_opens)
		return NULL;
	Open *o = c->opens[fid.volatile_ - 1];
	if (!o || o->persistent != fid.persistent || o->session != r->session || o->tree != r->tree)
		return NULL;
	return o;
}

static int open_insert(Conn *c, Open *o) {
	size_t i;
	for (i = 0; i < c->n_opens; i++)
		if (!c->opens[i])
			break;
	if (i == c->n_opens) {
		if (c->n_opens >= CONN_MAX_OPENS)
			return -EMFILE;
		size_t n = c->n_opens ? c->n_opens * 2 : 16;
		Open **a = realloc(c->opens, n * sizeof(*a));
		if (!a)
			return -ENOMEM;
		memset(a + c->n_opens, 0, (n - c->n_opens) * sizeof(*a));
		c->opens = a;
		c->n_opens = n;
	}
	c->opens[i] = o;
	o->volatile_ = i + 1;
	static _Thread_local uint64_t counter;
	o->persistent = ++counter;
	return 0;
}

/* Open or create per the disposition; returns an fd or -errno, and the
 * create action. */
static int create_open(int dirfd, const char *path, const Smb2CreateReq *q, bool *ret_dir,
		       uint32_t *ret_action) {
	bool want_dir = q->create_options & FILE_DIRECTORY_FILE;
	bool want_file = q->create_options & FILE_NON_DIRECTORY_FILE;
	uint32_t disp = q->create_disposition;
	if (disp > FILE_OVERWRITE_IF)
		return -EINVAL;
	int fd = vfs_open(dirfd, path, O_PATH, 0);
	if (fd >= 0) {
		struct stat st;
		int k = fstat(fd, &st) < 0 ? -errno : 0;
		close(fd);
		if (k < 0)
			return k;
		bool is_dir = S_ISDIR(st.st_mode);
		if (disp == FILE_CREATE)
			return -EEXIST;
		if (want_dir && !is_dir)
			return -ENOTDIR;
		if (want_file && is_dir)
			return -EISDIR;
		if (is_dir && (disp == FILE_OVERWRITE || disp == FILE_OVERWRITE_IF || disp == FILE_SUPERSEDE))
			return -EISDIR;
		*ret_dir = is_dir;
		if (is_dir)
			fd = vfs_open(dirfd, path, O_RDONLY | O_DIRECTORY, 0);
		else {
			int trunc = (disp == FILE_OVERWRITE || disp == FILE_OVERWRITE_IF || disp == FILE_SUPERSEDE) ? O_TRUNC : 0;
			bool rw = (q->desired_access & WRITE_ACCESS) || trunc;
			fd = vfs_open(dirfd, path, (rw ? O_RDWR : O_RDONLY) | trunc, 0);
			if (fd == -EACCES && rw && !trunc && !(q->desired_access & 0x06u))
				fd = vfs_open(dirfd, path, O_RDONLY, 0);
		}
		*ret_action = disp == FILE_SUPERSEDE ? FILE_SUPERSEDED :
			      (disp == FILE_OVERWRITE || disp == FILE_OVERWRITE_IF) ? FILE_OVERWRITTEN : FILE_OPENED;
		return fd;
	}
	if (fd != -ENOENT)
		return fd;
	if (disp == FILE_OPEN || disp == FILE_OVERWRITE)
		return -ENOENT;
	if (!*path)
		return -EACCES;
	*ret_action = FILE_CREATED;
	*ret_dir = want_dir;
	if (want_dir) {
		int k = vfs_mkdir(dirfd, path, 0755);
		if (k < 0)
			return k;
		return vfs_open(dirfd, path, O_RDONLY | O_DIRECTORY, 0);
	}
	return vfs_open(dirfd, path, O_RDWR | O_CREAT | O_EXCL, 0644);
}

int smb2_create(Smb2Request *r) {
	Smb2CreateReq q;
	_cleanup_free_ char *name = NULL, *path = NULL;
	if (smb2_parse_create(r->msg, r->len, &q) < 0) {
		r->status = NT_STATUS_INVALID_PARAMETER;
		return 0;
	}
	if (!r->tree->share) {
		r->status = NT_STATUS_OBJECT_NAME_NOT_FOUND; /* IPC$: no pipes served */
		return 0;
	}
	if (q.name.len == 0)
		name = strdup("");
	else if (smb2_utf16_to_utf8(q.name.data, q.name.len, &name) < 0) {
		r->status = NT_STATUS_OBJECT_NAME_INVALID;
		return 0;
	}
	if (!name)
		return -ENOMEM;
	if (name[0] == '\\') { /* names are relative to the share ([MS-SMB2] 3.3.5.9) */
		r->status = NT_STATUS_INVALID_PARAMETER;
		return 0;
	}
	if (vfs_path_from_smb(name, &path) < 0) {
		r->status = strchr(name, ':') ? NT_STATUS_OBJECT_NAME_NOT_FOUND : NT_STATUS_OBJECT_NAME_INVALID;
		return 0;
	}
	bool is_dir = false;
	uint32_t action = 0;
	/* Another client may create the name between our lookup and our
	 * create: for the "open if it exists" dispositions, look again. */
	int fd = -EEXIST;
	for (int tries = 0; fd == -EEXIST && tries < 3; tries++) {
		fd = create_open(r->tree->share->dirfd, path, &q, &is_dir, &action);
		if (q.create_disposition == FILE_CREATE)
			break;
	}
	if (fd < 0) {
		r->status = fd == -ENOENT && strchr(path, '/') ? NT_STATUS_OBJECT_NAME_NOT_FOUND
							    : vfs_status_from_errno(fd);
		return 0;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		r->status = vfs_status_from_errno(errno);
		return 0;
	}
	Open *o = calloc(1, sizeof(*o));
	if (!o) {
		close(fd);
		return -ENOMEM;
	}
	*o = (Open) {
		.session = r->session,
		.tree = r->tree,
		.fd = fd,
		.path = TAKE_PTR(path),
		.is_dir = S_ISDIR(st.st_mode),
		.delete_on_close = q.create_options & FILE_DELETE_ON_CLOSE,
		.access = q.desired_access,
	};
	int k = open_insert(r->conn, o);
	if (k < 0) {
		open_free(o);
		if (k != -EMFILE)
			return k;
		r->status = NT_STATUS_INSUFFICIENT_RESOURCES;
		return 0;
	}
	*r->related_fid = (Smb2FileId) { o->persistent, o->volatile_ };

	FileTimes t;
	smb2_file_times(&st, &t);
	uint8_t *p = smb2_buf_extend(r->out, 88);
	if (!p)
		return -ENOMEM;
	smb2_put16(p, 89);
	p[2] = 0; /* no oplock */
	smb2_put32(p + 4, action);
	smb2_put_file_times(p + 8, &t);
	smb2_put64(p + 64, o->persistent);
	smb2_put64(p + 72, o->volatile_);
	smb2_buf_extend(r->out, 1);
	return 0;
}

int smb2_close(Smb2Request *r) {
	Smb2CloseReq q;
	Open *o;
	if (smb2_parse_close(r->msg, r->len, &q) < 0) {
		r->status = NT_STATUS_INVALID_PARAMETER;
		return 0;
	}
	FIND_OPEN(r, o, q.fid);
	uint8_t *p = smb2_buf_extend(r->out, 60);
	if (!p)
		return -ENOMEM;
	smb2_put16(p, 60);
	struct stat st;
	if ((q.flags & SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB) && fstat(o->fd, &st) == 0) {
		FileTimes t;
		smb2_file_times(&st, &t);
		smb2_put16(p + 2, SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB);
		smb2_put_file_times(p + 8, &t);
	}
	r->conn->opens[o->volatile_ - 1] = NULL;
	open_free(o);
	return 0;
}

int smb2_flush(Smb2Request *r) {
	Smb2FlushReq q;
	Open *o;
	if (smb2_parse_flush(r->msg, r->len, &q) < 0) {
		r->status = NT_STATUS_INVALID_PARAMETER;
		return 0;
	}
	FIND_OPEN(r, o, q.fid);
	if (!o->is_dir && fdatasync(o->fd) < 0) {
		r->status = vfs_status_from_errno(errno);
		return 0;
	}
	uint8_t *p = smb2_buf_extend(r->out, 4);
	if (!p)
		return -ENOMEM;
	smb2_put16(p, 4);
	return 0;
}

/* Does a byte-range lock of another open forbid reading (or writing)
 * [off, off+len)?  SMB locks are mandatory for READ and WRITE ([MS-FSA]
 * 2.1.4.x); OFD locks of this open itself never conflict. */
static bool lock_conflict(const Open *o, uint64_t off, uint64_t len, bool write) {
	if (len == 0 || off > INT64_MAX)
		return false;
	struct flock fl = {
		.l_type = write ? F_WRLCK : F_RDLCK,
		.l_whence = SEEK_SET,
		.l_start = (off_t)off,
		.l_len = (off_t)(len > (uint64_t)INT64_MAX - off ? 0 : len),
	};
	if (fcntl(o->fd, F_OFD_GETLK, &fl) < 0)
		return false;
	return fl.l_type != F_UNLCK;
}

/* What the NEGOTIATE response offered (negotiate.c). */
static uint32_t max_io(const Conn *c) { return c->max_io; }

/* The open a READ or WRITE of len bytes at offset goes to: a file opened
 * with the access it needs ([MS-SMB2] 3.3.5.12, 3.3.5.13), no byte-range
 * lock of another open in the way.  NT_STATUS_OK with *ret, or the status
 * to answer. */
static uint32_t io_open(Smb2Request *r, const Smb2FileId *fid, uint64_t offset, uint64_t len, bool write,
			Open **ret) {
	Open *o = open_find(r, *fid);
	if (!o)
		return NT_STATUS_FILE_CLOSED;
	if (o->is_dir)
		return NT_STATUS_INVALID_DEVICE_REQUEST;
	if (!(o->access & (write ? WRITE_ACCESS : READ_ACCESS)))
		return NT_STATUS_ACCESS_DENIED;
	if (lock_conflict(o, offset, len, write))
		return NT_STATUS_FILE_LOCK_CONFLICT;
	*ret = o;
	return NT_STATUS_OK;
}

int smb2_read(Smb2Request *r) {
	Smb2ReadReq q;
	Open *o;
	if (smb2_parse_read(r->msg, r->len, &q) < 0 || q.length > max_io(r->conn) ||
	    (r->conn->dialect != SMB2_DIALECT_202 &&
	     smb2_credit_charge(&r->hdr) < smb2_credits_for_payload(q.length))) {
		r->status = NT_STATUS_INVALID_PARAMETER;
		return 0;
	}
	RdmaChannel ch; /* SMB Direct: the data goes by RDMA write (transport_rdma.c) */
	uint32_t st = transport_rdma_channel(r, &ch);
	if (st != NT_STATUS_OK) {
		r->status = st;
		return 0;
	}
	r->status = io_open(r, &q.fid, q.offset, q.length, false, &o);
	if (r->status != NT_STATUS_OK)
		return 0;
	size_t body = r->out->len;
	if (smb2_buf_reserve(r->out, body + 16 + q.length) < 0 || !smb2_buf_extend(r->out, 16))
		return -ENOMEM;
	size_t got = 0;
	while (got < q.length) {
		ssize_t k = pread(o->fd, r->out->data + body + 16 + got, q.length - got, (off_t)(q.offset + got));
		if (k < 0) {
			if (errno == EINTR)
				continue;
			r->status = vfs_status_from_errno(errno);
			return 0;
		}
		if (k == 0)
			break;
		got += (size_t)k;
	}
	if (got == 0 && q.length > 0) {
		r->status = NT_STATUS_END_OF_FILE;
		return 0;
	}
	if (got < q.minimum_count) {
		r->status = NT_STATUS_END_OF_FILE;
		return 0;
	}
	r->out->len = body + 16 + got;
	uint8_t *p = r->out->data + body;
	smb2_put16(p, 17);
	p[2] = SMB2_HDR_SIZE + 16;
	smb2_put32(p + 4, (uint32_t)got);
	if (ch.n) { /* [MS-SMB2] 3.3.5.12: DataLength 0, DataRemaining = bytes sent by RDMA */
		if (transport_rdma_push(r, &ch, p + 16, got) < 0) {
			r->status = NT_STATUS_INVALID_PARAMETER;
			return 0;
		}
		r->out->len = body + 16;
		p = r->out->data + body;
		smb2_put32(p + 4, 0);
		smb2_put32(p + 8, (uint32_t)got);
	}
	if (got == 0 || ch.n)
		smb2_buf_extend(r->out, 1);
	return 0;
}

int smb2_write(Smb2Request *r) {
	Smb2WriteReq q;
	Open *o;
	if (smb2_parse_write(r->msg, r->len, &q) < 0 || q.data.len > max_io(r->conn) ||
	    (r->conn->dialect != SMB2_DIALECT_202 &&
	     smb2_credit_charge(&r->hdr) < smb2_credits_for_payload(q.data.len))) {
		r->status = NT_STATUS_INVALID_PARAMETER;
		return 0;
	}
	RdmaChannel ch; /* SMB Direct: the data comes by RDMA read (transport_rdma.c) */
	_cleanup_free_ uint8_t *rdma_data = NULL;
	uint32_t st = transport_rdma_channel(r, &ch);
	if (st == NT_STATUS_OK && ch.n) {
		if (ch.length > max_io(r->conn) || transport_rdma_pull(r, &ch, &rdma_data) < 0)
			st = NT_STATUS_INVALID_PARAMETER;
		q.data = (Smb2Blob){ rdma_data, ch.length };
	}
	if (st != NT_STATUS_OK) {
		r->status = st;
		return 0;
	}
	r->status = io_open(r, &q.fid, q.offset, q.data.len, true, &o);
	if (r->status != NT_STATUS_OK)
		return 0;
	size_t done = 0;
	while (done < q.data.len) {
		ssize_t k = pwrite(o->fd, q.data.data + done, q.data.len - done, (off_t)(q.offset + done));
		if (k < 0) {
			if (errno == EINTR)
				continue;
			r->status = vfs_status_from_errno(errno);
			return 0;
		}
		done += (size_t)k;
	}
	uint8_t *p = smb2_buf_extend(r->out, 16);
	if (!p)
		return -ENOMEM;
	smb2_put16(p, 17);
	smb2_put32(p + 4, (uint32_t)done);
	smb2_buf_extend(r->out, 1);
	return 0;
}

#define SMB2_LOCKFLAG_SHARED 0x01
#define SMB2_LOCKFLAG_EXCLUSIVE 0x02
#define SMB2_LOCKFLAG_UNLOCK 0x04
#define SMB2_LOCKFLAG_FAIL_IMMEDIATELY 0x10

/* The only valid Flags of a lock element ([MS-SMB2] 2.2.26.1). */
static const uint32_t valid_lock_flags[] = {
	SMB2_LOCKFLAG_SHARED,
	SMB2_LOCKFLAG_EXCLUSIVE,
	SMB2_LOCKFLAG_SHARED | SMB2_LOCKFLAG_FAIL_IMMEDIATELY,
	SMB2_LOCKFLAG_EXCLUSIVE | SMB2_LOCKFLAG_FAIL_IMMEDIATELY,
	SMB2_LOCKFLAG_UNLOCK,
};

int smb2_lock(Smb2Request *r) {
	Smb2LockReq q;
	Open *o;
	if (smb2_parse_lock(r->msg, r->len, &q) < 0) {
		r->status = NT_STATUS_INVALID_PARAMETER;
		return 0;
	}
	FIND_OPEN(r, o, q.fid);
	/* Every element valid, and locks and unlocks not mixed ([MS-SMB2]
	 * 3.3.5.14), before anything is changed. */
	bool unlocking = false;
	for (size_t i = 0; i < q.count; i++) {
		Smb2LockElement e;
		smb2_lock_element(&q, i, &e);
		size_t k;
		for (k = 0; k < ELEMENTSOF(valid_lock_flags); k++)
			if (e.flags == valid_lock_flags[k])
				break;
		bool unlock = e.flags == SMB2_LOCKFLAG_UNLOCK;
		if (k == ELEMENTSOF(valid_lock_flags) || (i > 0 && unlock != unlocking) ||
		    (q.count > 1 && !unlock && !(e.flags & SMB2_LOCKFLAG_FAIL_IMMEDIATELY))) {
			r->status = NT_STATUS_INVALID_PARAMETER;
			return 0;
		}
		unlocking = unlock;
	}
	/* Byte-range locks map to open file description locks; they do not
	 * wait (a blocking SMB2 lock is answered LOCK_NOT_GRANTED). */
	for (size_t i = 0; i < q.count; i++) {
		Smb2LockElement e;
		smb2_lock_element(&q, i, &e);
		if (e.length == 0)
			continue; /* a zero-length lock conflicts with nothing */
		if (e.length > 0 && e.offset + e.length - 1 < e.offset) {
			r->status = NT_STATUS_INVALID_LOCK_RANGE;
			return 0;
		}
		struct flock fl = {
			.l_type = (e.flags & SMB2_LOCKFLAG_UNLOCK) ? F_UNLCK :
				  (e.flags & SMB2_LOCKFLAG_EXCLUSIVE) ? F_WRLCK : F_RDLCK,
			.l_whence = SEEK_SET,
			.l_start = (off_t)(e.offset & INT64_MAX),
			.l_len = (off_t)(e.length & INT64_MAX),
		};
		if (fl.l_type == F_WRLCK && !(o->access & WRITE_ACCESS))
			fl.l_type = F_RDLCK;
		if (fcntl(o->fd, F_OFD_SETLK, &fl) < 0) {
			r->status = (e.flags & SMB2_LOCKFLAG_UNLOCK) ? NT_STATUS_RANGE_NOT_LOCKED
								     : NT_STATUS_LOCK_NOT_GRANTED;
			return 0;
		}
	}
	uint8_t *p = smb2_buf_extend(r->out, 4);
	if (!p)
		return -ENOMEM;
	smb2_put16(p, 4);
	return 0;
}
