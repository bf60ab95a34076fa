/*
 * endpoint.c - the reference endpoint plugin: hands smbrefd the resultant
 * policy document.  smbrefd reads exactly that document (`smbrefd --policy
 * FILE`), so this plugin writes /etc/smbpolicy/smbrefd-policy.xml (under
 * root) and sends SIGHUP to the pid in /run/smbrefd.pid when that process
 * runs; smbrefd re-reads the policy without dropping compliant
 * connections.
 *
 * Invariants: the document is written whole (write_file_atomic), so smbrefd
 * reads the old or the new one, never a mix; it is the agent's resultant
 * policy text (PluginPolicy.xml, rsop_to_policy_xml) byte for byte; plan
 * fails without it.  Per-setting changes are found by comparing each
 * setting's element in the old and new text.
 *
 * Must never: signal a pid that is not alive or that the pid file does not
 * name; write a document without the policy namespace.
 */
#include <signal.h>

#include "plugin_util.h"

#define EP_NAME "endpoint"
#define EP_POLICY "/etc/smbpolicy/smbrefd-policy.xml"
#define EP_PIDFILE "/run/smbrefd.pid"
#define EP_NAMESPACE "urn:smbpolicy:policy:1"

#define EP_ROW(id_) { .id = id_, .target = "smbrefd --policy document", .transform = "verbatim", .impl = NULL }

/* Every setting smbrefd enforces natively (catalog targets "endpoint"). */
static const PluginSettingInfo ep_settings[] = {
	EP_ROW("server.signing.required"),
	EP_ROW("server.transport.tcp.enabled"),
	EP_ROW("server.transport.tcp.port"),
	EP_ROW("server.transport.quic.enabled"),
	EP_ROW("server.transport.quic.port"),
	EP_ROW("server.transport.rdma.enabled"),
	EP_ROW("server.transport.rdma.port"),
	EP_ROW("server.audit.client-no-signing"),
	EP_ROW("server.audit.client-no-encryption"),
	EP_ROW("server.auth-rate-limiter.enabled"),
	EP_ROW("server.auth-rate-limiter.delay-ms"),
	EP_ROW("server.encryption.required"),
	EP_ROW("server.encryption.reject-unencrypted"),
	EP_ROW("server.encryption.ciphers"),
	EP_ROW("server.dialect.min"),
	EP_ROW("server.dialect.max"),
	EP_ROW("server.guest.allowed"),
	EP_ROW("server.quic.client-access.required"),
	EP_ROW("server.quic.client-access.allow"),
	EP_ROW("server.quic.client-access.block"),
	EP_ROW("server.quic.certificate"),
	EP_ROW("server.quic.key"),
};

/* The element of setting id in a document (malloc'd), NULL when absent. */
static char *ep_setting_text(const char *doc, const char *id) {
	if (!doc)
		return NULL;
	_cleanup_free_ char *open = strdup_printf("<setting id=\"%s\"", id);
	const char *s = open ? strstr(doc, open) : NULL;
	if (!s)
		return NULL;
	const char *end = strstr(s, "</setting>"), *self = strstr(s, "/>"), *gt = strchr(s, '>');
	if (self && gt == self + 1 && (!end || self < end))
		return strndup(s, (size_t)(self + 2 - s));
	return end ? strndup(s, (size_t)(end + 10 - s)) : NULL;
}

static int ep_pid(const PluginContext *ctx, pid_t *ret) {
	_cleanup_free_ char *pf = plugin_path(ctx, EP_PIDFILE), *s = NULL;
	if (!pf)
		return -ENOMEM;
	int r = read_file(pf, 64, &s, NULL);
	if (r < 0)
		return r;
	s[strcspn(s, " \n")] = 0;
	long long pid;
	if (parse_int64(s, &pid) < 0 || pid <= 1)
		return -EBADMSG;
	if (kill((pid_t)pid, 0) < 0)
		return -errno;
	*ret = (pid_t)pid;
	return 0;
}

static int ep_detect(const PluginContext *ctx, PluginDetect *ret) {
	_cleanup_free_ char *doc = plugin_path(ctx, EP_POLICY);
	if (!doc)
		return -ENOMEM;
	pid_t pid = 0;
	*ret = (PluginDetect){ .installed = true, .applicable = true };
	ret->running = ep_pid(ctx, &pid) == 0;
	ret->detail = ret->running ? strdup_printf("smbrefd pid %d, policy %s", (int)pid, doc)
				   : strdup_printf("smbrefd not running; policy %s is read at its start", doc);
	return ret->detail ? 0 : -ENOMEM;
}

/* userdata: the policy document smbrefd reads (NULL when absent). */
static char *ep_actual_value(const PluginSettingInfo *row, const void *userdata) {
	return ep_setting_text(userdata, row->id);
}

static int ep_read_actual(const PluginContext *ctx, PluginActual **ret, size_t *ret_n) {
	_cleanup_free_ char *path = plugin_path(ctx, EP_POLICY), *doc = NULL;
	if (!path)
		return -ENOMEM;
	(void)read_file(path, PLUGIN_FILE_MAX, &doc, NULL);
	/* A missing document is known: every setting is unset there. */
	return plugin_actual_collect(ep_settings, ELEMENTSOF(ep_settings), true, ep_actual_value, doc,
				     ret, ret_n);
}

static int ep_plan(const PluginContext *ctx, const PluginPolicy *p, PluginPlan **ret) {
	_cleanup_free_ char *path = plugin_path(ctx, EP_POLICY), *cur = NULL, *want = NULL;
	if (!path)
		return -ENOMEM;
	if (!p->xml) {
		plugin_log(ctx, EP_NAME, PLUGIN_LOG_ERR, NULL, NULL,
			   "needs the resultant policy document (PluginPolicy.xml)");
		return -EINVAL;
	}
	if (!(want = strdup(p->xml)))
		return -ENOMEM;
	int r;
	if (!strstr(want, EP_NAMESPACE)) {
		plugin_log(ctx, EP_NAME, PLUGIN_LOG_ERR, NULL, NULL, "policy document lacks namespace %s", EP_NAMESPACE);
		return -EINVAL;
	}
	(void)read_file(path, PLUGIN_FILE_MAX, &cur, NULL);
	_cleanup_(plugin_plan_freep) PluginPlan *plan = NULL;
	if ((r = plugin_plan_new(&plan)) < 0)
		return r;
	for (size_t i = 0; i < ELEMENTSOF(ep_settings); i++) {
		_cleanup_free_ char *a = ep_setting_text(cur, ep_settings[i].id);
		_cleanup_free_ char *d = ep_setting_text(want, ep_settings[i].id);
		if (!streq_ptr(a, d) &&
		    (r = plugin_plan_add_change(plan, ep_settings[i].id, ep_settings[i].target, a, d)) < 0)
			return r;
	}
	if (!cur || !streq(cur, want)) {
		size_t len = strlen(want);
		if ((r = plugin_plan_add_file(plan, path, TAKE_PTR(want), len, 0644)) < 0)
			return r;
	}
	*ret = TAKE_PTR(plan);
	return 0;
}

/* SIGHUP smbrefd when it runs; -ESRCH is not an error here. */
static int ep_reload(const PluginContext *ctx) {
	pid_t pid;
	if (ep_pid(ctx, &pid) < 0)
		return 0;
	if (kill(pid, SIGHUP) < 0) {
		int r = -errno;
		plugin_log(ctx, EP_NAME, PLUGIN_LOG_WARNING, NULL, EP_PIDFILE, "SIGHUP to %d: %s", (int)pid, strerror(-r));
		return r;
	}
	plugin_log(ctx, EP_NAME, PLUGIN_LOG_INFO, NULL, EP_PIDFILE, "smbrefd (pid %d) told to re-read its policy",
		   (int)pid);
	return 0;
}

static int ep_apply(const PluginContext *ctx, const PluginPlan *plan, PluginBackup **ret_backup) {
	*ret_backup = NULL;
	_cleanup_(plugin_backup_freep) PluginBackup *b = NULL;
	int r = plugin_plan_write(ctx, EP_NAME, plan, &b);
	if (r < 0 || ctx->dry_run)
		return r;
	if (plan->n_files > 0)
		(void)ep_reload(ctx);
	*ret_backup = TAKE_PTR(b);
	return 0;
}

static int ep_verify(const PluginContext *ctx, const PluginPlan *plan) {
	for (size_t i = 0; i < plan->n_files; i++)
		if (!plugin_file_has(plan->files[i].path, plan->files[i].data, plan->files[i].len)) {
			plugin_log(ctx, EP_NAME, PLUGIN_LOG_ERR, NULL, plan->files[i].path, "does not read back as planned");
			return -EBADE;
		}
	return 0;
}

static int ep_rollback(const PluginContext *ctx, const PluginBackup *b) {
	int r = plugin_backup_restore(ctx, b);
	if (!ctx->dry_run)
		(void)ep_reload(ctx);
	return r;
}

const SmbpolicyPlugin smbpolicy_plugin = {
	.abi_version = SMBPOLICY_PLUGIN_ABI_VERSION,
	.name = EP_NAME,
	.description = "smbrefd: the resultant policy document, re-read on SIGHUP",
	.settings = ep_settings,
	.n_settings = ELEMENTSOF(ep_settings),
	.detect = ep_detect,
	.read_actual = ep_read_actual,
	.plan = ep_plan,
	.apply = ep_apply,
	.verify = ep_verify,
	.rollback = ep_rollback,
	.detect_clear = plugin_detect_clear,
	.actual_free = plugin_actual_free,
	.plan_free = plugin_plan_free,
	.backup_free = plugin_backup_free,
};
