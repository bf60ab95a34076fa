/*
 * smbrefc.c - the reference SMB client tool:
 *
 *   smbrefc //HOST[:PORT]/SHARE [--policy RSOP.xml] [-U USER%PW |
 *           --user U --password-file F] [--kerberos] [-I ADDRESS] [--quic]
 *           [--quic-cert FILE --quic-key FILE] [--quic-ca FILE]
 *           [--rdma [--rdma-provider NAME]] [--verbose]
 *           [--audit-log FILE] COMMAND [ARGS...]
 *   commands: ls [DIR] | get REMOTE LOCAL | put LOCAL REMOTE |
 *             mkdir DIR | rm PATH | rmdir DIR
 *
 * The client settings of the policy (catalog defaults without --policy)
 * are enforced by client_policy_connect(); a refusal prints the setting
 * that caused it and exits 1.  Exit 0 success, 1 failure, 2 usage.
 *
 * QUIC TLS files: the client library (client.c) takes them from
 * SMBREFC_QUIC_CERT, SMBREFC_QUIC_KEY and SMBREFC_QUIC_CA; --quic-cert,
 * --quic-key and --quic-ca set those variables for this process, so an
 * option wins over the environment and the environment stays the fallback.
 *
 * SMB Direct: --rdma uses the verbs stack (an RDMA NIC); --rdma-provider
 * NAME (else $SMBREFC_RDMA_PROVIDER) libfabric's provider NAME instead.
 * --verbose prints the negotiated SMB Direct values and, after the
 * command, how many READ/WRITE requests moved their data by RDMA.
 *
 * Invariants: main() only parses and calls run(); one table of commands.
 * Must never: print the password, or write a regular LOCAL file unless
 * the download completed (get writes LOCAL.part, then renames; devices
 * such as /dev/null are written directly).
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <sys/stat.h>

#include "client_policy.h"
#include "rdma_client.h"
#include "util.h"

typedef struct Context {
	char *host, *share;
	uint16_t port;
	const char *policy_path, *user, *password_file, *domain, *audit_log, *address, *rdma_provider;
	char *password;
	bool kerberos, quic, rdma, verbose;
	SmbClient *client;
} Context;

typedef int (*CommandFn)(Context *ctx, char **args);

static int report(const char *what, const char *path, int r, SmbClient *c) {
	char buf[16];
	if (r == -EREMOTEIO)
		fprintf(stderr, "smbrefc: %s %s: %s\n", what, path, smb_status_name(smb_client_last_status(c), buf));
	else
		fprintf(stderr, "smbrefc: %s %s: %s\n", what, path, strerror(-r));
	return 1;
}

static int cmd_ls(Context *ctx, char **args) {
	const char *dir = args[0] ? args[0] : "";
	Smb2FileId fid;
	int r = smb_client_open(ctx->client, dir, SMB_OPEN_DIR, &fid, NULL);
	if (r < 0)
		return report("ls", dir, r, ctx->client);
	SmbDirEntry *e = NULL;
	size_t n = 0;
	r = smb_client_list(ctx->client, &fid, &e, &n);
	smb_client_close(ctx->client, &fid);
	if (r < 0)
		return report("ls", dir, r, ctx->client);
	for (size_t i = 0; i < n; i++)
		printf("%s%s\t%llu\n", e[i].name, e[i].attributes & SMB_FILE_ATTRIBUTE_DIRECTORY ? "/" : "",
		       (unsigned long long)e[i].size);
	smb_dir_entries_free(e, n);
	return 0;
}

/* LOCAL that exists and is not a regular file (/dev/null, a FIFO) is
 * written directly; a regular file goes to LOCAL.part, renamed once
 * complete. */
static bool write_in_place(const char *path) {
	struct stat st;
	return stat(path, &st) == 0 && !S_ISREG(st.st_mode);
}

static int cmd_get(Context *ctx, char **args) {
	Smb2FileId fid;
	uint64_t size;
	int r = smb_client_open(ctx->client, args[0], SMB_OPEN_READ, &fid, &size);
	if (r < 0)
		return report("get", args[0], r, ctx->client);
	bool direct = write_in_place(args[1]);
	_cleanup_free_ char *part = direct ? strdup(args[1]) : strdup_printf("%s.part", args[1]);
	_cleanup_close_ int fd = part ? open(part, O_WRONLY | O_CLOEXEC | (direct ? 0 : O_CREAT | O_TRUNC), 0644) : -1;
	if (fd < 0) {
		smb_client_close(ctx->client, &fid);
		return report("get: cannot write", args[1], -errno, ctx->client);
	}
	r = smb_client_read_to_fd(ctx->client, &fid, size, fd);
	int rc = smb_client_close(ctx->client, &fid);
	if (r >= 0 && rc < 0)
		r = rc;
	if (r >= 0 && !direct && (fsync(fd) < 0 || rename(part, args[1]) < 0))
		r = -errno;
	if (r < 0) {
		if (!direct)
			unlink(part);
		return report("get", args[0], r, ctx->client);
	}
	return 0;
}

static int cmd_put(Context *ctx, char **args) {
	_cleanup_close_ int fd = open(args[0], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return report("put: cannot read", args[0], -errno, ctx->client);
	Smb2FileId fid;
	int r = smb_client_open(ctx->client, args[1], SMB_OPEN_WRITE, &fid, NULL);
	if (r < 0)
		return report("put", args[1], r, ctx->client);
	r = smb_client_write_from_fd(ctx->client, &fid, fd);
	int rc = smb_client_close(ctx->client, &fid);
	if (r >= 0)
		r = rc;
	return r < 0 ? report("put", args[1], r, ctx->client) : 0;
}

static int open_close(Context *ctx, const char *what, const char *path, int mode) {
	Smb2FileId fid;
	int r = smb_client_open(ctx->client, path, mode, &fid, NULL);
	if (r >= 0)
		r = smb_client_close(ctx->client, &fid);
	return r < 0 ? report(what, path, r, ctx->client) : 0;
}

static int cmd_mkdir(Context *ctx, char **args) { return open_close(ctx, "mkdir", args[0], SMB_OPEN_MKDIR); }
static int cmd_rm(Context *ctx, char **args) { return open_close(ctx, "rm", args[0], SMB_OPEN_DELETE); }

static const struct {
	const char *name;
	int min_args, max_args;
	CommandFn run;
} commands[] = {
	{ "ls", 0, 1, cmd_ls },
	{ "get", 2, 2, cmd_get },
	{ "put", 2, 2, cmd_put },
	{ "mkdir", 1, 1, cmd_mkdir },
	{ "rm", 1, 1, cmd_rm },
	{ "rmdir", 1, 1, cmd_rm },
};

static void help(void) {
	printf("usage: smbrefc //HOST[:PORT]/SHARE [OPTIONS] COMMAND [ARGS...]\n\n"
	       "Reference SMB2/3 client; enforces the client settings of a policy.\n\n"
	       "Options:\n"
	       "  --policy FILE         resolved policy (smbpolicy rsop HOST --xml); default: catalog defaults\n"
	       "  -U, --user USER[%%PW]  user name (and password)\n"
	       "  --password-file FILE  password from the first line of FILE\n"
	       "  --domain NAME         domain for NTLM\n"
	       "  --kerberos            authenticate with Kerberos (KRB5CCNAME)\n"
	       "  -I, --ip ADDRESS      connect to ADDRESS instead of resolving HOST\n"
	       "  --quic                SMB over QUIC (subject to client.quic.*)\n"
	       "  --quic-cert FILE      QUIC client certificate chain, PEM (else $SMBREFC_QUIC_CERT)\n"
	       "  --quic-key FILE       its private key, PEM (else $SMBREFC_QUIC_KEY)\n"
	       "  --quic-ca FILE        verify the QUIC server against these CAs (else $SMBREFC_QUIC_CA;\n"
	       "                        neither: the system trust store; SMBREFC_QUIC_INSECURE=1: no check)\n"
	       "  --rdma                SMB Direct (RDMA, port 5445) through an RDMA NIC\n"
	       "  --rdma-provider NAME  SMB Direct through libfabric's provider NAME instead (tcp: software\n"
	       "                        RDMA over sockets, no NIC needed; else $SMBREFC_RDMA_PROVIDER)\n"
	       "  -v, --verbose         SMB Direct values, and which READ/WRITE requests went by RDMA\n"
	       "  --audit-log FILE      client audit events as JSON lines\n"
	       "  -h, --help            this help\n\n"
	       "Commands: ls [DIR] | get REMOTE LOCAL | put LOCAL REMOTE | mkdir DIR | rm PATH | rmdir DIR\n");
}

static void print_rdma_info(const SmbClient *c) {
	const RdmaClientInfo *ri = smb_client_rdma_info(c);
	if (!ri)
		return;
	fprintf(stderr,
		"smbrefc: SMB Direct (%s%s%s): MaxReadWriteSize %u, send credits %u, receive credits %u, "
		"max send %u, max receive %u, max fragmented %u\n",
		ri->stack, ri->provider[0] ? " provider " : "", ri->provider, ri->max_read_write_size,
		ri->send_credits, ri->receive_credits, ri->max_send_size, ri->max_receive_size,
		ri->max_fragmented_send);
}

static void print_io_stats(const SmbClient *c) {
	static const char *const channels[] = {
		[SMB2_CHANNEL_NONE] = "none",
		[SMB2_CHANNEL_RDMA_V1] = "RDMA_V1",
		[SMB2_CHANNEL_RDMA_V1_INVALIDATE] = "RDMA_V1_INVALIDATE",
	};
	SmbIoStats st;
	smb_client_io_stats(c, &st);
	fprintf(stderr,
		"smbrefc: %llu READ (%llu by RDMA), %llu WRITE (%llu by RDMA), %llu bytes by RDMA, channel %s\n",
		(unsigned long long)st.reads, (unsigned long long)st.rdma_reads, (unsigned long long)st.writes,
		(unsigned long long)st.rdma_writes, (unsigned long long)st.rdma_bytes,
		st.rdma_channel < ELEMENTSOF(channels) ? channels[st.rdma_channel] : "?");
}

static int run(Context *ctx, size_t cmd, char **args) {
	_cleanup_(client_policy_freep) ClientPolicy *pol = NULL;
	int r = client_policy_load(ctx->policy_path, &pol);
	if (r < 0) {
		fprintf(stderr, "smbrefc: %s: cannot load the policy: %s\n",
			ctx->policy_path ? ctx->policy_path : "catalog", strerror(-r));
		return 1;
	}
	_cleanup_(audit_emitter_freep) AuditEmitter *audit = NULL;
	if (ctx->audit_log && audit_emitter_new(NULL, "smbrefc", ctx->audit_log, false, &audit) < 0) {
		fprintf(stderr, "smbrefc: %s: cannot open the audit log\n", ctx->audit_log);
		return 1;
	}
	ClientConnectParams cp = {
		.host = ctx->host, .address = ctx->address, .port = ctx->port,
		.transport = ctx->quic ? SMB_TRANSPORT_QUIC : ctx->rdma ? SMB_TRANSPORT_RDMA : SMB_TRANSPORT_TCP,
		.rdma_provider = ctx->rdma_provider,
		.auth = { .user = ctx->user, .domain = ctx->domain, .password = ctx->password },
		.kerberos = ctx->kerberos,
	};
	ClientRefusal why;
	r = client_policy_connect(pol, &cp, audit, &ctx->client, NULL, &why);
	if (r < 0) {
		/* the UNC as given: //HOST[:PORT]/SHARE, an IPv6 HOST in brackets */
		bool v6 = strchr(ctx->host, ':');
		char port[8] = "";
		if (ctx->port)
			snprintf(port, sizeof(port), ":%u", ctx->port);
		fprintf(stderr, "smbrefc: //%s%s%s%s/%s%s%s: %s\n", v6 ? "[" : "", ctx->host, v6 ? "]" : "", port,
			ctx->share, why.setting ? " refused by " : "", why.setting ? why.setting : "", why.message);
		return 1;
	}
	if (ctx->verbose)
		print_rdma_info(ctx->client);
	r = smb_client_tree_connect(ctx->client, ctx->share, NULL);
	if (r < 0)
		return report("tree connect", ctx->share, r, ctx->client);
	int rc = commands[cmd].run(ctx, args);
	if (ctx->verbose)
		print_io_stats(ctx->client);
	smb_client_logoff(ctx->client);
	return rc;
}

static int read_password(Context *ctx) {
	_cleanup_free_ char *data = NULL;
	size_t len;
	int r = read_file(ctx->password_file, 4096, &data, &len);
	if (r < 0)
		return r;
	data[strcspn(data, "\r\n")] = 0;
	free(ctx->password);
	ctx->password = TAKE_PTR(data);
	return 0;
}

int main(int argc, char **argv) {
	enum { OPT_POLICY = 0x100, OPT_PWFILE, OPT_DOMAIN, OPT_KRB, OPT_QUIC, OPT_AUDIT,
	       OPT_QUIC_CERT, OPT_QUIC_KEY, OPT_QUIC_CA, OPT_RDMA, OPT_RDMA_PROVIDER };
	/* option -> the variable client.c reads (see the header comment) */
	static const struct {
		int opt;
		const char *env;
	} quic_files[] = {
		{ OPT_QUIC_CERT, "SMBREFC_QUIC_CERT" },
		{ OPT_QUIC_KEY, "SMBREFC_QUIC_KEY" },
		{ OPT_QUIC_CA, "SMBREFC_QUIC_CA" },
	};
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "user", required_argument, NULL, 'U' },
		{ "ip", required_argument, NULL, 'I' },
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "password-file", required_argument, NULL, OPT_PWFILE },
		{ "domain", required_argument, NULL, OPT_DOMAIN },
		{ "kerberos", no_argument, NULL, OPT_KRB },
		{ "quic", no_argument, NULL, OPT_QUIC },
		{ "audit-log", required_argument, NULL, OPT_AUDIT },
		{ "quic-cert", required_argument, NULL, OPT_QUIC_CERT },
		{ "quic-key", required_argument, NULL, OPT_QUIC_KEY },
		{ "quic-ca", required_argument, NULL, OPT_QUIC_CA },
		{ "rdma", no_argument, NULL, OPT_RDMA },
		{ "rdma-provider", required_argument, NULL, OPT_RDMA_PROVIDER },
		{ "verbose", no_argument, NULL, 'v' },
		{}
	};
	Context ctx = {};
	_cleanup_free_ char *user = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "hvU:I:", options, NULL)) >= 0) {
		switch (c) {
		case 'h':
			help();
			return 0;
		case 'U': {
			free(user);
			user = strdup(optarg);
			if (!user)
				return 1;
			char *pct = strchr(user, '%');
			if (pct) {
				*pct = 0;
				free(ctx.password);
				ctx.password = strdup(pct + 1);
				memset(optarg + (pct - user) + 1, 'x', strlen(pct + 1)); /* hide it from ps */
			}
			ctx.user = user;
			break;
		}
		case 'I': ctx.address = optarg; break;
		case OPT_POLICY: ctx.policy_path = optarg; break;
		case OPT_PWFILE: ctx.password_file = optarg; break;
		case OPT_DOMAIN: ctx.domain = optarg; break;
		case OPT_KRB: ctx.kerberos = true; break;
		case OPT_QUIC: ctx.quic = true; break;
		case OPT_RDMA: ctx.rdma = true; break;
		case OPT_RDMA_PROVIDER: ctx.rdma = true, ctx.rdma_provider = optarg; break;
		case 'v': ctx.verbose = true; break;
		case OPT_AUDIT: ctx.audit_log = optarg; break;
		case OPT_QUIC_CERT:
		case OPT_QUIC_KEY:
		case OPT_QUIC_CA:
			for (size_t i = 0; i < ELEMENTSOF(quic_files); i++)
				if (quic_files[i].opt == c && setenv(quic_files[i].env, optarg, 1) < 0)
					return 1;
			break;
		default:
			return 2;
		}
	}
	if (ctx.quic && ctx.rdma) {
		fprintf(stderr, "smbrefc: --quic and --rdma exclude each other\n");
		return 2;
	}
	/* getopt_long permutes: options may come before or after the UNC. */
	if (optind >= argc || smb_unc_parse(argv[optind], &ctx.host, &ctx.port, &ctx.share) < 0) {
		fprintf(stderr, "smbrefc: need //HOST[:PORT]/SHARE (see --help)\n");
		return 2;
	}
	optind++;
	if (optind >= argc) {
		fprintf(stderr, "smbrefc: need a command (see --help)\n");
		return 2;
	}
	size_t cmd;
	for (cmd = 0; cmd < ELEMENTSOF(commands); cmd++)
		if (streq(commands[cmd].name, argv[optind]))
			break;
	int nargs = argc - optind - 1;
	if (cmd == ELEMENTSOF(commands) || nargs < commands[cmd].min_args || nargs > commands[cmd].max_args) {
		fprintf(stderr, "smbrefc: %s: unknown command or wrong arguments (see --help)\n", argv[optind]);
		return 2;
	}
	if (ctx.password_file && read_password(&ctx) < 0) {
		fprintf(stderr, "smbrefc: %s: cannot read the password file\n", ctx.password_file);
		return 2;
	}
	int rc = run(&ctx, cmd, argv + optind + 1);
	smb_client_free(ctx.client);
	free(ctx.host);
	free(ctx.share);
	if (ctx.password)
		explicit_bzero(ctx.password, strlen(ctx.password));
	free(ctx.password);
	return rc;
}
