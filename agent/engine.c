/*
 * engine.c - the agent cycle: policy -> plugins (detect, plan, apply,
 * verify, rollback) -> report -> state DB and journal.
 *
 * Invariants: see engine.h.  In particular a plugin whose apply succeeded is
 * always verified, and rolled back when verification fails, before the next
 * plugin runs; a failing plugin never stops the cycle.  The loaded policy is
 * replaced only by a policy that parsed and resolved completely.
 * Must never: interpret setting values (that is the plugins' job), or name a
 * setting id in code.
 */
#include "engine.h"

#include <sys/stat.h>
#include <syslog.h>

#include "catalog.h"
#include "journal.h"
#include "policy.h"
#include "rsop.h"
#include "source.h"
#include "store.h"
#include "strbuf.h"

/* The loaded, resolved policy, replaced as a whole on reload. */
typedef struct EnginePolicy {
	char *xml;
	Policy *policy;
	char ***values;          /* borrowed strv, indexed like catalog->settings */
	PluginSetting *settings; /* one per catalog setting */
	size_t n_settings;
} EnginePolicy;

/* A plugin known to be in the desired state as of key (policy hash + file
 * fingerprint, see fingerprint()); key NULL = not known. */
typedef struct EngineCacheEntry {
	char *plugin;
	char *key;
} EngineCacheEntry;

struct Engine {
	char *root, *plugin_dir, *policy_path, *store_path, *host;
	PluginTools tools; /* strings borrowed from the caller (see engine_new) */
	PluginHost *plugins;
	Catalog *catalog;
	AgentState *state;
	Source *source;       /* bundle source, or NULL */
	EnginePolicy *policy;
	char **managed;       /* paths of files the plugins manage */
	char **managed_owner; /* plugin name per managed path */
	char *last_error;     /* the current plugin's last warning/error message */
	EngineCacheEntry *cache; /* plugins known to be in the desired state */
	size_t n_cache;
};

static void engine_policy_free(EnginePolicy *p) {
	if (!p)
		return;
	free(p->xml);
	policy_free(p->policy);
	free(p->values);
	free(p->settings);
	free(p);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(EnginePolicy *, engine_policy_free)

void engine_free(Engine *e) {
	if (!e)
		return;
	engine_policy_free(e->policy);
	state_close(e->state);
	source_free(e->source);
	catalog_free(e->catalog);
	plugin_host_free(e->plugins);
	strv_free(e->managed);
	strv_free(e->managed_owner);
	for (size_t i = 0; i < e->n_cache; i++) {
		free(e->cache[i].plugin);
		free(e->cache[i].key);
	}
	free(e->cache);
	free(e->last_error);
	free(e->root);
	free(e->plugin_dir);
	free(e->policy_path);
	free(e->store_path);
	free(e->host);
	free(e);
}

/* strdup that keeps NULL; sets *failed on ENOMEM. */
static char *dup_opt(const char *s, bool *failed) {
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		*failed = true;
	return d;
}

static int mkdir_parents(const char *path) {
	_cleanup_free_ char *p = strdup(path);
	if (!p)
		return -ENOMEM;
	for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = 0;
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	return 0;
}

int engine_new(const EngineConfig *cfg, Engine **ret) {
	_cleanup_(engine_freep) Engine *e = calloc(1, sizeof(Engine));
	if (!e)
		return -ENOMEM;
	bool failed = false;
	e->root = dup_opt(cfg->root && *cfg->root ? cfg->root : "/", &failed);
	e->plugin_dir = dup_opt(cfg->plugin_dir ? cfg->plugin_dir : plugin_host_default_dir(),
				&failed);
	e->policy_path = dup_opt(cfg->policy_path, &failed);
	e->store_path = dup_opt(cfg->store_path, &failed);
	if (cfg->host)
		e->host = dup_opt(cfg->host, &failed);
	else {
		char h[256] = "";
		(void)gethostname(h, sizeof(h) - 1);
		e->host = dup_opt(h, &failed);
	}
	e->tools = cfg->tools;
	e->managed = calloc(1, sizeof(char *));
	e->managed_owner = calloc(1, sizeof(char *));
	if (failed || !e->managed || !e->managed_owner)
		return -ENOMEM;
	if (!!e->policy_path + !!e->store_path + !!cfg->source_url != 1)
		return -EINVAL;

	int r = plugin_host_load(e->plugin_dir, &e->plugins);
	if (r < 0) {
		journal_log(JOURNAL_AGENT, LOG_ERR, &(JournalFields){ .path = e->plugin_dir },
			    "cannot read plugin directory: %s", strerror(-r));
		return r;
	}
	/* Without plugins every cycle would be "compliant": refuse. */
	if (r == 0) {
		journal_log(JOURNAL_AGENT, LOG_ERR, &(JournalFields){ .path = e->plugin_dir },
			    "no plugin could be loaded from %s", e->plugin_dir);
		return -ENOENT;
	}
	r = catalog_load_default(&e->catalog);
	if (r < 0)
		return r;
	if (cfg->state_path) {
		r = mkdir_parents(cfg->state_path);
		if (r >= 0)
			r = state_open(cfg->state_path, &e->state);
		if (r < 0) {
			journal_log(JOURNAL_AGENT, LOG_ERR, &(JournalFields){ .path = cfg->state_path },
				    "cannot open state DB: %s", strerror(-r));
			return r;
		}
		char **paths = NULL, **owners = NULL;
		if (state_managed_load(e->state, &paths, &owners) >= 0) {
			strv_free(e->managed);
			strv_free(e->managed_owner);
			e->managed = paths;
			e->managed_owner = owners;
		}
	}
	if (cfg->source_url) {
		_cleanup_free_ char *state = engine_default_state_path(cfg->root);
		_cleanup_free_ char *cache =
			source_default_cache_dir(cfg->state_path ? cfg->state_path : state);
		if (!cache || (r = mkdir_parents(cache)) < 0)
			return cache ? r : -ENOMEM;
		SourceConfig sc = { .url = cfg->source_url,
				    .trusted_keys = cfg->trusted_keys,
				    .cache_dir = cache,
				    .ca_file = cfg->ca_file };
		r = source_new(&sc, &e->source);
		if (r < 0) {
			journal_log(JOURNAL_AGENT, LOG_ERR, &(JournalFields){ .path = cfg->source_url },
				    "cannot set up the policy source: %s", strerror(-r));
			return r;
		}
		e->policy_path = strdup(source_policy_path(e->source));
		if (!e->policy_path)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(e);
	return 0;
}

void engine_source_retry_now(Engine *e) {
	if (e->source)
		source_retry_now(e->source);
}

bool engine_source_defer(Engine *e, uint64_t usec) {
	if (e->source)
		source_defer(e->source, usec);
	return e->source;
}

/* The policy document text: the file, or the store resolved for the host. */
static int policy_source_xml(Engine *e, char **ret, DiagList *diag) {
	if (e->policy_path) {
		int r = read_file(e->policy_path, POLICY_MAX_BYTES, ret, NULL);
		if (r < 0)
			diag_add(diag, e->policy_path, 0, NULL, "cannot read: %s", strerror(-r));
		return r;
	}
	_cleanup_(store_closep) Store *s = NULL;
	int r = store_open(e->store_path, &s);
	if (r < 0) {
		diag_add(diag, e->store_path, 0, NULL, "cannot open store: %s", strerror(-r));
		return r;
	}
	_cleanup_(rsop_freep) Rsop *rsop = NULL;
	r = rsop_resolve(s, e->catalog, e->host, &rsop, diag);
	if (r < 0) {
		if (r != -EINVAL)
			diag_add(diag, e->store_path, 0, NULL, "cannot resolve policy for host %s: %s",
				 e->host, strerror(-r));
		return r;
	}
	return rsop_to_policy_xml(rsop, ret);
}

int engine_load_policy(Engine *e, DiagList *diag) {
	if (e->source) {
		/* Failures are logged by the source; its last good policy stays. */
		int k = source_update(e->source);
		/* The cached policy file is only ever written from a verified
		 * bundle; after a move to another URL it stays the last good
		 * policy until the new source delivers. */
		if (!source_has_policy(e->source) && access(e->policy_path, R_OK) < 0) {
			diag_add(diag, e->policy_path, 0, NULL,
				 "no policy yet: no bundle could be fetched and verified");
			return k < 0 ? k : -ENODATA;
		}
		if (k != SOURCE_CHANGED && e->policy)
			return 0;
	}
	_cleanup_(engine_policy_freep) EnginePolicy *p = calloc(1, sizeof(EnginePolicy));
	if (!p)
		return -ENOMEM;
	int r = policy_source_xml(e, &p->xml, diag);
	if (r < 0)
		return r;
	const char *name = e->policy_path ? e->policy_path : e->store_path;
	r = policy_parse_memory(e->catalog, p->xml, strlen(p->xml), name, &p->policy, diag);
	if (r < 0)
		return r;
	/* policy.h declares char *** but hands out a vector of strv (see
	 * catalog_check_constraints()); take it as what it is. */
	r = policy_effective_values(e->catalog, p->policy, (void *)&p->values);
	if (r < 0)
		return r;
	p->n_settings = e->catalog->n_settings;
	p->settings = calloc(p->n_settings ? p->n_settings : 1, sizeof(PluginSetting));
	if (!p->settings)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_settings; i++)
		p->settings[i] = (PluginSetting){ e->catalog->settings[i].id,
						  p->values[i] };
	engine_policy_free(e->policy);
	e->policy = TAKE_PTR(p);
	return 1;
}

static void engine_plugin_log(void *userdata, PluginLogLevel level, const char *plugin,
			      const char *setting_id, const char *path, const char *message) {
	Engine *e = userdata;
	journal_log(JOURNAL_PLUGIN_LOG, (int)level,
		    &(JournalFields){ .plugin = plugin, .setting = setting_id, .path = path }, "%s",
		    message);
	if (level <= PLUGIN_LOG_WARNING) {
		char *m = strdup_printf("%s%s%s", setting_id ? setting_id : "",
					setting_id ? ": " : "", message);
		if (m) {
			free(e->last_error);
			e->last_error = m;
		}
	}
}

static int remember_paths(const SmbpolicyPlugin *p, const PluginPlan *plan, char ***paths,
			  char ***owners) {
	for (size_t i = 0; i < plan->n_files; i++)
		if (!strv_contains(*paths, plan->files[i].path) &&
		    (strv_push_dup(paths, plan->files[i].path) < 0 ||
		     strv_push_dup(owners, p->name) < 0))
			return -ENOMEM;
	return 0;
}

/* Desired value of a setting as text ("a,b" for lists), borrowed values. */
static char *desired_text(const Engine *e, const char *id) {
	int i = catalog_index(e->catalog, id);
	if (i < 0)
		return strdup("");
	char *s = strv_join(e->policy->values[i], ",");
	return s;
}

static bool plan_changes(const PluginPlan *plan, const char *id) {
	for (size_t i = 0; i < plan->n_changes; i++)
		if (streq(plan->changes[i].id, id))
			return true;
	return false;
}

/* Rows: every change with the given status, and every other setting the
 * plugin implements as ok (one row per distinct id, policy value). */
static int add_rows(Engine *e, Report *rep, const SmbpolicyPlugin *p, const PluginPlan *plan,
		    ReportSettingStatus change_status) {
	for (size_t i = 0; i < plan->n_changes; i++) {
		const PluginChange *c = &plan->changes[i];
		int r = report_add_setting(rep, p->name, c->id, c->target, c->actual, c->desired,
					   change_status);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < p->n_settings; i++) {
		const PluginSettingInfo *s = &p->settings[i];
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = streq(p->settings[j].id, s->id);
		if (seen || plan_changes(plan, s->id))
			continue;
		_cleanup_free_ char *v = desired_text(e, s->id);
		if (!v || report_add_setting(rep, p->name, s->id, s->target, v, v, RS_OK) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Log the plan's findings; returns how many are errors. */
static size_t log_findings(const SmbpolicyPlugin *p, const PluginPlan *plan) {
	static const int prio[] = {
		[PLUGIN_FINDING_INFO] = LOG_INFO,
		[PLUGIN_FINDING_WARNING] = LOG_WARNING,
		[PLUGIN_FINDING_ERROR] = LOG_ERR,
	};
	size_t errors = 0;
	for (size_t i = 0; i < plan->n_findings; i++) {
		const PluginFinding *f = &plan->findings[i];
		int pr = f->level < ELEMENTSOF(prio) ? prio[f->level] : LOG_ERR;
		char where[64] = "";
		if (f->line)
			snprintf(where, sizeof(where), ":%u", f->line);
		journal_log(JOURNAL_FINDING, pr,
			    &(JournalFields){ .plugin = p->name, .setting = f->id, .path = f->path },
			    "%s%s%s%s", f->path ? f->path : "", f->path ? where : "",
			    f->path ? ": " : "", f->message ? f->message : "");
		if (f->level == PLUGIN_FINDING_ERROR)
			errors++;
	}
	return errors;
}

/* What the plugin ABI's errors mean (plugin.h, "Errors worth mapping"). */
static const struct {
	int err;
	const char *text;
} plugin_errors[] = {
	{ ENOENT, "target not installed or file missing" },
	{ EINVAL, "a policy value the target cannot express" },
	{ EBADMSG, "the target's own validator rejected the configuration" },
	{ EBADE, "the target reads back values other than the policy's" },
};

static const char *plugin_strerror(int err) {
	for (size_t i = 0; i < ELEMENTSOF(plugin_errors); i++)
		if (plugin_errors[i].err == -err)
			return plugin_errors[i].text;
	return strerror(-err);
}

/* Plugin message for a failure: what failed and the plugin's last word. */
static int fail_plugin(Engine *e, Report *rep, const SmbpolicyPlugin *p, const char *what,
		       int err) {
	_cleanup_free_ char *m = strdup_printf("%s: %s%s%s", what, plugin_strerror(err),
					       e->last_error ? "; " : "",
					       e->last_error ? e->last_error : "");
	journal_log(JOURNAL_PLUGIN_FAILED, LOG_ERR, &(JournalFields){ .plugin = p->name }, "%s",
		    m ? m : what);
	return report_add_plugin(rep, p->name, RP_FAILED, m ? m : what);
}

static int apply_plugin(Engine *e, Report *rep, const SmbpolicyPlugin *p, const PluginContext *ctx,
			const PluginPlan *plan) {
	PluginBackup *backup = NULL;
	int r = p->apply(ctx, plan, &backup);
	if (r < 0) {
		/* The plugin restored what it touched; nothing changed. */
		int k = add_rows(e, rep, p, plan, RS_FAILED);
		return k < 0 ? k : fail_plugin(e, rep, p, "apply failed, nothing changed", r);
	}
	r = p->verify(ctx, plan);
	if (r < 0) {
		int rb = backup ? p->rollback(ctx, backup) : 0;
		journal_log(JOURNAL_ROLLED_BACK, rb < 0 ? LOG_CRIT : LOG_WARNING,
			    &(JournalFields){ .plugin = p->name }, "verify failed (%s), rollback %s",
			    plugin_strerror(r), rb < 0 ? strerror(-rb) : "done");
		if (backup)
			p->backup_free(backup);
		int k = add_rows(e, rep, p, plan, RS_FAILED);
		return k < 0 ? k
			     : fail_plugin(e, rep, p,
					   rb < 0 ? "verify failed, ROLLBACK FAILED"
						  : "verify failed, rolled back",
					   r);
	}
	if (backup)
		p->backup_free(backup);
	for (size_t i = 0; i < plan->n_changes; i++) {
		const PluginChange *c = &plan->changes[i];
		journal_log(JOURNAL_SETTING_CHANGED, LOG_NOTICE,
			    &(JournalFields){ .plugin = p->name, .setting = c->id },
			    "%s: %s -> %s", c->target ? c->target : c->id,
			    c->actual ? c->actual : "(unset)", c->desired ? c->desired : "(unset)");
	}
	r = add_rows(e, rep, p, plan, RS_CHANGED);
	if (r < 0)
		return r;
	_cleanup_free_ char *m = strdup_printf("%zu change(s) applied and verified", plan->n_changes);
	return report_add_plugin(rep, p->name, RP_CHANGED, m ? m : "");
}

static void plan_freep_for(const SmbpolicyPlugin *p, PluginPlan **plan) {
	if (*plan)
		p->plan_free(*plan);
	*plan = NULL;
}

/* One plugin's part of a cycle.  Returns -ENOMEM only; plugin failures are
 * rows in the report. */
static int run_plugin(Engine *e, ReportKind kind, const SmbpolicyPlugin *p,
		      const PluginPolicy *pol, Report *rep, char ***paths, char ***owners) {
	PluginContext ctx = {
		.abi_version = SMBPOLICY_PLUGIN_ABI_VERSION,
		.root = e->root,
		.dry_run = kind != REPORT_APPLY,
		.log = engine_plugin_log,
		.userdata = e,
		.tools = e->tools,
	};
	free(e->last_error);
	e->last_error = NULL;

	PluginDetect d = {};
	int r = p->detect(&ctx, &d);
	if (r < 0) {
		p->detect_clear(&d);
		return fail_plugin(e, rep, p, "detect failed", r);
	}
	bool applicable = d.applicable;
	_cleanup_free_ char *detail = strdup(d.detail ? d.detail : "");
	p->detect_clear(&d);
	if (!applicable)
		return report_add_plugin(rep, p->name, RP_UNAVAILABLE, detail);

	PluginPlan *plan = NULL;
	r = p->plan(&ctx, pol, &plan);
	if (r < 0 || !plan) {
		plan_freep_for(p, &plan);
		return fail_plugin(e, rep, p, "plan failed", r < 0 ? r : -EIO);
	}
	if (remember_paths(p, plan, paths, owners) < 0) {
		plan_freep_for(p, &plan);
		return -ENOMEM;
	}
	size_t errors = log_findings(p, plan);

	if (plan->n_changes == 0) {
		r = add_rows(e, rep, p, plan, RS_OK);
		if (r >= 0)
			r = report_add_plugin(rep, p->name, RP_OK, detail);
	} else if (kind == REPORT_PLAN) {
		r = add_rows(e, rep, p, plan, RS_CHANGE);
		_cleanup_free_ char *m = strdup_printf("%zu change(s) pending", plan->n_changes);
		if (r >= 0)
			r = report_add_plugin(rep, p->name, RP_PENDING, m ? m : "");
	} else if (kind == REPORT_VERIFY) {
		for (size_t i = 0; i < plan->n_changes; i++)
			journal_log(JOURNAL_DRIFT, LOG_WARNING,
				    &(JournalFields){ .plugin = p->name, .setting = plan->changes[i].id },
				    "%s is %s, policy wants %s",
				    plan->changes[i].target ? plan->changes[i].target : "",
				    plan->changes[i].actual ? plan->changes[i].actual : "(unset)",
				    plan->changes[i].desired ? plan->changes[i].desired : "(unset)");
		r = add_rows(e, rep, p, plan, RS_DRIFT);
		_cleanup_free_ char *m = strdup_printf("%zu setting(s) differ", plan->n_changes);
		if (r >= 0)
			r = report_add_plugin(rep, p->name, RP_DRIFT, m ? m : "");
	} else if (errors > 0) {
		r = add_rows(e, rep, p, plan, RS_FAILED);
		if (r >= 0)
			r = fail_plugin(e, rep, p, "policy cannot be enforced on this target", -EINVAL);
	} else
		r = apply_plugin(e, rep, p, &ctx, plan);
	plan_freep_for(p, &plan);
	return r;
}

/* "HASH|path:dev:ino:size:mtime;..." over the files plugin manages; NULL
 * (and 0) when it manages none, -ENOMEM. */
static int fingerprint(const Engine *e, const char *plugin, char **ret) {
	*ret = NULL;
	StrBuf b = {};
	size_t n = 0;
	strbuf_printf(&b, "%s|", e->policy->policy->hash);
	for (size_t i = 0; e->managed[i]; i++) {
		if (!streq(e->managed_owner[i], plugin))
			continue;
		struct stat st;
		n++;
		if (stat(e->managed[i], &st) < 0)
			strbuf_printf(&b, "%s:absent;", e->managed[i]);
		else
			strbuf_printf(&b, "%s:%llu:%llu:%lld:%lld.%09ld;", e->managed[i],
				      (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
				      (long long)st.st_size, (long long)st.st_mtim.tv_sec,
				      st.st_mtim.tv_nsec);
	}
	if (n == 0) {
		strbuf_free(&b);
		return 0;
	}
	return strbuf_finish(&b, ret);
}

static EngineCacheEntry *cache_find(const Engine *e, const char *plugin) {
	for (size_t i = 0; i < e->n_cache; i++)
		if (streq(e->cache[i].plugin, plugin))
			return &e->cache[i];
	return NULL;
}

static bool cache_hit(const Engine *e, const char *plugin) {
	const EngineCacheEntry *c = cache_find(e, plugin);
	_cleanup_free_ char *fp = NULL;
	return c && c->key && fingerprint(e, plugin, &fp) >= 0 && fp && streq(fp, c->key);
}

/* Remember (ok) or forget (!ok) that plugin is in the desired state now.
 * Failing to remember only costs a full run next time. */
static void cache_update(Engine *e, const char *plugin, bool ok) {
	EngineCacheEntry *c = cache_find(e, plugin);
	char *fp = NULL;
	if (ok)
		(void)fingerprint(e, plugin, &fp);
	if (!c && fp) {
		EngineCacheEntry *n = reallocarray(e->cache, e->n_cache + 1, sizeof(EngineCacheEntry));
		char *name = strdup(plugin);
		if (!n || !name) {
			if (n)
				e->cache = n;
			free(name);
			free(fp);
			return;
		}
		e->cache = n;
		c = &e->cache[e->n_cache++];
		*c = (EngineCacheEntry){ name, NULL };
	}
	if (c) {
		free(c->key);
		c->key = fp;
	}
}

static int engine_run_internal(Engine *e, ReportKind kind, bool cached, Report **ret);

int engine_run(Engine *e, ReportKind kind, Report **ret) {
	return engine_run_internal(e, kind, false, ret);
}

int engine_run_cached(Engine *e, ReportKind kind, Report **ret) {
	return engine_run_internal(e, kind, true, ret);
}

static int engine_run_internal(Engine *e, ReportKind kind, bool cached, Report **ret) {
	if (!e->policy)
		return -ENODATA;
	const Policy *pol = e->policy->policy;
	_cleanup_(report_freep) Report *rep = NULL;
	int r = report_new(kind, e->host, pol->name, pol->hash, &rep);
	if (r < 0)
		return r;
	PluginPolicy pp = {
		.name = pol->name,
		.hash = pol->hash,
		.settings = e->policy->settings,
		.n_settings = e->policy->n_settings,
		.xml = e->policy->xml,
	};
	/* Managed paths accumulate: a plan without changes may list no files,
	 * yet its plugin still manages them. */
	_cleanup_strv_free_ char **paths = strv_copy(e->managed);
	_cleanup_strv_free_ char **owners = strv_copy(e->managed_owner);
	if (!paths || !owners)
		return -ENOMEM;
	for (size_t i = 0; i < e->plugins->n; i++) {
		const SmbpolicyPlugin *p = e->plugins->items[i].plugin;
		if (cached && kind != REPORT_PLAN && cache_hit(e, p->name)) {
			static const PluginPlan empty = {};
			r = add_rows(e, rep, p, &empty, RS_OK);
			if (r >= 0)
				r = report_add_plugin(rep, p->name, RP_OK,
						      "unchanged since the last check");
		} else
			r = run_plugin(e, kind, p, &pp, rep, &paths, &owners);
		if (r < 0)
			return r;
	}
	report_finish(rep);
	strv_free(e->managed);
	strv_free(e->managed_owner);
	e->managed = TAKE_PTR(paths);
	e->managed_owner = TAKE_PTR(owners);
	/* After the cycle (the files as they are now): who is known good. */
	for (size_t i = 0; i < rep->n_plugins; i++)
		if (kind != REPORT_PLAN)
			cache_update(e, rep->plugins[i].name,
				     rep->plugins[i].status == RP_OK ||
					     rep->plugins[i].status == RP_CHANGED);

	int prio = !rep->compliant && kind != REPORT_PLAN ? LOG_WARNING
		   : kind == REPORT_APPLY			 ? LOG_NOTICE
								 : LOG_INFO;
	journal_log(JOURNAL_POLICY_APPLIED, prio, NULL,
		    "%s of %s (%.12s): %s, %u changed, %u failed", report_kind_to_string(kind),
		    rep->policy, rep->version, rep->compliant ? "compliant" : "not compliant",
		    rep->changed, rep->failed);
	if (e->state) {
		r = state_record(e->state, rep, NULL);
		if (r >= 0)
			r = state_managed_save(e->state, e->managed, e->managed_owner);
		if (r < 0)
			journal_log(JOURNAL_AGENT, LOG_ERR, NULL, "cannot record run in state DB: %s",
				    strerror(-r));
	}
	*ret = TAKE_PTR(rep);
	return 0;
}

const char *engine_policy_name(const Engine *e) {
	return e->policy ? e->policy->policy->name : NULL;
}
const char *engine_policy_version(const Engine *e) {
	return e->policy ? e->policy->policy->hash : NULL;
}
const char *engine_policy_xml(const Engine *e) { return e->policy ? e->policy->xml : NULL; }
const char *engine_host(const Engine *e) { return e->host; }
const char *engine_root(const Engine *e) { return e->root; }
char *const *engine_managed_paths(const Engine *e) { return e->managed; }
const PluginHost *engine_plugins(const Engine *e) { return e->plugins; }
AgentState *engine_state(const Engine *e) { return e->state; }

const char *engine_path_owner(const Engine *e, const char *path) {
	for (size_t i = 0; e->managed && e->managed[i]; i++)
		if (streq(e->managed[i], path))
			return e->managed_owner[i];
	return NULL;
}

char *engine_default_state_path(const char *root) {
	if (!root || !*root || streq(root, "/"))
		return strdup(ENGINE_STATE_PATH);
	return strdup_printf("%s%s", root, ENGINE_STATE_PATH);
}
