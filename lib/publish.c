/*
 * publish.c - writes a publishing directory (layout in publish.h): resolve
 * each group once (RsopCache), compare with the previous index, sign and
 * write only what changed, then the index.
 *
 * Durability: changed bundles are written as temp files, made durable by
 * one syncfs(), then renamed, then the directory is synced once.  This is
 * write_file_atomic()'s guarantee (old or new content, never a mix) for a
 * batch: an fsync pair per file costs 0.5-6 ms here depending on the disk's
 * other load (bench_publish), up to 6 s for 1,000 groups.  The index is written last (write_file_atomic), so it never names
 * a bundle newer than what is on disk.
 *
 * Must never: rename a temp file before it is durable, or delete a bundle
 * before the index that no longer names it is in place.
 */
#include "publish.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "bundle.h"
#include "digest.h"
#include "strbuf.h"

typedef struct IndexRow {
	char *group;
	uint64_t serial, expires;
	char sha[65];
	char *file;
	char *data; /* new bundle text to write (NULL: unchanged) */
	size_t len;
} IndexRow;

typedef struct Index {
	IndexRow *rows;
	size_t n;
	uint64_t serial, expires;
	char key_id[KEY_ID_LEN + 1];
} Index;

static void index_clear(Index *x) {
	for (size_t i = 0; i < x->n; i++) {
		free(x->rows[i].group);
		free(x->rows[i].file);
		free(x->rows[i].data);
	}
	free(x->rows);
	*x = (Index){};
}

static IndexRow *index_add(Index *x) {
	IndexRow *n = realloc(x->rows, (x->n + 1) * sizeof(IndexRow));
	if (!n)
		return NULL;
	x->rows = n;
	n[x->n] = (IndexRow){};
	return &n[x->n++];
}

/* Keep a previous row as it is (its file stays untouched). */
static int index_carry(Index *x, const IndexRow *old) {
	IndexRow *row = index_add(x);
	if (!row || !(row->group = strdup(old->group)) || !(row->file = strdup(old->file)))
		return -ENOMEM;
	row->serial = old->serial;
	row->expires = old->expires;
	memcpy(row->sha, old->sha, sizeof(row->sha));
	return 0;
}

static int row_compare(const void *a, const void *b) {
	return strcmp(((const IndexRow *)a)->group, ((const IndexRow *)b)->group);
}

static IndexRow *index_find(const Index *x, const char *group) {
	IndexRow key = { .group = (char *)group };
	return x->n ? bsearch(&key, x->rows, x->n, sizeof(IndexRow), row_compare) : NULL;
}

/* One payload line: "GROUP SERIAL EXPIRES SHA256 FILE". */
static int index_parse_row(Index *x, char *line) {
	char *f[5], *save = NULL;
	size_t n = 0;
	for (char *t = strtok_r(line, " ", &save); t; t = strtok_r(NULL, " ", &save))
		if (n < ELEMENTSOF(f))
			f[n++] = t;
		else
			return -EBADMSG;
	long long serial;
	uint64_t expires;
	if (n != 5 || !store_group_path_is_valid(f[0]) || parse_int64(f[1], &serial) < 0 ||
	    serial <= 0 || bundle_parse_time(f[2], &expires) < 0 || strlen(f[3]) != 64)
		return -EBADMSG;
	_cleanup_free_ char *file = bundle_group_file(f[0]);
	if (!file)
		return -ENOMEM;
	if (!streq(file, f[4]))
		return -EBADMSG;
	IndexRow *r = index_add(x);
	if (!r || !(r->group = strdup(f[0])))
		return -ENOMEM;
	r->serial = (uint64_t)serial;
	r->expires = expires;
	memcpy(r->sha, f[3], 65);
	r->file = TAKE_PTR(file);
	return 0;
}

/* The previous index of dir (an empty one when there is none). */
static int index_read(const char *dir, Index *ret) {
	_cleanup_free_ char *path = strdup_printf("%s/%s", dir, PUBLISH_INDEX_FILE);
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = path ? read_file(path, BUNDLE_MAX_BYTES, &text, &len) : -ENOMEM;
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	_cleanup_(bundle_freep) Bundle *b = NULL;
	if (bundle_parse(text, len, &b) < 0 || b->type != BUNDLE_INDEX)
		return -EBADMSG;
	Index x = { .serial = b->serial, .expires = b->expires };
	memcpy(x.key_id, b->key_id, sizeof(x.key_id));
	char *save = NULL;
	for (char *l = strtok_r(b->payload, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if ((r = index_parse_row(&x, l)) < 0) {
			index_clear(&x);
			return r;
		}
	qsort(x.rows, x.n, sizeof(IndexRow), row_compare);
	*ret = x;
	return 0;
}

static int index_write(const char *dir, const Index *x, const Key *k, uint64_t now,
		       uint64_t lifetime) {
	_cleanup_(strbuf_free) StrBuf p = {};
	for (size_t i = 0; i < x->n; i++) {
		char exp[32];
		format_rfc3339(x->rows[i].expires * 1000000ULL, exp, sizeof(exp));
		strbuf_printf(&p, "%s %llu %s %s %s\n", x->rows[i].group,
			      (unsigned long long)x->rows[i].serial, exp, x->rows[i].sha,
			      x->rows[i].file);
	}
	if (p.failed)
		return -ENOMEM;
	Bundle b = { .type = BUNDLE_INDEX, .serial = x->serial, .created = now,
		     .expires = now + lifetime, .payload = p.data ? p.data : "",
		     .payload_len = p.len };
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = bundle_sign(&b, k, &text, &len);
	if (r < 0)
		return r;
	_cleanup_free_ char *path = strdup_printf("%s/%s", dir, PUBLISH_INDEX_FILE);
	return path ? write_file_atomic(path, text, len, 0644) : -ENOMEM;
}

/* Temp names per row; NULL holes, so not a strv. */
typedef struct TempNames {
	char **names;
	size_t n;
} TempNames;

static void temp_names_free(TempNames *t) {
	for (size_t i = 0; t->names && i < t->n; i++)
		free(t->names[i]);
	free(t->names);
}

/* Give the new file (fd) an mtime past the one of the file it replaces.
 * Web servers derive ETags from mtime (whole seconds) and size (nginx:
 * "mtime-size"); two versions of a bundle written in the same second with
 * the same size would otherwise share an ETag and agents would be told
 * "304 Not Modified" about the newer one. */
static int newer_mtime(int dirfd, const char *old_file, int fd) {
	struct stat old, cur;
	if (fstatat(dirfd, old_file, &old, 0) < 0 || fstat(fd, &cur) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (cur.st_mtim.tv_sec > old.st_mtim.tv_sec)
		return 0;
	struct timespec t[2] = { { .tv_nsec = UTIME_OMIT },
				 { .tv_sec = old.st_mtim.tv_sec + 1, .tv_nsec = 0 } };
	return futimens(fd, t) < 0 ? -errno : 0;
}

/* Write every row's pending data (see Durability above). */
static int write_batch(int dirfd, Index *x) {
	_cleanup_(temp_names_free) TempNames tn = { calloc(x->n + 1, sizeof(char *)), x->n };
	char **tmps = tn.names;
	if (!tmps)
		return -ENOMEM;
	int r = 0;
	for (size_t i = 0; i < x->n && r >= 0; i++) {
		if (!x->rows[i].data)
			continue;
		tmps[i] = strdup_printf("%s.tmp-%d", x->rows[i].file, (int)getpid());
		if (!tmps[i]) {
			r = -ENOMEM;
			break;
		}
		_cleanup_close_ int fd = openat(dirfd, tmps[i],
						O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			r = -errno;
			free(tmps[i]);
			tmps[i] = NULL;
			break;
		}
		for (size_t off = 0; off < x->rows[i].len;) {
			ssize_t n = write(fd, x->rows[i].data + off, x->rows[i].len - off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				r = -errno;
				break;
			}
			off += (size_t)n;
		}
		if (r >= 0)
			r = newer_mtime(dirfd, x->rows[i].file, fd);
	}
	if (r >= 0 && syncfs(dirfd) < 0)
		r = -errno;
	for (size_t i = 0; i < x->n; i++) {
		if (!tmps[i])
			continue;
		if (r >= 0 && renameat(dirfd, tmps[i], dirfd, x->rows[i].file) < 0)
			r = -errno;
		if (r < 0)
			(void)unlinkat(dirfd, tmps[i], 0);
	}
	if (r < 0)
		return r;
	_cleanup_close_ int gfd = openat(dirfd, "groups", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (gfd < 0 || fsync(gfd) < 0)
		return -errno;
	return 0;
}

static int ensure_dir(int dirfd, const char *name) {
	if (mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static bool file_exists(int dirfd, const char *file) {
	struct stat st;
	return fstatat(dirfd, file, &st, 0) == 0 && S_ISREG(st.st_mode);
}

/* Decide and prepare one group's row in next (from prev's row, or a newly
 * signed bundle).  Returns 1 when written anew, 0 unchanged, -errno. */
static int publish_group(RsopCache *cache, int dirfd, const PublishOptions *o, uint64_t now,
			 uint64_t serial, bool same_key, const IndexRow *old, const char *group,
			 Index *next, DiagList *diag) {
	_cleanup_free_ char *file = bundle_group_file(group);
	if (!file)
		return -ENOMEM;
	if (strlen(file) - strlen("groups/") > NAME_MAX) {
		diag_add(diag, NULL, 0, NULL, "group %s: path too long for a bundle file name", group);
		return -EINVAL;
	}
	const Rsop *rsop;
	int r = rsop_cache_group(cache, group, &rsop, diag);
	if (r < 0)
		return r;
	_cleanup_free_ char *xml = NULL;
	if ((r = rsop_to_policy_xml(rsop, &xml)) < 0)
		return r;
	Bundle b = { .type = BUNDLE_POLICY, .group = (char *)group, .serial = serial,
		     .created = now, .expires = now + o->lifetime_sec, .payload = xml,
		     .payload_len = strlen(xml) };
	char sha[DIGEST_SHA256_HEX_LEN + 1];
	digest_sha256_hex(xml, b.payload_len, sha);
	if (old && same_key && streq(old->sha, sha) && old->expires > now + o->lifetime_sec / 2 &&
	    file_exists(dirfd, old->file))
		return index_carry(next, old);
	IndexRow *row = index_add(next);
	if (!row || !(row->group = strdup(group)))
		return -ENOMEM;
	row->file = TAKE_PTR(file);
	if ((r = bundle_sign(&b, o->key, &row->data, &row->len)) < 0)
		return r;
	row->serial = serial;
	row->expires = b.expires;
	memcpy(row->sha, sha, sizeof(sha));
	return 1;
}

static void index_clearp(Index *x) {
	index_clear(x);
}

int publish_run(Store *s, const Catalog *c, const PublishOptions *o, PublishResult *res,
		DiagList *diag) {
	*res = (PublishResult){};
	uint64_t now = o->now ? o->now : now_usec() / 1000000ULL;
	if (mkdir(o->dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	_cleanup_close_ int dirfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	/* One publisher at a time per directory (the lock goes with dirfd). */
	if (flock(dirfd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? -EBUSY : -errno;
	int r = ensure_dir(dirfd, "groups");
	if (r < 0)
		return r;
	_cleanup_(index_clearp) Index prev = {}, next = {};
	if ((r = index_read(o->dir, &prev)) < 0)
		return r;
	uint64_t serial = prev.serial + 1 > now ? prev.serial + 1 : now;
	bool same_key = streq(prev.key_id, key_id(o->key));
	/* A new key must re-sign every bundle: the index records one key. */
	if (o->groups && prev.n > 0 && !same_key) {
		diag_add(diag, NULL, 0, NULL,
			 "%s/%s was signed with key %s, not %s: publish every group (no --group) "
			 "to re-sign them all with the new key",
			 o->dir, PUBLISH_INDEX_FILE, prev.key_id, key_id(o->key));
		return -EKEYREJECTED;
	}

	StoreGroup *groups = NULL;
	size_t n_groups = 0;
	if ((r = store_group_list(s, &groups, &n_groups)) < 0)
		return r;
	_cleanup_strv_free_ char **wanted = calloc(1, sizeof(char *));
	for (size_t i = 0; wanted && i < n_groups; i++)
		if (!o->groups || strv_contains(o->groups, groups[i].path))
			if (strv_push_dup(&wanted, groups[i].path) < 0)
				break;
	store_groups_free(groups, n_groups);
	if (!wanted)
		return -ENOMEM;
	STRV_FOREACH(g, o->groups)
		if (!strv_contains(wanted, *g)) {
			diag_add(diag, NULL, 0, NULL, "group %s: no such group", *g);
			return -ENOENT;
		}

	if ((r = store_snapshot_begin(s)) < 0)
		return r;
	_cleanup_(rsop_cache_freep) RsopCache *cache = NULL;
	r = rsop_cache_new(s, c, &cache);
	STRV_FOREACH(g, wanted) {
		if (r < 0)
			break;
		res->groups++;
		const IndexRow *old = index_find(&prev, *g);
		int k = publish_group(cache, dirfd, o, now, serial, same_key, old, *g, &next, diag);
		if (k == -EINVAL) {
			/* The constraint problem is in diag; keep the last bundle. */
			res->failed++;
			if (old)
				r = index_carry(&next, old);
		} else if (k < 0)
			r = k;
		else
			k ? res->written++ : res->unchanged++;
	}
	store_snapshot_end(s);
	if (r < 0)
		return r;

	/* A partial publish carries the other groups' rows over; a full one
	 * drops groups that are gone. */
	for (size_t i = 0; i < prev.n; i++) {
		if (strv_contains(wanted, prev.rows[i].group))
			continue;
		if (!o->groups)
			res->removed++;
		else if ((r = index_carry(&next, &prev.rows[i])) < 0)
			return r;
	}
	qsort(next.rows, next.n, sizeof(IndexRow), row_compare);

	bool index_fresh = prev.expires > now + o->lifetime_sec / 2;
	if (res->written == 0 && res->removed == 0 && same_key && index_fresh) {
		res->serial = prev.serial;
		return 0;
	}
	if ((r = write_batch(dirfd, &next)) < 0)
		return r;
	next.serial = serial;
	if ((r = index_write(o->dir, &next, o->key, now, o->lifetime_sec)) < 0)
		return r;
	res->serial = serial;
	for (size_t i = 0; i < prev.n; i++)
		if (!index_find(&next, prev.rows[i].group))
			(void)unlinkat(dirfd, prev.rows[i].file, 0);
	return 0;
}
