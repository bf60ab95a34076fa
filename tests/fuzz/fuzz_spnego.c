/*
 * fuzz_spnego.c - libFuzzer harness for the SPNEGO token parsers and state
 * machines of endpoint/spnego.c (and the DER reader of endpoint/asn1.c).
 *
 * Each input is tried as the first SESSION_SETUP token of a server (with
 * Kerberos enabled but no keytab), as the
 * second token after a genuine NegTokenInit, as the NEGOTIATE hints a
 * client reads, and as the server's reply to a client.  Beyond "no crash,
 * no leak, no UB": a server that reports success must have an identity,
 * and never a session key (the harness's password is not in any input).
 * Must never log or touch files.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spnego.h"

static int lookup(void *userdata, const char *user, const char *domain, uint8_t h[16]) {
	(void)userdata;
	(void)domain;
	(void)user;
	return ntlm_nt_hash("fuzz-secret", h);
}

static const NtlmServerConfig cfg = {
	.netbios_computer = "FUZZ",
	.netbios_domain = "WORKGROUP",
	.lookup = lookup,
	.allow_anonymous = true,
};

static void check_server(SpnegoServer *s, int r) {
	if (r == 0) {
		const NtlmAuthInfo *info = spnego_server_info(s);
		if (!info || info->has_session_key)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	uint8_t *out = NULL;
	size_t out_len = 0;

	/* first token; Kerberos enabled with a keytab that does not exist, so
	 * Kerberos-first tokens take that path and fail cleanly */
	SpnegoServer *s = NULL;
	if (spnego_server_new(&cfg, &s) < 0 ||
	    spnego_server_enable_kerberos(s, "FILE:/nonexistent/fuzz.keytab") < 0)
		abort();
	int r = spnego_server_step(s, data, size, &out, &out_len);
	check_server(s, r);
	free(out);
	out = NULL;
	if (r == SPNEGO_CONTINUE) {
		/* and the same bytes again as the next round */
		r = spnego_server_step(s, data, size, &out, &out_len);
		check_server(s, r);
		free(out);
		out = NULL;
	}
	spnego_server_free(s);

	/* second token after a genuine client's NegTokenInit */
	NtlmClientConfig cc = { .user = "user", .password = "pw" };
	SpnegoClient *c = NULL;
	uint8_t *init = NULL, *chal = NULL;
	size_t init_len, chal_len;
	if (spnego_server_new(&cfg, &s) < 0 || spnego_client_new(&cc, &c) < 0 ||
	    spnego_client_step(c, NULL, 0, &init, &init_len) != SPNEGO_CONTINUE ||
	    spnego_server_step(s, init, init_len, &chal, &chal_len) != SPNEGO_CONTINUE)
		abort();
	r = spnego_server_step(s, data, size, &out, &out_len);
	check_server(s, r);
	free(out);
	out = NULL;
	spnego_server_free(s);

	/* the client: the server's reply to its NegTokenInit */
	r = spnego_client_step(c, data, size, &out, &out_len);
	free(out);
	out = NULL;
	if (r == SPNEGO_CONTINUE) {
		r = spnego_client_step(c, data, size, &out, &out_len);
		free(out);
		out = NULL;
	}
	spnego_client_free(c);
	free(init);
	free(chal);

	/* the client: NEGOTIATE hints */
	if (spnego_client_new(&cc, &c) < 0)
		abort();
	r = spnego_client_step(c, data, size, &out, &out_len);
	free(out);
	spnego_client_free(c);
	return 0;
}
