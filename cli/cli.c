/*
 * cli.c - the shared machinery of the `smbpolicy` verbs: option parsing with
 * the common options, sub-verb dispatch, lazy store/catalog access, and the
 * one place that formats errors and maps errno values to messages.
 *
 * Invariants: a reading verb never creates the store or its directory; every
 * error message starts with "smbpolicy: " and goes to stderr; usage errors
 * return CLI_EXIT_USAGE and everything else that fails CLI_EXIT_FAILED.
 *
 * Never: print to stdout except --help text the user asked for.
 */
#include "cli.h"

#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <sys/stat.h>

int cli_error(const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	fputs("smbpolicy: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return CLI_EXIT_FAILED;
}

int cli_usage_error(Cli *cli, const char *fmt, ...) {
	const char *verb = cli->verb_name ? cli->verb_name : "";
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "smbpolicy: %s%s", verb, *verb ? ": " : "");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	if (cli->verb)
		fprintf(stderr, "usage: smbpolicy %s %s\n", verb, cli->verb->synopsis);
	fprintf(stderr, "Try 'smbpolicy %s%s--help'.\n", verb, *verb ? " " : "");
	return CLI_EXIT_USAGE;
}

/* What a store error means to a user, by errno (store.h's contract). */
static const struct {
	int err;
	const char *text;
} store_errors[] = {
	{ ENOENT, "not found" },
	{ EEXIST, "already exists" },
	{ ENOTEMPTY, "not empty (it still has subgroups, hosts or links)" },
	{ EINVAL, "invalid name or path" },
	{ EBUSY, "the store is busy (another writer holds it)" },
};

int cli_store_error(Cli *cli, int r, const char *fmt, ...) {
	const char *why = strerror(-r);
	if (r == -EIO && cli->store)
		why = store_errmsg(cli->store);
	for (size_t i = 0; i < ELEMENTSOF(store_errors); i++)
		if (-r == store_errors[i].err)
			why = store_errors[i].text;
	va_list ap;
	va_start(ap, fmt);
	fputs("smbpolicy: ", stderr);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, ": %s\n", why);
	va_end(ap);
	return CLI_EXIT_FAILED;
}

void cli_print_diag(const DiagList *diag) {
	/* diag_print owns the "FILE:LINE: SETTING: message" format; print one
	 * entry at a time to put our prefix in front of each line. */
	for (size_t i = 0; i < diag->n; i++) {
		DiagList one = { .items = &diag->items[i], .n = 1 };
		fputs("smbpolicy: ", stderr);
		diag_print(&one, stderr);
	}
	if (diag->truncated)
		cli_error("(more errors not shown)");
}

static void print_verb_help(Cli *cli, const char *options_help) {
	printf("usage: smbpolicy %s %s\n\n%s\n\nOptions:\n%s", cli->verb_name,
	       cli->verb->synopsis, cli->verb->summary, options_help ? options_help : "");
	printf("  --json           machine-readable output\n"
	       "  --store PATH     policy store (default $SMBPOLICY_STORE or %s)\n"
	       "  -h, --help       this help\n",
	       CLI_DEFAULT_STORE);
}

/* getopt's short option string for a long option table, ":" first so that a
 * missing argument is told apart from an unknown option. */
static void short_options(const struct option *options, char *buf, size_t size) {
	size_t n = 0;
	buf[n++] = ':';
	for (const struct option *o = options; o->name && n + 3 < size; o++) {
		if (o->flag || o->val <= 0 || o->val > 127)
			continue;
		buf[n++] = (char)o->val;
		if (o->has_arg == required_argument)
			buf[n++] = ':';
	}
	buf[n] = 0;
}

int cli_getopt(Cli *cli, int argc, char *argv[], const struct option *options,
	       const char *options_help) {
	char shortopts[128];
	short_options(options, shortopts, sizeof(shortopts));
	opterr = 0;
	for (;;) {
		int c = getopt_long(argc, argv, shortopts, options, NULL);
		switch (c) {
		case -1:
			return CLI_OPT_END;
		case 'h':
			print_verb_help(cli, options_help);
			return CLI_OPT_HELP;
		case CLI_OPT_JSON:
			cli->json = true;
			break;
		case CLI_OPT_STORE:
			cli->store_path = optarg;
			break;
		case ':':
			cli_usage_error(cli, "option '%s' needs an argument", argv[optind - 1]);
			return CLI_OPT_ERROR;
		case '?':
			if (optopt)
				cli_usage_error(cli, "unknown option '-%c'", optopt);
			else
				cli_usage_error(cli, "unknown option '%s'", argv[optind - 1]);
			return CLI_OPT_ERROR;
		default:
			return c;
		}
	}
}

bool cli_check_args(Cli *cli, int n, int min, int max) {
	if (n < min)
		cli_usage_error(cli, "missing argument");
	else if (max >= 0 && n > max)
		cli_usage_error(cli, "too many arguments");
	else
		return true;
	return false;
}

int cli_parse_plain(Cli *cli, int argc, char *argv[], const char *options_help, int min,
		    int max) {
	static const struct option options[] = { CLI_COMMON_OPTIONS, {} };
	int c = cli_getopt(cli, argc, argv, options, options_help);
	if (c >= 0) /* the table has no verb options: cannot happen */
		return cli_usage_error(cli, "unexpected option");
	return cli_getopt_finish(cli, c, argc, min, max);
}

int cli_getopt_finish(Cli *cli, int c, int argc, int min, int max) {
	if (c != CLI_OPT_END)
		return cli_getopt_exit(c);
	return cli_check_args(cli, argc - optind, min, max) ? CLI_PROCEED : CLI_EXIT_USAGE;
}

int cli_parse_store(Cli *cli, int argc, char *argv[], int min, int max, bool write,
		    Store **ret) {
	int r = cli_parse_plain(cli, argc, argv, NULL, min, max);
	if (r != CLI_PROCEED)
		return r;
	return (r = cli_store(cli, write, ret)) < 0 ? -r : CLI_PROCEED;
}

void cli_print_verbs(const CliVerb *table, size_t n, const char *parent, FILE *f) {
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *left = strdup_printf("%s%s%s %s", parent ? parent : "",
							  parent ? " " : "", table[i].name,
							  table[i].synopsis);
		fprintf(f, "  %-40s %s\n", left ? left : table[i].name, table[i].summary);
	}
}

int cli_dispatch(Cli *cli, const CliVerb *table, size_t n, const char *parent, int argc,
		 char *argv[]) {
	if (argc < 1 || streq(argv[0], "--help") || streq(argv[0], "-h")) {
		bool help = argc >= 1;
		FILE *f = help ? stdout : stderr;
		if (!help)
			fprintf(stderr, "smbpolicy: %s%smissing verb\n", parent ? parent : "",
				parent ? ": " : "");
		fprintf(f, "usage:\n");
		cli_print_verbs(table, n, parent, f);
		return help ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	}
	for (size_t i = 0; i < n; i++) {
		if (!streq(table[i].name, argv[0]))
			continue;
		free(cli->verb_name);
		cli->verb_name = parent ? strdup_printf("%s %s", parent, argv[0]) : strdup(argv[0]);
		if (!cli->verb_name)
			return cli_error("out of memory");
		cli->verb = &table[i];
		optind = 0; /* re-initialise getopt for the verb's own arguments */
		return table[i].run(cli, argc, argv);
	}
	fprintf(stderr, "smbpolicy: %s%sunknown verb '%s'\nusage:\n", parent ? parent : "",
		parent ? ": " : "", argv[0]);
	cli_print_verbs(table, n, parent, stderr);
	return CLI_EXIT_USAGE;
}

/* mkdir -p of path's parent directory. */
static int mkdir_parents(const char *path) {
	_cleanup_free_ char *dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = 0;
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int cli_store(Cli *cli, bool write, Store **ret) {
	if (!cli->store) {
		const char *path = cli->store_path;
		if (!write && access(path, F_OK) < 0)
			return errno == ENOENT
				       ? -cli_error("store %s does not exist (nothing imported yet)", path)
				       : -cli_error("store %s: %s", path, strerror(errno));
		int r = write ? mkdir_parents(path) : 0;
		if (r < 0)
			return -cli_error("cannot create the directory of store %s: %s", path,
					  strerror(-r));
		r = store_open(path, &cli->store);
		if (r < 0)
			return -cli_error("cannot open store %s: %s", path, strerror(-r));
	}
	*ret = cli->store;
	return 0;
}

int cli_catalog(Cli *cli, const Catalog **ret) {
	if (!cli->catalog) {
		int r = catalog_load_default(&cli->catalog);
		if (r < 0)
			return -cli_error("cannot load the settings catalog from %s/catalog: %s",
					  catalog_schema_dir(), strerror(-r));
	}
	*ret = cli->catalog;
	return 0;
}

const char *cli_author(void) {
	static char buf[64];
	const char *e = getenv("SUDO_USER");
	if (e && *e)
		return e;
	e = getenv("USER");
	if (e && *e)
		return e;
	struct passwd *pw = getpwuid(getuid());
	if (pw && pw->pw_name)
		return pw->pw_name;
	snprintf(buf, sizeof(buf), "uid %u", (unsigned)getuid());
	return buf;
}

int cli_parse_version(Cli *cli, const char *s, unsigned *ret) {
	long long v;
	if (parse_int64(s, &v) < 0 || v < 1 || v > UINT_MAX)
		return -cli_usage_error(cli, "'%s' is not a version number (1, 2, ...)", s);
	*ret = (unsigned)v;
	return 0;
}

void cli_done(Cli *cli) {
	if (cli->store)
		store_close(cli->store);
	if (cli->catalog)
		catalog_free(cli->catalog);
	free(cli->verb_name);
	*cli = (Cli){};
}
