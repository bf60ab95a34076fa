/*
 * samba.c - the Samba plugin: signing, encryption, ciphers, dialects, client
 * NTLM, guest, ports and NetBIOS, written to one file smbpolicy owns,
 * /etc/samba/smbpolicy.conf, which the admin's smb.conf pulls in with one
 * `include =` line at the end of [global] (so our values win over earlier
 * admin lines).
 *
 * Invariants: smb.conf gets at most that one line, added once and never
 * duplicated; every other byte of it stays as the admin wrote it (lines are
 * edited, no parsed model is written back).  Nothing is renamed into place
 * before `testparm -s` accepted the new configuration (a copy of smb.conf
 * whose include points at the new file) and that file exists - testparm
 * alone does not check includes.  Files are replaced owned file first, then
 * smb.conf, each atomically, so every crash point leaves a configuration
 * testparm accepts.  Values are verified by testparm's read-back of the real
 * smb.conf, so an admin line after the include that overrides a value is
 * caught.
 *
 * Must never: write a value into smb.conf itself, remove or reorder the
 * admin's lines, reload smbd with a configuration testparm rejected.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "plugin_util.h"

#define SAMBA_NAME "samba"
#define SAMBA_SMB_CONF "/etc/samba/smb.conf"
#define SAMBA_OWNED "/etc/samba/smbpolicy.conf"
#define SAMBA_TIMEOUT_MS 30000u

/* One mapping row's private data: the smb.conf parameter, how the policy
 * renders into it (NULL: the setting only feeds another row's renderer),
 * and which other spellings Samba reads back for the written value
 * (testparm prints an enum's first name). */
typedef struct SambaKey {
	const char *key;
	PluginRenderFunc render;
	const void *arg;
	const PluginValueMap *readback; /* written -> printed by testparm */
} SambaKey;

static const PluginValueMap server_signing_map[] = {
	{ "true", "mandatory" }, { "false", "default" }, PLUGIN_VALUE_MAP_END
};
static const PluginValueMap client_signing_map[] = {
	{ "true", "required" }, { "false", "default" }, PLUGIN_VALUE_MAP_END
};
static const PluginValueMap signing_readback[] = {
	{ "mandatory", "required" }, PLUGIN_VALUE_MAP_END
};
static const PluginValueMap encrypt_map[] = {
	{ "true", "required" }, { "false", "default" }, PLUGIN_VALUE_MAP_END
};
static const PluginValueMap cipher_map[] = {
	{ "aes-128-gcm", "AES-128-GCM" }, { "aes-128-ccm", "AES-128-CCM" },
	{ "aes-256-gcm", "AES-256-GCM" }, { "aes-256-ccm", "AES-256-CCM" }, PLUGIN_VALUE_MAP_END
};
static const PluginValueMap dialect_map[] = {
	{ "2.0.2", "SMB2_02" }, { "2.1", "SMB2_10" }, { "3.0", "SMB3_00" },
	{ "3.0.2", "SMB3_02" }, { "3.1.1", "SMB3_11" }, PLUGIN_VALUE_MAP_END
};
static const PluginValueMap dialect_readback[] = {
	{ "SMB3_11", "SMB3" }, { "SMB2_10", "SMB2" }, PLUGIN_VALUE_MAP_END
};
static const PluginValueMap kerberos_map[] = {
	{ "true", "required" }, { "false", "desired" }, PLUGIN_VALUE_MAP_END
};
static const PluginValueMap kerberos_readback[] = {
	{ "required", "yes" }, PLUGIN_VALUE_MAP_END
};
static const PluginValueMap map_to_guest_map[] = {
	{ "false", "Never" }, { "true", "Bad User" }, PLUGIN_VALUE_MAP_END
};
static const PluginValueMap restrict_anonymous_map[] = {
	{ "false", "2" }, { "true", "0" }, PLUGIN_VALUE_MAP_END
};
static const PluginValueMap disable_netbios_map[] = {
	{ "false", "yes" }, { "true", "no" }, PLUGIN_VALUE_MAP_END
};

/* `server smb encrypt`: required only while unencrypted access is also
 * rejected (Windows RejectUnencryptedAccess); encryption required but
 * unencrypted clients tolerated is Samba's `desired`.  arg is the id of
 * the reject setting. */
static int render_smb_encrypt(const PluginPolicy *p, const char *id, const void *arg, char **ret) {
	bool b;
	if (plugin_policy_bool(p, id, &b) < 0) {
		*ret = NULL;
		return 0;
	}
	*ret = strdup(!b ? "default" : plugin_policy_bool_or(p, arg, true) ? "required" : "desired");
	return *ret ? 0 : -ENOMEM;
}

/* `smb ports`: the server's TCP port, plus 139 only while NetBIOS is
 * legacy-open; arg is the id of the NetBIOS setting. */
static int render_smb_ports(const PluginPolicy *p, const char *id, const void *arg, char **ret) {
	const char *port = plugin_policy_scalar(p, id);
	bool legacy = plugin_policy_bool_or(p, arg, false);
	*ret = strdup_printf("%s%s", port ? port : "445", legacy ? " 139" : "");
	return *ret ? 0 : -ENOMEM;
}

#define SAMBA_ROW(id_, key_, xform_, render_, arg_, readback_)                              \
	{ .id = id_, .target = key_, .transform = xform_,                                   \
	  .impl = &(const SambaKey){ .key = key_, .render = render_, .arg = arg_,          \
				     .readback = readback_ } }

static const PluginSettingInfo samba_settings[] = {
	SAMBA_ROW("server.signing.required", "server signing", "true -> mandatory, false -> default",
		  plugin_render_map, server_signing_map, signing_readback),
	SAMBA_ROW("client.signing.required", "client signing", "true -> required, false -> default",
		  plugin_render_map, client_signing_map, signing_readback),
	SAMBA_ROW("server.encryption.required", "server smb encrypt",
		  "true -> required (desired when reject-unencrypted is false), false -> default",
		  render_smb_encrypt, "server.encryption.reject-unencrypted", NULL),
	SAMBA_ROW("server.encryption.reject-unencrypted", "server smb encrypt",
		  "false -> desired while encryption is required", NULL, NULL, NULL),
	SAMBA_ROW("client.encryption.required", "client smb encrypt", "true -> required, false -> default",
		  plugin_render_map, encrypt_map, NULL),
	SAMBA_ROW("server.encryption.ciphers", "server smb3 encryption algorithms",
		  "aes-128-gcm -> AES-128-GCM, ... (order kept)", plugin_render_list_map, cipher_map, NULL),
	SAMBA_ROW("server.dialect.min", "server min protocol", "3.1.1 -> SMB3_11, 2.0.2 -> SMB2_02, ...",
		  plugin_render_map, dialect_map, dialect_readback),
	SAMBA_ROW("server.dialect.max", "server max protocol", "3.1.1 -> SMB3_11, 2.0.2 -> SMB2_02, ...",
		  plugin_render_map, dialect_map, dialect_readback),
	SAMBA_ROW("client.dialect.min", "client min protocol", "3.1.1 -> SMB3_11, 2.0.2 -> SMB2_02, ...",
		  plugin_render_map, dialect_map, dialect_readback),
	SAMBA_ROW("client.dialect.max", "client max protocol", "3.1.1 -> SMB3_11, 2.0.2 -> SMB2_02, ...",
		  plugin_render_map, dialect_map, dialect_readback),
	SAMBA_ROW("client.ntlm.block", "client use kerberos", "true -> required (no NTLM), false -> desired",
		  plugin_render_map, kerberos_map, kerberos_readback),
	SAMBA_ROW("server.guest.allowed", "map to guest", "false -> Never, true -> Bad User",
		  plugin_render_map, map_to_guest_map, NULL),
	SAMBA_ROW("server.guest.allowed", "restrict anonymous", "false -> 2, true -> 0",
		  plugin_render_map, restrict_anonymous_map, NULL),
	SAMBA_ROW("server.transport.tcp.port", "smb ports",
		  "PORT, plus 139 when firewall.netbios.legacy", render_smb_ports, "firewall.netbios.legacy", NULL),
	SAMBA_ROW("firewall.netbios.legacy", "disable netbios", "false -> yes, true -> no",
		  plugin_render_map, disable_netbios_map, NULL),
};

/* Policy values Samba cannot enforce: reported as findings, never silently. */
static const PluginLimit samba_limits[] = {
	{ "server.transport.quic.enabled", "true", PLUGIN_FINDING_INFO,
	  "Samba before 4.23 has no SMB over QUIC; the QUIC transport is left to smbrefd" },
	{ "server.transport.tcp.enabled", "false", PLUGIN_FINDING_WARNING,
	  "Samba cannot serve without TCP; smb ports keeps the TCP port" },
	{ "client.ntlm.exceptions", NULL, PLUGIN_FINDING_WARNING,
	  "Samba's client has no per-server NTLM exceptions: client use kerberos = required applies to every server" },
	{ "server.auth-rate-limiter.enabled", "true", PLUGIN_FINDING_INFO,
	  "Samba has no failed-authentication delay" },
};

/* ---- paths ---- */

typedef struct SambaPaths {
	char *smb_conf;
	char *owned;
} SambaPaths;

static void samba_paths_clear(SambaPaths *p) {
	free(p->smb_conf);
	free(p->owned);
}

static int samba_paths(const PluginContext *ctx, SambaPaths *ret) {
	const char *conf = ctx->tools.smb_conf ? ctx->tools.smb_conf : SAMBA_SMB_CONF;
	*ret = (SambaPaths){ .smb_conf = plugin_path(ctx, conf), .owned = plugin_path(ctx, SAMBA_OWNED) };
	if (!ret->smb_conf || !ret->owned) {
		samba_paths_clear(ret);
		return -ENOMEM;
	}
	return 0;
}

/* ---- testparm ---- */

/* `testparm -sv CONF` output (the effective configuration). */
static int testparm_dump(const PluginContext *ctx, const char *conf, char **ret) {
	const char *tp = plugin_tool(ctx->tools.testparm, "testparm");
	if (!tp)
		return -ENOENT;
	char *argv[] = { (char *)tp, "-s", "-v", "--suppress-prompt", (char *)conf, NULL };
	_cleanup_free_ char *out = NULL, *err = NULL;
	int r = plugin_run(argv, SAMBA_TIMEOUT_MS, &out, &err);
	if (r < 0)
		return r;
	if (r != 0) {
		plugin_log(ctx, SAMBA_NAME, PLUGIN_LOG_ERR, NULL, conf, "testparm rejects it (exit %d): %s",
			   r, err ? err : "");
		return -EBADMSG;
	}
	*ret = TAKE_PTR(out);
	return 0;
}

/* testparm's value of key (from a dump), NULL when absent. */
static char *dump_value(const char *dump, const char *key) {
	char *v = NULL;
	return plugin_ini_get(dump, "global", key, &v, NULL) < 0 ? NULL : v;
}

/* Whether Samba's printed value means the written one. */
static bool samba_value_equal(const SambaKey *k, const char *printed, const char *written) {
	if (!printed || !written)
		return printed == written;
	if (plugin_list_equal(printed, written))
		return true;
	const char *alias = plugin_value_map(k->readback, written);
	return alias && plugin_list_equal(printed, alias);
}

/* ---- smb.conf include line ---- */

typedef struct IncludeScan {
	const char *path;
	bool found;
	const PluginContext *ctx;
	PluginPlan *plan; /* for findings about missing include files; may be NULL */
	const char *conf;
} IncludeScan;

static int include_scan_cb(const char *key, const char *value, unsigned line, void *userdata) {
	IncludeScan *s = userdata;
	if (!plugin_ini_key_equal(key, "include"))
		return 0;
	if (streq(value, s->path)) {
		s->found = true;
		return 0;
	}
	/* testparm accepts a missing include file; say so instead. */
	if (s->plan && !strchr(value, '%') && access(value, F_OK) < 0)
		return plugin_plan_add_finding(s->plan, PLUGIN_FINDING_WARNING, NULL, s->conf, line,
					       "include file %s does not exist (testparm does not check)",
					       value);
	return 0;
}

/* Admin lines in [global] after our include that set one of our keys:
 * Samba takes the last value, so the policy cannot win there.  Reported
 * as errors (the agent then does not apply), naming the line. */
typedef struct OverrideScan {
	const char *owned;
	const PluginPolicy *p;
	PluginPlan *plan;
	const char *conf;
	bool after_include;
} OverrideScan;

static int override_scan_cb(const char *key, const char *value, unsigned line, void *userdata) {
	OverrideScan *o = userdata;
	if (plugin_ini_key_equal(key, "include")) {
		o->after_include = o->after_include || streq(value, o->owned);
		return 0;
	}
	if (!o->after_include)
		return 0;
	for (size_t i = 0; i < ELEMENTSOF(samba_settings); i++) {
		const SambaKey *k = samba_settings[i].impl;
		if (!k->render || !plugin_ini_key_equal(k->key, key))
			continue;
		_cleanup_free_ char *want = NULL;
		int r = k->render(o->p, samba_settings[i].id, k->arg, &want);
		if (r < 0 || !want || samba_value_equal(k, value, want))
			return r < 0 ? r : 0;
		return plugin_plan_add_finding(o->plan, PLUGIN_FINDING_ERROR, samba_settings[i].id, o->conf, line,
					       "`%s = %s` comes after the smbpolicy include and overrides \"%s\"; "
					       "remove it or move it above the include",
					       k->key, value, want);
	}
	return 0;
}

/* smb.conf text with exactly one `include = use_path` line in [global]:
 * the line that names final_path is pointed at use_path, else one is added. */
static int smbconf_with_include(const char *text, const char *final_path, const char *use_path,
				char **ret) {
	IncludeScan s = { .path = final_path };
	int r = plugin_ini_foreach(text, "global", include_scan_cb, &s);
	if (r < 0)
		return r;
	if (s.found)
		return streq(final_path, use_path)
			       ? ((*ret = strdup(text)) ? 0 : -ENOMEM)
			       : plugin_ini_replace_value(text, "global", "include", final_path, use_path, ret);
	return plugin_ini_add(text, "global", "include", use_path, ret);
}

/* ---- rendering ---- */

static int render_owned(const PluginContext *ctx, const PluginPolicy *p, char **ret) {
	StrBuf b = {};
	strbuf_printf(&b,
		      "# smbpolicy.conf - written by smbpolicy (policy %s%s%s); do not edit:\n"
		      "# every apply replaces this file.  Included from [global] of smb.conf.\n"
		      "[global]\n",
		      p->name ? p->name : "?", p->hash ? " " : "", p->hash ? p->hash : "");
	for (size_t i = 0; i < ELEMENTSOF(samba_settings); i++) {
		const PluginSettingInfo *row = &samba_settings[i];
		const SambaKey *k = row->impl;
		_cleanup_free_ char *v = NULL;
		if (!k->render)
			continue;
		int r = k->render(p, row->id, k->arg, &v);
		if (r == -EINVAL) {
			plugin_log(ctx, SAMBA_NAME, PLUGIN_LOG_ERR, row->id, NULL,
				   "value cannot be expressed as `%s`", k->key);
			strbuf_free(&b);
			return r;
		}
		if (r < 0) {
			strbuf_free(&b);
			return r;
		}
		if (v)
			strbuf_printf(&b, "\t%s = %s\n", k->key, v);
	}
	return strbuf_finish(&b, ret);
}

/* ---- ops ---- */

static bool pid_alive(const char *pidfile) {
	_cleanup_free_ char *s = NULL;
	long long pid;
	if (read_file(pidfile, 64, &s, NULL) < 0)
		return false;
	s[strcspn(s, "\n")] = 0;
	if (parse_int64(s, &pid) < 0 || pid <= 0)
		return false;
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* The pid file of daemon for this configuration (`pid directory`), NULL
 * when that directory is outside ctx->root: with a scratch root, the host's
 * own smbd/nmbd are never signalled. */
static char *samba_pidfile(const PluginContext *ctx, const char *dump, const char *daemon) {
	_cleanup_free_ char *dir = dump_value(dump, "pid directory"), *root = plugin_path(ctx, "/");
	if (!dir || !root || !startswith(dir, root))
		return NULL;
	return strdup_printf("%s/%s.pid", dir, daemon);
}

/* Whether smbd runs for this configuration. */
static bool smbd_running(const PluginContext *ctx, const char *dump) {
	_cleanup_free_ char *pf = samba_pidfile(ctx, dump, "smbd");
	return pf && pid_alive(pf);
}

static int samba_detect(const PluginContext *ctx, PluginDetect *ret) {
	_cleanup_(samba_paths_clear) SambaPaths paths = {};
	int r = samba_paths(ctx, &paths);
	if (r < 0)
		return r;
	*ret = (PluginDetect){};
	const char *tp = plugin_tool(ctx->tools.testparm, "testparm");
	char *argv[] = { (char *)(tp ? tp : "testparm"), "-V", NULL };
	_cleanup_free_ char *ver = NULL;
	bool have_tool = tp && plugin_run(argv, SAMBA_TIMEOUT_MS, &ver, NULL) == 0;
	bool have_conf = access(paths.smb_conf, F_OK) == 0;
	ret->installed = have_tool && have_conf;
	ret->applicable = ret->installed;
	if (ver) {
		ver[strcspn(ver, "\n")] = 0;
		ret->version = strdup(startswith(ver, "Version ") ? ver + 8 : ver);
	}
	_cleanup_free_ char *dump = NULL;
	if (ret->installed && testparm_dump(ctx, paths.smb_conf, &dump) == 0)
		ret->running = smbd_running(ctx, dump);
	ret->detail = !have_tool ? strdup("testparm not found: Samba not installed")
		      : !have_conf ? strdup_printf("%s does not exist", paths.smb_conf)
				   : strdup_printf("Samba %s, %s, smbd %s", ret->version ? ret->version : "?",
						   paths.smb_conf, ret->running ? "running" : "not running");
	return ret->detail ? 0 : -ENOMEM;
}

/* userdata: testparm's dump of the configuration. */
static char *samba_actual_value(const PluginSettingInfo *row, const void *userdata) {
	const SambaKey *k = row->impl;
	return dump_value(userdata, k->key);
}

static int samba_read_actual(const PluginContext *ctx, PluginActual **ret, size_t *ret_n) {
	_cleanup_(samba_paths_clear) SambaPaths paths = {};
	int r = samba_paths(ctx, &paths);
	if (r < 0)
		return r;
	_cleanup_free_ char *dump = NULL;
	bool known = testparm_dump(ctx, paths.smb_conf, &dump) == 0;
	return plugin_actual_collect(samba_settings, ELEMENTSOF(samba_settings), known,
				     samba_actual_value, dump, ret, ret_n);
}

static int samba_plan(const PluginContext *ctx, const PluginPolicy *p, PluginPlan **ret) {
	_cleanup_(samba_paths_clear) SambaPaths paths = {};
	int r = samba_paths(ctx, &paths);
	if (r < 0)
		return r;
	_cleanup_free_ char *conf = NULL, *dump = NULL, *owned = NULL, *newconf = NULL;
	r = read_file(paths.smb_conf, PLUGIN_FILE_MAX, &conf, NULL);
	if (r < 0) {
		plugin_log(ctx, SAMBA_NAME, PLUGIN_LOG_ERR, NULL, paths.smb_conf, "cannot read: %s",
			   strerror(-r));
		return r;
	}
	r = testparm_dump(ctx, paths.smb_conf, &dump);
	if (r < 0)
		return r;
	_cleanup_(plugin_plan_freep) PluginPlan *plan = NULL;
	if ((r = plugin_plan_new(&plan)) < 0 || (r = render_owned(ctx, p, &owned)) < 0)
		return r;

	for (size_t i = 0; i < ELEMENTSOF(samba_settings); i++) {
		const PluginSettingInfo *row = &samba_settings[i];
		const SambaKey *k = row->impl;
		_cleanup_free_ char *want = NULL, *have = NULL;
		if (!k->render)
			continue;
		if ((r = k->render(p, row->id, k->arg, &want)) < 0)
			return r;
		if (!want)
			continue;
		have = dump_value(dump, k->key);
		if (!samba_value_equal(k, have, want) &&
		    (r = plugin_plan_add_change(plan, row->id, k->key, have, want)) < 0)
			return r;
	}
	if ((r = plugin_plan_limits(p, samba_limits, ELEMENTSOF(samba_limits), plan)) < 0)
		return r;
	IncludeScan scan = { .path = paths.owned, .plan = plan, .conf = paths.smb_conf, .ctx = ctx };
	if ((r = plugin_ini_foreach(conf, "global", include_scan_cb, &scan)) < 0)
		return r;
	OverrideScan ov = { .owned = paths.owned, .p = p, .plan = plan, .conf = paths.smb_conf };
	if ((r = plugin_ini_foreach(conf, "global", override_scan_cb, &ov)) < 0)
		return r;

	/* Owned file first, smb.conf second: see the file comment. */
	size_t owned_len = strlen(owned);
	if (!plugin_file_has(paths.owned, owned, owned_len) &&
	    (r = plugin_plan_add_file(plan, paths.owned, TAKE_PTR(owned), owned_len, 0644)) < 0)
		return r;
	if ((r = smbconf_with_include(conf, paths.owned, paths.owned, &newconf)) < 0)
		return r;
	if (!streq(newconf, conf)) {
		size_t len = strlen(newconf);
		if ((r = plugin_plan_add_file(plan, paths.smb_conf, TAKE_PTR(newconf), len, 0644)) < 0)
			return r;
	}
	*ret = TAKE_PTR(plan);
	return 0;
}

/* Remove a scratch directory of validate(); best effort. */
static void scratch_remove(char **dir) {
	if (!*dir)
		return;
	static const char *const names[] = { "smb.conf", "smbpolicy.conf" };
	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		_cleanup_free_ char *p = strdup_printf("%s/%s", *dir, names[i]);
		if (p)
			unlink(p);
	}
	rmdir(*dir);
	free(*dir);
}

/* New content of path in the plan, or NULL when the plan leaves it. */
static const PluginFile *plan_file(const PluginPlan *plan, const char *path) {
	for (size_t i = 0; i < plan->n_files; i++)
		if (streq(plan->files[i].path, path))
			return &plan->files[i];
	return NULL;
}

/* testparm on the configuration the plan would produce, before anything is
 * renamed into place: a scratch copy of smb.conf including a scratch copy
 * of the owned file.  *ret_dump gets testparm's view of it. */
static int samba_validate(const PluginContext *ctx, const SambaPaths *paths, const PluginPlan *plan,
			  char **ret_dump) {
	const char *tmpdir = getenv("TMPDIR");
	_cleanup_(scratch_remove) char *dir =
		strdup_printf("%s/smbpolicy-testparm.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	if (!dir)
		return -ENOMEM;
	if (!mkdtemp(dir)) {
		free(dir);
		dir = NULL;
		return -errno;
	}
	const PluginFile *owned = plan_file(plan, paths->owned), *conf = plan_file(plan, paths->smb_conf);
	_cleanup_free_ char *owned_now = NULL, *conf_now = NULL, *check_conf = NULL;
	_cleanup_free_ char *owned_tmp = strdup_printf("%s/smbpolicy.conf", dir);
	_cleanup_free_ char *conf_tmp = strdup_printf("%s/smb.conf", dir);
	if (!owned_tmp || !conf_tmp)
		return -ENOMEM;
	int r;
	if (!owned) {
		r = read_file(paths->owned, PLUGIN_FILE_MAX, &owned_now, NULL);
		if (r < 0)
			return r;
	}
	if (!conf && (r = read_file(paths->smb_conf, PLUGIN_FILE_MAX, &conf_now, NULL)) < 0)
		return r;
	const char *o = owned ? owned->data : owned_now;
	if ((r = write_file_atomic(owned_tmp, o, strlen(o), 0600)) < 0)
		return r;
	r = smbconf_with_include(conf ? conf->data : conf_now, paths->owned, owned_tmp, &check_conf);
	if (r < 0 || (r = write_file_atomic(conf_tmp, check_conf, strlen(check_conf), 0600)) < 0)
		return r;
	return testparm_dump(ctx, conf_tmp, ret_dump);
}

/* Sessions in `smbstatus --json` output whose `kind` ("signing",
 * "encryption") is not "full" (none, or partial: signed only at setup);
 * *ret_total counts all sessions. */
static unsigned sessions_without(const char *json, const char *kind, unsigned *ret_total) {
	const char *start = strstr(json, "\"sessions\""), *end = strstr(json, "\"tcons\"");
	unsigned n = 0, total = 0;
	_cleanup_free_ char *key = strdup_printf("\"%s\": {", kind);
	if (!start || !key)
		return 0;
	for (const char *s = start; (s = strstr(s, "\"session_id\"")) && (!end || s < end); s++)
		total++;
	for (const char *s = start; key && (s = strstr(s, key)) && (!end || s < end); s++) {
		const char *d = strstr(s, "\"degree\": \"");
		if (d && (!end || d < end) && !startswith(d + 11, "full\""))
			n++;
	}
	*ret_total = total;
	return n;
}

/* What smbstatus says about live sessions, for the policy just written.
 * Sessions opened before a reload keep their old protection until they
 * reconnect: reported, not failed. */
static void samba_audit_sessions(const PluginContext *ctx, const char *conf, const char *owned) {
	static const struct {
		const char *key, *value, *kind;
	} demands[] = {
		{ "server signing", "mandatory", "signing" },
		{ "server smb encrypt", "required", "encryption" },
	};
	const char *tool = plugin_tool(ctx->tools.smbstatus, "smbstatus");
	if (!tool)
		return;
	char *argv[] = { (char *)tool, "-s", (char *)conf, "--json", NULL };
	_cleanup_free_ char *out = NULL;
	if (plugin_run(argv, SAMBA_TIMEOUT_MS, &out, NULL) != 0 || !out)
		return;
	for (size_t i = 0; i < ELEMENTSOF(demands); i++) {
		_cleanup_free_ char *v = NULL;
		unsigned total = 0, weak;
		if (plugin_ini_get(owned, "global", demands[i].key, &v, NULL) < 0 || !streq(v, demands[i].value))
			continue;
		weak = sessions_without(out, demands[i].kind, &total);
		if (weak > 0)
			plugin_log(ctx, SAMBA_NAME, PLUGIN_LOG_WARNING, NULL, conf,
				   "smbstatus: %u of %u session(s) have no %s (opened before the change; "
				   "they keep it until they reconnect)", weak, total, demands[i].kind);
	}
}

/* `disable netbios = yes` does not stop a running nmbd: stop it. */
static void samba_stop_nmbd(const PluginContext *ctx, const char *dump) {
	_cleanup_free_ char *nb = dump_value(dump, "disable netbios");
	_cleanup_free_ char *pf = samba_pidfile(ctx, dump, "nmbd"), *s = NULL;
	long long pid;
	if (!nb || strcasecmp(nb, "yes") != 0 || !pf || !pid_alive(pf) || read_file(pf, 64, &s, NULL) < 0)
		return;
	s[strcspn(s, "\n")] = 0;
	if (parse_int64(s, &pid) < 0 || pid <= 1 || kill((pid_t)pid, SIGTERM) < 0)
		return;
	plugin_log(ctx, SAMBA_NAME, PLUGIN_LOG_NOTICE, "firewall.netbios.legacy", pf,
		   "NetBIOS disabled: stopped nmbd (pid %lld)", pid);
}

/* Reload smbd (and stop nmbd) for conf; known_dump is testparm's view of
 * the configuration now in place, or NULL to ask testparm. */
static int samba_reload(const PluginContext *ctx, const char *conf, const char *known_dump) {
	_cleanup_free_ char *own = NULL;
	if (!known_dump && testparm_dump(ctx, conf, &own) < 0)
		return 0;
	const char *dump = known_dump ? known_dump : own;
	samba_stop_nmbd(ctx, dump);
	if (!smbd_running(ctx, dump))
		return 0;
	const char *sc = plugin_tool(ctx->tools.smbcontrol, "smbcontrol");
	if (!sc)
		return 0;
	char *argv[] = { (char *)sc, "-s", (char *)conf, "smbd", "reload-config", NULL };
	_cleanup_free_ char *err = NULL;
	int r = plugin_run(argv, SAMBA_TIMEOUT_MS, NULL, &err);
	if (r != 0) {
		plugin_log(ctx, SAMBA_NAME, PLUGIN_LOG_WARNING, NULL, conf,
			   "smbcontrol smbd reload-config failed (%d): %s", r, err ? err : "");
		return r < 0 ? r : -EIO;
	}
	plugin_log(ctx, SAMBA_NAME, PLUGIN_LOG_INFO, NULL, conf, "smbd reloaded");
	return 0;
}

static int samba_apply(const PluginContext *ctx, const PluginPlan *plan, PluginBackup **ret_backup) {
	*ret_backup = NULL;
	_cleanup_(samba_paths_clear) SambaPaths paths = {};
	int r = samba_paths(ctx, &paths);
	if (r < 0)
		return r;
	_cleanup_free_ char *dump = NULL;
	if ((r = samba_validate(ctx, &paths, plan, &dump)) < 0) {
		plugin_log(ctx, SAMBA_NAME, PLUGIN_LOG_ERR, NULL, paths.smb_conf,
			   "new configuration not valid (%s); nothing changed", strerror(-r));
		return r;
	}
	_cleanup_(plugin_backup_freep) PluginBackup *b = NULL;
	if ((r = plugin_plan_write(ctx, SAMBA_NAME, plan, &b)) < 0 || ctx->dry_run)
		return r;
	if (access(paths.owned, F_OK) < 0) {
		r = -errno;
		plugin_log(ctx, SAMBA_NAME, PLUGIN_LOG_ERR, NULL, paths.owned, "included file missing");
		(void)plugin_backup_restore(ctx, b);
		return r;
	}
	(void)samba_reload(ctx, paths.smb_conf, dump);
	*ret_backup = TAKE_PTR(b);
	return 0;
}

typedef struct VerifyState {
	const PluginContext *ctx;
	const char *dump;
	const char *conf;
	int result;
} VerifyState;

/* Each key of our owned file must read back through the real smb.conf. */
static int verify_key_cb(const char *key, const char *value, _unused_ unsigned line, void *userdata) {
	VerifyState *v = userdata;
	for (size_t i = 0; i < ELEMENTSOF(samba_settings); i++) {
		const SambaKey *k = samba_settings[i].impl;
		if (!plugin_ini_key_equal(k->key, key))
			continue;
		_cleanup_free_ char *have = dump_value(v->dump, k->key);
		if (!samba_value_equal(k, have, value)) {
			plugin_log(v->ctx, SAMBA_NAME, PLUGIN_LOG_ERR, samba_settings[i].id, v->conf,
				   "`%s` reads back as \"%s\", expected \"%s\" (overridden after the include?)",
				   k->key, have ? have : "", value);
			v->result = -EBADE;
		}
		return 0;
	}
	return 0;
}

static int samba_verify(const PluginContext *ctx, const PluginPlan *plan) {
	_cleanup_(samba_paths_clear) SambaPaths paths = {};
	int r = samba_paths(ctx, &paths);
	if (r < 0)
		return r;
	_cleanup_free_ char *owned = NULL, *conf = NULL, *dump = NULL;
	if ((r = read_file(paths.owned, PLUGIN_FILE_MAX, &owned, NULL)) < 0 ||
	    (r = read_file(paths.smb_conf, PLUGIN_FILE_MAX, &conf, NULL)) < 0) {
		plugin_log(ctx, SAMBA_NAME, PLUGIN_LOG_ERR, NULL, paths.owned, "cannot read: %s", strerror(-r));
		return -EBADE;
	}
	const PluginFile *want = plan_file(plan, paths.owned);
	if (want && !plugin_file_has(paths.owned, want->data, want->len)) {
		plugin_log(ctx, SAMBA_NAME, PLUGIN_LOG_ERR, NULL, paths.owned, "content differs from the plan");
		return -EBADE;
	}
	IncludeScan scan = { .path = paths.owned };
	if ((r = plugin_ini_foreach(conf, "global", include_scan_cb, &scan)) < 0)
		return r;
	if (!scan.found) {
		plugin_log(ctx, SAMBA_NAME, PLUGIN_LOG_ERR, NULL, paths.smb_conf, "no `include = %s` in [global]",
			   paths.owned);
		return -EBADE;
	}
	if ((r = testparm_dump(ctx, paths.smb_conf, &dump)) < 0)
		return r;
	VerifyState v = { .ctx = ctx, .dump = dump, .conf = paths.smb_conf };
	if ((r = plugin_ini_foreach(owned, "global", verify_key_cb, &v)) < 0)
		return r;
	if (smbd_running(ctx, dump))
		samba_audit_sessions(ctx, paths.smb_conf, owned);
	return v.result;
}

static int samba_rollback(const PluginContext *ctx, const PluginBackup *b) {
	_cleanup_(samba_paths_clear) SambaPaths paths = {};
	int r = samba_paths(ctx, &paths);
	if (r < 0)
		return r;
	r = plugin_backup_restore(ctx, b);
	if (!ctx->dry_run)
		(void)samba_reload(ctx, paths.smb_conf, NULL);
	return r;
}

const SmbpolicyPlugin smbpolicy_plugin = {
	.abi_version = SMBPOLICY_PLUGIN_ABI_VERSION,
	.name = SAMBA_NAME,
	.description = "Samba smbd/smbclient: /etc/samba/smbpolicy.conf included from [global] of smb.conf",
	.settings = samba_settings,
	.n_settings = ELEMENTSOF(samba_settings),
	.detect = samba_detect,
	.read_actual = samba_read_actual,
	.plan = samba_plan,
	.apply = samba_apply,
	.verify = samba_verify,
	.rollback = samba_rollback,
	.detect_clear = plugin_detect_clear,
	.actual_free = plugin_actual_free,
	.plan_free = plugin_plan_free,
	.backup_free = plugin_backup_free,
};
