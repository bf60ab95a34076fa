/*
 * users.h - the users file of smbrefd (`--users FILE`).
 *
 * Format, one entry a line:
 *     user:password          password in clear (UTF-8, may contain ':')
 *     user:nt:<32 hex>       the NT hash (MD4 of UTF-16LE password) instead
 * Blank lines and lines starting with '#' (after optional blanks) are
 * ignored.  User names are non-empty, without ':' or control characters,
 * and unique (compared ASCII case-insensitively, as Windows does).
 *
 * Invariants: only NT hashes are kept; every plaintext password is hashed
 * as soon as its line is read and its copy wiped (the file buffer too).
 * Errors are collected in a DiagList with file name and line number; a
 * file with any error yields no Users at all.
 *
 * Never: print a password or hash in a diagnostic (only line numbers and
 * user names).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "ntlm.h"

typedef struct Users Users;

/* Parse text (len bytes, need not be NUL-terminated; it is wiped when
 * wipe is true).  file names the source in diagnostics.  Returns 0,
 * -EINVAL (errors added to diags, which may be NULL), -ENOMEM. */
int users_parse(char *text, size_t len, bool wipe, const char *file, DiagList *diags,
		Users **ret);
/* Read and parse path (at most 16 MiB).  Returns 0, -EINVAL (diags),
 * -errno of reading, -ENOMEM. */
int users_load(const char *path, DiagList *diags, Users **ret);
void users_free(Users *u);
static inline void users_freep(Users **u) { users_free(*u); }

size_t users_count(const Users *u);

/* NT hash of name.  Returns 0 or -ENOENT. */
int users_lookup(const Users *u, const char *name, uint8_t nt_hash[NTLM_HASH_SIZE]);

/* NtlmLookupFn adapter: userdata is a const Users *; domain is ignored. */
int users_ntlm_lookup(void *userdata, const char *user, const char *domain,
		      uint8_t nt_hash[NTLM_HASH_SIZE]);
