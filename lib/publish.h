/*
 * publish.h - `smbpolicy publish`: one signed bundle per group of the
 * store, plus a signed index, in a directory any web server can serve.
 *
 * Layout of the publishing directory DIR:
 *     DIR/index.bundle              type index: one row per published group
 *                                   "GROUP SERIAL EXPIRES PAYLOAD-SHA256 FILE"
 *     DIR/groups/@paris@fs.bundle   type policy: the group's resultant policy
 *                                   (bundle_group_file() names it)
 * A host's agent follows the URL of its group's bundle.
 *
 * Serials: one counter per directory, kept in the index; a run that changes
 * anything uses max(index serial + 1, now in seconds), so serials grow even
 * when DIR is lost and rebuilt, and every bundle it rewrites carries it.
 * A bundle is rewritten only when its policy changed, the signing key
 * changed, its file is missing, or less than half of its lifetime is left;
 * otherwise its file (and so the web server's ETag) stays untouched, and a
 * run that changes nothing writes nothing at all.
 *
 * Invariants: every file appears complete or not at all (temp + rename);
 * one publisher at a time per directory (flock on it); a group whose
 * resultant policy breaks a catalog constraint (or whose path is too long
 * for a file name) keeps its previous bundle and is reported in diag.  Must never: lower a serial, or
 * write outside DIR.
 */
#pragma once

#include "keys.h"
#include "rsop.h"

#define PUBLISH_INDEX_FILE "index.bundle"
#define PUBLISH_DEFAULT_LIFETIME_SEC (7u * 24u * 3600u)

typedef struct PublishOptions {
	const char *dir;
	const Key *key;
	uint64_t lifetime_sec; /* > 0 */
	char *const *groups;   /* strv of group paths; NULL = every group */
	uint64_t now;          /* seconds since the epoch; 0 = the clock */
} PublishOptions;

typedef struct PublishResult {
	uint64_t serial; /* the index's serial after the run */
	size_t groups;   /* groups considered */
	size_t written, unchanged, removed, failed;
} PublishResult;

/* Returns 0 (some groups may have failed: res->failed, diag), or -errno:
 * -ENOENT a --groups entry is not in the store, -EBADMSG the existing index
 * is damaged (remove it to start over), -EBUSY another publish into the
 * same directory is running, -EKEYREJECTED --groups with another key than
 * the index's (a key change re-signs every group), store and I/O errors. */
int publish_run(Store *s, const Catalog *c, const PublishOptions *o, PublishResult *res,
		DiagList *diag);
