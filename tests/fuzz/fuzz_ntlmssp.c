/*
 * fuzz_ntlmssp.c - libFuzzer harness for the NTLMSSP parsers of
 * endpoint/ntlm.c.
 *
 * Each input is tried as a server's NEGOTIATE, as the AUTHENTICATE that
 * follows a genuine CHALLENGE, and as the CHALLENGE a client receives.
 * Beyond "no crash, no leak, no UB": an input that the server accepts must
 * have produced identity strings, and a key only for a non-anonymous,
 * non-guest logon (an accepted forged AUTHENTICATE would abort here, since
 * the lookup's hash is secret to the harness).  Must never log or touch
 * files.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ntlm.h"

static int lookup(void *userdata, const char *user, const char *domain, uint8_t h[16]) {
	(void)userdata;
	(void)domain;
	if (user[0] == 'g')
		return -ENOENT;
	return ntlm_nt_hash("fuzz-secret", h);
}

static const NtlmServerConfig cfg = {
	.netbios_computer = "FUZZ",
	.netbios_domain = "WORKGROUP",
	.dns_computer = "fuzz.example",
	.lookup = lookup,
	.allow_anonymous = true,
	.map_unknown_to_guest = true,
};

static void as_negotiate(const uint8_t *data, size_t size) {
	NtlmServer *s = NULL;
	if (ntlm_server_new(&cfg, &s) < 0)
		abort();
	uint8_t *out = NULL;
	size_t out_len = 0;
	if (ntlm_server_negotiate(s, data, size, &out, &out_len) == 0 && (!out || out_len < 56))
		abort();
	free(out);
	ntlm_server_free(s);
}

static void as_authenticate(const uint8_t *data, size_t size) {
	NtlmServer *s = NULL;
	NtlmClient *c = NULL;
	NtlmClientConfig cc = { .user = "user", .password = "pw" };
	if (ntlm_server_new(&cfg, &s) < 0 || ntlm_client_new(&cc, &c) < 0)
		abort();
	uint8_t *neg = NULL, *chal = NULL;
	size_t neg_len, chal_len;
	if (ntlm_client_negotiate(c, &neg, &neg_len) < 0 ||
	    ntlm_server_negotiate(s, neg, neg_len, &chal, &chal_len) < 0)
		abort();
	int r = ntlm_server_authenticate(s, data, size);
	if (r == 0) {
		const NtlmAuthInfo *info = ntlm_server_info(s);
		if (!info || !info->user || !info->domain || !info->workstation)
			abort();
		/* only anonymous or guest can get in without the secret */
		if (info->has_session_key || !(info->anonymous || info->guest))
			abort();
	}
	free(neg);
	free(chal);
	ntlm_server_free(s);
	ntlm_client_free(c);
}

static void as_challenge(const uint8_t *data, size_t size) {
	NtlmClient *c = NULL;
	NtlmClientConfig cc = { .user = "user", .domain = "D", .password = "pw" };
	if (ntlm_client_new(&cc, &c) < 0)
		abort();
	uint8_t *neg = NULL, *auth = NULL;
	size_t neg_len, auth_len;
	if (ntlm_client_negotiate(c, &neg, &neg_len) < 0)
		abort();
	if (ntlm_client_authenticate(c, data, size, &auth, &auth_len) == 0 &&
	    (!ntlm_client_session_key(c) || auth_len < 64))
		abort();
	free(neg);
	free(auth);
	ntlm_client_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	as_negotiate(data, size);
	as_authenticate(data, size);
	as_challenge(data, size);
	return 0;
}
