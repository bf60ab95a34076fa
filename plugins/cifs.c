/*
 * cifs.c - the Linux kernel SMB client plugin (cifs.ko): module options in
 * /etc/modprobe.d/smbpolicy-cifs.conf (a file smbpolicy owns), the live
 * /proc/fs/cifs/SecurityFlags when the module is loaded, and the options of
 * SMB mounts in /etc/fstab and systemd .mount units in /etc/systemd/system
 * (sign, seal, vers=, sec=krb5i when NTLM is blocked, port= per the
 * alternative-port policy, guest).
 *
 * Invariants: in fstab only the options field of cifs/smb3 lines changes,
 * in a .mount unit only its Options= line: every other byte stays.  Options
 * are only ever added or tightened for what the policy demands; options the
 * policy does not speak about (credentials=, uid=, ...) are kept in order.
 * A new fstab is checked with `findmnt --verify` (no new parse errors)
 * before it replaces the old one.  SecurityFlags is runtime state: written
 * only when the file exists (module loaded), else reported unknown.
 *
 * Must never: rewrite a non-SMB fstab line, touch a mount unit of another
 * type, write anything when the policy is already met.
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>

#include "plugin_util.h"

#define CIFS_NAME "cifs"
#define CIFS_MODPROBE "/etc/modprobe.d/smbpolicy-cifs.conf"
#define CIFS_SECFLAGS "/proc/fs/cifs/SecurityFlags"
#define CIFS_FSTAB "/etc/fstab"
#define CIFS_UNIT_DIR "/etc/systemd/system"
#define CIFS_SECFLAGS_DEFAULT 0xC5u
#define CIFS_TIMEOUT_MS 30000u

/* Edit one mount's option list (strv) for the policy; server is the host
 * part of //server/share. */
typedef int (*CifsMountFunc)(const PluginPolicy *p, const char *id, const void *arg,
			     const char *server, char ***opts);

typedef enum CifsKind {
	CIFS_MODULE_OPTION,  /* options cifs NAME=VALUE */
	CIFS_SECURITY_FLAGS, /* bits of /proc/fs/cifs/SecurityFlags when true */
	CIFS_MOUNT_OPTION,   /* fstab / .mount options */
} CifsKind;

typedef struct CifsRow {
	CifsKind kind;
	const char *name;
	PluginRenderFunc render;  /* MODULE_OPTION */
	CifsMountFunc mount;      /* MOUNT_OPTION */
	const void *arg;
	unsigned must, clear;     /* SECURITY_FLAGS */
} CifsRow;

/* ---- option lists ---- */

/* Index of option name (flag or name=value) in opts, or -1. */
static ssize_t opts_find(char **opts, const char *name) {
	size_t n = strlen(name);
	for (size_t i = 0; opts && opts[i]; i++)
		if (strncmp(opts[i], name, n) == 0 && (opts[i][n] == 0 || opts[i][n] == '='))
			return (ssize_t)i;
	return -1;
}

/* Set name (value NULL: a flag), replacing in place or appending. */
static int opts_set(char ***opts, const char *name, const char *value) {
	char *s = value ? strdup_printf("%s=%s", name, value) : strdup(name);
	if (!s)
		return -ENOMEM;
	ssize_t i = opts_find(*opts, name);
	if (i < 0)
		return strv_push(opts, s);
	free((*opts)[i]);
	(*opts)[i] = s;
	return 0;
}

static void opts_remove(char **opts, const char *name) {
	ssize_t i;
	while (opts && (i = opts_find(opts, name)) >= 0) {
		free(opts[i]);
		memmove(opts + i, opts + i + 1, (strv_length(opts + i + 1) + 1) * sizeof(char *));
	}
}

static int opts_split(const char *s, char ***ret) {
	char **l = calloc(1, sizeof(char *));
	if (!l)
		return -ENOMEM;
	for (const char *p = s; p && *p;) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n > 0 && strv_push(&l, strndup(p, n)) < 0) {
			strv_free(l);
			return -ENOMEM;
		}
		p = e ? e + 1 : p + n;
	}
	*ret = l;
	return 0;
}

/* ---- mount option handlers ---- */

static bool host_in(char *const *list, const char *server) {
	STRV_FOREACH(h, list)
		if (strcasecmp(*h, server) == 0)
			return true;
	return false;
}

/* arg: the flag ("sign", "seal") demanded while the setting is true. */
static int mount_flag(const PluginPolicy *p, const char *id, const void *arg,
		      _unused_ const char *server, char ***opts) {
	if (!plugin_policy_bool_or(p, id, false))
		return 0;
	return opts_set(opts, arg, NULL);
}

/* guest: insecure guest logons off -> no `guest` option. */
static int mount_guest(const PluginPolicy *p, const char *id, _unused_ const void *arg,
		       _unused_ const char *server, char ***opts) {
	if (!plugin_policy_bool_or(p, id, true))
		opts_remove(*opts, "guest");
	return 0;
}

typedef struct CifsDialectIds {
	const char *min, *max;
} CifsDialectIds;

/* cifs vers= for a policy range; NULL = any vers= the range allows stays.
 * cifs takes one dialect, "3" (3.0 and above) or "default" (2.1 and up). */
static const struct {
	const char *min, *max, *vers;
} cifs_vers_table[] = {
	{ "3.0", "3.1.1", "3" },       { "3.0.2", "3.1.1", "3.1.1" }, { "3.1.1", "3.1.1", "3.1.1" },
	{ "3.0", "3.0", "3.0" },       { "3.0.2", "3.0.2", "3.0.2" }, { "3.0", "3.0.2", "3" },
	{ "2.1", "2.1", "2.1" },       { "2.0.2", "2.0.2", "2.0" },
	{ "2.0.2", "3.1.1", "default" }, { "2.1", "3.1.1", "default" },
};

/* The vers= values each range allows as they are (already strict enough). */
static const struct {
	const char *min;
	const char *ok; /* space separated */
} cifs_vers_ok[] = {
	{ "2.0.2", "2.0 2.1 3 3.0 3.02 3.0.2 3.1.1 3.11 default" },
	{ "2.1", "2.1 3 3.0 3.02 3.0.2 3.1.1 3.11 default" },
	{ "3.0", "3 3.0 3.02 3.0.2 3.1.1 3.11" },
	{ "3.0.2", "3.02 3.0.2 3.1.1 3.11" },
	{ "3.1.1", "3.1.1 3.11" },
};

static bool word_in(const char *words, const char *w) {
	size_t n = strlen(w);
	for (const char *p = words; (p = strstr(p, w)); p += n)
		if ((p == words || p[-1] == ' ') && (p[n] == 0 || p[n] == ' '))
			return true;
	return false;
}

static int mount_vers(const PluginPolicy *p, _unused_ const char *id, const void *arg,
		      _unused_ const char *server, char ***opts) {
	const CifsDialectIds *ids = arg;
	const char *min = plugin_policy_scalar(p, ids->min), *max = plugin_policy_scalar(p, ids->max);
	if (!min || !max)
		return 0;
	ssize_t i = opts_find(*opts, "vers");
	const char *cur = i >= 0 && strchr((*opts)[i], '=') ? strchr((*opts)[i], '=') + 1 : NULL;
	for (size_t k = 0; cur && k < ELEMENTSOF(cifs_vers_ok); k++)
		if (streq(cifs_vers_ok[k].min, min) && word_in(cifs_vers_ok[k].ok, cur) &&
		    !(streq(max, min) && !streq(cur, max)))
			return 0;
	for (size_t k = 0; k < ELEMENTSOF(cifs_vers_table); k++)
		if (streq(cifs_vers_table[k].min, min) && streq(cifs_vers_table[k].max, max))
			return opts_set(opts, "vers", cifs_vers_table[k].vers);
	return 0; /* a wide range: whatever the admin chose is allowed */
}

typedef struct CifsNtlmIds {
	const char *block, *exceptions;
} CifsNtlmIds;

/* NTLM blocked (and this server no exception) -> Kerberos with signing. */
static int mount_sec(const PluginPolicy *p, _unused_ const char *id, const void *arg,
		     const char *server, char ***opts) {
	const CifsNtlmIds *ids = arg;
	if (!plugin_policy_bool_or(p, ids->block, false) ||
	    host_in(plugin_policy_value(p, ids->exceptions), server))
		return 0;
	ssize_t i = opts_find(*opts, "sec");
	if (i >= 0 && (streq((*opts)[i], "sec=krb5i") || streq((*opts)[i], "sec=krb5")))
		return 0;
	return opts_set(opts, "sec", "krb5i");
}

typedef struct CifsPortIds {
	const char *allowed, *servers, *mappings;
} CifsPortIds;

/* port=: a tcp mapping for this server sets it; otherwise an alternative
 * port the policy does not allow for this server is dropped (445 used). */
static int mount_port(const PluginPolicy *p, _unused_ const char *id, const void *arg,
		      const char *server, char ***opts) {
	const CifsPortIds *ids = arg;
	bool allowed = plugin_policy_bool_or(p, ids->allowed, true);
	char *const *servers = plugin_policy_value(p, ids->servers);
	if (allowed && (!servers || !servers[0] || host_in(servers, server))) {
		STRV_FOREACH(m, plugin_policy_value(p, ids->mappings)) {
			/* server:tcp:port (first match wins) */
			const char *c1 = strchr(*m, ':');
			if (!c1 || (size_t)(c1 - *m) != strlen(server) || strncasecmp(*m, server, strlen(server)) != 0)
				continue;
			if (!startswith(c1 + 1, "tcp:"))
				break;
			return opts_set(opts, "port", c1 + 5);
		}
		return 0;
	}
	ssize_t i = opts_find(*opts, "port");
	if (i >= 0 && !streq((*opts)[i], "port=445"))
		opts_remove(*opts, "port");
	return 0;
}

/* ---- module options ---- */

static const PluginValueMap yes_no_map[] = { { "true", "Y" }, { "false", "N" }, PLUGIN_VALUE_MAP_END };
static const PluginValueMap legacy_dialect_map[] = {
	{ "2.0.2", "N" }, { "2.1", "Y" }, { "3.0", "Y" }, { "3.0.2", "Y" }, { "3.1.1", "Y" },
	PLUGIN_VALUE_MAP_END
};

/* require_gcm_256=Y only when the fleet's cipher list is AES-256-GCM alone. */
static int render_gcm256(const PluginPolicy *p, const char *id, _unused_ const void *arg, char **ret) {
	char *const *v = plugin_policy_value(p, id);
	if (!v) {
		*ret = NULL;
		return 0;
	}
	*ret = strdup(v[0] && !v[1] && streq(v[0], "aes-256-gcm") ? "Y" : "N");
	return *ret ? 0 : -ENOMEM;
}

static const CifsDialectIds dialect_ids = { "client.dialect.min", "client.dialect.max" };
static const CifsNtlmIds ntlm_ids = { "client.ntlm.block", "client.ntlm.exceptions" };
static const CifsPortIds port_ids = { "client.ports.alternate.allowed", "client.ports.alternate.servers",
				      "client.ports.alternate.mappings" };

#define CIFS_ROW(id_, target_, xform_, ...)                                                    \
	{ .id = id_, .target = target_, .transform = xform_, .impl = &(const CifsRow){ __VA_ARGS__ } }

static const PluginSettingInfo cifs_settings[] = {
	CIFS_ROW("client.signing.required", "options cifs enable_negotiate_signing", "true -> Y, false -> N",
		 .kind = CIFS_MODULE_OPTION, .name = "enable_negotiate_signing", .render = plugin_render_map,
		 .arg = yes_no_map),
	CIFS_ROW("client.dialect.min", "options cifs disable_legacy_dialects", "2.0.2 -> N, 2.1 and up -> Y",
		 .kind = CIFS_MODULE_OPTION, .name = "disable_legacy_dialects", .render = plugin_render_map,
		 .arg = legacy_dialect_map),
	CIFS_ROW("server.encryption.ciphers", "options cifs require_gcm_256",
		 "Y when the cipher list is aes-256-gcm alone, else N", .kind = CIFS_MODULE_OPTION,
		 .name = "require_gcm_256", .render = render_gcm256),
	CIFS_ROW("client.signing.required", "SecurityFlags must-sign 0x01001", "true -> set",
		 .kind = CIFS_SECURITY_FLAGS, .must = 0x01001),
	CIFS_ROW("client.encryption.required", "SecurityFlags must-seal 0x40040", "true -> set",
		 .kind = CIFS_SECURITY_FLAGS, .must = 0x40040),
	CIFS_ROW("client.ntlm.block", "SecurityFlags must-krb5 0x08008", "true -> set, NTLM bits cleared",
		 .kind = CIFS_SECURITY_FLAGS, .must = 0x08008, .clear = 0x00084),
	CIFS_ROW("client.signing.required", "mount option sign", "true -> sign", .kind = CIFS_MOUNT_OPTION,
		 .mount = mount_flag, .arg = "sign"),
	CIFS_ROW("client.encryption.required", "mount option seal", "true -> seal", .kind = CIFS_MOUNT_OPTION,
		 .mount = mount_flag, .arg = "seal"),
	CIFS_ROW("client.dialect.min", "mount option vers=", "range -> vers=3 / 3.1.1 / ...",
		 .kind = CIFS_MOUNT_OPTION, .mount = mount_vers, .arg = &dialect_ids),
	CIFS_ROW("client.dialect.max", "mount option vers=", "range -> vers=3 / 3.1.1 / ...",
		 .kind = CIFS_MOUNT_OPTION, .mount = mount_vers, .arg = &dialect_ids),
	CIFS_ROW("client.ntlm.block", "mount option sec=", "true -> sec=krb5i (exceptions kept)",
		 .kind = CIFS_MOUNT_OPTION, .mount = mount_sec, .arg = &ntlm_ids),
	CIFS_ROW("client.ntlm.exceptions", "mount option sec=", "listed servers keep their sec=",
		 .kind = CIFS_MOUNT_OPTION, .mount = mount_sec, .arg = &ntlm_ids),
	CIFS_ROW("client.ports.alternate.allowed", "mount option port=", "false -> port= dropped",
		 .kind = CIFS_MOUNT_OPTION, .mount = mount_port, .arg = &port_ids),
	CIFS_ROW("client.ports.alternate.servers", "mount option port=", "unlisted server -> port= dropped",
		 .kind = CIFS_MOUNT_OPTION, .mount = mount_port, .arg = &port_ids),
	CIFS_ROW("client.ports.alternate.mappings", "mount option port=", "server:tcp:N -> port=N",
		 .kind = CIFS_MOUNT_OPTION, .mount = mount_port, .arg = &port_ids),
	CIFS_ROW("client.guest.insecure-logons", "mount option guest", "false -> guest removed",
		 .kind = CIFS_MOUNT_OPTION, .mount = mount_guest),
};

static const char *const cifs_fstypes[] = { "cifs", "smb3", NULL };

/* ---- SecurityFlags ---- */

static unsigned cifs_secflags_desired(const PluginPolicy *p) {
	unsigned flags = CIFS_SECFLAGS_DEFAULT;
	for (size_t i = 0; i < ELEMENTSOF(cifs_settings); i++) {
		const CifsRow *row = cifs_settings[i].impl;
		if (row->kind == CIFS_SECURITY_FLAGS && plugin_policy_bool_or(p, cifs_settings[i].id, false))
			flags = (flags & ~row->clear) | row->must;
	}
	return flags;
}

static int secflags_read(const char *path, unsigned *ret) {
	_cleanup_free_ char *s = NULL;
	int r = read_file(path, 64, &s, NULL);
	if (r < 0)
		return r;
	char *end;
	unsigned long v = strtoul(s, &end, 0);
	if (end == s)
		return -EBADMSG;
	*ret = (unsigned)v;
	return 0;
}

/* A proc file cannot be renamed over: plain write. */
static int secflags_write(const char *path, const char *text) {
	_cleanup_close_ int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t n = strlen(text);
	return write(fd, text, n) == (ssize_t)n ? 0 : -EIO;
}

/* ---- mounts ---- */

/* "//server/share" -> server (malloc'd), NULL when not an SMB source. */
static char *mount_server(const char *spec) {
	const char *s = spec;
	if (startswith(s, "//"))
		s += 2;
	else if (startswith(s, "\\\\"))
		s += 2;
	else
		return NULL;
	return strndup(s, strcspn(s, "/\\"));
}

/* Run every mount row over opts; record a change per row that edited them. */
static int edit_mount_opts(const PluginPolicy *p, PluginPlan *plan, const char *where,
			   const char *server, const char *old, char **ret) {
	char **opts = NULL;
	int r = opts_split(old, &opts);
	if (r < 0)
		return r;
	_cleanup_strv_free_ char **l = opts;
	_cleanup_free_ char *before = strv_join(l, ",");
	if (!before)
		return -ENOMEM;
	for (size_t i = 0; i < ELEMENTSOF(cifs_settings); i++) {
		const CifsRow *row = cifs_settings[i].impl;
		if (row->kind != CIFS_MOUNT_OPTION)
			continue;
		if ((r = row->mount(p, cifs_settings[i].id, row->arg, server, &l)) < 0)
			return r;
		_cleanup_free_ char *after = strv_join(l, ",");
		if (!after)
			return -ENOMEM;
		if (!streq(before, after)) {
			_cleanup_free_ char *target = strdup_printf("%s %s", where, row->name ? row->name : "options");
			if (!target || (r = plugin_plan_add_change(plan, cifs_settings[i].id, target, before, after)) < 0)
				return r < 0 ? r : -ENOMEM;
			free(before);
			before = TAKE_PTR(after);
		}
	}
	*ret = TAKE_PTR(before);
	return 0;
}

/* Byte range of the n-th whitespace-separated field of [s, e). */
static bool field_range(const char *s, const char *e, unsigned n, const char **fs, const char **fe) {
	const char *p = s;
	for (unsigned i = 0;; i++) {
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		if (p >= e)
			return false;
		const char *q = p;
		while (q < e && *q != ' ' && *q != '\t')
			q++;
		if (i == n) {
			*fs = p, *fe = q;
			return true;
		}
		p = q;
	}
}

/* New fstab text: options of cifs/smb3 lines edited, all else kept. */
static int fstab_edit(const PluginPolicy *p, PluginPlan *plan, const char *path, const char *text,
		      char **ret) {
	StrBuf out = {};
	unsigned lineno = 0;
	for (const char *s = text; *s;) {
		const char *nl = strchr(s, '\n');
		const char *e = nl ? nl : s + strlen(s);
		lineno++;
		const char *f0s, *f0e, *f2s, *f2e, *f3s, *f3e;
		bool smb = *s != '#' && field_range(s, e, 0, &f0s, &f0e) && field_range(s, e, 2, &f2s, &f2e);
		_cleanup_free_ char *type = smb ? strndup(f2s, (size_t)(f2e - f2s)) : NULL;
		_cleanup_free_ char *spec = smb ? strndup(f0s, (size_t)(f0e - f0s)) : NULL;
		_cleanup_free_ char *server = spec ? mount_server(spec) : NULL;
		if (smb && type && server && strv_contains((char **)cifs_fstypes, type)) {
			bool have_opts = field_range(s, e, 3, &f3s, &f3e);
			_cleanup_free_ char *old = have_opts ? strndup(f3s, (size_t)(f3e - f3s)) : strdup("");
			_cleanup_free_ char *where = strdup_printf("%s:%u %s", path, lineno, spec), *nopts = NULL;
			if (!old || !where) {
				strbuf_free(&out);
				return -ENOMEM;
			}
			int r = edit_mount_opts(p, plan, where, server, old, &nopts);
			if (r < 0) {
				strbuf_free(&out);
				return r;
			}
			if (have_opts) {
				strbuf_append_len(&out, s, (size_t)(f3s - s));
				strbuf_append(&out, nopts);
				strbuf_append_len(&out, f3e, (size_t)(e - f3e));
			} else {
				strbuf_append_len(&out, s, (size_t)(e - s));
				strbuf_printf(&out, " %s", *nopts ? nopts : "defaults");
			}
		} else
			strbuf_append_len(&out, s, (size_t)(e - s));
		if (nl)
			strbuf_append(&out, "\n");
		s = nl ? nl + 1 : e;
	}
	return strbuf_finish(&out, ret);
}

/* New .mount unit text: Options= of a cifs/smb3 [Mount] edited. */
static int unit_edit(const PluginPolicy *p, PluginPlan *plan, const char *path, const char *text,
		     char **ret) {
	_cleanup_free_ char *type = NULL, *what = NULL, *opts = NULL, *server = NULL, *nopts = NULL;
	*ret = NULL;
	if (plugin_ini_get(text, "Mount", "Type", &type, NULL) < 0 ||
	    !strv_contains((char **)cifs_fstypes, type) ||
	    plugin_ini_get(text, "Mount", "What", &what, NULL) < 0 || !(server = mount_server(what)))
		return 0;
	(void)plugin_ini_get(text, "Mount", "Options", &opts, NULL);
	_cleanup_free_ char *where = strdup_printf("%s %s", path, what);
	if (!where)
		return -ENOMEM;
	int r = edit_mount_opts(p, plan, where, server, opts ? opts : "", &nopts);
	if (r < 0)
		return r;
	if (opts && streq(opts, nopts))
		return 0;
	if (!opts && !*nopts)
		return 0;
	return plugin_ini_set(text, "Mount", "Options", nopts, ret);
}

/* ---- rendering the owned modprobe file ---- */

static int render_modprobe(const PluginContext *ctx, const PluginPolicy *p, char **ret) {
	StrBuf b = {};
	strbuf_printf(&b, "# smbpolicy-cifs.conf - written by smbpolicy (policy %s); do not edit.\n"
			  "options cifs",
		      p->name ? p->name : "?");
	for (size_t i = 0; i < ELEMENTSOF(cifs_settings); i++) {
		const CifsRow *row = cifs_settings[i].impl;
		if (row->kind != CIFS_MODULE_OPTION)
			continue;
		_cleanup_free_ char *v = NULL;
		int r = row->render(p, cifs_settings[i].id, row->arg, &v);
		if (r < 0) {
			plugin_log(ctx, CIFS_NAME, PLUGIN_LOG_ERR, cifs_settings[i].id, NULL,
				   "value cannot be expressed as %s", row->name);
			strbuf_free(&b);
			return r;
		}
		if (v)
			strbuf_printf(&b, " %s=%s", row->name, v);
	}
	strbuf_append(&b, "\n");
	return strbuf_finish(&b, ret);
}

/* Current value of a module option in the owned file, NULL when unset. */
static char *modprobe_value(const char *text, const char *name) {
	if (!text)
		return NULL;
	_cleanup_free_ char *pat = strdup_printf(" %s=", name);
	const char *at = pat ? strstr(text, pat) : NULL;
	if (!at)
		return NULL;
	at += strlen(pat);
	return strndup(at, strcspn(at, " \n"));
}

/* ---- ops ---- */

static int cifs_detect(const PluginContext *ctx, PluginDetect *ret) {
	_cleanup_free_ char *sf = plugin_path(ctx, CIFS_SECFLAGS), *mp = plugin_path(ctx, "/etc/modprobe.d");
	if (!sf || !mp)
		return -ENOMEM;
	*ret = (PluginDetect){};
	ret->running = access(sf, F_OK) == 0;
	ret->installed = true; /* cifs.ko ships with the kernel; mounts and modprobe.d are plain files */
	ret->applicable = true;
	ret->detail = strdup_printf("cifs module %s; SecurityFlags %s", ret->running ? "loaded" : "not loaded",
				    ret->running ? "managed" : "unknown until the module loads");
	return ret->detail ? 0 : -ENOMEM;
}

static int cifs_read_actual(const PluginContext *ctx, PluginActual **ret, size_t *ret_n) {
	_cleanup_free_ char *mp = plugin_path(ctx, CIFS_MODPROBE), *sf = plugin_path(ctx, CIFS_SECFLAGS);
	_cleanup_free_ char *text = NULL;
	if (!mp || !sf)
		return -ENOMEM;
	(void)read_file(mp, 1u << 20, &text, NULL);
	unsigned flags = 0;
	bool have_flags = secflags_read(sf, &flags) == 0;
	PluginActual *a = NULL;
	size_t n = 0;
	int r = 0;
	for (size_t i = 0; i < ELEMENTSOF(cifs_settings) && r >= 0; i++) {
		const CifsRow *row = cifs_settings[i].impl;
		const char *id = cifs_settings[i].id, *target = cifs_settings[i].target;
		if (row->kind == CIFS_MODULE_OPTION) {
			_cleanup_free_ char *v = modprobe_value(text, row->name);
			r = plugin_actual_add(&a, &n, id, target, v ? PLUGIN_VALUE_SET : PLUGIN_VALUE_UNSET, v);
		} else if (row->kind == CIFS_SECURITY_FLAGS) {
			char buf[32];
			snprintf(buf, sizeof(buf), "%s", (flags & row->must) == row->must ? "set" : "clear");
			r = plugin_actual_add(&a, &n, id, target,
					      have_flags ? PLUGIN_VALUE_SET : PLUGIN_VALUE_UNKNOWN,
					      have_flags ? buf : NULL);
		} else
			r = plugin_actual_add(&a, &n, id, target, PLUGIN_VALUE_UNKNOWN, NULL);
	}
	if (r < 0) {
		plugin_actual_free(a, n);
		return r;
	}
	*ret = a;
	*ret_n = n;
	return 0;
}

static int plan_modprobe(const PluginContext *ctx, const PluginPolicy *p, PluginPlan *plan) {
	_cleanup_free_ char *path = plugin_path(ctx, CIFS_MODPROBE), *cur = NULL, *want = NULL;
	if (!path)
		return -ENOMEM;
	int r = render_modprobe(ctx, p, &want);
	if (r < 0)
		return r;
	(void)read_file(path, 1u << 20, &cur, NULL);
	for (size_t i = 0; i < ELEMENTSOF(cifs_settings); i++) {
		const CifsRow *row = cifs_settings[i].impl;
		if (row->kind != CIFS_MODULE_OPTION)
			continue;
		_cleanup_free_ char *have = modprobe_value(cur, row->name), *v = modprobe_value(want, row->name);
		if (!streq_ptr(have, v) &&
		    (r = plugin_plan_add_change(plan, cifs_settings[i].id, cifs_settings[i].target, have, v)) < 0)
			return r;
	}
	if (plan->n_changes == 0)
		return 0;
	size_t len = strlen(want);
	return plugin_plan_add_file(plan, path, TAKE_PTR(want), len, 0644);
}

static int plan_secflags(const PluginContext *ctx, const PluginPolicy *p, PluginPlan *plan) {
	_cleanup_free_ char *sf = plugin_path(ctx, CIFS_SECFLAGS);
	if (!sf)
		return -ENOMEM;
	unsigned have, want = cifs_secflags_desired(p);
	if (secflags_read(sf, &have) < 0)
		return 0; /* module not loaded: unknown, nothing to do now */
	if (have == want)
		return 0;
	for (size_t i = 0; i < ELEMENTSOF(cifs_settings); i++) {
		const CifsRow *row = cifs_settings[i].impl;
		if (row->kind != CIFS_SECURITY_FLAGS)
			continue;
		bool h = (have & row->must) == row->must, w = (want & row->must) == row->must;
		int r = h == w ? 0
			       : plugin_plan_add_change(plan, cifs_settings[i].id, cifs_settings[i].target,
							h ? "set" : "clear", w ? "set" : "clear");
		if (r < 0)
			return r;
	}
	char d[32];
	snprintf(d, sizeof(d), "0x%x", want);
	plan->state = strdup(d);
	return plan->state ? 0 : -ENOMEM;
}

static int plan_fstab(const PluginContext *ctx, const PluginPolicy *p, PluginPlan *plan) {
	_cleanup_free_ char *path = plugin_path(ctx, CIFS_FSTAB), *text = NULL, *ntext = NULL;
	if (!path)
		return -ENOMEM;
	int r = read_file(path, PLUGIN_FILE_MAX, &text, NULL);
	if (r == -ENOENT)
		return 0;
	if (r < 0 || (r = fstab_edit(p, plan, CIFS_FSTAB, text, &ntext)) < 0)
		return r;
	if (streq(text, ntext))
		return 0;
	size_t len = strlen(ntext);
	return plugin_plan_add_file(plan, path, TAKE_PTR(ntext), len, 0644);
}

static int plan_units(const PluginContext *ctx, const PluginPolicy *p, PluginPlan *plan) {
	_cleanup_free_ char *dir = plugin_path(ctx, CIFS_UNIT_DIR);
	if (!dir)
		return -ENOMEM;
	struct dirent **names = NULL;
	int n = scandir(dir, &names, NULL, alphasort);
	if (n < 0)
		return errno == ENOENT ? 0 : -errno;
	int r = 0;
	for (int i = 0; i < n; i++) {
		size_t len = strlen(names[i]->d_name);
		if (r >= 0 && len > 6 && streq(names[i]->d_name + len - 6, ".mount")) {
			_cleanup_free_ char *path = strdup_printf("%s/%s", dir, names[i]->d_name);
			_cleanup_free_ char *shown = strdup_printf(CIFS_UNIT_DIR "/%s", names[i]->d_name);
			_cleanup_free_ char *text = NULL, *ntext = NULL;
			if (!path || !shown)
				r = -ENOMEM;
			else if (read_file(path, 1u << 20, &text, NULL) == 0 &&
				 (r = unit_edit(p, plan, shown, text, &ntext)) >= 0 && ntext) {
				size_t nlen = strlen(ntext);
				r = plugin_plan_add_file(plan, path, TAKE_PTR(ntext), nlen, 0644);
			}
		}
		free(names[i]);
	}
	free(names);
	return r;
}

static int cifs_plan(const PluginContext *ctx, const PluginPolicy *p, PluginPlan **ret) {
	_cleanup_(plugin_plan_freep) PluginPlan *plan = NULL;
	int r;
	if ((r = plugin_plan_new(&plan)) < 0 || (r = plan_modprobe(ctx, p, plan)) < 0 ||
	    (r = plan_secflags(ctx, p, plan)) < 0 || (r = plan_fstab(ctx, p, plan)) < 0 ||
	    (r = plan_units(ctx, p, plan)) < 0)
		return r;
	char *const *exc = plugin_policy_value(p, ntlm_ids.exceptions);
	if (plugin_policy_bool_or(p, ntlm_ids.block, false) && exc && exc[0] && plan->state &&
	    (r = plugin_plan_add_finding(plan, PLUGIN_FINDING_WARNING, ntlm_ids.exceptions, NULL, 0,
					 "SecurityFlags is global: must-krb5 also applies to the excepted servers "
					 "(their fstab mounts keep their own sec=)")) < 0)
		return r;
	*ret = TAKE_PTR(plan);
	return 0;
}

/* `findmnt --verify` parse errors of an fstab file; -ENOENT without findmnt. */
static int fstab_parse_errors(const char *path) {
	char *argv[] = { "findmnt", "--verify", "--tab-file", (char *)path, NULL };
	_cleanup_free_ char *out = NULL, *err = NULL;
	int r = plugin_run(argv, CIFS_TIMEOUT_MS, &out, &err);
	if (r < 0)
		return r;
	const char *s = out ? strstr(out, " parse error") : NULL;
	if (!s)
		return 0;
	while (s > out && isdigit((unsigned char)s[-1]))
		s--;
	return atoi(s);
}

static int cifs_validate_fstab(const PluginContext *ctx, const PluginFile *f) {
	const char *tmpdir = getenv("TMPDIR");
	_cleanup_free_ char *tmp = strdup_printf("%s/smbpolicy-fstab.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	if (!tmp)
		return -ENOMEM;
	_cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = write(fd, f->data, f->len) == (ssize_t)f->len ? 0 : -EIO;
	int before = fstab_parse_errors(f->path), after = r < 0 ? r : fstab_parse_errors(tmp);
	unlink(tmp);
	if (r < 0)
		return r;
	if (before == -ENOENT || after == -ENOENT)
		return 0; /* no findmnt here: our own line edits only */
	if (after > before) {
		plugin_log(ctx, CIFS_NAME, PLUGIN_LOG_ERR, NULL, f->path,
			   "findmnt --verify: %d parse errors after the edit, %d before", after, before);
		return -EBADMSG;
	}
	return 0;
}

static int cifs_apply(const PluginContext *ctx, const PluginPlan *plan, PluginBackup **ret_backup) {
	*ret_backup = NULL;
	_cleanup_free_ char *fstab = plugin_path(ctx, CIFS_FSTAB), *sf = plugin_path(ctx, CIFS_SECFLAGS);
	if (!fstab || !sf)
		return -ENOMEM;
	int r;
	for (size_t i = 0; i < plan->n_files; i++)
		if (streq(plan->files[i].path, fstab) && (r = cifs_validate_fstab(ctx, &plan->files[i])) < 0)
			return r;
	if (ctx->dry_run)
		return plugin_files_apply(ctx, CIFS_NAME, plan->files, plan->n_files, NULL);
	_cleanup_(plugin_backup_freep) PluginBackup *b = NULL;
	if ((r = plugin_backup_files(CIFS_NAME, plan->files, plan->n_files, &b)) < 0)
		return r;
	if (plan->state) {
		if ((r = read_file(sf, 64, &b->state, NULL)) < 0)
			return r;
		b->state[strcspn(b->state, "\n")] = 0;
		b->state_existed = true;
	}
	if ((r = plugin_files_apply(ctx, CIFS_NAME, plan->files, plan->n_files, b)) < 0)
		return r;
	if (plan->state && (r = secflags_write(sf, plan->state)) < 0) {
		plugin_log(ctx, CIFS_NAME, PLUGIN_LOG_ERR, NULL, sf, "cannot write: %s", strerror(-r));
		(void)plugin_backup_restore(ctx, b);
		return r;
	}
	*ret_backup = TAKE_PTR(b);
	return 0;
}

static int cifs_verify(const PluginContext *ctx, const PluginPlan *plan) {
	int result = 0;
	for (size_t i = 0; i < plan->n_files; i++)
		if (!plugin_file_has(plan->files[i].path, plan->files[i].data, plan->files[i].len)) {
			plugin_log(ctx, CIFS_NAME, PLUGIN_LOG_ERR, NULL, plan->files[i].path,
				   "content differs from the plan");
			result = -EBADE;
		}
	if (plan->state) {
		_cleanup_free_ char *sf = plugin_path(ctx, CIFS_SECFLAGS);
		unsigned have;
		if (!sf)
			return -ENOMEM;
		if (secflags_read(sf, &have) < 0 || have != (unsigned)strtoul(plan->state, NULL, 0)) {
			plugin_log(ctx, CIFS_NAME, PLUGIN_LOG_ERR, NULL, sf, "does not read back %s", plan->state);
			result = -EBADE;
		}
	}
	return result;
}

static int cifs_rollback(const PluginContext *ctx, const PluginBackup *b) {
	int r = plugin_backup_restore(ctx, b);
	if (b->state_existed && !ctx->dry_run) {
		_cleanup_free_ char *sf = plugin_path(ctx, CIFS_SECFLAGS);
		int k = sf ? secflags_write(sf, b->state) : -ENOMEM;
		if (k < 0 && r == 0)
			r = k;
	}
	return r;
}

const SmbpolicyPlugin smbpolicy_plugin = {
	.abi_version = SMBPOLICY_PLUGIN_ABI_VERSION,
	.name = CIFS_NAME,
	.description = "Linux kernel SMB client: modprobe.d options, SecurityFlags, fstab and .mount options",
	.settings = cifs_settings,
	.n_settings = ELEMENTSOF(cifs_settings),
	.detect = cifs_detect,
	.read_actual = cifs_read_actual,
	.plan = cifs_plan,
	.apply = cifs_apply,
	.verify = cifs_verify,
	.rollback = cifs_rollback,
	.detect_clear = plugin_detect_clear,
	.actual_free = plugin_actual_free,
	.plan_free = plugin_plan_free,
	.backup_free = plugin_backup_free,
};
