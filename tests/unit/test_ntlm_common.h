/*
 * test_ntlm_common.h - a whole NTLM exchange between the reference client
 * and server, for the tests that check its outcome (test_ntlm.c,
 * test_users.c).  Header-only; include after <cmocka.h> and the code under
 * test.  Not a test itself.
 *
 * Invariants: NEGOTIATE, CHALLENGE and AUTHENTICATE are each asserted to
 * be produced; only the server's verdict on AUTHENTICATE is returned.
 * Never: hide a failure of the first three messages.
 */
#pragma once

#include "ntlm.h"
#include "util.h"

/* Run NEGOTIATE / CHALLENGE / AUTHENTICATE; returns the server's verdict
 * (ntlm_server_authenticate).  *ret_s and *ret_c are the caller's to free. */
static inline int test_ntlm_exchange(const NtlmServerConfig *scfg, const NtlmClientConfig *ccfg,
				     NtlmServer **ret_s, NtlmClient **ret_c) {
	NtlmServer *s = NULL;
	NtlmClient *c = NULL;
	assert_int_equal(ntlm_server_new(scfg, &s), 0);
	assert_int_equal(ntlm_client_new(ccfg, &c), 0);
	_cleanup_free_ uint8_t *neg = NULL, *chal = NULL, *auth = NULL;
	size_t neg_len, chal_len, auth_len;
	assert_int_equal(ntlm_client_negotiate(c, &neg, &neg_len), 0);
	assert_int_equal(ntlm_server_negotiate(s, neg, neg_len, &chal, &chal_len), 0);
	assert_int_equal(ntlm_client_authenticate(c, chal, chal_len, &auth, &auth_len), 0);
	int r = ntlm_server_authenticate(s, auth, auth_len);
	*ret_s = s;
	*ret_c = c;
	return r;
}
