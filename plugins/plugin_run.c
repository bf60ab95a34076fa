/*
 * plugin_run.c - `smbpolicy-plugin`: load one target plugin (.so) and run
 * its ops by hand, the way smbpolicyd does, for integration tests and for
 * admins debugging a target:
 *
 *   smbpolicy-plugin [OPTIONS] PLUGIN info|detect|actual|plan|apply|verify|rollback
 *
 * The desired policy comes from --settings FILE (lines `id = value`, `id +=
 * item` appends to a list, `id =` is an empty list) and --set ID=VALUE; the
 * resultant policy XML (endpoint plugin) from --policy-xml FILE, else built
 * from the catalog (defaults for what is not given).  apply runs
 * plan -> apply -> verify and rolls back when verify fails; with --backup
 * DIR it saves the backup there so a later `rollback --backup DIR` restores
 * it.
 *
 * Exit: 0 success, 1 failed (apply/verify error, or `plan --check` found
 * changes), 2 usage.
 *
 * Invariants: this file only parses arguments and prints; every decision is
 * the plugin's.  Must never write outside --root (the plugins see to it) or
 * the --backup directory.
 */
#include <dlfcn.h>
#include <getopt.h>
#include <sys/stat.h>

#include "plugin_util.h"
#include "policy.h"

typedef struct Args {
	const char *plugin_dir;
	const char *settings_file;
	const char *policy_xml;
	const char *backup_dir;
	const char *name;
	const char *hash;
	bool check;
	PluginContext ctx;
	/* parsed settings: ids[i] has values[i] */
	char **ids;
	char ***values;
	size_t n;
} Args;

static void args_free(Args *a) {
	strv_free(a->ids);
	for (size_t i = 0; i < a->n; i++)
		strv_free(a->values[i]);
	free(a->values);
}

static void log_stderr(_unused_ void *userdata, PluginLogLevel level, const char *plugin,
		       const char *setting_id, const char *path, const char *message) {
	static const char *const names[] = { [PLUGIN_LOG_ERR] = "error", [PLUGIN_LOG_WARNING] = "warning",
					     [PLUGIN_LOG_NOTICE] = "notice", [PLUGIN_LOG_INFO] = "info",
					     [PLUGIN_LOG_DEBUG] = "debug" };
	if (level == PLUGIN_LOG_DEBUG && !getenv("SMBPOLICY_DEBUG"))
		return;
	fprintf(stderr, "%s: %s:%s%s%s%s %s\n", plugin, level <= PLUGIN_LOG_DEBUG ? names[level] : "?",
		path ? " " : "", path ? path : "", setting_id ? " " : "", setting_id ? setting_id : "",
		message);
}

/* Slot of id, created empty when new. */
static int setting_slot(Args *a, const char *id, size_t *ret) {
	for (size_t i = 0; i < a->n; i++)
		if (streq(a->ids[i], id)) {
			*ret = i;
			return 0;
		}
	char ***nv = realloc(a->values, (a->n + 1) * sizeof(char **));
	if (!nv)
		return -ENOMEM;
	a->values = nv;
	a->values[a->n] = calloc(1, sizeof(char *));
	if (!a->values[a->n] || strv_push_dup(&a->ids, id) < 0)
		return -ENOMEM;
	*ret = a->n++;
	return 0;
}

static char *trim(char *s) {
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = 0;
	return s;
}

/* "id = value", "id += item", "id =" */
static int parse_setting(Args *a, char *line) {
	char *eq = strchr(line, '=');
	if (!eq)
		return -EINVAL;
	bool append = eq > line && eq[-1] == '+';
	if (append)
		eq[-1] = 0;
	*eq = 0;
	const char *id = trim(line), *value = trim(eq + 1);
	if (!*id)
		return -EINVAL;
	size_t i;
	int r = setting_slot(a, id, &i);
	if (r < 0)
		return r;
	if (!append) {
		strv_free(a->values[i]);
		if (!(a->values[i] = calloc(1, sizeof(char *))))
			return -ENOMEM;
	}
	return *value ? strv_push_dup(&a->values[i], value) : 0;
}

static int load_settings_file(Args *a, const char *path) {
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	char line[4096];
	unsigned n = 0;
	while (fgets(line, sizeof(line), f)) {
		n++;
		char *s = trim(line);
		if (!*s || *s == '#')
			continue;
		if (parse_setting(a, s) < 0) {
			fprintf(stderr, "%s:%u: expected `id = value` or `id += item`\n", path, n);
			return -EINVAL;
		}
	}
	return 0;
}

/* ---- backup directory: index lines "N EXISTED MODE PATH", data in N ---- */

static int backup_save(const char *dir, const PluginBackup *b) {
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	StrBuf idx = {};
	strbuf_printf(&idx, "plugin %s\n", b->plugin);
	if (b->state_existed)
		strbuf_append(&idx, "state\n");
	for (size_t i = 0; i < b->n_files; i++) {
		const PluginBackupFile *f = &b->files[i];
		strbuf_printf(&idx, "%zu %d %o %s\n", i, f->existed, f->mode, f->path);
		if (!f->existed)
			continue;
		_cleanup_free_ char *p = strdup_printf("%s/%zu", dir, i);
		int r = p ? write_file_atomic(p, f->data, f->len, 0600) : -ENOMEM;
		if (r < 0) {
			strbuf_free(&idx);
			return r;
		}
	}
	if (b->state_existed) {
		_cleanup_free_ char *p = strdup_printf("%s/state", dir);
		int r = p ? write_file_atomic(p, b->state, strlen(b->state), 0600) : -ENOMEM;
		if (r < 0) {
			strbuf_free(&idx);
			return r;
		}
	}
	_cleanup_free_ char *text = NULL, *ip = strdup_printf("%s/index", dir);
	int r = strbuf_finish(&idx, &text);
	if (r < 0 || !ip)
		return -ENOMEM;
	return write_file_atomic(ip, text, strlen(text), 0600);
}

static int backup_load(const char *dir, PluginBackup **ret) {
	_cleanup_free_ char *ip = strdup_printf("%s/index", dir);
	_cleanup_fclose_ FILE *f = ip ? fopen(ip, "re") : NULL;
	if (!f)
		return ip ? -errno : -ENOMEM;
	_cleanup_(plugin_backup_freep) PluginBackup *b = calloc(1, sizeof(PluginBackup));
	if (!b)
		return -ENOMEM;
	char line[4096];
	while (fgets(line, sizeof(line), f)) {
		char *s = trim(line);
		if (startswith(s, "plugin ")) {
			free(b->plugin);
			if (!(b->plugin = strdup(s + 7)))
				return -ENOMEM;
			continue;
		}
		if (streq(s, "state")) {
			_cleanup_free_ char *sp = strdup_printf("%s/state", dir);
			int r = sp ? read_file(sp, PLUGIN_FILE_MAX, &b->state, NULL) : -ENOMEM;
			if (r < 0)
				return r;
			b->state_existed = true;
			continue;
		}
		size_t idx;
		int existed, off = 0;
		unsigned mode;
		if (sscanf(s, "%zu %d %o %n", &idx, &existed, &mode, &off) != 3 || off == 0)
			return -EBADMSG;
		PluginBackupFile *nf = realloc(b->files, (b->n_files + 1) * sizeof(*nf));
		if (!nf)
			return -ENOMEM;
		b->files = nf;
		PluginBackupFile *bf = &b->files[b->n_files];
		*bf = (PluginBackupFile){ .existed = existed, .mode = mode, .path = strdup(s + off) };
		if (!bf->path)
			return -ENOMEM;
		b->n_files++;
		if (existed) {
			_cleanup_free_ char *dp = strdup_printf("%s/%zu", dir, idx);
			int r = dp ? read_file(dp, PLUGIN_FILE_MAX, &bf->data, &bf->len) : -ENOMEM;
			if (r < 0)
				return r;
		}
	}
	*ret = TAKE_PTR(b);
	return 0;
}

/* ---- printing ---- */

static const char *state_name(PluginValueState s) {
	static const char *const names[] = { [PLUGIN_VALUE_SET] = "set", [PLUGIN_VALUE_UNSET] = "unset",
					     [PLUGIN_VALUE_UNKNOWN] = "unknown" };
	return names[s];
}

static const char *finding_name(PluginFindingLevel l) {
	static const char *const names[] = { [PLUGIN_FINDING_INFO] = "info",
					     [PLUGIN_FINDING_WARNING] = "warning",
					     [PLUGIN_FINDING_ERROR] = "error" };
	return names[l];
}

static void print_plan(const PluginPlan *p) {
	for (size_t i = 0; i < p->n_changes; i++) {
		const PluginChange *c = &p->changes[i];
		printf("change %s [%s]: %s -> %s\n", c->id ? c->id : "-", c->target, c->actual ? c->actual : "(unset)",
		       c->desired ? c->desired : "(unset)");
	}
	for (size_t i = 0; i < p->n_findings; i++) {
		const PluginFinding *f = &p->findings[i];
		printf("finding %s %s", finding_name(f->level), f->id ? f->id : "-");
		if (f->path)
			printf(" %s:%u", f->path, f->line);
		printf(": %s\n", f->message);
	}
	for (size_t i = 0; i < p->n_files; i++)
		printf("file %s (%zu bytes)\n", p->files[i].path, p->files[i].len);
	printf("%zu change(s), %zu finding(s)\n", p->n_changes, p->n_findings);
}

static int usage(FILE *f, int rc) {
	fprintf(f,
		"Usage: smbpolicy-plugin [OPTIONS] PLUGIN info|detect|actual|plan|apply|verify|rollback\n"
		"  --plugin-dir DIR    where NAME.so lives ($SMBPOLICY_PLUGIN_DIR, else the source\n"
		"                      tree's build/plugins when it exists, else the installed one)\n"
		"  --root DIR          every target path is under DIR\n"
		"  --dry-run           plan and validate, write nothing\n"
		"  --settings FILE     desired values: `id = value`, `id += item`\n"
		"  --set ID=VALUE      one desired value (repeatable)\n"
		"  --policy-xml FILE   resultant policy document (endpoint plugin)\n"
		"  --backup DIR        apply: save the backup here; rollback: restore it\n"
		"  --tool NAME=PATH    testparm, smbcontrol, smbstatus, ksmbd.control, netns, smb.conf\n"
		"  --check             plan: exit 1 when there are changes\n"
		"  -h, --help\n");
	return rc;
}

static int set_tool(PluginTools *t, const char *arg) {
	static const struct {
		const char *name;
		size_t offset;
	} table[] = {
		{ "testparm", offsetof(PluginTools, testparm) },
		{ "smbcontrol", offsetof(PluginTools, smbcontrol) },
		{ "smbstatus", offsetof(PluginTools, smbstatus) },
		{ "ksmbd.control", offsetof(PluginTools, ksmbd_control) },
		{ "netns", offsetof(PluginTools, netns) },
		{ "smb.conf", offsetof(PluginTools, smb_conf) },
	};
	const char *eq = strchr(arg, '=');
	if (!eq)
		return -EINVAL;
	for (size_t i = 0; i < ELEMENTSOF(table); i++)
		if (strlen(table[i].name) == (size_t)(eq - arg) && startswith(arg, table[i].name)) {
			*(const char **)((char *)t + table[i].offset) = eq + 1;
			return 0;
		}
	return -EINVAL;
}

static int parse_args(int argc, char **argv, Args *a) {
	enum { ARG_PLUGIN_DIR = 0x100, ARG_ROOT, ARG_DRY_RUN, ARG_SETTINGS, ARG_SET, ARG_POLICY_XML,
	       ARG_BACKUP, ARG_TOOL, ARG_CHECK, ARG_NAME };
	static const struct option opts[] = {
		{ "plugin-dir", required_argument, NULL, ARG_PLUGIN_DIR },
		{ "root", required_argument, NULL, ARG_ROOT },
		{ "dry-run", no_argument, NULL, ARG_DRY_RUN },
		{ "settings", required_argument, NULL, ARG_SETTINGS },
		{ "set", required_argument, NULL, ARG_SET },
		{ "policy-xml", required_argument, NULL, ARG_POLICY_XML },
		{ "policy-name", required_argument, NULL, ARG_NAME },
		{ "backup", required_argument, NULL, ARG_BACKUP },
		{ "tool", required_argument, NULL, ARG_TOOL },
		{ "check", no_argument, NULL, ARG_CHECK },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
		switch (c) {
		case ARG_PLUGIN_DIR: a->plugin_dir = optarg; break;
		case ARG_ROOT: a->ctx.root = optarg; break;
		case ARG_DRY_RUN: a->ctx.dry_run = true; break;
		case ARG_SETTINGS: a->settings_file = optarg; break;
		case ARG_POLICY_XML: a->policy_xml = optarg; break;
		case ARG_NAME: a->name = optarg; break;
		case ARG_BACKUP: a->backup_dir = optarg; break;
		case ARG_CHECK: a->check = true; break;
		case ARG_SET: {
			_cleanup_free_ char *s = strdup(optarg);
			if (!s || parse_setting(a, s) < 0) {
				fprintf(stderr, "--set %s: expected ID=VALUE\n", optarg);
				return -EINVAL;
			}
			break;
		}
		case ARG_TOOL:
			if (set_tool(&a->ctx.tools, optarg) < 0) {
				fprintf(stderr, "--tool %s: unknown tool\n", optarg);
				return -EINVAL;
			}
			break;
		case 'h': return 1;
		default: return -EINVAL;
		}
	}
	return 0;
}

static int load_plugin(const Args *a, const char *name, void **ret_handle,
		       const SmbpolicyPlugin **ret) {
	const char *dir = a->plugin_dir ? a->plugin_dir
			 : lookup_dir("SMBPOLICY_PLUGIN_DIR", SMBPOLICY_SRCDIR "/build/plugins", SMBPOLICY_PLUGINDIR);
	_cleanup_free_ char *path = strchr(name, '/') ? strdup(name) : strdup_printf("%s/%s.so", dir, name);
	if (!path)
		return -ENOMEM;
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "%s\n", dlerror());
		return -ENOENT;
	}
	const SmbpolicyPlugin *p = dlsym(h, SMBPOLICY_PLUGIN_SYMBOL);
	if (!p || p->abi_version != SMBPOLICY_PLUGIN_ABI_VERSION) {
		fprintf(stderr, "%s: no %s with ABI version %u\n", path, SMBPOLICY_PLUGIN_SYMBOL,
			SMBPOLICY_PLUGIN_ABI_VERSION);
		dlclose(h);
		return -EPROTO;
	}
	*ret_handle = h;
	*ret = p;
	return 0;
}

static int verb_info(const SmbpolicyPlugin *p, _unused_ const Args *a, _unused_ const char *verb) {
	printf("%s (ABI %u): %s\n", p->name, p->abi_version, p->description);
	for (size_t i = 0; i < p->n_settings; i++)
		printf("  %-40s %-40s %s\n", p->settings[i].id, p->settings[i].target,
		       p->settings[i].transform);
	return 0;
}

static int verb_detect(const SmbpolicyPlugin *p, const Args *a, _unused_ const char *verb) {
	PluginDetect d = {};
	int r = p->detect(&a->ctx, &d);
	if (r < 0) {
		fprintf(stderr, "%s: detect: %s\n", p->name, strerror(-r));
		return 1;
	}
	printf("installed=%s running=%s applicable=%s version=%s\n%s\n", d.installed ? "yes" : "no",
	       d.running ? "yes" : "no", d.applicable ? "yes" : "no", d.version ? d.version : "-",
	       d.detail ? d.detail : "");
	p->detect_clear(&d);
	return 0;
}

static int verb_actual(const SmbpolicyPlugin *p, const Args *args, _unused_ const char *verb) {
	PluginActual *a = NULL;
	size_t n = 0;
	int r = p->read_actual(&args->ctx, &a, &n);
	if (r < 0) {
		fprintf(stderr, "%s: read_actual: %s\n", p->name, strerror(-r));
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		printf("%s [%s] %s%s%s\n", a[i].id, a[i].target, state_name(a[i].state),
		       a[i].raw ? " " : "", a[i].raw ? a[i].raw : "");
	p->actual_free(a, n);
	return 0;
}

/* A complete policy document (every catalog setting: the given value or the
 * default), for plugins that want the resultant XML (endpoint).  NULL when
 * the catalog cannot be loaded or a value does not fit it. */
static char *policy_document(const Args *a) {
	_cleanup_(catalog_freep) Catalog *c = NULL;
	if (catalog_load_default(&c) < 0)
		return NULL;
	_cleanup_free_ PolicyEntry *e = calloc(c->n_settings + 1, sizeof(PolicyEntry));
	if (!e)
		return NULL;
	for (size_t i = 0; i < c->n_settings; i++) {
		e[i] = (PolicyEntry){ .setting = &c->settings[i], .value = c->settings[i].default_value };
		for (size_t j = 0; j < a->n; j++)
			if (streq(a->ids[j], c->settings[i].id))
				e[i].value = a->values[j];
	}
	Policy p = { .name = (char *)(a->name ? a->name : "smbpolicy-plugin"), .entries = e,
		     .n_entries = c->n_settings };
	char *xml = NULL;
	return policy_to_xml(&p, &xml) < 0 ? NULL : xml;
}

/* plan, then the verb's ops on the plan. */
static int verb_with_plan(const SmbpolicyPlugin *p, const Args *a, const char *verb) {
	_cleanup_free_ PluginSetting *settings = calloc(a->n + 1, sizeof(PluginSetting));
	_cleanup_free_ char *xml = NULL;
	if (!settings)
		return 1;
	for (size_t i = 0; i < a->n; i++)
		settings[i] = (PluginSetting){ a->ids[i], a->values[i] };
	if (a->policy_xml && read_file(a->policy_xml, PLUGIN_FILE_MAX, &xml, NULL) < 0) {
		fprintf(stderr, "%s: cannot read\n", a->policy_xml);
		return 1;
	}
	/* Only the endpoint plugin reads the document; loading the catalog
	 * costs tens of milliseconds the others need not pay. */
	if (!xml && streq(p->name, "endpoint"))
		xml = policy_document(a);
	PluginPolicy pol = { .name = a->name ? a->name : "smbpolicy-plugin", .hash = a->hash,
			     .settings = settings, .n_settings = a->n, .xml = xml };
	PluginPlan *plan = NULL;
	int r = p->plan(&a->ctx, &pol, &plan);
	if (r < 0) {
		fprintf(stderr, "%s: plan: %s\n", p->name, strerror(-r));
		return 1;
	}
	int rc = 0;
	if (streq(verb, "plan")) {
		print_plan(plan);
		rc = a->check && plan->n_changes > 0 ? 1 : 0;
	} else if (streq(verb, "verify")) {
		r = p->verify(&a->ctx, plan);
		printf("verify: %s\n", r == 0 ? "ok" : strerror(-r));
		rc = r == 0 ? 0 : 1;
	} else { /* apply */
		print_plan(plan);
		PluginBackup *b = NULL;
		r = p->apply(&a->ctx, plan, &b);
		if (r < 0) {
			fprintf(stderr, "%s: apply: %s (nothing changed)\n", p->name, strerror(-r));
			rc = 1;
		} else if (!a->ctx.dry_run && (r = p->verify(&a->ctx, plan)) < 0) {
			fprintf(stderr, "%s: verify: %s, rolling back\n", p->name, strerror(-r));
			(void)p->rollback(&a->ctx, b);
			rc = 1;
		} else if (b && a->backup_dir && (r = backup_save(a->backup_dir, b)) < 0) {
			fprintf(stderr, "%s: cannot save backup: %s\n", a->backup_dir, strerror(-r));
			rc = 1;
		} else
			printf("applied\n");
		if (b)
			p->backup_free(b);
	}
	p->plan_free(plan);
	return rc;
}

static int verb_rollback(const SmbpolicyPlugin *p, const Args *a, _unused_ const char *verb) {
	if (!a->backup_dir) {
		fprintf(stderr, "rollback needs --backup DIR\n");
		return 2;
	}
	PluginBackup *b = NULL;
	int r = backup_load(a->backup_dir, &b);
	if (r < 0) {
		fprintf(stderr, "%s: cannot load backup: %s\n", a->backup_dir, strerror(-r));
		return 1;
	}
	r = p->rollback(&a->ctx, b);
	plugin_backup_free(b);
	if (r < 0) {
		fprintf(stderr, "%s: rollback: %s\n", p->name, strerror(-r));
		return 1;
	}
	printf("rolled back\n");
	return 0;
}

static int run(int argc, char **argv) {
	_cleanup_(args_free) Args a = { .ctx = { .abi_version = SMBPOLICY_PLUGIN_ABI_VERSION,
						 .log = log_stderr } };
	int r = parse_args(argc, argv, &a);
	if (r > 0)
		return usage(stdout, 0);
	if (r < 0 || optind + 2 != argc)
		return usage(stderr, 2);
	if (a.settings_file && (r = load_settings_file(&a, a.settings_file)) < 0) {
		if (r != -EINVAL)
			fprintf(stderr, "%s: %s\n", a.settings_file, strerror(-r));
		return 2;
	}
	static const struct {
		const char *name;
		int (*run)(const SmbpolicyPlugin *p, const Args *a, const char *verb);
	} verbs[] = {
		{ "info", verb_info },         { "detect", verb_detect }, { "actual", verb_actual },
		{ "plan", verb_with_plan },    { "apply", verb_with_plan }, { "verify", verb_with_plan },
		{ "rollback", verb_rollback },
	};
	const char *verb = argv[optind + 1];
	size_t v = 0;
	while (v < ELEMENTSOF(verbs) && !streq(verbs[v].name, verb))
		v++;
	if (v == ELEMENTSOF(verbs))
		return usage(stderr, 2);
	void *h = NULL;
	const SmbpolicyPlugin *p = NULL;
	if (load_plugin(&a, argv[optind], &h, &p) < 0)
		return 1;
	int rc = verbs[v].run(p, &a, verb);
	dlclose(h);
	return rc;
}

int main(int argc, char **argv) {
	return run(argc, argv);
}
