/*
 * quic_access.c - the SMB over QUIC certificate policy (see quic_access.h
 * for the rules): parse the DER chain with OpenSSL, describe each
 * certificate for the audit events, match the allow/block entries, check
 * the server's own certificate.
 *
 * Invariants: the verdict starts as ERROR and becomes ALLOWED only at the
 * end of quic_access_decide, after every check passed; a certificate that
 * does not parse as exactly one DER X.509 structure is an error.
 * Must never: read files, log, or keep state between calls.
 */
#include <ctype.h>
#include <errno.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "quic_access.h"
#include "util.h"

#define QUIC_ACCESS_MAX_CHAIN 16
#define QUIC_ACCESS_AUDIT_CERTS 4 /* chain certificates described in an event */

DEFINE_TRIVIAL_CLEANUP_FUNC(X509 *, X509_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(BIO *, BIO_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY *, EVP_PKEY_free)

/* RFC 4514 text of a name (UTF-8 kept, not escaped as \XX). */
static char *name_text(const X509_NAME *name) {
	_cleanup_(BIO_freep) BIO *b = BIO_new(BIO_s_mem());
	if (!b || X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0)
		return NULL;
	char *p;
	long n = BIO_get_mem_data(b, &p);
	return strndup(n > 0 ? p : "", n > 0 ? (size_t)n : 0);
}

static char *serial_text(const X509 *x) {
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	if (!bn)
		return NULL;
	char *hex = BN_bn2hex(bn);
	BN_free(bn);
	char *r = hex ? strdup(hex) : NULL;
	OPENSSL_free(hex);
	return r;
}

static int cert_info(const QuicDer *der, X509 *x, QuicCertInfo *ret) {
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen;
	if (EVP_Digest(der->data, der->len, md, &mdlen, EVP_sha256(), NULL) != 1)
		return -ENOMEM;
	hex_encode(md, mdlen, ret->sha256);
	if (EVP_Digest(der->data, der->len, md, &mdlen, EVP_sha1(), NULL) != 1)
		return -ENOMEM;
	hex_encode(md, mdlen, ret->sha1);
	ret->subject = name_text(X509_get_subject_name(x));
	ret->issuer = name_text(X509_get_issuer_name(x));
	ret->serial = serial_text(x);
	return ret->subject && ret->issuer && ret->serial ? 0 : -ENOMEM;
}

/* Skip blanks around the unescaped separators , + = and compare ASCII
 * case-insensitively. */
static const char *dn_next(const char *p, int *ret) {
	if (!*p) {
		*ret = 0;
		return p;
	}
	if (*p == '\\' && p[1]) {
		*ret = 0x100 | (unsigned char)p[1]; /* escaped: never equal to a separator */
		return p + 2;
	}
	char c = *p++;
	if (c == ',' || c == '+' || c == '=') {
		while (*p == ' ')
			p++;
	} else if (*p == ' ') {
		/* keep one blank inside a value, unless a separator or the end follows */
		const char *q = p;
		while (*q == ' ')
			q++;
		if (!*q || *q == ',' || *q == '+' || *q == '=')
			p = q;
	}
	*ret = tolower((unsigned char)c);
	return p;
}

bool quic_access_dn_equal(const char *a, const char *b) {
	a += strspn(a, " ");
	b += strspn(b, " ");
	for (;;) {
		int ca, cb;
		a = dn_next(a, &ca);
		b = dn_next(b, &cb);
		if (ca != cb)
			return false;
		if (!ca)
			return true;
	}
}

/* "sha256:" hex with optional colons, ASCII case-insensitive. */
static bool sha256_matches(const char *want, const char *hex) {
	size_t i = 0;
	for (const char *p = want; *p; p++) {
		if (*p == ':')
			continue;
		if (i >= 64 || tolower((unsigned char)*p) != hex[i])
			return false;
		i++;
	}
	return i == 64;
}

static bool entry_matches(const char *entry, const QuicCertInfo *c) {
	if (startswith(entry, "sha256:"))
		return sha256_matches(entry + 7, c->sha256);
	if (startswith(entry, "issuer:"))
		return quic_access_dn_equal(entry + 7, c->issuer);
	return false; /* the catalog admits no other kind */
}

/* Push every entry of list that matches a chain certificate into matched.
 * Returns the number pushed or -ENOMEM. */
static int match_list(char *const *list, const QuicAccessDecision *d, char ***matched) {
	int n = 0;
	STRV_FOREACH(e, list)
		for (size_t i = 0; i < d->n_certs; i++)
			if (entry_matches(*e, &d->certs[i])) {
				if (strv_push_dup(matched, *e) < 0)
					return -ENOMEM;
				n++;
				break;
			}
	return n;
}

static bool leaf_has_eku(X509 *x, uint32_t xku) {
	return (X509_get_extension_flags(x) & EXFLAG_XKUSAGE) && (X509_get_extended_key_usage(x) & xku);
}

static X509 *parse_der(const QuicDer *der) {
	const unsigned char *p = der->data;
	if (der->len == 0 || der->len > 65536)
		return NULL;
	X509 *x = d2i_X509(NULL, &p, (long)der->len);
	if (x && p != der->data + der->len) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static bool issued_by(X509 *subject, X509 *issuer) {
	if (X509_check_issued(issuer, subject) != X509_V_OK)
		return false;
	EVP_PKEY *k = X509_get0_pubkey(issuer);
	return k && X509_verify(subject, k) == 1;
}

static int decide(const QuicDer *chain, size_t n, char *const *allow, char *const *block,
		  QuicAccessDecision *d) {
	X509 *x[QUIC_ACCESS_MAX_CHAIN] = {};
	int r = 0;
	if (n == 0) {
		d->verdict = QUIC_ACCESS_DENIED;
		d->reason = "no client certificate";
		return 0;
	}
	if (n > QUIC_ACCESS_MAX_CHAIN) {
		d->reason = "client chain too long";
		return 0;
	}
	d->certs = calloc(n, sizeof(QuicCertInfo));
	if (!d->certs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		x[i] = parse_der(&chain[i]);
		if (!x[i]) {
			d->reason = "unparsable client certificate";
			goto out;
		}
		d->n_certs++;
		r = cert_info(&chain[i], x[i], &d->certs[i]);
		if (r < 0)
			goto out;
	}
	for (size_t i = 0; i + 1 < n; i++)
		if (!issued_by(x[i], x[i + 1])) {
			d->reason = "client chain is not signed in order";
			goto out;
		}
	r = match_list(block, d, &d->matched);
	if (r < 0)
		goto out;
	d->verdict = QUIC_ACCESS_DENIED;
	if (r > 0) {
		d->reason = "a block entry matches the client chain";
		r = 0;
		goto out;
	}
	if (!leaf_has_eku(x[0], XKU_SSL_CLIENT)) {
		d->reason = "client certificate lacks EKU clientAuth";
		goto out;
	}
	r = match_list(allow, d, &d->matched);
	if (r < 0)
		goto out;
	if (r == 0) {
		d->reason = "no allow entry matches the client chain";
		goto out;
	}
	r = 0;
	d->verdict = QUIC_ACCESS_ALLOWED;
	d->reason = "an allow entry matches the client chain";
out:
	for (size_t i = 0; i < n && i < QUIC_ACCESS_MAX_CHAIN; i++)
		X509_free(x[i]);
	return r;
}

int quic_access_decide(const QuicDer *chain, size_t n, char *const *allow, char *const *block,
		       QuicAccessDecision *ret) {
	*ret = (QuicAccessDecision) { .verdict = QUIC_ACCESS_ERROR };
	int r = decide(chain, n, allow, block, ret);
	if (r < 0) {
		quic_access_decision_done(ret);
		return r;
	}
	return 0;
}

void quic_access_decision_done(QuicAccessDecision *d) {
	for (size_t i = 0; i < d->n_certs; i++) {
		free(d->certs[i].subject);
		free(d->certs[i].issuer);
		free(d->certs[i].serial);
	}
	free(d->certs);
	strv_free(d->matched);
	*d = (QuicAccessDecision) { .verdict = QUIC_ACCESS_ERROR };
}

#define CERT_FIELD_NAMES(i) \
	{ "cert" #i "_subject", "cert" #i "_issuer", "cert" #i "_serial", "cert" #i "_sha1", "cert" #i "_sha256" }
static const char *const cert_field_names[QUIC_ACCESS_AUDIT_CERTS][5] = {
	CERT_FIELD_NAMES(0), CERT_FIELD_NAMES(1), CERT_FIELD_NAMES(2), CERT_FIELD_NAMES(3),
};

int quic_access_audit_fields(const QuicAccessDecision *d, const char *connection_id, char **ret_matched,
			     AuditField **ret) {
	size_t nc = d->n_certs < QUIC_ACCESS_AUDIT_CERTS ? d->n_certs : QUIC_ACCESS_AUDIT_CERTS;
	_cleanup_free_ AuditField *f = calloc(4 + 5 * nc, sizeof(AuditField));
	_cleanup_free_ char *matched = strv_join(d->matched, ",");
	if (!f || !matched)
		return -ENOMEM;
	size_t n = 0;
	f[n++] = (AuditField) { "reason", d->reason ? d->reason : "" };
	f[n++] = (AuditField) { "matched", matched };
	f[n++] = (AuditField) { "connection_id", connection_id ? connection_id : "" };
	f[n++] = (AuditField) { "chain_length", NULL }; /* filled below */
	static const char *const counts[] = { "0", "1", "2", "3", "4", "5", "6", "7", "8",
					      "9", "10", "11", "12", "13", "14", "15", "16" };
	f[3].value = d->n_certs < ELEMENTSOF(counts) ? counts[d->n_certs] : "many";
	for (size_t i = 0; i < nc; i++) {
		const QuicCertInfo *c = &d->certs[i];
		const char *values[5] = { c->subject, c->issuer, c->serial, c->sha1, c->sha256 };
		for (size_t k = 0; k < 5; k++)
			f[n++] = (AuditField) { cert_field_names[i][k], values[k] ? values[k] : "" };
	}
	*ret_matched = TAKE_PTR(matched);
	*ret = TAKE_PTR(f);
	return (int)n;
}

int quic_access_check_server_cert(const uint8_t *der, size_t len, const char **ret_reason) {
	_cleanup_(X509_freep) X509 *x = parse_der(&(QuicDer) { der, len });
	if (!x) {
		*ret_reason = "not a DER X.509 certificate";
		return -EINVAL;
	}
	EVP_PKEY *k = X509_get0_pubkey(x);
	int id = k ? EVP_PKEY_get_base_id(k) : 0;
	if (id == EVP_PKEY_RSA) {
		if (EVP_PKEY_get_bits(k) < 2048) {
			*ret_reason = "RSA key shorter than 2048 bits";
			return -EINVAL;
		}
	} else if (id == EVP_PKEY_EC) {
		char group[64] = "";
		size_t glen;
		if (EVP_PKEY_get_group_name(k, group, sizeof(group), &glen) != 1 ||
		    !(streq(group, "prime256v1") || streq(group, "secp384r1") || streq(group, "secp521r1"))) {
			*ret_reason = "ECDSA key not on P-256, P-384 or P-521";
			return -EINVAL;
		}
	} else {
		*ret_reason = "key is neither ECDSA nor RSA";
		return -EINVAL;
	}
	if (!leaf_has_eku(x, XKU_SSL_SERVER)) {
		*ret_reason = "certificate lacks EKU serverAuth";
		return -EINVAL;
	}
	return 0;
}
