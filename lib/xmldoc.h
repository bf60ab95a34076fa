/*
 * xmldoc.h - hardened libxml2 reading shared by the catalog and policy
 * parsers.
 *
 * Purpose: one place that turns untrusted bytes into an xmlDoc: size limit,
 * UTF-8 only, no network, no DTD (any DOCTYPE is refused, so no external or
 * internal entities exist), a depth limit, and every libxml2 message captured
 * into a DiagList with its line instead of being printed.  Also XSD loading
 * and validation with the same error capture.
 *
 * Invariants: libxml2 never writes to stderr from these functions and never
 * opens a file or socket while parsing a document; the global error handlers
 * are restored before returning.  Must never substitute entities or load an
 * external subset.
 */
#pragma once

#include <libxml/tree.h>
#include <libxml/xmlschemas.h>

#include "diag.h"

/* Deepest element nesting a document may have (root = 1). */
#define XMLDOC_MAX_DEPTH 16u

/* Parse buf (len bytes, at most max_bytes) into *ret.  filename only names
 * the document in diagnostics.  -EFBIG over the size limit, -EINVAL for
 * anything not well-formed or refused (diag says why). */
int xmldoc_read(const char *buf, size_t len, size_t max_bytes, const char *filename,
		xmlDoc **ret, DiagList *diag);

/* Compile the XSD at path (read from disk, no network, no imports). */
int xmldoc_schema_load(const char *path, xmlSchema **ret, DiagList *diag);

/* Validate doc against schema; errors (with lines) go to diag; -EINVAL. */
int xmldoc_validate(xmlSchema *schema, xmlDoc *doc, const char *filename, DiagList *diag);

/* Text content of n with leading/trailing XML whitespace removed (malloc'd;
 * NULL on ENOMEM). */
char *xmldoc_text(const xmlNode *n);

/* Attribute value (malloc'd) or NULL when absent. */
char *xmldoc_attr(const xmlNode *n, const char *name);

/* True when n is an element named name (in whatever namespace the document
 * was validated for). */
bool xmldoc_is(const xmlNode *n, const char *name);

/* Trim XML whitespace (space, tab, CR, LF) at both ends, in place. */
char *xmldoc_strip(char *s);

static inline void xmlFreeDocp(xmlDoc **d) { if (*d) xmlFreeDoc(*d); }
#define _cleanup_xmldoc_ _cleanup_(xmlFreeDocp)
