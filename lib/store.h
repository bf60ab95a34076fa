/*
 * store.h - the central policy store (SQLite).
 *
 * Holds immutable policy versions (canonical XML, content hash, author,
 * time, comment), the group tree ("/" always exists; paths like
 * "/paris/fileservers"), hosts in groups, links (policy -> group, order,
 * enforced, disabled) and block-inheritance per group.
 *
 * Invariants: WAL mode, foreign keys on; every public function that changes
 * anything does so in exactly one transaction, so a failure changes nothing;
 * the schema version is PRAGMA user_version and store_open() migrates older
 * schemas forward in one transaction.  Versions are never modified or
 * deleted; rollback adds a new version with the old content.
 *
 * Errors: -ENOENT (no such policy/group/host/version), -EEXIST (already
 * there), -ENOTEMPTY (group has children, hosts or links), -EINVAL (bad
 * path/name; removing "/"; a database that is not a smbpolicy store),
 * -EBUSY (another writer held the lock past the busy timeout),
 * -EPROTONOSUPPORT (the store was made by a newer smbpolicy), -EIO (other
 * SQLite error).  store_errmsg() says what failed.
 *
 * Names: a group path is "/" or "/" followed by components separated by
 * "/", each 1..64 of [A-Za-z0-9._-] and not "." or ".."; no empty component,
 * no trailing slash, at most STORE_PATH_MAX bytes.  A host name is an IP
 * address, NetBIOS name or FQDN: 1..253 of [A-Za-z0-9._:-], starting with a
 * letter, digit or ':' and not ending in '.'; host names compare without
 * case.  Link orders are >= 0; adding a link at an order that is taken moves
 * that link and the ones after it down by one (as GPMC does).
 */
#pragma once

#include <stdint.h>

#include "policy.h"

typedef struct Store Store;

int store_open(const char *path, Store **ret);
void store_close(Store *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Store *, store_close)
const char *store_errmsg(Store *s);

#define STORE_PATH_MAX 1024
bool store_group_path_is_valid(const char *path);
bool store_host_name_is_valid(const char *name);

/* Batch: one transaction (BEGIN IMMEDIATE) around many calls, e.g. to build
 * a large tree fast.  Inside it each call is still atomic on its own (a
 * savepoint); nothing is visible to others, or durable, before
 * store_batch_commit().  -EBUSY when a batch or snapshot is already open. */
int store_batch_begin(Store *s);
int store_batch_commit(Store *s);
void store_batch_rollback(Store *s);
/* Snapshot: a read transaction, so several reads see one state of the
 * store (rsop uses it).  Only reads may happen inside. */
int store_snapshot_begin(Store *s);
void store_snapshot_end(Store *s);

typedef struct StoreVersion {
	char *policy;
	unsigned version;
	char hash[65];
	char *author;
	char *comment;
	unsigned long long created_usec;
} StoreVersion;
void store_version_clear(StoreVersion *v);

/* Store a parsed policy as its next version.  When the latest version has
 * the same hash nothing is written and *ret_created is false. */
int store_import(Store *s, const Policy *p, const char *author, const char *comment,
		 unsigned *ret_version, bool *ret_created);
/* Canonical XML of a version (0 = latest). */
int store_policy_xml(Store *s, const char *policy, unsigned version, char **ret_xml,
		     StoreVersion *ret_info);
/* Latest version of every policy, ordered by name. */
int store_policy_list(Store *s, StoreVersion **ret, size_t *ret_n);
int store_policy_history(Store *s, const char *policy, StoreVersion **ret, size_t *ret_n);
/* New version whose content is that of version v. */
int store_policy_rollback(Store *s, const char *policy, unsigned v, const char *author,
			  unsigned *ret_version);
void store_versions_free(StoreVersion *v, size_t n);

typedef struct StoreGroup {
	char *path;
	bool block_inheritance;
} StoreGroup;
int store_group_add(Store *s, const char *path); /* parent must exist */
int store_group_rm(Store *s, const char *path);
int store_group_list(Store *s, StoreGroup **ret, size_t *ret_n);
int store_group_block_inheritance(Store *s, const char *path, bool on);
void store_groups_free(StoreGroup *g, size_t n);

typedef struct StoreHost {
	char *name;
	char *group;
} StoreHost;
int store_host_add(Store *s, const char *name, const char *group);
int store_host_move(Store *s, const char *name, const char *group);
int store_host_rm(Store *s, const char *name);
int store_host_list(Store *s, StoreHost **ret, size_t *ret_n);
/* ret_group may be NULL to test that the host exists. */
int store_host_group(Store *s, const char *name, char **ret_group);
/* Call cb for every host without building a list; the hosts of one group
 * come one after another.  The strings are valid during the call only.  A
 * negative return of cb stops the walk and is returned.  cb may call other
 * store functions, but not walk the hosts again (-EBUSY). */
typedef int (*StoreHostFunc)(const char *name, const char *group, void *userdata);
int store_host_foreach(Store *s, StoreHostFunc cb, void *userdata);
void store_hosts_free(StoreHost *h, size_t n);

typedef struct StoreLink {
	char *policy;
	char *group;
	int order; /* lower wins within a group */
	bool enforced;
	bool disabled;
} StoreLink;
/* order < 0: after the group's last link. */
int store_link_add(Store *s, const char *policy, const char *group, int order, bool enforced,
		   bool disabled);
int store_link_rm(Store *s, const char *policy, const char *group);
/* group NULL: all links. Ordered by group path then order. */
int store_link_list(Store *s, const char *group, StoreLink **ret, size_t *ret_n);
void store_links_free(StoreLink *l, size_t n);

/* For rsop and bench: the underlying handle. */
struct sqlite3 *store_db(Store *s);
