/*
 * cmd_publish.c - fleet distribution verbs:
 *   smbpolicy keygen --out KEY [--pub PUB]
 *       a new Ed25519 signing key (PEM, 0600) and its public key for agents
 *   smbpolicy publish DIR --key KEY [--expires DURATION] [--group PATH]...
 *       one signed bundle per group plus a signed index (lib/publish.h)
 *   smbpolicy bundle FILE [--trusted-keys PATH] [--policy]
 *       show a bundle's fields and check it as an agent would (signature,
 *       expiry), or print its policy document once it verified
 *
 * Invariants: keygen never overwrites an existing key file (a lost signing
 * key cannot be recovered, and agents would refuse the new one); publish
 * exits 1 when any group could not be published (the others are written).
 * Never: sign or resolve anything here (lib/bundle, lib/publish do).
 */
#include <sys/stat.h>

#include "bundle.h"
#include "cli.h"
#include "output.h"
#include "publish.h"

#define KEYGEN_HELP                                                                 \
	"  --out KEY        write the private signing key here (PEM, mode 0600)\n"  \
	"  --pub PUB        write its public key here (default KEY.pub)\n"

#define PUBLISH_HELP                                                                     \
	"  --key KEY        private signing key (smbpolicy keygen)\n"                       \
	"  --expires DUR    bundle lifetime: N[s|m|h|d|w] (default 7d); bundles with less\n"  \
	"                   than half of it left are re-signed\n"                          \
	"  --group PATH     publish only this group (repeatable; default every group)\n"

static bool file_exists(const char *path) {
	struct stat st;
	return lstat(path, &st) == 0;
}

int verb_keygen(Cli *cli, int argc, char *argv[]) {
	enum { OPT_OUT = 0x300, OPT_PUB };
	static const struct option options[] = {
		CLI_COMMON_OPTIONS,
		{ "out", required_argument, NULL, OPT_OUT },
		{ "pub", required_argument, NULL, OPT_PUB },
		{},
	};
	const char *out = NULL, *pub = NULL;
	int c, r;
	while ((c = cli_getopt(cli, argc, argv, options, KEYGEN_HELP)) >= 0)
		if (c == OPT_OUT)
			out = optarg;
		else if (c == OPT_PUB)
			pub = optarg;
	if (c != CLI_OPT_END)
		return cli_getopt_exit(c);
	if (!cli_check_args(cli, argc - optind, 0, 0))
		return CLI_EXIT_USAGE;
	if (!out)
		return cli_usage_error(cli, "--out KEY is required");
	_cleanup_free_ char *pub_default = pub ? NULL : strdup_printf("%s.pub", out);
	if (!pub && !(pub = pub_default))
		return cli_error("%s", strerror(ENOMEM));
	if (file_exists(out) || file_exists(pub))
		return cli_error("%s exists; not overwriting a key", file_exists(out) ? out : pub);

	_cleanup_(key_freep) Key *k = NULL;
	if ((r = key_generate(&k)) < 0)
		return cli_error("cannot generate a key: %s", strerror(-r));
	if ((r = key_write_private(k, out)) < 0)
		return cli_error("%s: %s", out, strerror(-r));
	if ((r = key_write_public(k, pub)) < 0)
		return cli_error("%s: %s", pub, strerror(-r));
	if (cli->json) {
		_cleanup_(strbuf_free) StrBuf b = {};
		strbuf_printf(&b, "{\"key_id\": \"%s\", \"private\": ", key_id(k));
		strbuf_json_string(&b, out);
		strbuf_append(&b, ", \"public\": ");
		strbuf_json_string(&b, pub);
		strbuf_append(&b, "}");
		r = b.failed ? -ENOMEM : output_document(b.data, stdout);
	} else
		r = printf("key %s: private %s, public %s\n", key_id(k), out, pub) < 0 ? -EIO : 0;
	return r < 0 ? cli_error("%s", strerror(-r)) : CLI_EXIT_OK;
}

static const struct {
	char suffix;
	uint64_t seconds;
} duration_units[] = {
	{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 7 * 86400 },
};

/* "90", "90s", "15m", "12h", "7d", "2w" -> seconds (> 0, at most ~10 years). */
static int parse_duration(const char *s, uint64_t *ret) {
	size_t n = strlen(s);
	uint64_t unit = 1;
	_cleanup_free_ char *num = strdup(s);
	if (!num || n == 0)
		return -EINVAL;
	for (size_t i = 0; i < ELEMENTSOF(duration_units); i++)
		if (s[n - 1] == duration_units[i].suffix) {
			unit = duration_units[i].seconds;
			num[n - 1] = 0;
		}
	long long v;
	if (parse_int64(num, &v) < 0 || v <= 0 || (uint64_t)v > 3650ULL * 86400ULL / unit)
		return -EINVAL;
	*ret = (uint64_t)v * unit;
	return 0;
}

static int print_result(Cli *cli, const char *dir, const PublishResult *res) {
	if (cli->json) {
		_cleanup_(strbuf_free) StrBuf b = {};
		strbuf_append(&b, "{\"dir\": ");
		strbuf_json_string(&b, dir);
		strbuf_printf(&b,
			      ", \"serial\": %llu, \"groups\": %zu, \"written\": %zu, "
			      "\"unchanged\": %zu, \"removed\": %zu, \"failed\": %zu}",
			      (unsigned long long)res->serial, res->groups, res->written,
			      res->unchanged, res->removed, res->failed);
		return b.failed ? -ENOMEM : output_document(b.data, stdout);
	}
	return printf("published %s: serial %llu, %zu group(s): %zu written, %zu unchanged, "
		      "%zu removed, %zu failed\n",
		      dir, (unsigned long long)res->serial, res->groups, res->written,
		      res->unchanged, res->removed, res->failed) < 0
		       ? -EIO
		       : 0;
}

int verb_publish(Cli *cli, int argc, char *argv[]) {
	enum { OPT_KEY = 0x300, OPT_EXPIRES, OPT_GROUP };
	static const struct option options[] = {
		CLI_COMMON_OPTIONS,
		{ "key", required_argument, NULL, OPT_KEY },
		{ "expires", required_argument, NULL, OPT_EXPIRES },
		{ "group", required_argument, NULL, OPT_GROUP },
		{},
	};
	const char *key_path = NULL;
	PublishOptions o = { .lifetime_sec = PUBLISH_DEFAULT_LIFETIME_SEC };
	_cleanup_strv_free_ char **groups = NULL;
	int c, r;
	while ((c = cli_getopt(cli, argc, argv, options, PUBLISH_HELP)) >= 0)
		switch (c) {
		case OPT_KEY:
			key_path = optarg;
			break;
		case OPT_EXPIRES:
			if (parse_duration(optarg, &o.lifetime_sec) < 0)
				return cli_usage_error(cli, "--expires: not a duration: %s", optarg);
			break;
		case OPT_GROUP:
			if (!store_group_path_is_valid(optarg))
				return cli_usage_error(cli, "--group: not a group path: %s", optarg);
			if (strv_push_dup(&groups, optarg) < 0)
				return cli_error("%s", strerror(ENOMEM));
			break;
		}
	if (c != CLI_OPT_END)
		return cli_getopt_exit(c);
	if (!cli_check_args(cli, argc - optind, 1, 1))
		return CLI_EXIT_USAGE;
	if (!key_path)
		return cli_usage_error(cli, "--key KEY is required");
	o.dir = argv[optind];
	o.groups = groups;

	_cleanup_(key_freep) Key *k = NULL;
	if ((r = key_load_private(key_path, &k)) < 0)
		return cli_error("%s: cannot load the signing key: %s", key_path,
				 r == -EBADMSG ? "not a PEM private key" : strerror(-r));
	o.key = k;
	const Catalog *catalog;
	Store *s;
	if ((r = cli_catalog(cli, &catalog)) < 0 || (r = cli_store(cli, false, &s)) < 0)
		return -r;
	_cleanup_(diag_clear) DiagList diag = {};
	PublishResult res;
	r = publish_run(s, catalog, &o, &res, &diag);
	cli_print_diag(&diag);
	if (r == -EBADMSG)
		return cli_error("%s/%s is damaged; remove it to publish afresh", o.dir,
				 PUBLISH_INDEX_FILE);
	if ((r == -ENOENT || r == -EKEYREJECTED) && diag.n)
		return CLI_EXIT_FAILED;
	if (r == -EBUSY)
		return cli_error("%s: another publish into it is running", o.dir);
	if (r < 0)
		return cli_store_error(cli, r, "publishing to %s", o.dir);
	if ((r = print_result(cli, o.dir, &res)) < 0)
		return cli_error("%s", strerror(-r));
	if (res.failed)
		return cli_error("%zu group(s) not published (their previous bundles stay)",
				 res.failed);
	return CLI_EXIT_OK;
}

#define BUNDLE_HELP                                                                        \
	"  --trusted-keys PATH  check the signature and expiry with these public keys\n"      \
	"                       (PEM file or directory), as smbpolicyd does\n"                \
	"  --policy             print only the policy document (needs --trusted-keys)\n"

static int print_bundle(Cli *cli, const Bundle *b, const char *verdict) {
	char created[32], expires[32];
	format_rfc3339(b->created * 1000000ULL, created, sizeof(created));
	format_rfc3339(b->expires * 1000000ULL, expires, sizeof(expires));
	if (!cli->json)
		return printf("type:      %s\ngroup:     %s\nserial:    %llu\ncreated:   %s\n"
			      "expires:   %s\nkey id:    %s\npayload:   %zu bytes, sha256 %s\n"
			      "signature: %s\n",
			      b->type == BUNDLE_POLICY ? "policy" : "index", b->group ? b->group : "-",
			      (unsigned long long)b->serial, created, expires, b->key_id,
			      b->payload_len, b->payload_sha256, verdict) < 0
			       ? -EIO
			       : 0;
	_cleanup_(strbuf_free) StrBuf j = {};
	strbuf_printf(&j, "{\"type\": \"%s\", \"group\": ",
		      b->type == BUNDLE_POLICY ? "policy" : "index");
	if (b->group)
		strbuf_json_string(&j, b->group);
	else
		strbuf_append(&j, "null");
	strbuf_printf(&j,
		      ", \"serial\": %llu, \"created\": \"%s\", \"expires\": \"%s\", "
		      "\"key_id\": \"%s\", \"payload_sha256\": \"%s\", \"signature\": ",
		      (unsigned long long)b->serial, created, expires, b->key_id, b->payload_sha256);
	strbuf_json_string(&j, verdict);
	strbuf_append(&j, "}");
	return j.failed ? -ENOMEM : output_document(j.data, stdout);
}

int verb_bundle(Cli *cli, int argc, char *argv[]) {
	enum { OPT_TRUSTED = 0x300, OPT_POLICY };
	static const struct option options[] = {
		CLI_COMMON_OPTIONS,
		{ "trusted-keys", required_argument, NULL, OPT_TRUSTED },
		{ "policy", no_argument, NULL, OPT_POLICY },
		{},
	};
	const char *trusted = NULL;
	bool policy_only = false;
	int c, r;
	while ((c = cli_getopt(cli, argc, argv, options, BUNDLE_HELP)) >= 0)
		if (c == OPT_TRUSTED)
			trusted = optarg;
		else if (c == OPT_POLICY)
			policy_only = true;
	if (c != CLI_OPT_END)
		return cli_getopt_exit(c);
	if (!cli_check_args(cli, argc - optind, 1, 1))
		return CLI_EXIT_USAGE;
	if (policy_only && !trusted)
		return cli_usage_error(cli, "--policy needs --trusted-keys (never trust an unchecked bundle)");
	const char *file = argv[optind];

	_cleanup_free_ char *text = NULL;
	size_t len;
	if ((r = read_file(file, BUNDLE_MAX_BYTES, &text, &len)) < 0)
		return cli_error("%s: %s", file, strerror(-r));
	_cleanup_(key_ring_clear) KeyRing ring = {};
	if (trusted && (r = key_ring_load(trusted, &ring)) < 0)
		return cli_error("%s: %s", trusted,
				 r == -EBADMSG ? "no Ed25519 public key in it" : strerror(-r));
	_cleanup_(bundle_freep) Bundle *b = NULL;
	r = bundle_parse(text, len, &b);
	if (r < 0)
		return cli_error("%s: %s", file, bundle_strerror(r));
	int verdict = 0;
	if (trusted) {
		_cleanup_(bundle_freep) Bundle *checked = NULL;
		verdict = bundle_verify(text, len, &ring, now_usec() / 1000000ULL, &checked);
	}
	if (policy_only && verdict == 0)
		r = output_document(b->payload, stdout);
	else if (!policy_only)
		r = print_bundle(cli, b, !trusted ? "not checked (no --trusted-keys)"
				 : verdict == 0 ? "good" : bundle_strerror(verdict));
	if (r < 0)
		return cli_error("%s", strerror(-r));
	return verdict < 0 ? cli_error("%s: refused: %s", file, bundle_strerror(verdict))
			   : CLI_EXIT_OK;
}
