/*
 * catalog_constraint.c - cross-setting constraints declared in the catalog
 * (<constraint> elements, see schema/catalog.xsd) and their evaluation.
 *
 * Operators are one table (name, which setting types they apply to, what
 * operand they take, evaluator).  No setting id appears here: the catalog
 * says which settings a rule relates.  Invariants: a resolved constraint only
 * uses operators that fit its settings' types and literals that are valid
 * values of the setting, so evaluation cannot fail, only report.  Must never
 * modify the values it checks.
 */
#include "catalog_internal.h"
#include "strbuf.h"
#include "xmldoc.h"

typedef enum OperandKind {
	OPERAND_NONE,  /* empty, nonempty */
	OPERAND_ANY,   /* value="..." or other="..." */
	OPERAND_OTHER, /* other="..." only */
} OperandKind;

#define T(x) (1u << (x))
#define SCALARS (T(CATALOG_BOOL) | T(CATALOG_INT) | T(CATALOG_ENUM) | T(CATALOG_STRING))
#define ORDERED (T(CATALOG_INT) | T(CATALOG_ENUM))

struct CatalogOp {
	const char *name;
	const char *text; /* how catalog_constraint_describe() writes it */
	unsigned types; /* mask of CatalogType of the left setting */
	OperandKind operand;
	/* a: left value, b: right value (other setting or literal), or NULL */
	bool (*eval)(const CatalogSetting *s, char *const *a, char *const *b);
};

/* Three-way compare of two scalar values of an ordered setting. */
static int compare_ordered(const CatalogSetting *s, const char *a, const char *b) {
	if (s->type == CATALOG_ENUM)
		return catalog_enum_index(s, a) - catalog_enum_index(s, b);
	long long x = 0, y = 0;
	(void)parse_int64(a, &x);
	(void)parse_int64(b, &y);
	return (x > y) - (x < y);
}

static bool op_eq(const CatalogSetting *s _unused_, char *const *a, char *const *b) {
	return strv_equal(a, b);
}
static bool op_ne(const CatalogSetting *s, char *const *a, char *const *b) {
	return !op_eq(s, a, b);
}
static bool op_lt(const CatalogSetting *s, char *const *a, char *const *b) {
	return compare_ordered(s, a[0], b[0]) < 0;
}
static bool op_le(const CatalogSetting *s, char *const *a, char *const *b) {
	return compare_ordered(s, a[0], b[0]) <= 0;
}
static bool op_gt(const CatalogSetting *s, char *const *a, char *const *b) {
	return compare_ordered(s, a[0], b[0]) > 0;
}
static bool op_ge(const CatalogSetting *s, char *const *a, char *const *b) {
	return compare_ordered(s, a[0], b[0]) >= 0;
}
/* A list with no item, or a string that is "". */
static bool op_empty(const CatalogSetting *s, char *const *a, char *const *b _unused_) {
	return s->type == CATALOG_LIST ? strv_length(a) == 0 : (!a || !a[0] || !*a[0]);
}
static bool op_nonempty(const CatalogSetting *s, char *const *a, char *const *b) {
	return !op_empty(s, a, b);
}
static bool op_contains(const CatalogSetting *s _unused_, char *const *a, char *const *b) {
	return strv_contains(a, b[0]);
}
static int compare_str_ptrs(const void *x, const void *y) {
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* No item of a is in b.  Sorts a copy of b and searches it: O((n+m) log m),
 * so long lists cannot make a check quadratic.  On ENOMEM, falls back to
 * the plain scan (correct, only slower). */
static bool op_disjoint(const CatalogSetting *s _unused_, char *const *a, char *const *b) {
	size_t m = strv_length(b);
	_cleanup_free_ char **sorted = m ? malloc(m * sizeof(char *)) : NULL;
	if (sorted) {
		memcpy(sorted, b, m * sizeof(char *));
		qsort(sorted, m, sizeof(char *), compare_str_ptrs);
	}
	STRV_FOREACH(x, a)
		if (sorted ? bsearch(x, sorted, m, sizeof(char *), compare_str_ptrs) != NULL
			   : strv_contains(b, *x))
			return false;
	return true;
}

static const CatalogOp catalog_ops[] = {
	{ "eq", "=", SCALARS, OPERAND_ANY, op_eq },
	{ "ne", "!=", SCALARS, OPERAND_ANY, op_ne },
	{ "lt", "<", ORDERED, OPERAND_ANY, op_lt },
	{ "le", "<=", ORDERED, OPERAND_ANY, op_le },
	{ "gt", ">", ORDERED, OPERAND_ANY, op_gt },
	{ "ge", ">=", ORDERED, OPERAND_ANY, op_ge },
	{ "empty", "is empty", T(CATALOG_LIST) | T(CATALOG_STRING), OPERAND_NONE, op_empty },
	{ "nonempty", "is not empty", T(CATALOG_LIST) | T(CATALOG_STRING), OPERAND_NONE, op_nonempty },
	{ "contains", "contains", T(CATALOG_LIST), OPERAND_ANY, op_contains },
	{ "disjoint", "shares no item with", T(CATALOG_LIST), OPERAND_OTHER, op_disjoint },
};

static const CatalogOp *catalog_op_find(const char *name) {
	for (size_t i = 0; i < ELEMENTSOF(catalog_ops); i++)
		if (streq(catalog_ops[i].name, name))
			return &catalog_ops[i];
	return NULL;
}

static void operand_done(CatalogOperand *o) {
	free(o->setting_id);
	free(o->other_id);
	free(o->literal[0]);
}

void catalog_constraint_done(CatalogConstraint *k) {
	for (size_t i = 0; i < k->n_when; i++)
		operand_done(&k->when[i]);
	for (size_t i = 0; i < k->n_require; i++)
		operand_done(&k->require[i]);
	free(k->when);
	free(k->require);
	free(k->id);
	free(k->message);
	free(k->file);
}

static int operand_parse(const xmlNode *n, const char *file, CatalogOperand **arr, size_t *len,
			 DiagList *diag) {
	_cleanup_free_ char *op = xmldoc_attr(n, "op");
	CatalogOperand o = {
		.setting_id = xmldoc_attr(n, "setting"),
		.other_id = xmldoc_attr(n, "other"),
		.literal = { xmldoc_attr(n, "value"), NULL },
		.op = op ? catalog_op_find(op) : NULL,
		.setting = -1,
		.other = -1,
		.line = (unsigned)xmlGetLineNo(n),
	};
	if (!o.setting_id || !o.op) {
		diag_add(diag, file, o.line, o.setting_id, "constraint operand needs setting= and a known op=");
		operand_done(&o);
		return -EINVAL;
	}
	CatalogOperand *a = realloc(*arr, (*len + 1) * sizeof(*a));
	if (!a) {
		operand_done(&o);
		return -ENOMEM;
	}
	a[(*len)++] = o;
	*arr = a;
	return 0;
}

int catalog_constraint_parse(const xmlNode *n, const char *file, CatalogConstraint *ret,
			     DiagList *diag) {
	_cleanup_free_ char *match = xmldoc_attr(n, "match");
	CatalogConstraint k = {
		.id = xmldoc_attr(n, "id"),
		.match_any = match && streq(match, "any"),
		.file = strdup(file),
		.line = (unsigned)xmlGetLineNo(n),
	};
	int r = k.id && k.file ? 0 : -ENOMEM;
	for (const xmlNode *c = n->children; c && r >= 0; c = c->next) {
		if (xmldoc_is(c, "message"))
			r = (k.message = xmldoc_text(c)) ? 0 : -ENOMEM;
		else if (xmldoc_is(c, "when"))
			r = operand_parse(c, file, &k.when, &k.n_when, diag);
		else if (xmldoc_is(c, "require"))
			r = operand_parse(c, file, &k.require, &k.n_require, diag);
	}
	if (r < 0) {
		catalog_constraint_done(&k);
		return r;
	}
	*ret = k;
	return 0;
}

static int operand_resolve(const Catalog *c, const CatalogConstraint *k, CatalogOperand *o,
			   DiagList *diag) {
	const char *f = k->file;
	o->setting = catalog_index(c, o->setting_id);
	if (o->setting < 0) {
		diag_add(diag, f, o->line, o->setting_id, "constraint %s names an unknown setting", k->id);
		return -EINVAL;
	}
	const CatalogSetting *s = &c->settings[o->setting];
	if (!(o->op->types & T(s->type))) {
		diag_add(diag, f, o->line, s->id, "constraint %s: operator %s does not apply to a %s",
			 k->id, o->op->name, catalog_type_to_string(s->type));
		return -EINVAL;
	}
	bool has_value = o->literal[0], has_other = o->other_id;
	bool ok = o->op->operand == OPERAND_NONE    ? !has_value && !has_other
		  : o->op->operand == OPERAND_OTHER ? !has_value && has_other
						    : has_value != has_other;
	if (!ok) {
		diag_add(diag, f, o->line, s->id, "constraint %s: operator %s takes %s", k->id,
			 o->op->name,
			 o->op->operand == OPERAND_NONE    ? "no operand"
			 : o->op->operand == OPERAND_OTHER ? "other= only"
							   : "exactly one of value= or other=");
		return -EINVAL;
	}
	if (has_other) {
		o->other = catalog_index(c, o->other_id);
		if (o->other < 0) {
			diag_add(diag, f, o->line, o->other_id, "constraint %s names an unknown setting",
				 k->id);
			return -EINVAL;
		}
		const CatalogSetting *t = &c->settings[o->other];
		if (t->type != s->type || !strv_equal(t->enum_values, s->enum_values)) {
			diag_add(diag, f, o->line, s->id,
				 "constraint %s compares settings of different types (%s)", k->id, t->id);
			return -EINVAL;
		}
	}
	if (has_value) {
		/* a literal compared with a list setting is one item of it */
		if (s->type == CATALOG_LIST) {
			CatalogSetting item = *s;
			item.min_items = 0;
			item.unique_items = false;
			return catalog_check_value(&item, o->literal, f, o->line, diag);
		}
		return catalog_check_value(s, o->literal, f, o->line, diag);
	}
	return 0;
}

int catalog_constraints_resolve(Catalog *c, DiagList *diag) {
	int r = 0;
	for (size_t i = 0; i < c->n_constraints; i++) {
		CatalogConstraint *k = &c->constraints[i];
		for (size_t j = 0; j < k->n_when; j++)
			if (operand_resolve(c, k, &k->when[j], diag) < 0)
				r = -EINVAL;
		for (size_t j = 0; j < k->n_require; j++)
			if (operand_resolve(c, k, &k->require[j], diag) < 0)
				r = -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (streq(c->constraints[j].id, k->id)) {
				diag_add(diag, k->file, k->line, NULL, "constraint id %s defined twice",
					 k->id);
				r = -EINVAL;
			}
	}
	return r;
}

static char *const *value_of(const Catalog *c, char **const *values, int i) {
	return values && values[i] ? values[i] : c->settings[i].default_value;
}

static bool operand_holds(const Catalog *c, const CatalogOperand *o, char **const *values) {
	const CatalogSetting *s = &c->settings[o->setting];
	char *const *b = o->other >= 0 ? value_of(c, values, o->other) : o->literal;
	return o->op->eval(s, value_of(c, values, o->setting), b);
}

static unsigned line_of(const unsigned *lines, int i) {
	return lines && i >= 0 ? lines[i] : 0;
}

/* The line to blame: where the failing operand (or its partner, or a
 * condition) was set in the document; 0 when all come from defaults. */
static unsigned blame_line(const CatalogConstraint *k, const CatalogOperand *o,
			   const unsigned *lines) {
	unsigned l = line_of(lines, o->setting);
	if (!l)
		l = line_of(lines, o->other);
	for (size_t j = 0; !l && j < k->n_when; j++)
		l = line_of(lines, k->when[j].setting);
	return l;
}

int catalog_check_constraints(const Catalog *c, char **const *values, const unsigned *lines,
			      const char *file, DiagList *diag) {
	int r = 0;
	for (size_t i = 0; i < c->n_constraints; i++) {
		const CatalogConstraint *k = &c->constraints[i];
		bool applies = true;
		for (size_t j = 0; applies && j < k->n_when; j++)
			applies = operand_holds(c, &k->when[j], values);
		if (!applies)
			continue;
		const CatalogOperand *failed = NULL;
		size_t n_ok = 0;
		for (size_t j = 0; j < k->n_require; j++) {
			if (operand_holds(c, &k->require[j], values))
				n_ok++;
			else if (!failed)
				failed = &k->require[j];
		}
		if (!failed || (k->match_any && n_ok > 0))
			continue;
		diag_add(diag, file, blame_line(k, failed, lines), c->settings[failed->setting].id,
			 "%s (constraint %s)", k->message, k->id);
		r = -EINVAL;
	}
	return r;
}

const char *catalog_constraint_id(const Catalog *c, size_t i) {
	return i < c->n_constraints ? c->constraints[i].id : NULL;
}

const char *catalog_constraint_message(const Catalog *c, size_t i) {
	return i < c->n_constraints ? c->constraints[i].message : NULL;
}

static void describe_operands(StrBuf *b, const CatalogOperand *o, size_t n, const char *sep) {
	for (size_t i = 0; i < n; i++) {
		strbuf_printf(b, "%s%s %s", i ? sep : "", o[i].setting_id, o[i].op->text);
		if (o[i].other_id)
			strbuf_printf(b, " %s", o[i].other_id);
		else if (o[i].literal[0])
			strbuf_printf(b, " %s", o[i].literal[0]);
	}
}

int catalog_constraint_describe(const Catalog *c, size_t i, char **ret) {
	if (i >= c->n_constraints)
		return -ENOENT;
	const CatalogConstraint *k = &c->constraints[i];
	_cleanup_(strbuf_free) StrBuf b = { 0 };
	if (k->n_when) {
		strbuf_append(&b, "if ");
		describe_operands(&b, k->when, k->n_when, " and ");
		strbuf_append(&b, " then ");
	}
	describe_operands(&b, k->require, k->n_require, k->match_any ? " or " : " and ");
	return strbuf_finish(&b, ret);
}
