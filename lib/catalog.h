/*
 * catalog.h - the settings catalog: every setting smbpolicy knows, read from
 * schema/catalog/NAME.xml (validated against schema/catalog.xsd).
 *
 * The catalog is data, not C: types, ranges, defaults, allowed values,
 * targets and cross-setting constraints come from the XML.  Adding a setting
 * is a catalog edit plus plugin table rows; no code here changes.
 *
 * Values: every value is a NULL-terminated string vector (strv) of canonical
 * text items.  A scalar (bool, int, enum, string) has exactly one item; a list
 * has zero or more.  Booleans are "true"/"false", ints decimal.
 *
 * Invariants: a loaded Catalog is immutable and its settings are sorted by
 * id; CatalogSetting pointers stay valid until catalog_free().  Every default
 * in a loaded catalog validates against its own setting.
 */
#pragma once

#include <stdint.h>

#include "diag.h"
#include "util.h"

typedef enum CatalogType {
	CATALOG_BOOL,
	CATALOG_INT,
	CATALOG_ENUM,
	CATALOG_STRING, /* free text, e.g. a file path */
	CATALOG_LIST,   /* ordered list of typed items */
	_CATALOG_TYPE_MAX,
} CatalogType;

/* Item types of a list (and the syntax checks of string settings). */
typedef enum CatalogItemType {
	CATALOG_ITEM_STRING,
	CATALOG_ITEM_ENUM,         /* one of the setting's enum values */
	CATALOG_ITEM_HOST,         /* IP, NetBIOS name or FQDN */
	CATALOG_ITEM_CERT_ID,      /* sha256:<64 hex> | issuer:<RFC 4514 DN> */
	CATALOG_ITEM_PORT_MAPPING, /* server:tcp|quic|rdma:port */
	CATALOG_ITEM_PATH,         /* absolute path */
	_CATALOG_ITEM_TYPE_MAX,
} CatalogItemType;

typedef enum CatalogScope {
	CATALOG_SCOPE_SERVER,
	CATALOG_SCOPE_CLIENT,
	CATALOG_SCOPE_FIREWALL,
	_CATALOG_SCOPE_MAX,
} CatalogScope;

typedef struct CatalogSetting {
	char *id;
	CatalogScope scope;
	CatalogType type;
	CatalogItemType item_type; /* LIST items; STRING syntax */
	int64_t min, max, step;    /* INT only (step 1 when not given) */
	char **enum_values;        /* ENUM, and LIST of ENUM; ordered (dialects ascend) */
	bool unique_items;         /* LIST: duplicates are an error */
	char **default_value;      /* strv, canonical */
	char *title;
	char *explanation;
	char *windows;             /* cmdlet parameter / GPO path */
	char *feature;             /* seed feature name it belongs to */
	char **targets;            /* plugin names implementing it */
	unsigned min_items;        /* LIST: fewest items allowed */
	unsigned max_items;        /* LIST: most items allowed, 0 = no limit */
	char *source_file;         /* catalog file and line that define it */
	unsigned source_line;
} CatalogSetting;

/* A cross-setting constraint, declared in the catalog.  Operators are kept
 * in a table in catalog.c; each compares settings' values, e.g.
 *   <constraint id="server-dialect-order" op="le" a="server.dialect.min"
 *               b="server.dialect.max" message="..."/>
 * "le"/"ge" compare enum positions or ints; "implies" means: when a equals
 * a-value, b must satisfy b-op b-value.  See schema/catalog.xsd. */
typedef struct CatalogConstraint CatalogConstraint;

typedef struct Catalog {
	CatalogSetting *settings;
	size_t n_settings;
	CatalogConstraint *constraints;
	size_t n_constraints;
	void *policy_schema; /* compiled schema/policy.xsd (xmlSchema *), shared */
} Catalog;

/* Load every *.xml of dir (or one file), validate each against the catalog
 * XSD (found beside them as ../catalog.xsd or in schema_dir), check defaults
 * and constraints reference known settings.  Errors go to diag; returns
 * -EINVAL when any was found. */
int catalog_load(const char *path, Catalog **ret, DiagList *diag);

/* The schema directory: $SMBPOLICY_SCHEMA_DIR, else the source tree's
 * schema/ when running from build/, else the installed one. */
const char *catalog_schema_dir(void);

/* catalog_load(catalog_schema_dir()/catalog), diag printed to stderr. */
int catalog_load_default(Catalog **ret);

void catalog_free(Catalog *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Catalog *, catalog_free)

const CatalogSetting *catalog_find(const Catalog *c, const char *id);
/* The known id closest to a mistyped one (edit distance <= 3), or NULL. */
const char *catalog_suggest(const Catalog *c, const char *id);

/* Index of a setting in c->settings, or -ENOENT. */
int catalog_index(const Catalog *c, const char *id);

/* Check one value against its setting: type, range, step, enum, item
 * syntax, uniqueness.  On error, add to diag (file/line given) and return
 * -EINVAL. */
int catalog_check_value(const CatalogSetting *s, char *const *value,
			const char *file, unsigned line, DiagList *diag);

/* Check all cross-setting constraints over a complete value vector
 * (values[i] belongs to c->settings[i]; NULL = default).  lines[i] (may be
 * NULL) is the line to blame. */
int catalog_check_constraints(const Catalog *c, char **const *values,
			      const unsigned *lines, const char *file, DiagList *diag);

/* Bring one already whitespace-stripped value item to canonical form in
 * place (host names and sha256 hex lower-cased).  Call before
 * catalog_check_value(). */
void catalog_canonicalize_item(const CatalogSetting *s, char *item);

/* Id and message of constraint i (for listings); NULL when out of range. */
const char *catalog_constraint_id(const Catalog *c, size_t i);
const char *catalog_constraint_message(const Catalog *c, size_t i);
/* Constraint i as one readable line (malloc'd), e.g.
 * "if client.encryption.required = true then client.dialect.max >= 3.0".
 * -ENOENT out of range, -ENOMEM. */
int catalog_constraint_describe(const Catalog *c, size_t i, char **ret);

const char *catalog_item_type_to_string(CatalogItemType t);

/* Position of v in s->enum_values, or -ENOENT (dialect ordering). */
int catalog_enum_index(const CatalogSetting *s, const char *v);

const char *catalog_type_to_string(CatalogType t);
const char *catalog_scope_to_string(CatalogScope s);
