/*
 * plugin_util.c - shared plugin code (see plugin_util.h for the contracts).
 *
 * Invariants: the ini editor copies every byte it does not deliberately
 * change; plugin_files_apply restores what it already wrote when a later
 * file fails; plugin_run never leaves a child behind (killed and reaped on
 * timeout).
 *
 * Must never: follow a path outside ctx->root, write a file in place,
 * print anything.
 */
#include "plugin_util.h"

#include <ctype.h>
#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

/* ---- logging ---- */

void plugin_log(const PluginContext *ctx, const char *plugin, PluginLogLevel level,
		const char *setting_id, const char *path, const char *fmt, ...) {
	if (!ctx || !ctx->log)
		return;
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	ctx->log(ctx->userdata, level, plugin, setting_id, path, msg ? msg : fmt);
}

/* ---- paths ---- */

char *plugin_path(const PluginContext *ctx, const char *path) {
	const char *root = ctx && ctx->root ? ctx->root : "";
	size_t n = strlen(root);
	while (n > 0 && root[n - 1] == '/')
		n--;
	return strdup_printf("%.*s%s", (int)n, root, path);
}

int plugin_mkdir_parents(const char *path) {
	_cleanup_free_ char *p = strdup(path);
	if (!p)
		return -ENOMEM;
	char *slash = strrchr(p, '/');
	if (!slash || slash == p)
		return 0;
	*slash = 0;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

const char *plugin_tool(const char *override, const char *def) {
	if (!override)
		return def;
	return *override ? override : NULL;
}

/* ---- the desired policy ---- */

char *const *plugin_policy_value(const PluginPolicy *p, const char *id) {
	for (size_t i = 0; p && i < p->n_settings; i++)
		if (streq(p->settings[i].id, id))
			return p->settings[i].value;
	return NULL;
}

const char *plugin_policy_scalar(const PluginPolicy *p, const char *id) {
	char *const *v = plugin_policy_value(p, id);
	if (!v || !v[0] || v[1])
		return NULL;
	return v[0];
}

int plugin_policy_bool(const PluginPolicy *p, const char *id, bool *ret) {
	const char *v = plugin_policy_scalar(p, id);
	if (!v)
		return -ENOENT;
	if (streq(v, "true"))
		*ret = true;
	else if (streq(v, "false"))
		*ret = false;
	else
		return -EINVAL;
	return 0;
}

bool plugin_policy_bool_or(const PluginPolicy *p, const char *id, bool def) {
	bool b;
	return plugin_policy_bool(p, id, &b) < 0 ? def : b;
}

/* ---- value transforms ---- */

const char *plugin_value_map(const PluginValueMap *map, const char *from) {
	for (; map && map->from; map++)
		if (streq(map->from, from))
			return map->to;
	return NULL;
}

const char *plugin_value_unmap(const PluginValueMap *map, const char *to) {
	for (; map && map->from; map++)
		if (map->to && strcasecmp(map->to, to) == 0)
			return map->from;
	return NULL;
}

int plugin_render_map(const PluginPolicy *p, const char *id, const void *arg, char **ret) {
	const char *v = plugin_policy_scalar(p, id);
	if (!v) {
		*ret = NULL;
		return 0;
	}
	const char *to = plugin_value_map(arg, v);
	if (!to)
		return -EINVAL;
	*ret = strdup(to);
	return *ret ? 0 : -ENOMEM;
}

int plugin_render_list_map(const PluginPolicy *p, const char *id, const void *arg, char **ret) {
	char *const *v = plugin_policy_value(p, id);
	if (!v || !v[0]) {
		*ret = NULL;
		return 0;
	}
	StrBuf b = {};
	STRV_FOREACH(item, v) {
		const char *to = plugin_value_map(arg, *item);
		if (!to) {
			strbuf_free(&b);
			return -EINVAL;
		}
		if (item != v)
			strbuf_append(&b, ", ");
		strbuf_append(&b, to);
	}
	return strbuf_finish(&b, ret);
}

int plugin_render_verbatim(const PluginPolicy *p, const char *id, _unused_ const void *arg,
			   char **ret) {
	const char *v = plugin_policy_scalar(p, id);
	*ret = v ? strdup(v) : NULL;
	return v && !*ret ? -ENOMEM : 0;
}

/* ---- ini files ---- */

bool plugin_ini_key_equal(const char *a, const char *b) {
	for (;;) {
		while (*a && isspace((unsigned char)*a))
			a++;
		while (*b && isspace((unsigned char)*b))
			b++;
		if (!*a || !*b)
			return !*a && !*b;
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return false;
		a++, b++;
	}
}

typedef enum IniKind { INI_OTHER, INI_SECTION, INI_KEY } IniKind;

/* One logical line: physical lines joined by a trailing backslash. */
typedef struct IniLine {
	size_t start, end; /* [start, end): the line without its final '\n' */
	size_t next;       /* offset of the following line */
	size_t value_at;   /* INI_KEY: where the value text starts */
	unsigned lineno;   /* first physical line, 1-based */
	IniKind kind;
	char *name;        /* section name or key, trimmed */
	char *value;       /* trimmed, continuations removed */
} IniLine;

static void ini_line_clear(IniLine *l) {
	free(l->name);
	free(l->value);
	l->name = l->value = NULL;
}

static char *trimmed_dup(const char *s, size_t n, bool strip_continuations) {
	while (n > 0 && isspace((unsigned char)*s))
		s++, n--;
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	char *r = malloc(n + 1), *o = r;
	if (!r)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (strip_continuations && s[i] == '\\' && i + 1 < n && s[i + 1] == '\n') {
			i++;
			continue;
		}
		*o++ = s[i];
	}
	*o = 0;
	return r;
}

/* Parse the line at pos; returns 0, or 1 at the end of the text. */
static int ini_next(const char *text, size_t pos, unsigned *lineno, IniLine *l) {
	size_t len = strlen(text);
	if (pos >= len)
		return 1;
	*l = (IniLine){ .start = pos, .lineno = *lineno, .kind = INI_OTHER };
	size_t e = pos;
	for (;;) {
		const char *nl = memchr(text + e, '\n', len - e);
		size_t lend = nl ? (size_t)(nl - text) : len;
		(*lineno)++;
		size_t t = lend;
		while (t > e && (text[t - 1] == ' ' || text[t - 1] == '\t' || text[t - 1] == '\r'))
			t--;
		bool cont = nl && t > e && text[t - 1] == '\\';
		e = lend;
		if (!cont) {
			l->end = lend;
			l->next = nl ? lend + 1 : len;
			break;
		}
		e = lend + 1;
	}
	const char *s = text + l->start;
	size_t n = l->end - l->start;
	size_t i = 0;
	while (i < n && isspace((unsigned char)s[i]))
		i++;
	if (i == n || s[i] == '#' || s[i] == ';')
		return 0;
	if (s[i] == '[') {
		const char *close = memchr(s + i, ']', n - i);
		if (!close)
			return 0;
		l->kind = INI_SECTION;
		l->name = trimmed_dup(s + i + 1, (size_t)(close - s - i - 1), false);
		return l->name ? 0 : -ENOMEM;
	}
	const char *eq = memchr(s + i, '=', n - i);
	if (!eq)
		return 0;
	size_t v = (size_t)(eq - s) + 1;
	while (v < n && (s[v] == ' ' || s[v] == '\t'))
		v++;
	l->kind = INI_KEY;
	l->value_at = l->start + v;
	l->name = trimmed_dup(s + i, (size_t)(eq - s) - i, false);
	l->value = trimmed_dup(eq + 1, n - (size_t)(eq - s) - 1, true);
	if (!l->name || !l->value) {
		ini_line_clear(l);
		return -ENOMEM;
	}
	return 0;
}

/* Whether lines after this header belong to section. */
static bool ini_section_match(const char *header, const char *section) {
	return plugin_ini_key_equal(header, section);
}

/* Walk every line; cb sees each with "inside section" status. */
typedef int (*IniWalkFunc)(const IniLine *l, bool inside, void *userdata);

static int ini_walk(const char *text, const char *section, IniWalkFunc cb, void *userdata) {
	bool inside = plugin_ini_key_equal(section, "global");
	unsigned lineno = 1;
	size_t pos = 0;
	for (;;) {
		IniLine l;
		int r = ini_next(text, pos, &lineno, &l);
		if (r < 0)
			return r;
		if (r > 0)
			return 0;
		if (l.kind == INI_SECTION)
			inside = ini_section_match(l.name, section);
		r = cb(&l, inside, userdata);
		pos = l.next;
		ini_line_clear(&l);
		if (r != 0)
			return r < 0 ? r : 0;
	}
}

typedef struct IniGet {
	const char *key;
	char *value;
	unsigned line;
} IniGet;

static int ini_get_cb(const IniLine *l, bool inside, void *userdata) {
	IniGet *g = userdata;
	if (!inside || l->kind != INI_KEY || !plugin_ini_key_equal(l->name, g->key))
		return 0;
	free(g->value);
	g->value = strdup(l->value);
	g->line = l->lineno;
	return g->value ? 0 : -ENOMEM;
}

int plugin_ini_get(const char *text, const char *section, const char *key, char **ret,
		   unsigned *ret_line) {
	IniGet g = { .key = key };
	int r = ini_walk(text, section, ini_get_cb, &g);
	if (r < 0) {
		free(g.value);
		return r;
	}
	if (!g.value)
		return -ENOENT;
	*ret = g.value;
	if (ret_line)
		*ret_line = g.line;
	return 0;
}

typedef struct IniForeach {
	PluginIniFunc cb;
	void *userdata;
} IniForeach;

static int ini_foreach_cb(const IniLine *l, bool inside, void *userdata) {
	IniForeach *f = userdata;
	if (!inside || l->kind != INI_KEY)
		return 0;
	return f->cb(l->name, l->value, l->lineno, f->userdata);
}

int plugin_ini_foreach(const char *text, const char *section, PluginIniFunc cb, void *userdata) {
	IniForeach f = { cb, userdata };
	return ini_walk(text, section, ini_foreach_cb, &f);
}

/* Where plugin_ini_set edits. */
typedef struct IniScan {
	const char *key;
	const char *value;    /* match only lines with this value; NULL = any */
	bool have_section;    /* an explicit header was seen */
	bool have_match;
	size_t match_start, match_end, match_value_at; /* last matching line */
	size_t insert_at;     /* after the section's last key line, or header */
	size_t indent_start, indent_len;
	bool have_indent;
	bool insert_needs_nl; /* insert_at is the end of a text without '\n' */
	size_t text_len;
} IniScan;

static int ini_scan_cb(const IniLine *l, bool inside, void *userdata) {
	IniScan *s = userdata;
	if (!inside)
		return 0;
	if (l->kind == INI_SECTION) {
		s->have_section = true;
		s->insert_at = l->next;
		s->insert_needs_nl = l->next == l->end;
		return 0;
	}
	if (l->kind != INI_KEY)
		return 0;
	s->insert_at = l->next;
	s->insert_needs_nl = l->next == l->end;
	s->indent_start = l->start;
	s->indent_len = l->value_at - l->start; /* trimmed below */
	s->have_indent = true;
	if (plugin_ini_key_equal(l->name, s->key) && (!s->value || streq(l->value, s->value))) {
		s->have_match = true;
		s->match_start = l->start;
		s->match_end = l->end;
		s->match_value_at = l->value_at;
	}
	return 0;
}

typedef struct IniRemove {
	const char *key;
	const char *text;
	StrBuf *out;
	size_t copied; /* text before this offset is already in out */
} IniRemove;

static int ini_remove_cb(const IniLine *l, bool inside, void *userdata) {
	IniRemove *rm = userdata;
	if (!inside || l->kind != INI_KEY || !plugin_ini_key_equal(l->name, rm->key))
		return 0;
	strbuf_append_len(rm->out, rm->text + rm->copied, l->start - rm->copied);
	rm->copied = l->next;
	return 0;
}

/* The editor behind set/add/replace: when match is set, the last line of
 * key (with value match_value when given) gets value; otherwise, or when
 * there is none and add_missing, a new line is inserted. */
static int ini_edit(const char *text, const char *section, const char *key, const char *match_value,
		    bool match, bool add_missing, const char *value, char **ret);

int plugin_ini_add(const char *text, const char *section, const char *key, const char *value,
		   char **ret) {
	return ini_edit(text, section, key, NULL, false, true, value, ret);
}

int plugin_ini_replace_value(const char *text, const char *section, const char *key,
			     const char *old_value, const char *new_value, char **ret) {
	return ini_edit(text, section, key, old_value, true, false, new_value, ret);
}

int plugin_ini_set(const char *text, const char *section, const char *key, const char *value,
		   char **ret) {
	StrBuf out = {};
	size_t len = strlen(text);
	int r;

	if (!value) {
		IniRemove rm = { .key = key, .text = text, .out = &out };
		r = ini_walk(text, section, ini_remove_cb, &rm);
		if (r < 0) {
			strbuf_free(&out);
			return r;
		}
		strbuf_append_len(&out, text + rm.copied, len - rm.copied);
		return strbuf_finish(&out, ret);
	}
	return ini_edit(text, section, key, NULL, true, true, value, ret);
}

static int ini_edit(const char *text, const char *section, const char *key, const char *match_value,
		    bool match, bool add_missing, const char *value, char **ret) {
	StrBuf out = {};
	size_t len = strlen(text);
	IniScan s = { .key = key, .value = match_value, .text_len = len };
	int r = ini_walk(text, section, ini_scan_cb, &s);
	if (r < 0)
		return r;
	if (match && s.have_match) {
		strbuf_append_len(&out, text, s.match_value_at);
		strbuf_append(&out, value);
		strbuf_append_len(&out, text + s.match_end, len - s.match_end);
		return strbuf_finish(&out, ret);
	}
	if (!add_missing)
		return -ENOENT;
	bool is_global = plugin_ini_key_equal(section, "global");
	if (!s.have_section && !(is_global && s.have_indent)) {
		/* No such section: create it (global at the top, others at the end). */
		if (is_global) {
			strbuf_printf(&out, "[global]\n\t%s = %s\n", key, value);
			strbuf_append(&out, text);
		} else {
			strbuf_append(&out, text);
			if (len > 0 && text[len - 1] != '\n')
				strbuf_append(&out, "\n");
			strbuf_printf(&out, "\n[%s]\n\t%s = %s\n", section, key, value);
		}
		return strbuf_finish(&out, ret);
	}
	/* Indentation of the last key line of the section, else a tab. */
	const char *indent = "\t";
	size_t indent_len = 1;
	if (s.have_indent) {
		indent = text + s.indent_start;
		indent_len = 0;
		while (indent_len < s.indent_len && (indent[indent_len] == ' ' || indent[indent_len] == '\t'))
			indent_len++;
	}
	strbuf_append_len(&out, text, s.insert_at);
	if (s.insert_needs_nl)
		strbuf_append(&out, "\n");
	strbuf_append_len(&out, indent, indent_len);
	strbuf_printf(&out, "%s = %s\n", key, value);
	strbuf_append_len(&out, text + s.insert_at, len - s.insert_at);
	return strbuf_finish(&out, ret);
}

/* ---- running tools ---- */

static int read_into(int fd, StrBuf *b) {
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : -errno;
	if (n == 0)
		return 0;
	strbuf_append_len(b, buf, (size_t)n);
	return 1;
}

int plugin_run(char *const argv[], unsigned timeout_ms, char **ret_stdout, char **ret_stderr) {
	int out[2], err[2];
	if (pipe2(out, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(err, O_CLOEXEC) < 0) {
		int r = -errno;
		close(out[0]);
		close(out[1]);
		return r;
	}
	pid_t pid = fork();
	if (pid < 0) {
		int r = -errno;
		close(out[0]), close(out[1]), close(err[0]), close(err[1]);
		return r;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
			_exit(126);
		execvp(argv[0], argv);
		_exit(errno == ENOENT ? 127 : 126);
	}
	close(out[1]);
	close(err[1]);
	StrBuf ob = {}, eb = {};
	struct pollfd fds[2] = { { .fd = out[0], .events = POLLIN }, { .fd = err[0], .events = POLLIN } };
	unsigned long long deadline = now_mono_usec() + (unsigned long long)timeout_ms * 1000ULL;
	int r = 0, open_fds = 2;
	while (open_fds > 0) {
		unsigned long long now = now_mono_usec();
		if (now >= deadline) {
			r = -ETIMEDOUT;
			break;
		}
		int pr = poll(fds, 2, (int)((deadline - now) / 1000ULL) + 1);
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (fds[i].fd < 0 || !fds[i].revents)
				continue;
			int k = read_into(fds[i].fd, i == 0 ? &ob : &eb);
			if (k <= 0) {
				close(fds[i].fd);
				fds[i].fd = -1;
				open_fds--;
			}
		}
	}
	for (int i = 0; i < 2; i++)
		if (fds[i].fd >= 0)
			close(fds[i].fd);
	if (r < 0)
		kill(pid, SIGKILL);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			r = r < 0 ? r : -errno;
			break;
		}
	if (r == 0) {
		if (WIFEXITED(status))
			r = WEXITSTATUS(status) == 127 ? -ENOENT : WEXITSTATUS(status);
		else
			r = -ECHILD;
	}
	_cleanup_free_ char *o = NULL, *e = NULL;
	int k1 = strbuf_finish(&ob, &o), k2 = strbuf_finish(&eb, &e);
	if (r >= 0 && (k1 < 0 || k2 < 0))
		r = -ENOMEM;
	if (r >= 0) {
		if (ret_stdout)
			*ret_stdout = TAKE_PTR(o);
		if (ret_stderr)
			*ret_stderr = TAKE_PTR(e);
	}
	return r;
}

/* ---- plan bookkeeping ---- */

#define GROW(arr, n)                                                          \
	({                                                                    \
		__typeof__(arr) _a = realloc((arr), ((n) + 1) * sizeof(*(arr))); \
		if (_a)                                                       \
			(arr) = _a;                                           \
		_a != NULL;                                                   \
	})

static int dup_or_null(const char *s, char **ret) {
	*ret = s ? strdup(s) : NULL;
	return s && !*ret ? -ENOMEM : 0;
}

int plugin_plan_new(PluginPlan **ret) {
	*ret = calloc(1, sizeof(PluginPlan));
	return *ret ? 0 : -ENOMEM;
}

int plugin_plan_add_change(PluginPlan *p, const char *id, const char *target, const char *actual,
			   const char *desired) {
	if (!GROW(p->changes, p->n_changes))
		return -ENOMEM;
	PluginChange *c = &p->changes[p->n_changes];
	*c = (PluginChange){};
	if (dup_or_null(id, &c->id) < 0 || dup_or_null(target, &c->target) < 0 ||
	    dup_or_null(actual, &c->actual) < 0 || dup_or_null(desired, &c->desired) < 0) {
		free(c->id), free(c->target), free(c->actual), free(c->desired);
		return -ENOMEM;
	}
	p->n_changes++;
	return 0;
}

int plugin_plan_add_finding(PluginPlan *p, PluginFindingLevel level, const char *id,
			    const char *path, unsigned line, const char *fmt, ...) {
	if (!GROW(p->findings, p->n_findings))
		return -ENOMEM;
	PluginFinding *f = &p->findings[p->n_findings];
	*f = (PluginFinding){ .level = level, .line = line };
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&f->message, fmt, ap);
	va_end(ap);
	if (n < 0 || dup_or_null(id, &f->id) < 0 || dup_or_null(path, &f->path) < 0) {
		if (n >= 0)
			free(f->message);
		free(f->id), free(f->path);
		return -ENOMEM;
	}
	p->n_findings++;
	return 0;
}

int plugin_plan_add_file(PluginPlan *p, const char *path, char *data, size_t len, unsigned mode) {
	if (!GROW(p->files, p->n_files)) {
		free(data);
		return -ENOMEM;
	}
	PluginFile *f = &p->files[p->n_files];
	*f = (PluginFile){ .data = data, .len = len, .mode = mode, .path = strdup(path) };
	if (!f->path) {
		free(data);
		return -ENOMEM;
	}
	p->n_files++;
	return 0;
}

void plugin_plan_free(PluginPlan *p) {
	if (!p)
		return;
	for (size_t i = 0; i < p->n_changes; i++) {
		free(p->changes[i].id), free(p->changes[i].target);
		free(p->changes[i].actual), free(p->changes[i].desired);
	}
	for (size_t i = 0; i < p->n_findings; i++)
		free(p->findings[i].id), free(p->findings[i].path), free(p->findings[i].message);
	for (size_t i = 0; i < p->n_files; i++)
		free(p->files[i].path), free(p->files[i].data);
	free(p->changes);
	free(p->findings);
	free(p->files);
	free(p->state);
	free(p);
}

int plugin_plan_limits(const PluginPolicy *p, const PluginLimit *limits, size_t n, PluginPlan *plan) {
	for (size_t i = 0; i < n; i++) {
		const PluginLimit *l = &limits[i];
		char *const *v = plugin_policy_value(p, l->id);
		bool hit = l->when ? (v && v[0] && !v[1] && streq(v[0], l->when)) : (v && v[0]);
		if (!hit)
			continue;
		int r = plugin_plan_add_finding(plan, l->level, l->id, NULL, 0, "%s", l->message);
		if (r < 0)
			return r;
	}
	return 0;
}

int plugin_actual_add(PluginActual **a, size_t *n, const char *id, const char *target,
		      PluginValueState state, const char *raw) {
	if (!GROW(*a, *n))
		return -ENOMEM;
	PluginActual *x = &(*a)[*n];
	*x = (PluginActual){ .state = state };
	if (dup_or_null(id, &x->id) < 0 || dup_or_null(target, &x->target) < 0 ||
	    dup_or_null(raw, &x->raw) < 0) {
		free(x->id), free(x->target), free(x->raw);
		return -ENOMEM;
	}
	(*n)++;
	return 0;
}

void plugin_actual_free(PluginActual *a, size_t n) {
	for (size_t i = 0; a && i < n; i++)
		free(a[i].id), free(a[i].target), free(a[i].raw);
	free(a);
}

int plugin_actual_collect(const PluginSettingInfo *rows, size_t n_rows, bool known,
			  PluginActualValueFunc value, const void *userdata, PluginActual **ret,
			  size_t *ret_n) {
	PluginActual *a = NULL;
	size_t n = 0;
	for (size_t i = 0; i < n_rows; i++) {
		_cleanup_free_ char *v = known ? value(&rows[i], userdata) : NULL;
		int r = plugin_actual_add(&a, &n, rows[i].id, rows[i].target,
					  !known ? PLUGIN_VALUE_UNKNOWN
					  : v    ? PLUGIN_VALUE_SET
						 : PLUGIN_VALUE_UNSET,
					  v);
		if (r < 0) {
			plugin_actual_free(a, n);
			return r;
		}
	}
	*ret = a;
	*ret_n = n;
	return 0;
}

void plugin_detect_clear(PluginDetect *d) {
	if (!d)
		return;
	free(d->version);
	free(d->detail);
	d->version = d->detail = NULL;
}

/* ---- files ---- */

int plugin_backup_files(const char *plugin, const PluginFile *files, size_t n,
			PluginBackup **ret) {
	_cleanup_(plugin_backup_freep) PluginBackup *b = calloc(1, sizeof(PluginBackup));
	if (!b || !(b->plugin = strdup(plugin)))
		return -ENOMEM;
	b->files = calloc(n ? n : 1, sizeof(PluginBackupFile));
	if (!b->files)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		PluginBackupFile *f = &b->files[i];
		if (!(f->path = strdup(files[i].path)))
			return -ENOMEM;
		b->n_files++;
		struct stat st;
		if (stat(f->path, &st) < 0) {
			if (errno != ENOENT)
				return -errno;
			continue;
		}
		int r = read_file(f->path, PLUGIN_FILE_MAX, &f->data, &f->len);
		if (r < 0)
			return r;
		f->existed = true;
		f->mode = st.st_mode & 07777;
	}
	*ret = TAKE_PTR(b);
	return 0;
}

/* Temp files write_file_atomic left beside path when a writer was killed
 * between mkstemp and rename: never read by anyone, removed here. */
static void remove_stale_temps(const char *path) {
	_cleanup_free_ char *pattern = strdup_printf("%s.smbpolicy-tmp.??????", path);
	glob_t g = {};
	if (!pattern || glob(pattern, GLOB_NOSORT, NULL, &g) != 0)
		return;
	for (size_t i = 0; i < g.gl_pathc; i++)
		(void)unlink(g.gl_pathv[i]);
	globfree(&g);
}

static int put_file(const char *path, const char *data, size_t len, unsigned mode) {
	remove_stale_temps(path);
	if (!data)
		return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
	int r = plugin_mkdir_parents(path);
	if (r < 0)
		return r;
	return write_file_atomic(path, data, len, mode);
}

int plugin_files_apply(const PluginContext *ctx, const char *plugin, const PluginFile *files,
		       size_t n, const PluginBackup *backup) {
	for (size_t i = 0; i < n; i++) {
		if (ctx->dry_run) {
			plugin_log(ctx, plugin, PLUGIN_LOG_INFO, NULL, files[i].path,
				   "dry run: would %s", files[i].data ? "write" : "remove");
			continue;
		}
		int r = put_file(files[i].path, files[i].data, files[i].len, files[i].mode);
		if (r < 0) {
			plugin_log(ctx, plugin, PLUGIN_LOG_ERR, NULL, files[i].path,
				   "cannot write: %s", strerror(-r));
			/* Restore the ones already written, newest first. */
			for (size_t j = i; j-- > 0;) {
				const PluginBackupFile *f = &backup->files[j];
				(void)put_file(f->path, f->existed ? f->data : NULL, f->len, f->mode);
			}
			return r;
		}
	}
	return 0;
}

int plugin_plan_write(const PluginContext *ctx, const char *plugin, const PluginPlan *plan,
		      PluginBackup **ret_backup) {
	*ret_backup = NULL;
	if (ctx->dry_run)
		return plugin_files_apply(ctx, plugin, plan->files, plan->n_files, NULL);
	_cleanup_(plugin_backup_freep) PluginBackup *b = NULL;
	int r = plugin_backup_files(plugin, plan->files, plan->n_files, &b);
	if (r < 0 || (r = plugin_files_apply(ctx, plugin, plan->files, plan->n_files, b)) < 0)
		return r;
	*ret_backup = TAKE_PTR(b);
	return 0;
}

int plugin_backup_restore(const PluginContext *ctx, const PluginBackup *b) {
	int first = 0;
	for (size_t i = b->n_files; i-- > 0;) {
		const PluginBackupFile *f = &b->files[i];
		if (ctx->dry_run) {
			plugin_log(ctx, b->plugin, PLUGIN_LOG_INFO, NULL, f->path,
				   "dry run: would restore");
			continue;
		}
		int r = put_file(f->path, f->existed ? f->data : NULL, f->len, f->mode);
		if (r < 0) {
			plugin_log(ctx, b->plugin, PLUGIN_LOG_ERR, NULL, f->path,
				   "cannot restore: %s", strerror(-r));
			if (first == 0)
				first = r;
		}
	}
	return first;
}

void plugin_backup_free(PluginBackup *b) {
	if (!b)
		return;
	for (size_t i = 0; i < b->n_files; i++)
		free(b->files[i].path), free(b->files[i].data);
	free(b->files);
	free(b->plugin);
	free(b->state);
	free(b);
}

bool plugin_file_has(const char *path, const char *data, size_t len) {
	_cleanup_free_ char *cur = NULL;
	size_t n;
	int r = read_file(path, PLUGIN_FILE_MAX, &cur, &n);
	if (r == -ENOENT)
		return !data;
	if (r < 0 || !data)
		return false;
	return n == len && memcmp(cur, data, len) == 0;
}

/* Next item of a comma/space separated list: [*s, end). */
static bool list_next(const char **s, size_t *len) {
	const char *p = *s;
	while (*p && (*p == ',' || isspace((unsigned char)*p)))
		p++;
	if (!*p)
		return false;
	const char *e = p;
	while (*e && *e != ',' && !isspace((unsigned char)*e))
		e++;
	*s = p;
	*len = (size_t)(e - p);
	return true;
}

bool plugin_list_equal(const char *a, const char *b) {
	size_t la, lb;
	for (;;) {
		bool ha = list_next(&a, &la), hb = list_next(&b, &lb);
		if (!ha || !hb)
			return ha == hb;
		if (la != lb || strncasecmp(a, b, la) != 0)
			return false;
		a += la, b += lb;
	}
}
