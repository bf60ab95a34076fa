/*
 * cmd_probe.c - `smbpolicy probe //HOST[:PORT]/SHARE [--user U
 * --password-file F] [--quic-port P] [--rdma-port P [--rdma-provider
 * NAME]] [--against RSOP.xml] [--json]`: measure over the wire
 * what an SMB server enforces (endpoint/probe.c) and, with --against,
 * compare with the server settings of a resolved policy.
 *
 * Exit: 0 measured (and, with --against, everything measured agrees),
 * 1 the server cannot be reached or differs from the policy (each
 * differing setting id listed), 2 usage error.
 * Never: put a password on the command line (a file only), or measure
 * anything here (probe.c does).
 */
#include "cli.h"
#include "client.h"
#include "probe.h"
#include "strbuf.h"

#define PROBE_HELP                                                                      \
	"  --user USER            authenticate as USER for the session measurements\n"  \
	"  --password-file FILE   USER's password (first line of FILE)\n"                \
	"  --against FILE         compare with a resolved policy (smbpolicy rsop HOST --xml)\n"  \
	"  --quic-port PORT       also probe SMB over QUIC on that UDP port\n"             \
	"  --rdma-port PORT       also probe SMB Direct (RDMA) on that port\n"             \
	"  --rdma-provider NAME   ... through libfabric's provider NAME (tcp: no RDMA NIC needed)\n"

enum { OPT_USER = 0x200, OPT_PWFILE, OPT_AGAINST, OPT_QUIC_PORT, OPT_RDMA_PORT, OPT_RDMA_PROVIDER };

/* --quic-port / --rdma-port: a port number; false when it is none. */
static bool parse_port(const char *text, uint16_t *ret) {
	long long port;
	if (parse_int64(text, &port) < 0 || port < 1 || port > 65535)
		return false;
	*ret = (uint16_t)port;
	return true;
}

static void print_json(const char *probe_json, const DiagList *diff, bool compared) {
	StrBuf b = {};
	strbuf_append(&b, "{\"probe\":");
	strbuf_append(&b, probe_json);
	if (compared) {
		strbuf_append(&b, ",\"differences\":[");
		for (size_t i = 0; i < diff->n; i++) {
			strbuf_append(&b, i ? ",{\"setting\":" : "{\"setting\":");
			strbuf_json_string(&b, diff->items[i].setting ? diff->items[i].setting : "");
			strbuf_append(&b, ",\"message\":");
			strbuf_json_string(&b, diff->items[i].message);
			strbuf_append(&b, "}");
		}
		strbuf_append(&b, "]");
	}
	strbuf_append(&b, "}\n");
	_cleanup_free_ char *out = NULL;
	if (strbuf_finish(&b, &out) >= 0)
		fputs(out, stdout);
}

int verb_probe(Cli *cli, int argc, char *argv[]) {
	static const struct option options[] = {
		CLI_COMMON_OPTIONS,
		{ "user", required_argument, NULL, OPT_USER },
		{ "password-file", required_argument, NULL, OPT_PWFILE },
		{ "against", required_argument, NULL, OPT_AGAINST },
		{ "quic-port", required_argument, NULL, OPT_QUIC_PORT },
		{ "rdma-port", required_argument, NULL, OPT_RDMA_PORT },
		{ "rdma-provider", required_argument, NULL, OPT_RDMA_PROVIDER },
		{},
	};
	const char *user = NULL, *pwfile = NULL, *against = NULL;
	ProbeParams p = {};
	int c;
	while ((c = cli_getopt(cli, argc, argv, options, PROBE_HELP)) >= 0)
		switch (c) {
		case OPT_USER: user = optarg; break;
		case OPT_PWFILE: pwfile = optarg; break;
		case OPT_AGAINST: against = optarg; break;
		case OPT_RDMA_PROVIDER: p.rdma_provider = optarg; break;
		case OPT_QUIC_PORT:
		case OPT_RDMA_PORT:
			if (!parse_port(optarg, c == OPT_QUIC_PORT ? &p.quic_port : &p.rdma_port))
				return cli_usage_error(cli, "--%s-port %s: not a port", c == OPT_QUIC_PORT ? "quic" : "rdma",
						       optarg);
			break;
		}
	if (c != CLI_OPT_END)
		return cli_getopt_exit(c);
	if (!cli_check_args(cli, argc - optind, 1, 1))
		return CLI_EXIT_USAGE;
	if (!user != !pwfile)
		return cli_usage_error(cli, "--user and --password-file go together");
	if (p.rdma_provider && !p.rdma_port)
		return cli_usage_error(cli, "--rdma-provider needs --rdma-port");
	_cleanup_free_ char *host = NULL, *share = NULL, *password = NULL;
	if (smb_unc_parse(argv[optind], &host, &p.port, &share) < 0)
		return cli_usage_error(cli, "%s: not //HOST[:PORT]/SHARE", argv[optind]);
	if (pwfile) {
		size_t len;
		if (read_file(pwfile, 4096, &password, &len) < 0)
			return cli_error("%s: cannot read the password file", pwfile);
		password[strcspn(password, "\r\n")] = 0;
	}
	p.host = host;
	p.share = share;
	p.user = user;
	p.password = password;

	ProbeResult res;
	int r = probe_run(&p, &res);
	if (password)
		explicit_bzero(password, strlen(password));
	if (r < 0)
		return cli_error("probe %s: %s", argv[optind], res.error);
	_cleanup_(diag_clear) DiagList diff = {};
	int ndiff = 0;
	if (against) {
		ndiff = probe_compare(&res, against, &diff);
		if (ndiff < 0) {
			cli_print_diag(&diff);
			return cli_error("%s: cannot compare: %s", against, strerror(-ndiff));
		}
	}
	_cleanup_free_ char *out = NULL;
	if (cli->json) {
		if (probe_to_json(&res, &out) < 0)
			return cli_error("out of memory");
		print_json(out, &diff, against != NULL);
	} else {
		if (probe_to_text(&res, &out) < 0)
			return cli_error("out of memory");
		printf("probe of %s\n%s", argv[optind], out);
		if (against) {
			if (ndiff == 0)
				printf("agrees with %s on every measured server setting\n", against);
			for (size_t i = 0; i < diff.n; i++)
				printf("DIFFERS %s: %s\n", diff.items[i].setting, diff.items[i].message);
		}
	}
	return ndiff > 0 ? CLI_EXIT_FAILED : CLI_EXIT_OK;
}
