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
 * path/name), -EIO (SQLite error; store_errmsg() says which).
 */
#pragma once

#include <stdint.h>

#include "policy.h"

typedef struct Store Store;

int store_open(const char *path, Store **ret);
void store_close(Store *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Store *, store_close)
const char *store_errmsg(Store *s);

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
int store_host_group(Store *s, const char *name, char **ret_group);
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
