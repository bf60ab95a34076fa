/*
 * util.h - small shared helpers for every part of smbpolicy.
 *
 * Purpose: resource cleanup attributes in the style of systemd
 * (_cleanup_free_, _cleanup_close_, ...), ownership hand-off (TAKE_PTR),
 * NULL-terminated string vectors ("strv"), and the one atomic file writer
 * every component uses.
 *
 * Invariants: every helper here is safe on NULL / -1 input; none logs; all
 * fallible functions return 0 (or a positive count) on success and -errno on
 * failure.  Nothing here may depend on libxml2, SQLite or OpenSSL so that the
 * endpoint and fuzzers can link it alone.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _warn_unused_ __attribute__((warn_unused_result))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* Hand ownership of *ptr to the caller and leave NULL behind, so the
 * variable's cleanup attribute does not free it. */
#define TAKE_PTR(ptr)                          \
	({                                     \
		__typeof__(ptr) _p_ = (ptr);   \
		(ptr) = NULL;                  \
		_p_;                           \
	})
#define TAKE_FD(fd)                    \
	({                             \
		int _fd_ = (fd);       \
		(fd) = -1;             \
		_fd_;                  \
	})

static inline void freep(void *p) { free(*(void **)p); }
static inline void closep(int *fd) { if (*fd >= 0) close(*fd); }
static inline void fclosep(FILE **f) { if (*f) fclose(*f); }

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Declare "static inline void NAMEp(TYPE **p)" calling FUNC(*p) when set. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)           \
	static inline void func##p(type *p) {             \
		if (*p)                                   \
			func(*p);                         \
	}

static inline bool streq(const char *a, const char *b) { return strcmp(a, b) == 0; }
static inline bool streq_ptr(const char *a, const char *b) {
	return a == b || (a && b && strcmp(a, b) == 0);
}
static inline bool startswith(const char *s, const char *prefix) {
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* strv: NULL-terminated vector of malloc'd strings. */
size_t strv_length(char *const *l);
void strv_free(char **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free)
#define _cleanup_strv_free_ _cleanup_(strv_freep)
/* Append a copy of s; returns 0 or -ENOMEM (l unchanged on failure). */
int strv_push_dup(char ***l, const char *s);
/* Take ownership of s (freed on failure). */
int strv_push(char ***l, char *s);
char **strv_copy(char *const *l);
bool strv_contains(char *const *l, const char *s);
bool strv_equal(char *const *a, char *const *b);
/* Join with separator; returns NULL on ENOMEM. */
char *strv_join(char *const *l, const char *sep);

#define STRV_FOREACH(s, l) for (char *const *s = (l); s && *s; s++)

/* Write data to path via temp file in the same directory + fsync + rename +
 * fsync of the directory.  mode applies to the new file.  Either the old or
 * the new content is at path afterwards, never a mix.  A path that exists
 * and is not a regular file (/dev/null, a FIFO) is written in place: the
 * node is never replaced; a directory is -EISDIR. */
int write_file_atomic(const char *path, const void *data, size_t len, unsigned mode);

/* Read a whole file (at most max bytes, else -EFBIG) into a NUL-terminated
 * buffer. */
int read_file(const char *path, size_t max, char **ret, size_t *ret_len);

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void hex_encode(const unsigned char *in, size_t n, char *out);

/* Parse a decimal int64 entirely; -EINVAL / -ERANGE. */
int parse_int64(const char *s, long long *ret);

/* Like asprintf but returns the string (NULL on ENOMEM). */
char *strdup_printf(const char *fmt, ...) _printf_(1, 2);

/* Where a program finds its data: $env_name when set and non-empty, else
 * in_tree when that directory exists (running from the source tree it was
 * built in), else installed.  Returns one of those strings (not a copy). */
const char *lookup_dir(const char *env_name, const char *in_tree, const char *installed);

/* Time helpers. */
unsigned long long now_usec(void);      /* CLOCK_REALTIME */
unsigned long long now_mono_usec(void); /* CLOCK_MONOTONIC */
/* Format usec since epoch as RFC 3339 UTC into buf (>= 32 bytes). */
const char *format_rfc3339(unsigned long long usec, char *buf, size_t len);

/* *ret = host, or when host is NULL this machine's name, kept in buf (size
 * bytes, always NUL-terminated).  0, or -errno from gethostname(). */
int host_or_local(const char *host, char *buf, size_t size, const char **ret);
