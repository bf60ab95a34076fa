/*
 * cmd_agent.c - the verbs that talk to the agent: `smbpolicy targets`,
 * `plan`, `apply`, `status`, `drift`.
 *
 * plan/apply/status/drift call smbpolicyd's D-Bus API (org.smbpolicy.Agent1
 * on the system bus, or --bus), or with --local run the very same engine
 * (agent/engine.c, libsmbagent.a) in this process.  Either way they print
 * the same report (agent/report.c), as text or --json.  `targets` loads the
 * plugins and prints their setting tables.
 *
 * Exit status: 0 done and compliant; 1 not compliant (apply, status,
 * drift), a plugin failed, the agent refused (AccessDenied) or could not be
 * reached; 2 usage.
 * Never: write anything except through the engine (--local apply), or fall
 * back to --local silently when the agent cannot be reached.
 */
#include <syslog.h>

#include "cli.h"
#include "engine.h"
#include "journal.h"
#include "output.h"
#include "report_bus.h"

#define AGENT_CALL_TIMEOUT_USEC (300ULL * 1000000ULL)

/* What each agent verb does, over D-Bus and locally. */
typedef struct AgentVerb {
	const char *name;
	const char *method;   /* org.smbpolicy.Agent1 method */
	ReportKind local;     /* cycle kind with --local */
	bool needs_compliant; /* exit 1 unless the report is compliant */
} AgentVerb;

static const AgentVerb agent_verbs[] = {
	{ "plan", "Plan", REPORT_PLAN, false },
	{ "apply", "Apply", REPORT_APPLY, true },
	{ "status", "GetStatus", REPORT_VERIFY, true },
	{ "drift", "GetCompliance", REPORT_VERIFY, true },
};

typedef struct AgentArgs {
	bool local, verbose;
	const char *bus, *root, *policy, *host, *plugin_dir, *state;
} AgentArgs;

#define AGENT_OPTIONS_HELP                                                                  \
	"  --local            run the engine in this process instead of asking smbpolicyd\n"   \
	"  --bus system|session|ADDRESS  the agent's bus (default $SMBPOLICY_BUS or system)\n" \
	"  --root DIR         with --local: apply under DIR instead of /\n"                    \
	"  --policy FILE      with --local: enforce FILE (else the store for --host)\n"        \
	"  --host NAME        with --local: this host's name in the store (default hostname)\n" \
	"  --plugin-dir DIR   with --local: plugins (default $SMBPOLICY_PLUGIN_DIR)\n"         \
	"  --state PATH       with --local: record the run in this state DB\n"                 \
	"  -v, --verbose      list settings that are already in the desired state too\n"

/* AGENT_PROCEED: run the verb; anything else: exit with it (help printed,
 * usage error). */
#define AGENT_PROCEED (-1)

static int parse_agent_args(Cli *cli, int argc, char *argv[], AgentArgs *a) {
	enum { OPT_LOCAL = 0x200, OPT_BUS, OPT_ROOT, OPT_POLICY, OPT_HOST, OPT_PLUGIN_DIR, OPT_STATE };
	static const struct option options[] = {
		CLI_COMMON_OPTIONS,
		{ "local", no_argument, NULL, OPT_LOCAL },
		{ "bus", required_argument, NULL, OPT_BUS },
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "host", required_argument, NULL, OPT_HOST },
		{ "plugin-dir", required_argument, NULL, OPT_PLUGIN_DIR },
		{ "state", required_argument, NULL, OPT_STATE },
		{ "verbose", no_argument, NULL, 'v' },
		{},
	};
	const char *env = getenv("SMBPOLICY_BUS");
	a->bus = env && *env ? env : "system";
	int c;
	while ((c = cli_getopt(cli, argc, argv, options, AGENT_OPTIONS_HELP)) >= 0)
		switch (c) {
		case OPT_LOCAL:
			a->local = true;
			break;
		case OPT_BUS:
			a->bus = optarg;
			break;
		case OPT_ROOT:
			a->root = optarg;
			break;
		case OPT_POLICY:
			a->policy = optarg;
			break;
		case OPT_HOST:
			a->host = optarg;
			break;
		case OPT_PLUGIN_DIR:
			a->plugin_dir = optarg;
			break;
		case OPT_STATE:
			a->state = optarg;
			break;
		case 'v':
			a->verbose = true;
			break;
		}
	if (c != CLI_OPT_END)
		return cli_getopt_exit(c);
	if (!cli_check_args(cli, argc - optind, 0, 0))
		return CLI_EXIT_USAGE;
	if (!a->local && (a->root || a->policy || a->host || a->plugin_dir || a->state))
		return cli_usage_error(cli, "--root, --policy, --host, --plugin-dir and --state need "
					    "--local (the agent has its own)");
	return AGENT_PROCEED;
}

static int run_local(Cli *cli, const AgentVerb *v, const AgentArgs *a, Report **ret) {
	/* The journal copy on stderr: warnings and errors only. */
	journal_set_stderr_level(LOG_WARNING);
	EngineConfig cfg = {
		.root = a->root,
		.plugin_dir = a->plugin_dir,
		.policy_path = a->policy,
		.store_path = a->policy ? NULL : cli->store_path,
		.host = a->host,
		.state_path = a->state,
	};
	_cleanup_(engine_freep) Engine *e = NULL;
	int k = engine_new(&cfg, &e);
	if (k < 0)
		return cli_error("%s: cannot start the engine: %s", v->name, strerror(-k));
	DiagList diag = {};
	k = engine_load_policy(e, &diag);
	if (k < 0) {
		cli_print_diag(&diag);
		diag_clear(&diag);
		return cli_error("%s: cannot load the policy: %s", v->name, strerror(-k));
	}
	k = engine_run(e, v->local, ret);
	if (k < 0)
		return cli_error("%s: %s", v->name, strerror(-k));
	return CLI_EXIT_OK;
}

static void bus_unrefp(sd_bus **b) { sd_bus_flush_close_unref(*b); }

static int run_bus(const AgentVerb *v, const AgentArgs *a, Report **ret) {
	_cleanup_(bus_unrefp) sd_bus *bus = NULL;
	int k = agent_bus_open(a->bus, &bus);
	if (k < 0)
		return cli_error("%s: cannot connect to the %s bus: %s", v->name, a->bus, strerror(-k));
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	k = sd_bus_message_new_method_call(bus, &call, AGENT_BUS_NAME, AGENT_BUS_PATH,
					   AGENT_BUS_INTERFACE, v->method);
	if (k >= 0)
		k = sd_bus_call(bus, call, AGENT_CALL_TIMEOUT_USEC, &error, &reply);
	if (k < 0) {
		if (sd_bus_error_has_names(&error, SD_BUS_ERROR_SERVICE_UNKNOWN,
					   SD_BUS_ERROR_NAME_HAS_NO_OWNER))
			return cli_error("%s: smbpolicyd is not running on the %s bus (or use --local)",
					 v->name, a->bus);
		if (sd_bus_error_has_name(&error, SD_BUS_ERROR_ACCESS_DENIED))
			return cli_error("%s: access denied: %s", v->name,
					 error.message ? error.message : "needs root or polkit");
		return cli_error("%s: %s", v->name,
				 error.message ? error.message : strerror(-k));
	}
	k = report_bus_read(reply, ret);
	if (k < 0)
		return cli_error("%s: malformed reply from smbpolicyd: %s", v->name, strerror(-k));
	return CLI_EXIT_OK;
}

/* The four verbs share one handler; argv[0] (the verb's name, as the
 * dispatch table passes it) selects its row. */
static int agent_verb(Cli *cli, int argc, char *argv[]) {
	const AgentVerb *v = NULL;
	for (size_t i = 0; i < ELEMENTSOF(agent_verbs) && !v; i++)
		if (streq(agent_verbs[i].name, argv[0]))
			v = &agent_verbs[i];
	if (!v)
		return cli_error("%s: not an agent verb", argv[0]);
	AgentArgs a = {};
	int k = parse_agent_args(cli, argc, argv, &a);
	if (k != AGENT_PROCEED)
		return k;
	_cleanup_(report_freep) Report *r = NULL;
	k = a.local ? run_local(cli, v, &a, &r) : run_bus(v, &a, &r);
	if (k != CLI_EXIT_OK)
		return k;
	if (report_print(r, stdout, cli->json, a.verbose) < 0)
		return cli_error("%s: cannot write the report", v->name);
	if (r->failed > 0 || (v->needs_compliant && !r->compliant))
		return CLI_EXIT_FAILED;
	return CLI_EXIT_OK;
}

int verb_plan(Cli *cli, int argc, char *argv[]) { return agent_verb(cli, argc, argv); }
int verb_apply(Cli *cli, int argc, char *argv[]) { return agent_verb(cli, argc, argv); }
int verb_status(Cli *cli, int argc, char *argv[]) { return agent_verb(cli, argc, argv); }
int verb_drift(Cli *cli, int argc, char *argv[]) { return agent_verb(cli, argc, argv); }

int verb_targets(Cli *cli, int argc, char *argv[]) {
	enum { OPT_PLUGIN_DIR = 0x200 };
	static const struct option options[] = {
		CLI_COMMON_OPTIONS,
		{ "plugin-dir", required_argument, NULL, OPT_PLUGIN_DIR },
		{},
	};
	const char *dir = plugin_host_default_dir();
	int c;
	while ((c = cli_getopt(cli, argc, argv, options,
			       "  --plugin-dir DIR   plugins (default $SMBPOLICY_PLUGIN_DIR)\n")) >= 0)
		if (c == OPT_PLUGIN_DIR)
			dir = optarg;
	if (c != CLI_OPT_END)
		return cli_getopt_exit(c);
	if (!cli_check_args(cli, argc - optind, 0, 0))
		return CLI_EXIT_USAGE;
	journal_set_stderr_level(LOG_WARNING);
	_cleanup_(plugin_host_freep) PluginHost *h = NULL;
	int k = plugin_host_load(dir, &h);
	if (k < 0)
		return cli_error("targets: cannot read plugin directory %s: %s", dir, strerror(-k));
	static const OutputColumn columns[] = {
		{ "PLUGIN", "plugin", OUTPUT_STRING, 0 },
		{ "SETTING", "id", OUTPUT_STRING, 0 },
		{ "TARGET", "target", OUTPUT_STRING, 0 },
		{ "TRANSFORM", "transform", OUTPUT_STRING, 0 },
	};
	_cleanup_(output_table_freep) OutputTable *t = output_table_new(columns, ELEMENTSOF(columns));
	if (!t)
		return cli_error("targets: out of memory");
	for (size_t i = 0; i < h->n; i++) {
		const SmbpolicyPlugin *p = h->items[i].plugin;
		for (size_t j = 0; j < p->n_settings; j++)
			output_table_add(t, p->name, p->settings[j].id, p->settings[j].target,
					 p->settings[j].transform);
	}
	if (output_table_print(t, cli->json, stdout) < 0)
		return cli_error("targets: cannot write the table");
	return CLI_EXIT_OK;
}
