/*
 * kerberos.c - Kerberos V5 through MIT GSS-API for SPNEGO (see kerberos.h).
 *
 * Invariants: every GSS-API status is turned into an errno here, with the
 * GSS message kept in the context for the caller's single log line; every
 * gss_buffer the library hands out is released before return; the session
 * key is wiped when the context is freed.
 *
 * Never: log; accept a context that did not complete with mutual
 * authentication on the initiator side.
 */
#include "kerberos.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <openssl/crypto.h>

#include "spnego.h"
#include "util.h"

struct KerberosCtx {
	bool acceptor, done, failed;
	gss_cred_id_t cred;
	gss_ctx_id_t ctx;
	gss_name_t target; /* initiator */
	char *peer;        /* acceptor: client principal */
	char error[256];
};

/* Record the GSS-API message of (major, minor). */
static void set_error(KerberosCtx *k, const char *what, OM_uint32 major, OM_uint32 minor) {
	char msg[200] = "";
	const struct {
		OM_uint32 code;
		int type;
	} parts[] = { { major, GSS_C_GSS_CODE }, { minor, GSS_C_MECH_CODE } };
	for (size_t i = 0; i < ELEMENTSOF(parts); i++) {
		OM_uint32 ctx = 0, m;
		gss_buffer_desc buf = GSS_C_EMPTY_BUFFER;
		if (parts[i].code == 0 ||
		    gss_display_status(&m, parts[i].code, parts[i].type, GSS_C_NO_OID, &ctx, &buf) !=
			    GSS_S_COMPLETE)
			continue;
		size_t used = strlen(msg);
		snprintf(msg + used, sizeof msg - used, "%s%.*s", used ? ": " : "", (int)buf.length,
			 (const char *)buf.value);
		gss_release_buffer(&m, &buf);
	}
	snprintf(k->error, sizeof k->error, "%s: %s", what, msg);
}

static int acquire(KerberosCtx *k, const char *store_key, const char *store_value,
		   gss_cred_usage_t usage) {
	OM_uint32 major, minor;
	gss_OID_desc mech = *gss_mech_krb5;
	gss_OID_set_desc krb5_mechs = { 1, &mech };
	gss_key_value_element_desc el = { .key = store_key, .value = store_value };
	gss_key_value_set_desc store = { .count = store_value ? 1 : 0, .elements = &el };
	major = gss_acquire_cred_from(&minor, GSS_C_NO_NAME, GSS_C_INDEFINITE, &krb5_mechs, usage,
				      store_value ? &store : GSS_C_NO_CRED_STORE, &k->cred, NULL,
				      NULL);
	if (GSS_ERROR(major)) {
		set_error(k, "acquiring Kerberos credentials", major, minor);
		return -EIO;
	}
	return 0;
}

int kerberos_acceptor_new(const char *keytab, KerberosCtx **ret) {
	if (!ret)
		return -EINVAL;
	KerberosCtx *k = calloc(1, sizeof *k);
	if (!k)
		return -ENOMEM;
	k->acceptor = true;
	k->ctx = GSS_C_NO_CONTEXT;
	int r = acquire(k, "keytab", keytab, GSS_C_ACCEPT);
	*ret = k; /* also on failure, so kerberos_error() can be read */
	return r;
}

int kerberos_initiator_new(const char *host, const char *ccache, KerberosCtx **ret) {
	if (!ret || !host || !*host)
		return -EINVAL;
	KerberosCtx *k = calloc(1, sizeof *k);
	if (!k)
		return -ENOMEM;
	k->ctx = GSS_C_NO_CONTEXT;
	*ret = k;
	_cleanup_free_ char *service = strdup_printf("cifs@%s", host);
	if (!service)
		return -ENOMEM;
	OM_uint32 minor;
	gss_buffer_desc name = { .length = strlen(service), .value = service };
	OM_uint32 major = gss_import_name(&minor, &name, GSS_C_NT_HOSTBASED_SERVICE, &k->target);
	if (GSS_ERROR(major)) {
		set_error(k, "importing the service name", major, minor);
		return -EIO;
	}
	return acquire(k, "ccache", ccache, GSS_C_INITIATE);
}

void kerberos_free(KerberosCtx *k) {
	if (!k)
		return;
	OM_uint32 minor;
	if (k->ctx != GSS_C_NO_CONTEXT)
		gss_delete_sec_context(&minor, &k->ctx, GSS_C_NO_BUFFER);
	if (k->cred != GSS_C_NO_CREDENTIAL)
		gss_release_cred(&minor, &k->cred);
	if (k->target != GSS_C_NO_NAME)
		gss_release_name(&minor, &k->target);
	free(k->peer);
	free(k);
}

/* Copy a GSS buffer out (malloc) and release it. */
static int take_buffer(gss_buffer_desc *buf, uint8_t **ret, size_t *ret_len) {
	OM_uint32 minor;
	*ret = NULL;
	*ret_len = 0;
	if (buf->length == 0) {
		gss_release_buffer(&minor, buf);
		return 0;
	}
	uint8_t *p = malloc(buf->length);
	if (!p) {
		gss_release_buffer(&minor, buf);
		return -ENOMEM;
	}
	memcpy(p, buf->value, buf->length);
	*ret = p;
	*ret_len = buf->length;
	gss_release_buffer(&minor, buf);
	return 0;
}

static int accept_step(KerberosCtx *k, gss_buffer_desc *in, gss_buffer_desc *out) {
	OM_uint32 minor, flags = 0;
	gss_name_t src = GSS_C_NO_NAME;
	OM_uint32 major = gss_accept_sec_context(&minor, &k->ctx, k->cred, in,
						 GSS_C_NO_CHANNEL_BINDINGS, &src, NULL, out, &flags,
						 NULL, NULL);
	if (GSS_ERROR(major)) {
		set_error(k, "accepting the Kerberos ticket", major, minor);
		return -EACCES;
	}
	if (major & GSS_S_CONTINUE_NEEDED) {
		if (src != GSS_C_NO_NAME)
			gss_release_name(&minor, &src);
		return 1;
	}
	gss_buffer_desc name = GSS_C_EMPTY_BUFFER;
	major = gss_display_name(&minor, src, &name, NULL);
	gss_release_name(&minor, &src);
	if (GSS_ERROR(major)) {
		set_error(k, "reading the client principal", major, minor);
		return -EIO;
	}
	k->peer = strndup(name.value, name.length);
	gss_release_buffer(&minor, &name);
	return k->peer ? 0 : -ENOMEM;
}

static int init_step(KerberosCtx *k, gss_buffer_desc *in, gss_buffer_desc *out) {
	OM_uint32 minor, flags = 0;
	OM_uint32 req = GSS_C_MUTUAL_FLAG | GSS_C_INTEG_FLAG | GSS_C_SEQUENCE_FLAG |
			GSS_C_REPLAY_FLAG;
	OM_uint32 major = gss_init_sec_context(&minor, k->cred, &k->ctx, k->target, gss_mech_krb5,
					       req, 0, GSS_C_NO_CHANNEL_BINDINGS, in, NULL, out,
					       &flags, NULL);
	if (GSS_ERROR(major)) {
		set_error(k, "getting a Kerberos ticket", major, minor);
		return -EACCES;
	}
	if (major & GSS_S_CONTINUE_NEEDED)
		return 1;
	if (!(flags & GSS_C_MUTUAL_FLAG)) {
		snprintf(k->error, sizeof k->error, "server did not authenticate itself");
		return -EACCES;
	}
	return 0;
}

int kerberos_step(KerberosCtx *k, const uint8_t *in, size_t len, uint8_t **ret, size_t *ret_len) {
	if (!k || !ret || !ret_len)
		return -EINVAL;
	*ret = NULL;
	*ret_len = 0;
	if (k->done || k->failed)
		return -EALREADY;
	if (k->acceptor && (!in || len == 0))
		return -EINVAL;
	gss_buffer_desc ib = { .length = in ? len : 0, .value = (void *)in };
	gss_buffer_desc ob = GSS_C_EMPTY_BUFFER;
	int r = k->acceptor ? accept_step(k, &ib, &ob) : init_step(k, in ? &ib : GSS_C_NO_BUFFER, &ob);
	int t = take_buffer(&ob, ret, ret_len);
	if (r >= 0 && t < 0)
		r = t;
	if (r < 0) {
		free(*ret);
		*ret = NULL;
		*ret_len = 0;
		k->failed = true;
		return r;
	}
	k->done = r == 0;
	return r;
}

int kerberos_session_key(KerberosCtx *k, uint8_t key[KERBEROS_MAX_KEY_SIZE]) {
	if (!k || !k->done)
		return -EINVAL;
	OM_uint32 minor;
	gss_buffer_set_t set = GSS_C_NO_BUFFER_SET;
	OM_uint32 major = gss_inquire_sec_context_by_oid(&minor, k->ctx, GSS_C_INQ_SSPI_SESSION_KEY,
							 &set);
	if (GSS_ERROR(major) || !set || set->count < 1) {
		set_error(k, "reading the session key", major, minor);
		if (set)
			gss_release_buffer_set(&minor, &set);
		return -EIO;
	}
	size_t n = set->elements[0].length;
	int r = (n == 16 || n == 32) ? (int)n : -EIO;
	if (r > 0)
		memcpy(key, set->elements[0].value, n);
	OPENSSL_cleanse(set->elements[0].value, n);
	gss_release_buffer_set(&minor, &set);
	return r;
}

const char *kerberos_peer_name(const KerberosCtx *k) {
	return k ? k->peer : NULL;
}

int kerberos_get_mic(KerberosCtx *k, const uint8_t *data, size_t len, uint8_t **ret,
		     size_t *ret_len) {
	if (!k || !k->done)
		return -EINVAL;
	OM_uint32 minor;
	gss_buffer_desc msg = { .length = len, .value = (void *)data }, tok = GSS_C_EMPTY_BUFFER;
	OM_uint32 major = gss_get_mic(&minor, k->ctx, GSS_C_QOP_DEFAULT, &msg, &tok);
	if (GSS_ERROR(major)) {
		set_error(k, "signing the mechanism list", major, minor);
		return -EIO;
	}
	return take_buffer(&tok, ret, ret_len);
}

int kerberos_verify_mic(KerberosCtx *k, const uint8_t *data, size_t len, const uint8_t *mic,
			size_t mic_len) {
	if (!k || !k->done)
		return -EINVAL;
	OM_uint32 minor;
	gss_buffer_desc msg = { .length = len, .value = (void *)data };
	gss_buffer_desc tok = { .length = mic_len, .value = (void *)mic };
	OM_uint32 major = gss_verify_mic(&minor, k->ctx, &msg, &tok, NULL);
	if (GSS_ERROR(major)) {
		set_error(k, "checking the mechanism list MIC", major, minor);
		return -EBADMSG;
	}
	return 0;
}

const char *kerberos_error(const KerberosCtx *k) {
	return k ? k->error : "";
}

static const KerberosOps ops = {
	.acceptor_new = kerberos_acceptor_new,
	.initiator_new = kerberos_initiator_new,
	.free = kerberos_free,
	.step = kerberos_step,
	.session_key = kerberos_session_key,
	.peer_name = kerberos_peer_name,
	.verify_mic = kerberos_verify_mic,
	.error = kerberos_error,
};

/* Defined here rather than in spnego.c so that only programs enabling
 * Kerberos pull in this file and libgssapi_krb5. */
int spnego_server_enable_kerberos(SpnegoServer *s, const char *keytab) {
	return spnego_server_set_kerberos(s, &ops, keytab);
}

int spnego_client_enable_kerberos(SpnegoClient *c, const char *host, const char *ccache,
				  bool ntlm_allowed) {
	return spnego_client_set_kerberos(c, &ops, host, ccache, ntlm_allowed);
}
