/*
 * ksmbd.c - the ksmbd plugin (in-kernel SMB server, configured by
 * ksmbd-tools): [global] keys of /etc/ksmbd/ksmbd.conf for signing,
 * encryption, dialects, guest and the TCP port; reload with
 * `ksmbd.control --reload` when the module is loaded.
 *
 * Invariants: only values ksmbd-tools parses are written - for signing and
 * encryption `enabled`, `auto`, `mandatory`, `disabled`; never `required`,
 * which ksmbd silently reads as disabled.  An existing `required` is
 * reported as a finding (with its line) and replaced.  Lines are edited in
 * place (plugin_ini_set): comments, spacing and shares stay byte for byte.
 * ksmbd has no validator of its own, so the new text is re-parsed and every
 * key checked before it is renamed into place.
 *
 * Must never: claim settings where neither ksmbd-tools nor a ksmbd.conf
 * exists (detect says "not installed"), write `required`, touch a share
 * section.
 */
#include "plugin_util.h"

#define KSMBD_NAME "ksmbd"
#define KSMBD_CONF "/etc/ksmbd/ksmbd.conf"
#define KSMBD_MODULE "/sys/module/ksmbd"
#define KSMBD_TIMEOUT_MS 30000u

typedef struct KsmbdKey {
	const char *key;
	PluginRenderFunc render;
	const void *arg;
	bool tristate; /* signing/encryption: `required` means disabled here */
} KsmbdKey;

static const PluginValueMap signing_map[] = {
	{ "true", "mandatory" }, { "false", "auto" }, PLUGIN_VALUE_MAP_END
};
static const PluginValueMap encryption_map[] = {
	{ "true", "mandatory" }, { "false", "auto" }, PLUGIN_VALUE_MAP_END
};
static const PluginValueMap dialect_map[] = {
	{ "2.0.2", "SMB2_02" }, { "2.1", "SMB2_10" }, { "3.0", "SMB3_00" },
	{ "3.0.2", "SMB3_02" }, { "3.1.1", "SMB3_11" }, PLUGIN_VALUE_MAP_END
};
static const PluginValueMap map_to_guest_map[] = {
	{ "false", "never" }, { "true", "bad user" }, PLUGIN_VALUE_MAP_END
};
static const PluginValueMap restrict_anonymous_map[] = {
	{ "false", "2" }, { "true", "0" }, PLUGIN_VALUE_MAP_END
};

#define KSMBD_ROW(id_, key_, xform_, render_, arg_, tristate_)                                \
	{ .id = id_, .target = key_, .transform = xform_,                                     \
	  .impl = &(const KsmbdKey){ .key = key_, .render = render_, .arg = arg_,            \
				     .tristate = tristate_ } }

static const PluginSettingInfo ksmbd_settings[] = {
	KSMBD_ROW("server.signing.required", "server signing", "true -> mandatory, false -> auto",
		  plugin_render_map, signing_map, true),
	KSMBD_ROW("server.encryption.required", "smb3 encryption", "true -> mandatory, false -> auto",
		  plugin_render_map, encryption_map, true),
	KSMBD_ROW("server.dialect.min", "server min protocol", "3.1.1 -> SMB3_11, 2.0.2 -> SMB2_02, ...",
		  plugin_render_map, dialect_map, false),
	KSMBD_ROW("server.dialect.max", "server max protocol", "3.1.1 -> SMB3_11, 2.0.2 -> SMB2_02, ...",
		  plugin_render_map, dialect_map, false),
	KSMBD_ROW("server.guest.allowed", "map to guest", "false -> never, true -> bad user",
		  plugin_render_map, map_to_guest_map, false),
	KSMBD_ROW("server.guest.allowed", "restrict anonymous", "false -> 2, true -> 0",
		  plugin_render_map, restrict_anonymous_map, false),
	KSMBD_ROW("server.transport.tcp.port", "tcp port", "the port number", plugin_render_verbatim,
		  NULL, false),
};

/* Policy values ksmbd cannot enforce: findings. */
static const PluginLimit ksmbd_limits[] = {
	{ "server.transport.tcp.enabled", "false", PLUGIN_FINDING_WARNING,
	  "ksmbd serves only over TCP (or RDMA on its own port space); tcp port stays in effect" },
	{ "server.auth-rate-limiter.enabled", "true", PLUGIN_FINDING_INFO,
	  "ksmbd has its own fixed delay (5 s after more than 10 bad passwords); the configured delay is not applied" },
	{ "server.transport.quic.enabled", "true", PLUGIN_FINDING_INFO,
	  "ksmbd has no SMB over QUIC; the QUIC transport is left to smbrefd" },
};

/* The values ksmbd-tools parses for the tristate keys (anything else,
 * `required` included, ends up as disabled). */
static const char *const ksmbd_tristate_values[] = { "enabled", "auto", "mandatory", "disabled", NULL };

static bool ksmbd_value_equal(const char *have, const char *want) {
	return have && want && plugin_list_equal(have, want);
}

/* ---- findings: `required` (and other unparsed values) ---- */

typedef struct RequiredScan {
	PluginPlan *plan;
	const char *path;
} RequiredScan;

static int required_scan_cb(const char *key, const char *value, unsigned line, void *userdata) {
	RequiredScan *s = userdata;
	for (size_t i = 0; i < ELEMENTSOF(ksmbd_settings); i++) {
		const KsmbdKey *k = ksmbd_settings[i].impl;
		if (!k->tristate || !plugin_ini_key_equal(k->key, key))
			continue;
		bool parsed = false;
		STRV_FOREACH(v, (char *const *)ksmbd_tristate_values)
			parsed = parsed || strcasecmp(*v, value) == 0;
		if (parsed)
			return 0;
		return plugin_plan_add_finding(s->plan, PLUGIN_FINDING_WARNING, ksmbd_settings[i].id, s->path,
					       line,
					       "`%s = %s`: ksmbd does not parse \"%s\" and treats it as disabled "
					       "(use mandatory)",
					       k->key, value, value);
	}
	return 0;
}

/* ---- ops ---- */

static char *ksmbd_conf_path(const PluginContext *ctx) {
	return plugin_path(ctx, KSMBD_CONF);
}

static bool ksmbd_tools_present(const PluginContext *ctx) {
	const char *tool = plugin_tool(ctx->tools.ksmbd_control, "ksmbd.control");
	if (!tool)
		return false;
	char *argv[] = { (char *)tool, "--help", NULL };
	return plugin_run(argv, KSMBD_TIMEOUT_MS, NULL, NULL) != -ENOENT;
}

static bool ksmbd_module_loaded(const PluginContext *ctx) {
	_cleanup_free_ char *m = plugin_path(ctx, KSMBD_MODULE);
	return m && access(m, F_OK) == 0;
}

static int ksmbd_detect(const PluginContext *ctx, PluginDetect *ret) {
	_cleanup_free_ char *conf = ksmbd_conf_path(ctx);
	if (!conf)
		return -ENOMEM;
	*ret = (PluginDetect){};
	bool tools = ksmbd_tools_present(ctx), have_conf = access(conf, F_OK) == 0;
	ret->running = ksmbd_module_loaded(ctx);
	ret->installed = tools || have_conf;
	ret->applicable = have_conf;
	ret->detail = strdup_printf("ksmbd %s, module %s, %s %s", tools ? "tools installed" : "not installed",
				    ret->running ? "loaded" : "not loaded", conf,
				    have_conf ? "present" : "absent: nothing claimed");
	return ret->detail ? 0 : -ENOMEM;
}

/* userdata: the text of ksmbd.conf. */
static char *ksmbd_actual_value(const PluginSettingInfo *row, const void *userdata) {
	const KsmbdKey *k = row->impl;
	char *v = NULL;
	(void)plugin_ini_get(userdata, "global", k->key, &v, NULL);
	return v;
}

static int ksmbd_read_actual(const PluginContext *ctx, PluginActual **ret, size_t *ret_n) {
	_cleanup_free_ char *conf = ksmbd_conf_path(ctx), *text = NULL;
	if (!conf)
		return -ENOMEM;
	int r = read_file(conf, PLUGIN_FILE_MAX, &text, NULL);
	if (r < 0 && r != -ENOENT)
		return r;
	return plugin_actual_collect(ksmbd_settings, ELEMENTSOF(ksmbd_settings), text != NULL,
				     ksmbd_actual_value, text, ret, ret_n);
}

/* Check a candidate text: every planned key reads back, no tristate key
 * holds a value ksmbd does not parse.  The stand-in for a validator. */
static int ksmbd_check_text(const PluginContext *ctx, const char *path, const char *text,
			    const PluginPlan *plan) {
	_cleanup_(plugin_plan_freep) PluginPlan *scratch = NULL;
	int r = plugin_plan_new(&scratch);
	if (r < 0)
		return r;
	RequiredScan s = { .plan = scratch, .path = path };
	if ((r = plugin_ini_foreach(text, "global", required_scan_cb, &s)) < 0)
		return r;
	for (size_t i = 0; i < scratch->n_findings; i++) {
		plugin_log(ctx, KSMBD_NAME, PLUGIN_LOG_ERR, scratch->findings[i].id, path, "%s",
			   scratch->findings[i].message);
		r = -EBADE;
	}
	for (size_t i = 0; i < plan->n_changes; i++) {
		const PluginChange *c = &plan->changes[i];
		_cleanup_free_ char *v = NULL;
		(void)plugin_ini_get(text, "global", c->target, &v, NULL);
		if (!ksmbd_value_equal(v, c->desired)) {
			plugin_log(ctx, KSMBD_NAME, PLUGIN_LOG_ERR, c->id, path,
				   "`%s` reads \"%s\", expected \"%s\"", c->target, v ? v : "", c->desired);
			r = -EBADE;
		}
	}
	return r;
}

static int ksmbd_plan(const PluginContext *ctx, const PluginPolicy *p, PluginPlan **ret) {
	_cleanup_free_ char *conf = ksmbd_conf_path(ctx), *text = NULL;
	if (!conf)
		return -ENOMEM;
	int r = read_file(conf, PLUGIN_FILE_MAX, &text, NULL);
	if (r < 0) {
		plugin_log(ctx, KSMBD_NAME, PLUGIN_LOG_ERR, NULL, conf, "cannot read: %s", strerror(-r));
		return r;
	}
	_cleanup_(plugin_plan_freep) PluginPlan *plan = NULL;
	if ((r = plugin_plan_new(&plan)) < 0)
		return r;
	RequiredScan s = { .plan = plan, .path = conf };
	if ((r = plugin_ini_foreach(text, "global", required_scan_cb, &s)) < 0 ||
	    (r = plugin_plan_limits(p, ksmbd_limits, ELEMENTSOF(ksmbd_limits), plan)) < 0)
		return r;
	_cleanup_free_ char *cur = strdup(text);
	if (!cur)
		return -ENOMEM;
	for (size_t i = 0; i < ELEMENTSOF(ksmbd_settings); i++) {
		const PluginSettingInfo *row = &ksmbd_settings[i];
		const KsmbdKey *k = row->impl;
		_cleanup_free_ char *want = NULL, *have = NULL, *next = NULL;
		r = k->render(p, row->id, k->arg, &want);
		if (r == -EINVAL)
			plugin_log(ctx, KSMBD_NAME, PLUGIN_LOG_ERR, row->id, conf,
				   "value cannot be expressed as `%s`", k->key);
		if (r < 0)
			return r;
		if (!want)
			continue;
		(void)plugin_ini_get(cur, "global", k->key, &have, NULL);
		if (ksmbd_value_equal(have, want))
			continue;
		if ((r = plugin_plan_add_change(plan, row->id, k->key, have, want)) < 0 ||
		    (r = plugin_ini_set(cur, "global", k->key, want, &next)) < 0)
			return r;
		free(cur);
		cur = TAKE_PTR(next);
	}
	if (!streq(cur, text)) {
		size_t len = strlen(cur);
		if ((r = plugin_plan_add_file(plan, conf, TAKE_PTR(cur), len, 0644)) < 0)
			return r;
	}
	*ret = TAKE_PTR(plan);
	return 0;
}

static int ksmbd_reload(const PluginContext *ctx) {
	const char *tool = plugin_tool(ctx->tools.ksmbd_control, "ksmbd.control");
	if (!tool || !ksmbd_module_loaded(ctx))
		return 0;
	/* --reload on current tools, -r on older ones: table of spellings. */
	static const char *const spellings[] = { "--reload", "-r" };
	int r = -ENOENT;
	for (size_t i = 0; i < ELEMENTSOF(spellings); i++) {
		char *argv[] = { (char *)tool, (char *)spellings[i], NULL };
		r = plugin_run(argv, KSMBD_TIMEOUT_MS, NULL, NULL);
		if (r == 0 || r == -ENOENT)
			break;
	}
	if (r != 0)
		plugin_log(ctx, KSMBD_NAME, PLUGIN_LOG_WARNING, NULL, NULL, "ksmbd.control reload failed (%d)", r);
	return r == 0 ? 0 : r < 0 ? r : -EIO;
}

static int ksmbd_apply(const PluginContext *ctx, const PluginPlan *plan, PluginBackup **ret_backup) {
	*ret_backup = NULL;
	int r;
	for (size_t i = 0; i < plan->n_files; i++)
		if ((r = ksmbd_check_text(ctx, plan->files[i].path, plan->files[i].data, plan)) < 0) {
			plugin_log(ctx, KSMBD_NAME, PLUGIN_LOG_ERR, NULL, plan->files[i].path,
				   "new configuration not valid; nothing changed");
			return -EBADMSG;
		}
	_cleanup_(plugin_backup_freep) PluginBackup *b = NULL;
	if ((r = plugin_plan_write(ctx, KSMBD_NAME, plan, &b)) < 0 || ctx->dry_run)
		return r;
	(void)ksmbd_reload(ctx);
	*ret_backup = TAKE_PTR(b);
	return 0;
}

static int ksmbd_verify(const PluginContext *ctx, const PluginPlan *plan) {
	_cleanup_free_ char *conf = ksmbd_conf_path(ctx), *text = NULL;
	if (!conf)
		return -ENOMEM;
	int r = read_file(conf, PLUGIN_FILE_MAX, &text, NULL);
	if (r < 0)
		return r;
	return ksmbd_check_text(ctx, conf, text, plan) < 0 ? -EBADE : 0;
}

static int ksmbd_rollback(const PluginContext *ctx, const PluginBackup *b) {
	int r = plugin_backup_restore(ctx, b);
	if (!ctx->dry_run)
		(void)ksmbd_reload(ctx);
	return r;
}

const SmbpolicyPlugin smbpolicy_plugin = {
	.abi_version = SMBPOLICY_PLUGIN_ABI_VERSION,
	.name = KSMBD_NAME,
	.description = "ksmbd (in-kernel SMB server): [global] of /etc/ksmbd/ksmbd.conf",
	.settings = ksmbd_settings,
	.n_settings = ELEMENTSOF(ksmbd_settings),
	.detect = ksmbd_detect,
	.read_actual = ksmbd_read_actual,
	.plan = ksmbd_plan,
	.apply = ksmbd_apply,
	.verify = ksmbd_verify,
	.rollback = ksmbd_rollback,
	.detect_clear = plugin_detect_clear,
	.actual_free = plugin_actual_free,
	.plan_free = plugin_plan_free,
	.backup_free = plugin_backup_free,
};
