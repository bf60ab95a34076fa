/*
 * nftables.c - the firewall plugin: one table, `inet smbpolicy`, through
 * libnftables (loaded for each nft run only, see nft_open).  Its input chain drops the legacy NetBIOS ports (UDP 137,
 * UDP 138, TCP 139) unless firewall.netbios.legacy, and accepts the port of
 * each enabled server transport (TCP, QUIC over UDP, SMB Direct over TCP).
 * Each rule carries the setting id as its comment, which is how
 * read_actual and verify find it again.
 *
 * Invariants: the table is replaced in one nft transaction (`table` +
 * `flush table` + the table body in one buffer), checked first with the
 * same buffer in dry-run mode, so the kernel holds either the old or the
 * new ruleset.  The backup is the old table's own listing.
 *
 * Must never: name, flush or delete any table other than inet smbpolicy;
 * change the ruleset in dry-run mode; work in another network namespace
 * than ctx->tools.netns (or the caller's).
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <nftables/libnftables.h>
#include <sched.h>

#include "dlsyms.h"
#include "plugin_util.h"

#define NFT_NAME "nftables"
#define NFT_TABLE "inet smbpolicy"

/* Our chains, each a base chain that accepts by default: only the rules
 * below drop anything. */
static const struct {
	const char *name;
	const char *head;
} nft_chains[] = {
	{ "input", "type filter hook input priority filter - 10; policy accept;" },
	{ "output", "type filter hook output priority filter - 10; policy accept;" },
};

typedef struct NftRule {
	const char *chain;      /* "input" / "output" */
	const char *proto;      /* "tcp" / "udp" */
	unsigned port;          /* fixed port, or 0: from port_id */
	const char *port_id;    /* setting holding the port */
	const char *enabled_id; /* rule only while this is true; NULL = always */
	const char *when_true;  /* verdict when the row's own bool is true; NULL: port rows */
	const char *when_false;
} NftRule;

#define NFT_ROW(id_, target_, xform_, ...)                                                     \
	{ .id = id_, .target = target_, .transform = xform_, .impl = &(const NftRule){ __VA_ARGS__ } }
/* A setting that only feeds another row's rule. */
#define NFT_INPUT(id_, target_, xform_) { .id = id_, .target = target_, .transform = xform_, .impl = NULL }

static const PluginSettingInfo nft_settings[] = {
	NFT_ROW("firewall.netbios.legacy", "input udp dport 137", "false -> drop, true -> accept",
		.chain = "input", .proto = "udp", .port = 137, .when_true = "accept", .when_false = "drop"),
	NFT_ROW("firewall.netbios.legacy", "input udp dport 138", "false -> drop, true -> accept",
		.chain = "input", .proto = "udp", .port = 138, .when_true = "accept", .when_false = "drop"),
	NFT_ROW("firewall.netbios.legacy", "input tcp dport 139", "false -> drop, true -> accept",
		.chain = "input", .proto = "tcp", .port = 139, .when_true = "accept", .when_false = "drop"),
	NFT_ROW("server.transport.tcp.port", "input tcp dport PORT accept", "while tcp.enabled",
		.chain = "input", .proto = "tcp", .port_id = "server.transport.tcp.port",
		.enabled_id = "server.transport.tcp.enabled"),
	NFT_INPUT("server.transport.tcp.enabled", "input tcp dport PORT accept", "true -> rule present"),
	NFT_ROW("server.transport.quic.port", "input udp dport PORT accept", "while quic.enabled",
		.chain = "input", .proto = "udp", .port_id = "server.transport.quic.port",
		.enabled_id = "server.transport.quic.enabled"),
	NFT_INPUT("server.transport.quic.enabled", "input udp dport PORT accept", "true -> rule present"),
	NFT_ROW("server.transport.rdma.port", "input tcp dport PORT accept", "while rdma.enabled",
		.chain = "input", .proto = "tcp", .port_id = "server.transport.rdma.port",
		.enabled_id = "server.transport.rdma.enabled"),
	NFT_INPUT("server.transport.rdma.enabled", "input tcp dport PORT accept", "true -> rule present"),
	NFT_ROW("client.mailslots.enabled", "output udp dport 138", "false -> drop (no remote mailslots), true -> accept",
		.chain = "output", .proto = "udp", .port = 138, .when_true = "accept", .when_false = "drop"),
};

/* ---- network namespace ---- */

typedef struct NetnsGuard {
	int saved; /* -1: nothing to restore */
} NetnsGuard;

static int netns_enter(const PluginContext *ctx, NetnsGuard *g) {
	g->saved = -1;
	if (!ctx->tools.netns)
		return 0;
	_cleanup_close_ int target = open(ctx->tools.netns, O_RDONLY | O_CLOEXEC);
	if (target < 0)
		return -errno;
	g->saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (g->saved < 0)
		return -errno;
	if (setns(target, CLONE_NEWNET) < 0) {
		int r = -errno;
		close(g->saved);
		g->saved = -1;
		return r;
	}
	return 0;
}

static void netns_leave(NetnsGuard *g) {
	if (g->saved < 0)
		return;
	(void)setns(g->saved, CLONE_NEWNET);
	close(g->saved);
	g->saved = -1;
}

/* ---- libnftables ---- */

/* libnftables is loaded for the length of one nft run and closed again
 * (dlsyms.h): the agent runs this plugin every cycle but is idle in
 * between, and libnftables with libnftnl, libmnl, libxtables, libjansson
 * and GMP is about 1.6 MiB of an idle agent's RSS (issue 5). */
#define NFT_LIBRARY "libnftables.so.1"

typedef struct NftApi {
	struct nft_ctx *(*ctx_new)(uint32_t flags);
	void (*ctx_free)(struct nft_ctx *ctx);
	int (*ctx_buffer_output)(struct nft_ctx *ctx);
	int (*ctx_buffer_error)(struct nft_ctx *ctx);
	const char *(*ctx_get_output_buffer)(struct nft_ctx *ctx);
	const char *(*ctx_get_error_buffer)(struct nft_ctx *ctx);
	void (*ctx_set_dry_run)(struct nft_ctx *ctx, bool dry);
	int (*run_cmd_from_buffer)(struct nft_ctx *nft, const char *buf);
} NftApi;

static const DlSymbol nft_symbols[] = {
	{ "nft_ctx_new", offsetof(NftApi, ctx_new) },
	{ "nft_ctx_free", offsetof(NftApi, ctx_free) },
	{ "nft_ctx_buffer_output", offsetof(NftApi, ctx_buffer_output) },
	{ "nft_ctx_buffer_error", offsetof(NftApi, ctx_buffer_error) },
	{ "nft_ctx_get_output_buffer", offsetof(NftApi, ctx_get_output_buffer) },
	{ "nft_ctx_get_error_buffer", offsetof(NftApi, ctx_get_error_buffer) },
	{ "nft_ctx_set_dry_run", offsetof(NftApi, ctx_set_dry_run) },
	{ "nft_run_cmd_from_buffer", offsetof(NftApi, run_cmd_from_buffer) },
};

/* One loaded libnftables and one context of it. */
typedef struct Nft {
	NftApi api;
	void *lib;
	struct nft_ctx *ctx;
} Nft;

static void nft_close(Nft *n) {
	if (n->ctx)
		n->api.ctx_free(n->ctx);
	if (n->lib)
		dlclose(n->lib);
	*n = (Nft){};
}

static int nft_open(const PluginContext *ctx, Nft *ret) {
	const char *detail = NULL;
	*ret = (Nft){};
	int r = dlsyms_open(NFT_LIBRARY, nft_symbols, ELEMENTSOF(nft_symbols), &ret->api, &ret->lib, &detail);
	if (r < 0) {
		plugin_log(ctx, NFT_NAME, PLUGIN_LOG_ERR, NULL, NULL, "cannot load %s: %s", NFT_LIBRARY,
			   detail ? detail : strerror(-r));
		return r;
	}
	ret->ctx = ret->api.ctx_new(NFT_CTX_DEFAULT);
	if (!ret->ctx) {
		nft_close(ret);
		return -ENOMEM;
	}
	return 0;
}

/* Run one buffer (dry_run: check only).  *ret_out gets the output. */
static int nft_run(const PluginContext *ctx, const char *buf, bool dry_run, char **ret_out) {
	NetnsGuard g;
	int r = netns_enter(ctx, &g);
	if (r < 0) {
		plugin_log(ctx, NFT_NAME, PLUGIN_LOG_ERR, NULL, ctx->tools.netns, "cannot enter: %s", strerror(-r));
		return r;
	}
	_cleanup_(nft_close) Nft nft;
	r = nft_open(ctx, &nft);
	if (r < 0) {
		netns_leave(&g);
		return r;
	}
	nft.api.ctx_buffer_output(nft.ctx);
	nft.api.ctx_buffer_error(nft.ctx);
	nft.api.ctx_set_dry_run(nft.ctx, dry_run);
	r = nft.api.run_cmd_from_buffer(nft.ctx, buf);
	netns_leave(&g);
	if (r != 0) {
		const char *err = nft.api.ctx_get_error_buffer(nft.ctx);
		if (err && strstr(err, "No such file or directory"))
			return -ENOENT;
		plugin_log(ctx, NFT_NAME, PLUGIN_LOG_ERR, NULL, NULL, "nft: %s", err ? err : "failed");
		return -EBADMSG;
	}
	if (ret_out) {
		const char *out = nft.api.ctx_get_output_buffer(nft.ctx);
		*ret_out = strdup(out ? out : "");
		if (!*ret_out)
			return -ENOMEM;
	}
	return 0;
}

/* Listing of our table, NULL (and 0) when it does not exist. */
static int nft_list(const PluginContext *ctx, char **ret) {
	*ret = NULL;
	int r = nft_run(ctx, "list table " NFT_TABLE, false, ret);
	return r == -ENOENT ? 0 : r;
}

/* ---- rendering ---- */

/* The rule text of a row ("udp dport 137 drop"), NULL when it has none. */
static int nft_rule(const PluginContext *ctx, const PluginPolicy *p, const PluginSettingInfo *row, char **ret) {
	const NftRule *n = row->impl;
	*ret = NULL;
	if (!n)
		return 0;
	if (n->enabled_id && !plugin_policy_bool_or(p, n->enabled_id, false))
		return 0;
	unsigned port = n->port;
	const char *verdict = "accept";
	if (n->port_id) {
		const char *v = plugin_policy_scalar(p, n->port_id);
		long long x;
		if (!v || parse_int64(v, &x) < 0 || x < 1 || x > 65535) {
			plugin_log(ctx, NFT_NAME, PLUGIN_LOG_ERR, n->port_id, NULL, "no valid port");
			return -EINVAL;
		}
		port = (unsigned)x;
	} else {
		bool b;
		if (plugin_policy_bool(p, row->id, &b) < 0)
			return 0; /* not in the policy: no rule */
		verdict = b ? n->when_true : n->when_false;
	}
	*ret = strdup_printf("%s %s dport %u %s comment \"%s\"", n->chain, n->proto, port, verdict, row->id);
	return *ret ? 0 : -ENOMEM;
}

static int nft_render(const PluginContext *ctx, const PluginPolicy *p, char ***ret_rules) {
	char **rules = calloc(1, sizeof(char *));
	if (!rules)
		return -ENOMEM;
	for (size_t i = 0; i < ELEMENTSOF(nft_settings); i++) {
		char *rule = NULL;
		int r = nft_rule(ctx, p, &nft_settings[i], &rule);
		if (r < 0 || (rule && (r = strv_push(&rules, rule)) < 0)) {
			strv_free(rules);
			return r;
		}
	}
	*ret_rules = rules;
	return 0;
}

/* The one-transaction buffer that replaces our table.  rules are "CHAIN
 * RULE" strings. */
static char *nft_buffer(char *const *rules) {
	StrBuf b = {};
	strbuf_append(&b, "table " NFT_TABLE "\nflush table " NFT_TABLE "\ntable " NFT_TABLE " {\n");
	for (size_t i = 0; i < ELEMENTSOF(nft_chains); i++) {
		size_t n = strlen(nft_chains[i].name);
		strbuf_printf(&b, "\tchain %s {\n\t\t%s\n", nft_chains[i].name, nft_chains[i].head);
		STRV_FOREACH(r, rules)
			if (strncmp(*r, nft_chains[i].name, n) == 0 && (*r)[n] == ' ')
				strbuf_printf(&b, "\t\t%s\n", *r + n + 1);
		strbuf_append(&b, "\t}\n");
	}
	strbuf_append(&b, "}\n");
	char *s = NULL;
	return strbuf_finish(&b, &s) < 0 ? NULL : s;
}

/* Rule lines of a listing (or of a buffer), trimmed, as "CHAIN RULE". */
static int nft_listing_rules(const char *listing, char ***ret) {
	char **l = calloc(1, sizeof(char *));
	_cleanup_free_ char *chain = NULL;
	if (!l)
		return -ENOMEM;
	for (const char *s = listing; s && *s;) {
		const char *e = strchr(s, '\n');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		const char *t = s;
		while (n > 0 && (*t == '\t' || *t == ' '))
			t++, n--;
		char *line = strndup(t, n);
		if (!line) {
			strv_free(l);
			return -ENOMEM;
		}
		if (startswith(line, "chain ")) {
			free(chain);
			chain = strndup(line + 6, strcspn(line + 6, " {"));
		}
		bool rule = chain && strstr(line, " dport ") && !startswith(line, "type ") && !strchr(line, '{');
		if (rule) {
			char *tagged = strdup_printf("%s %s", chain, line);
			free(line);
			line = tagged;
		}
		if (rule ? strv_push(&l, line) < 0 : (free(line), false)) {
			strv_free(l);
			return -ENOMEM;
		}
		s = e ? e + 1 : s + n;
	}
	*ret = l;
	return 0;
}

/* The rule in list whose comment names id and matches proto/port prefix. */
static const char *find_rule(char *const *list, const char *prefix) {
	STRV_FOREACH(r, list)
		if (startswith(*r, prefix))
			return *r;
	return NULL;
}

/* "input udp dport 137 " of a rule text (with the space: a match prefix). */
static char *rule_prefix(const char *rule) {
	const char *sp = strchr(rule, ' ');
	for (int i = 0; i < 3 && sp; i++)
		sp = strchr(sp + 1, ' ');
	return sp ? strndup(rule, (size_t)(sp - rule) + 1) : strdup(rule);
}

/* The setting a rule of our table belongs to: the id in its comment when
 * it names one of ours, else the table's first row (a stray rule in our
 * table is NetBIOS/port policy all the same).  Never NULL: the agent keys
 * its report by setting id. */
static const char *rule_owner(const char *rule) {
	for (size_t i = 0; i < ELEMENTSOF(nft_settings); i++) {
		_cleanup_free_ char *pat = strdup_printf("comment \"%s\"", nft_settings[i].id);
		if (pat && strstr(rule, pat))
			return nft_settings[i].id;
	}
	return nft_settings[0].id;
}

/* ---- ops ---- */

static int nft_detect(const PluginContext *ctx, PluginDetect *ret) {
	*ret = (PluginDetect){ .installed = true };
	_cleanup_free_ char *out = NULL;
	int r = nft_run(ctx, "list tables", false, &out);
	ret->running = r == 0;
	ret->applicable = r == 0;
	ret->version = strdup("libnftables");
	ret->detail = strdup_printf("nftables %s%s", r == 0 ? "reachable" : "not reachable: ",
				    r == 0 ? "" : strerror(-r));
	return ret->detail ? 0 : -ENOMEM;
}

/* userdata: the listed rules (strv); the row's rule, the last that matches. */
static char *nft_actual_value(const PluginSettingInfo *row, const void *userdata) {
	char *const *rules = userdata;
	const NftRule *nr = row->impl;
	_cleanup_free_ char *pat = strdup_printf("comment \"%s\"", row->id);
	_cleanup_free_ char *where = !nr ? NULL
				     : nr->port ? strdup_printf("%s %s dport %u ", nr->chain, nr->proto, nr->port)
						: strdup_printf("%s %s ", nr->chain, nr->proto);
	const char *have = NULL;
	STRV_FOREACH(x, rules)
		if (pat && strstr(*x, pat) && (!where || startswith(*x, where)))
			have = *x;
	return have ? strdup(have) : NULL;
}

static int nft_read_actual(const PluginContext *ctx, PluginActual **ret, size_t *ret_n) {
	_cleanup_free_ char *listing = NULL;
	int r = nft_list(ctx, &listing);
	bool known = r >= 0;
	_cleanup_strv_free_ char **rules = NULL;
	if (known && (r = nft_listing_rules(listing, &rules)) < 0)
		return r;
	return plugin_actual_collect(nft_settings, ELEMENTSOF(nft_settings), known, nft_actual_value,
				     rules, ret, ret_n);
}

/* Differences between the wanted rules and a listing, as plan changes. */
static int nft_diff(const PluginContext *ctx, PluginPlan *plan, char *const *want, const char *listing,
		    size_t *ret_n) {
	_cleanup_strv_free_ char **have = NULL;
	int r = nft_listing_rules(listing, &have);
	if (r < 0)
		return r;
	size_t n = 0;
	STRV_FOREACH(w, want) {
		if (strv_contains(have, *w))
			continue;
		plugin_log(ctx, NFT_NAME, PLUGIN_LOG_DEBUG, NULL, NULL, "missing: %s", *w);
		_cleanup_free_ char *prefix = rule_prefix(*w);
		const char *id = strstr(*w, "comment \"");
		_cleanup_free_ char *sid = id ? strndup(id + 9, strcspn(id + 9, "\"")) : NULL;
		if (!prefix)
			return -ENOMEM;
		_cleanup_free_ char *target = strndup(prefix, strlen(prefix) - 1);
		if (!target || (plan && (r = plugin_plan_add_change(plan, sid ? sid : rule_owner(*w), target,
								     find_rule(have, prefix), *w)) < 0))
			return r < 0 ? r : -ENOMEM;
		n++;
	}
	STRV_FOREACH(h, have) {
		if (strv_contains(want, *h))
			continue;
		_cleanup_free_ char *prefix = rule_prefix(*h);
		bool replaced = false;
		STRV_FOREACH(w, want)
			replaced = replaced || (prefix && startswith(*w, prefix));
		if (replaced)
			continue;
		plugin_log(ctx, NFT_NAME, PLUGIN_LOG_DEBUG, NULL, NULL, "extra: %s", *h);
		if (prefix && *prefix)
			prefix[strlen(prefix) - 1] = 0;
		if (plan && (r = plugin_plan_add_change(plan, rule_owner(*h), prefix ? prefix : *h, *h, NULL)) < 0)
			return r;
		n++;
	}
	*ret_n = n;
	return 0;
}

static int nft_plan(const PluginContext *ctx, const PluginPolicy *p, PluginPlan **ret) {
	_cleanup_(plugin_plan_freep) PluginPlan *plan = NULL;
	_cleanup_strv_free_ char **want = NULL;
	_cleanup_free_ char *listing = NULL;
	int r;
	size_t n;
	if ((r = plugin_plan_new(&plan)) < 0 || (r = nft_render(ctx, p, &want)) < 0 ||
	    (r = nft_list(ctx, &listing)) < 0 || (r = nft_diff(ctx, plan, want, listing, &n)) < 0)
		return r;
	if (!listing || n > 0) {
		plan->state = nft_buffer(want);
		if (!plan->state)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(plan);
	return 0;
}

static int nft_apply(const PluginContext *ctx, const PluginPlan *plan, PluginBackup **ret_backup) {
	*ret_backup = NULL;
	if (!plan->state)
		return 0;
	int r = nft_run(ctx, plan->state, true, NULL);
	if (r < 0) {
		plugin_log(ctx, NFT_NAME, PLUGIN_LOG_ERR, NULL, NULL, "ruleset rejected by nft check; nothing changed");
		return -EBADMSG;
	}
	if (ctx->dry_run) {
		plugin_log(ctx, NFT_NAME, PLUGIN_LOG_INFO, NULL, NULL, "dry run: would replace table " NFT_TABLE);
		return 0;
	}
	_cleanup_(plugin_backup_freep) PluginBackup *b = calloc(1, sizeof(PluginBackup));
	if (!b || !(b->plugin = strdup(NFT_NAME)))
		return -ENOMEM;
	if ((r = nft_list(ctx, &b->state)) < 0)
		return r;
	b->state_existed = b->state != NULL;
	if ((r = nft_run(ctx, plan->state, false, NULL)) < 0)
		return r;
	*ret_backup = TAKE_PTR(b);
	return 0;
}

static int nft_verify(const PluginContext *ctx, const PluginPlan *plan) {
	if (!plan->state)
		return 0;
	_cleanup_free_ char *listing = NULL;
	_cleanup_strv_free_ char **want = NULL;
	int r = nft_list(ctx, &listing);
	if (r < 0)
		return r;
	if (!listing) {
		plugin_log(ctx, NFT_NAME, PLUGIN_LOG_ERR, NULL, NULL, "table " NFT_TABLE " missing");
		return -EBADE;
	}
	if ((r = nft_listing_rules(plan->state, &want)) < 0)
		return r;
	size_t n;
	if ((r = nft_diff(ctx, NULL, want, listing, &n)) < 0)
		return r;
	if (n > 0) {
		plugin_log(ctx, NFT_NAME, PLUGIN_LOG_ERR, NULL, NULL, "%zu rule(s) differ from the plan", n);
		return -EBADE;
	}
	return 0;
}

static int nft_rollback(const PluginContext *ctx, const PluginBackup *b) {
	_cleanup_free_ char *buf = b->state_existed
					   ? strdup_printf("table " NFT_TABLE "\nflush table " NFT_TABLE "\n%s", b->state)
					   : strdup("table " NFT_TABLE "\ndelete table " NFT_TABLE "\n");
	if (!buf)
		return -ENOMEM;
	if (ctx->dry_run) {
		plugin_log(ctx, NFT_NAME, PLUGIN_LOG_INFO, NULL, NULL, "dry run: would restore table " NFT_TABLE);
		return 0;
	}
	return nft_run(ctx, buf, false, NULL);
}

const SmbpolicyPlugin smbpolicy_plugin = {
	.abi_version = SMBPOLICY_PLUGIN_ABI_VERSION,
	.name = NFT_NAME,
	.description = "nftables: table inet smbpolicy (NetBIOS drops, transport ports), one transaction",
	.settings = nft_settings,
	.n_settings = ELEMENTSOF(nft_settings),
	.detect = nft_detect,
	.read_actual = nft_read_actual,
	.plan = nft_plan,
	.apply = nft_apply,
	.verify = nft_verify,
	.rollback = nft_rollback,
	.detect_clear = plugin_detect_clear,
	.actual_free = plugin_actual_free,
	.plan_free = plugin_plan_free,
	.backup_free = plugin_backup_free,
};
