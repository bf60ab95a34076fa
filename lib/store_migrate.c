/*
 * store_migrate.c - the schema history of the central store, as data.
 *
 * v1: policies, immutable versions, group tree, hosts, links (the first
 *     released layout: no block inheritance, no disabled links).
 * v2: groups.block_inheritance and links.disabled.
 * v3: indexes for resolving 100k hosts (hosts by group, links by group,
 *     groups by parent).
 *
 * Invariants: see store_migrate.h.  Never edit a released step; never put
 * anything but schema DDL (and the root group row) here.
 */
#include "store_migrate.h"

#include "util.h"

const StoreMigration store_migrations[] = {
	{ 1, "policies, versions, groups, hosts, links",
	  "CREATE TABLE policies ("
	  "  id INTEGER PRIMARY KEY,"
	  "  name TEXT NOT NULL UNIQUE);"
	  "CREATE TABLE versions ("
	  "  policy INTEGER NOT NULL REFERENCES policies(id),"
	  "  version INTEGER NOT NULL CHECK (version >= 1),"
	  "  hash TEXT NOT NULL,"
	  "  xml TEXT NOT NULL,"
	  "  author TEXT,"
	  "  time INTEGER NOT NULL,"
	  "  comment TEXT,"
	  "  PRIMARY KEY (policy, version)) WITHOUT ROWID;"
	  "CREATE TRIGGER versions_no_update BEFORE UPDATE ON versions"
	  "  BEGIN SELECT RAISE(ABORT, 'policy versions are immutable'); END;"
	  "CREATE TRIGGER versions_no_delete BEFORE DELETE ON versions"
	  "  BEGIN SELECT RAISE(ABORT, 'policy versions are immutable'); END;"
	  "CREATE TABLE groups ("
	  "  id INTEGER PRIMARY KEY,"
	  "  path TEXT NOT NULL UNIQUE,"
	  "  parent INTEGER REFERENCES groups(id),"
	  "  CHECK ((path = '/') = (parent IS NULL)));"
	  "INSERT INTO groups (id, path, parent) VALUES (1, '/', NULL);"
	  "CREATE TRIGGER groups_keep_root BEFORE DELETE ON groups WHEN old.path = '/'"
	  "  BEGIN SELECT RAISE(ABORT, 'the root group always exists'); END;"
	  "CREATE TABLE hosts ("
	  "  name TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,"
	  "  group_id INTEGER NOT NULL REFERENCES groups(id));"
	  "CREATE TABLE links ("
	  "  policy INTEGER NOT NULL REFERENCES policies(id),"
	  "  group_id INTEGER NOT NULL REFERENCES groups(id),"
	  "  ord INTEGER NOT NULL CHECK (ord >= 0),"
	  "  enforced INTEGER NOT NULL DEFAULT 0 CHECK (enforced IN (0, 1)),"
	  "  PRIMARY KEY (policy, group_id));" },
	{ 2, "block inheritance and disabled links",
	  "ALTER TABLE groups ADD COLUMN block_inheritance INTEGER NOT NULL DEFAULT 0"
	  "  CHECK (block_inheritance IN (0, 1));"
	  "ALTER TABLE links ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0"
	  "  CHECK (disabled IN (0, 1));" },
	{ 3, "indexes for resolution at scale",
	  "CREATE INDEX hosts_by_group ON hosts (group_id, name);"
	  "CREATE INDEX links_by_group ON links (group_id, ord);"
	  "CREATE INDEX groups_by_parent ON groups (parent);" },
};

const size_t store_n_migrations = ELEMENTSOF(store_migrations);

unsigned store_schema_version(void) {
	return store_migrations[store_n_migrations - 1].version;
}
