/*
 * util.c - implementation of the shared helpers declared in util.h.
 *
 * Invariant: write_file_atomic never leaves a partially written file at the
 * destination path; its temp file is removed on every failure path.
 */
#include "util.h"

#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>

size_t strv_length(char *const *l) {
	size_t n = 0;
	while (l && l[n])
		n++;
	return n;
}

void strv_free(char **l) {
	for (size_t i = 0; l && l[i]; i++)
		free(l[i]);
	free(l);
}

int strv_push(char ***l, char *s) {
	if (!s)
		return -ENOMEM;
	size_t n = strv_length(*l);
	char **nl = realloc(*l, (n + 2) * sizeof(char *));
	if (!nl) {
		free(s);
		return -ENOMEM;
	}
	nl[n] = s;
	nl[n + 1] = NULL;
	*l = nl;
	return 0;
}

int strv_push_dup(char ***l, const char *s) {
	return strv_push(l, strdup(s));
}

char **strv_copy(char *const *l) {
	char **r = calloc(1, sizeof(char *));
	if (!r)
		return NULL;
	STRV_FOREACH(s, l)
		if (strv_push_dup(&r, *s) < 0) {
			strv_free(r);
			return NULL;
		}
	return r;
}

bool strv_contains(char *const *l, const char *s) {
	STRV_FOREACH(i, l)
		if (streq(*i, s))
			return true;
	return false;
}

bool strv_equal(char *const *a, char *const *b) {
	size_t n = strv_length(a);
	if (n != strv_length(b))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!streq(a[i], b[i]))
			return false;
	return true;
}

char *strv_join(char *const *l, const char *sep) {
	size_t len = 1, seplen = strlen(sep);
	STRV_FOREACH(s, l)
		len += strlen(*s) + seplen;
	char *r = malloc(len), *p = r;
	if (!r)
		return NULL;
	*p = 0;
	STRV_FOREACH(s, l) {
		if (s != l)
			p = stpcpy(p, sep);
		p = stpcpy(p, *s);
	}
	return r;
}

static int fsync_parent(const char *path) {
	_cleanup_free_ char *copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	_cleanup_close_ int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	return fsync(dfd) < 0 ? -errno : 0;
}

static int write_all(int fd, const void *data, size_t len) {
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int write_file_atomic(const char *path, const void *data, size_t len, unsigned mode) {
	struct stat st;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		/* /dev/null, a FIFO, a terminal: written in place, never renamed
		 * over (a temp file would replace the device node) */
		if (S_ISDIR(st.st_mode))
			return -EISDIR;
		_cleanup_close_ int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
		return fd < 0 ? -errno : write_all(fd, data, len);
	}
	_cleanup_free_ char *tmp = strdup_printf("%s.smbpolicy-tmp.XXXXXX", path);
	if (!tmp)
		return -ENOMEM;
	_cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = write_all(fd, data, len);
	if (r == 0 && (fchmod(fd, mode) < 0 || fsync(fd) < 0 || rename(tmp, path) < 0))
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	return fsync_parent(path);
}

int read_file(const char *path, size_t max, char **ret, size_t *ret_len) {
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	if ((size_t)st.st_size > max)
		return -EFBIG;
	/* At least a page at once: procfs and sysfs files report size 0, and a
	 * sysctl answers only the first read (a later one at a non-zero offset
	 * sees end of file), so one-byte steps would return one byte. */
	size_t cap = (size_t)st.st_size + 1, len = 0;
	if (cap < 4096)
		cap = max + 1 < 4096 ? max + 1 : 4096;
	_cleanup_free_ char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (len + 1 >= cap) {
			if (cap > max + 1)
				return -EFBIG;
			char *nb = realloc(buf, cap * 2);
			if (!nb)
				return -ENOMEM;
			buf = nb;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max)
			return -EFBIG;
	}
	buf[len] = 0;
	*ret = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = len;
	return 0;
}

void hex_encode(const unsigned char *in, size_t n, char *out) {
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = 0;
}

int parse_int64(const char *s, long long *ret) {
	if (!s || !*s)
		return -EINVAL;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end || end == s)
		return -EINVAL;
	*ret = v;
	return 0;
}

char *strdup_printf(const char *fmt, ...) {
	va_list ap;
	char *r;
	va_start(ap, fmt);
	int n = vasprintf(&r, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : r;
}

const char *lookup_dir(const char *env_name, const char *in_tree, const char *installed) {
	const char *e = getenv(env_name);
	if (e && *e)
		return e;
	struct stat st;
	if (stat(in_tree, &st) == 0 && S_ISDIR(st.st_mode))
		return in_tree;
	return installed;
}

static unsigned long long clock_usec(clockid_t id) {
	struct timespec ts;
	clock_gettime(id, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL;
}

unsigned long long now_usec(void) { return clock_usec(CLOCK_REALTIME); }
unsigned long long now_mono_usec(void) { return clock_usec(CLOCK_MONOTONIC); }

int host_or_local(const char *host, char *buf, size_t size, const char **ret) {
	if (!host) {
		if (gethostname(buf, size - 1) < 0)
			return -errno;
		buf[size - 1] = 0;
		host = buf;
	}
	*ret = host;
	return 0;
}

const char *format_rfc3339(unsigned long long usec, char *buf, size_t len) {
	time_t t = (time_t)(usec / 1000000ULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}
