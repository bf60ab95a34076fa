/*
 * users.c - parse smbrefd's users file into NT hashes (see users.h).
 *
 * Invariants: a Users holds only names and NT hashes, sorted by name
 * (ASCII case-insensitive) for bsearch; a clear password exists only in
 * the caller's text buffer, which is wiped when asked, and in the
 * temporaries of ntlm_nt_hash(), which wipes them.  Parsing is
 * all-or-nothing: any error line means no Users.
 *
 * Never: put a password or hash into a diagnostic or a log line.
 */
#include "users.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "util.h"

#define USERS_FILE_MAX (16u << 20)
#define USER_NAME_MAX 256
#define NT_PREFIX "nt:"

typedef struct UserEntry {
	char *name;
	uint8_t nt_hash[NTLM_HASH_SIZE];
	unsigned line;
} UserEntry;

struct Users {
	UserEntry *entries;
	size_t n;
};

void users_free(Users *u) {
	if (!u)
		return;
	for (size_t i = 0; i < u->n; i++)
		free(u->entries[i].name);
	if (u->entries)
		OPENSSL_cleanse(u->entries, u->n * sizeof *u->entries);
	free(u->entries);
	free(u);
}

size_t users_count(const Users *u) {
	return u ? u->n : 0;
}

static int parse_hex_hash(const char *s, size_t len, uint8_t out[NTLM_HASH_SIZE]) {
	if (len != 2 * NTLM_HASH_SIZE)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if (!isxdigit((unsigned char)s[i]))
			return -EINVAL;
	for (size_t i = 0; i < NTLM_HASH_SIZE; i++) {
		char pair[3] = { s[2 * i], s[2 * i + 1], 0 };
		out[i] = (uint8_t)strtoul(pair, NULL, 16);
	}
	return 0;
}

static bool name_valid(const char *s, size_t len) {
	if (len == 0 || len > USER_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* One non-comment line without its leading blanks (NUL-terminated, no
 * newline).  Returns 0 with the
 * entry filled, or -EINVAL/-ENOMEM with *why set for the diagnostic. */
static int parse_line(const char *line, UserEntry *e, const char **why) {
	const char *colon = strchr(line, ':');
	if (!colon) {
		*why = "expected user:password or user:nt:<32 hex digits>";
		return -EINVAL;
	}
	size_t name_len = (size_t)(colon - line);
	if (!name_valid(line, name_len)) {
		*why = "invalid user name (empty, too long or control characters)";
		return -EINVAL;
	}
	const char *secret = colon + 1;
	int r;
	if (startswith(secret, NT_PREFIX)) {
		const char *hex = secret + strlen(NT_PREFIX);
		r = parse_hex_hash(hex, strlen(hex), e->nt_hash);
		if (r < 0) {
			*why = "NT hash must be 32 hex digits";
			return r;
		}
	} else {
		if (!*secret) {
			*why = "empty password";
			return -EINVAL;
		}
		r = ntlm_nt_hash(secret, e->nt_hash);
		if (r < 0) {
			*why = r == -EINVAL ? "password is not valid UTF-8" : "out of memory";
			return r;
		}
	}
	e->name = strndup(line, name_len);
	if (!e->name) {
		*why = "out of memory";
		return -ENOMEM;
	}
	return 0;
}

static int entry_cmp(const void *a, const void *b) {
	return strcasecmp(((const UserEntry *)a)->name, ((const UserEntry *)b)->name);
}

int users_parse(char *text, size_t len, bool wipe, const char *file, DiagList *diags,
		Users **ret) {
	if (!text || !ret)
		return -EINVAL;
	Users *u = calloc(1, sizeof *u);
	if (!u)
		return -ENOMEM;
	int r = 0;
	bool bad = false;
	size_t cap = 0;
	unsigned lineno = 0;
	/* Copy each line into its own buffer so text need not be terminated;
	 * the copy is wiped like the text. */
	for (size_t pos = 0; pos < len && r != -ENOMEM;) {
		size_t end = pos;
		while (end < len && text[end] != '\n')
			end++;
		size_t n = end - pos;
		if (n > 0 && text[pos + n - 1] == '\r')
			n--;
		lineno++;
		/* n + 1 bytes whatever the content: the line is wiped over its
		 * full length below, NUL bytes included */
		char *line = malloc(n + 1);
		if (!line) {
			r = -ENOMEM;
			break;
		}
		memcpy(line, text + pos, n);
		line[n] = 0;
		pos = end + 1;
		if (memchr(line, 0, n)) {
			diag_add(diags, file, lineno, NULL, "NUL byte in line");
			bad = true;
		} else {
			const char *p = line;
			while (*p == ' ' || *p == '\t')
				p++;
			if (*p && *p != '#') {
				UserEntry e = { .line = lineno };
				const char *why = NULL;
				int k = parse_line(p, &e, &why);
				if (k == -ENOMEM)
					r = k;
				else if (k < 0) {
					diag_add(diags, file, lineno, NULL, "%s", why);
					bad = true;
				} else {
					if (u->n == cap) {
						size_t ncap = cap ? cap * 2 : 16;
						UserEntry *ne = realloc(u->entries, ncap * sizeof *ne);
						if (!ne) {
							free(e.name);
							r = -ENOMEM;
						} else {
							u->entries = ne;
							cap = ncap;
						}
					}
					if (r >= 0)
						u->entries[u->n++] = e;
				}
			}
		}
		OPENSSL_cleanse(line, n);
		free(line);
	}
	if (wipe)
		OPENSSL_cleanse(text, len);
	if (r >= 0 && u->n > 1) {
		qsort(u->entries, u->n, sizeof *u->entries, entry_cmp);
		for (size_t i = 1; i < u->n; i++)
			if (entry_cmp(&u->entries[i - 1], &u->entries[i]) == 0) {
				const UserEntry *a = &u->entries[i - 1], *b = &u->entries[i];
				const UserEntry *later = a->line > b->line ? a : b;
				diag_add(diags, file, later->line, NULL,
					 "duplicate user '%s' (first on line %u)", later->name,
					 a->line > b->line ? b->line : a->line);
				bad = true;
			}
	}
	if (r >= 0 && bad)
		r = -EINVAL;
	if (r < 0) {
		users_free(u);
		return r;
	}
	*ret = u;
	return 0;
}

int users_load(const char *path, DiagList *diags, Users **ret) {
	if (!path || !ret)
		return -EINVAL;
	char *text = NULL;
	size_t len = 0;
	int r = read_file(path, USERS_FILE_MAX, &text, &len);
	if (r < 0)
		return r;
	r = users_parse(text, len, true, path, diags, ret);
	free(text);
	return r;
}

int users_lookup(const Users *u, const char *name, uint8_t nt_hash[NTLM_HASH_SIZE]) {
	if (!u || !name)
		return -ENOENT;
	UserEntry key = { .name = (char *)name };
	const UserEntry *e = u->n ? bsearch(&key, u->entries, u->n, sizeof key, entry_cmp) : NULL;
	if (!e)
		return -ENOENT;
	memcpy(nt_hash, e->nt_hash, NTLM_HASH_SIZE);
	return 0;
}

int users_ntlm_lookup(void *userdata, const char *user, const char *domain,
		      uint8_t nt_hash[NTLM_HASH_SIZE]) {
	(void)domain;
	return users_lookup(userdata, user, nt_hash);
}
