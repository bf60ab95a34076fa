/*
 * xmldoc.c - hardened libxml2 reading (see xmldoc.h).
 *
 * How the hardening is done: the size is checked before libxml2 sees a byte;
 * the encoding is forced to UTF-8 (an encoding declaration cannot switch it,
 * and invalid UTF-8 is a fatal well-formedness error); XML_PARSE_NONET and no
 * NOENT/DTDLOAD/DTDATTR/HUGE options; the SAX internalSubset callback stops
 * the parser at the first DOCTYPE, before any entity is declared (this kills
 * XXE and billion laughs alike); libxml2's own 256-level parse limit bounds
 * the parser's recursion and XMLDOC_MAX_DEPTH is checked on the tree.
 *
 * Invariant: the thread's libxml2 error handlers are set only for the
 * duration of one call and restored afterwards, so other users of libxml2 in
 * the same process (D-Bus introspection, ...) keep theirs.
 */
#include "xmldoc.h"

#include <libxml/parser.h>
#include <libxml/SAX2.h>
#include <libxml/xmlerror.h>

/* At most this many libxml2 messages per document: the first ones explain. */
#define XMLDOC_MAX_ERRORS 20u

typedef struct XmlErrCtx {
	DiagList *diag;
	const char *file;
	unsigned n;
	bool refused; /* we stopped the parser on purpose */
} XmlErrCtx;

typedef struct XmlHandlers {
	xmlStructuredErrorFunc serror;
	void *sctx;
	xmlGenericErrorFunc generic;
	void *gctx;
} XmlHandlers;

/* libxml2 messages that would mislead a user (they suggest options we
 * refuse on purpose), by error code. */
static const struct {
	int code;
	const char *needle;
	const char *text;
} xmldoc_rewrites[] = {
	{ XML_ERR_INTERNAL_ERROR, "Excessive depth", "elements nested too deeply" },
	{ XML_ERR_INVALID_CHAR, "not proper UTF-8", "document is not valid UTF-8" },
	{ XML_ERR_INVALID_ENCODING, NULL, "document is not valid UTF-8" },
};

static const char *xmldoc_friendly_message(const xmlError *err) {
	for (size_t i = 0; i < ELEMENTSOF(xmldoc_rewrites); i++)
		if (err->code == xmldoc_rewrites[i].code &&
		    (!xmldoc_rewrites[i].needle ||
		     (err->message && strstr(err->message, xmldoc_rewrites[i].needle))))
			return xmldoc_rewrites[i].text;
	return NULL;
}

/* Validity errors carry the node: name the setting it belongs to (the
 * nearest <setting id="..."> at or above it; catalog and policy documents
 * both name settings that way).  NULL when there is none. */
static char *xmldoc_error_setting(const xmlError *err) {
	if (err->domain != XML_FROM_SCHEMASV)
		return NULL;
	for (const xmlNode *n = err->node; n && n->type == XML_ELEMENT_NODE; n = n->parent)
		if (xmldoc_is(n, "setting"))
			return xmldoc_attr(n, "id");
	return NULL;
}

static void xmldoc_capture(void *userdata, xmlErrorPtr err) {
	XmlErrCtx *e = userdata;
	if (!e || !err || err->level == XML_ERR_WARNING)
		return;
	if (e->n++ >= XMLDOC_MAX_ERRORS) {
		e->diag->truncated = true;
		return;
	}
	const char *text = xmldoc_friendly_message(err);
	_cleanup_free_ char *msg = strdup(text ? text : err->message ? err->message : "XML error");
	if (msg) {
		/* one diagnostic, one line: libxml2 appends details after '\n' */
		for (char *p = msg; *p; p++)
			if (*p == '\n')
				*p = p[1] ? ';' : 0;
		xmldoc_strip(msg);
	}
	_cleanup_free_ char *setting = xmldoc_error_setting(err);
	diag_add(e->diag, e->file, err->line > 0 ? (unsigned)err->line : 0, setting, "%s",
		 msg ? msg : "XML error");
}

static void xmldoc_silence(void *ctx _unused_, const char *msg _unused_, ...) {}

static XmlHandlers xmldoc_handlers_push(XmlErrCtx *e) {
	XmlHandlers saved = {
		.serror = xmlStructuredError,
		.sctx = xmlStructuredErrorContext,
		.generic = xmlGenericError,
		.gctx = xmlGenericErrorContext,
	};
	xmlSetStructuredErrorFunc(e, xmldoc_capture);
	xmlSetGenericErrorFunc(NULL, xmldoc_silence);
	return saved;
}

static void xmldoc_handlers_pop(const XmlHandlers *saved) {
	xmlSetStructuredErrorFunc(saved->sctx, saved->serror);
	xmlSetGenericErrorFunc(saved->gctx, saved->generic);
}

/* SAX internalSubset: called for every <!DOCTYPE ...>, before its contents
 * are parsed.  Refuse and stop. */
static void xmldoc_refuse_doctype(void *user, const xmlChar *name _unused_,
				  const xmlChar *external_id _unused_,
				  const xmlChar *system_id _unused_) {
	xmlParserCtxt *ctxt = user;
	XmlErrCtx *e = ctxt->_private;
	e->refused = true;
	diag_add(e->diag, e->file, (unsigned)xmlSAX2GetLineNumber(ctxt), NULL,
		 "DOCTYPE declarations are not allowed (no DTDs, no entities)");
	xmlStopParser(ctxt);
}

static int xmldoc_check_depth(const xmlNode *n, unsigned depth, const char *file,
			      DiagList *diag) {
	for (; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (depth > XMLDOC_MAX_DEPTH) {
			diag_add(diag, file, (unsigned)xmlGetLineNo(n), NULL,
				 "elements nested deeper than %u levels", XMLDOC_MAX_DEPTH);
			return -EINVAL;
		}
		int r = xmldoc_check_depth(n->children, depth + 1, file, diag);
		if (r < 0)
			return r;
	}
	return 0;
}

static void xmlFreeParserCtxtp(xmlParserCtxt **c) {
	if (*c)
		xmlFreeParserCtxt(*c);
}

int xmldoc_read(const char *buf, size_t len, size_t max_bytes, const char *filename,
		xmlDoc **ret, DiagList *diag) {
	if (len > max_bytes) {
		diag_add(diag, filename, 0, NULL, "document is %zu bytes, the limit is %zu", len,
			 max_bytes);
		return -EFBIG;
	}
	if (len == 0) {
		diag_add(diag, filename, 0, NULL, "document is empty");
		return -EINVAL;
	}

	xmlInitParser();
	XmlErrCtx e = { .diag = diag, .file = filename };
	XmlHandlers saved = xmldoc_handlers_push(&e);

	_cleanup_(xmlFreeParserCtxtp) xmlParserCtxt *ctxt = xmlNewParserCtxt();
	if (!ctxt) {
		xmldoc_handlers_pop(&saved);
		return -ENOMEM;
	}
	ctxt->_private = &e;
	ctxt->sax->internalSubset = xmldoc_refuse_doctype;

	xmlDoc *doc = xmlCtxtReadMemory(ctxt, buf, (int)len, filename, "UTF-8",
					  XML_PARSE_NONET | XML_PARSE_BIG_LINES);
	bool ok = doc && ctxt->wellFormed && !e.refused;
	xmldoc_handlers_pop(&saved);
	if (!ok) {
		if (doc)
			xmlFreeDoc(doc);
		if (e.n == 0 && !e.refused)
			diag_add(diag, filename, 0, NULL, "not a well-formed XML document");
		return -EINVAL;
	}
	if (xmldoc_check_depth(xmlDocGetRootElement(doc), 1, filename, diag) < 0) {
		xmlFreeDoc(doc);
		return -EINVAL;
	}
	*ret = doc;
	return 0;
}

static void xmlSchemaFreeParserCtxtp(xmlSchemaParserCtxt **c) {
	if (*c)
		xmlSchemaFreeParserCtxt(*c);
}
static void xmlSchemaFreeValidCtxtp(xmlSchemaValidCtxt **c) {
	if (*c)
		xmlSchemaFreeValidCtxt(*c);
}

int xmldoc_schema_load(const char *path, xmlSchema **ret, DiagList *diag) {
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = read_file(path, 1024 * 1024, &buf, &len);
	if (r < 0) {
		diag_add(diag, path, 0, NULL, "cannot read schema: %s", strerror(-r));
		return r;
	}
	xmlInitParser();
	XmlErrCtx e = { .diag = diag, .file = path };
	XmlHandlers saved = xmldoc_handlers_push(&e);
	_cleanup_(xmlSchemaFreeParserCtxtp) xmlSchemaParserCtxt *pctxt =
		xmlSchemaNewMemParserCtxt(buf, (int)len);
	xmlSchema *schema = NULL;
	if (pctxt) {
		xmlSchemaSetParserStructuredErrors(pctxt, xmldoc_capture, &e);
		schema = xmlSchemaParse(pctxt);
	}
	xmldoc_handlers_pop(&saved);
	if (!schema) {
		if (e.n == 0)
			diag_add(diag, path, 0, NULL, "cannot compile schema");
		return pctxt ? -EINVAL : -ENOMEM;
	}
	*ret = schema;
	return 0;
}

int xmldoc_validate(xmlSchema *schema, xmlDoc *doc, const char *filename, DiagList *diag) {
	XmlErrCtx e = { .diag = diag, .file = filename };
	XmlHandlers saved = xmldoc_handlers_push(&e);
	_cleanup_(xmlSchemaFreeValidCtxtp) xmlSchemaValidCtxt *v = xmlSchemaNewValidCtxt(schema);
	int r = -ENOMEM;
	if (v) {
		xmlSchemaSetValidStructuredErrors(v, xmldoc_capture, &e);
		r = xmlSchemaValidateDoc(v, doc) == 0 ? 0 : -EINVAL;
	}
	xmldoc_handlers_pop(&saved);
	if (r == -EINVAL && e.n == 0)
		diag_add(diag, filename, 0, NULL, "document does not match its schema");
	return r;
}

static bool xmldoc_is_space(char c) {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

char *xmldoc_strip(char *s) {
	if (!s)
		return NULL;
	size_t start = 0, end = strlen(s);
	while (start < end && xmldoc_is_space(s[start]))
		start++;
	while (end > start && xmldoc_is_space(s[end - 1]))
		end--;
	memmove(s, s + start, end - start);
	s[end - start] = 0;
	return s;
}

char *xmldoc_text(const xmlNode *n) {
	xmlChar *c = xmlNodeGetContent(n);
	char *s = strdup(c ? (const char *)c : "");
	xmlFree(c);
	return xmldoc_strip(s);
}

char *xmldoc_attr(const xmlNode *n, const char *name) {
	xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
	if (!v)
		return NULL;
	char *s = strdup((const char *)v);
	xmlFree(v);
	return s;
}

bool xmldoc_is(const xmlNode *n, const char *name) {
	return n && n->type == XML_ELEMENT_NODE && streq((const char *)n->name, name);
}
