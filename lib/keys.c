/*
 * keys.c - Ed25519 keys through OpenSSL's EVP interface (EVP_PKEY_ED25519,
 * EVP_DigestSign / EVP_DigestVerify in one shot, as Ed25519 requires); key
 * ids through digest.h.  smbpolicyd does not link this file: its bundle
 * source reaches it through agent/bundle_module.c's shared object.
 *
 * Invariants: see keys.h; OpenSSL's error queue is cleared after every
 * expected failure (end of a PEM stream), so later callers see no stale
 * errors.  Must never: log, or hand out the EVP_PKEY (callers use the
 * functions here, so the algorithm stays in one file).
 */
#include "keys.h"

#include <dirent.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "digest.h"

#define KEY_FILE_MAX (1024u * 1024u)

struct Key {
	EVP_PKEY *pkey;
	bool private;
	char id[KEY_ID_LEN + 1];
};

DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY *, EVP_PKEY_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(BIO *, BIO_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_MD_CTX *, EVP_MD_CTX_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir)

void key_free(Key *k) {
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

/* Wrap pkey (taken over, also on failure). */
static int key_wrap(EVP_PKEY *pkey, bool private, Key **ret) {
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *p = pkey;
	if (EVP_PKEY_get_id(p) != EVP_PKEY_ED25519)
		return -EPROTONOSUPPORT;
	unsigned char raw[32], md[DIGEST_SHA256_LEN];
	size_t n = sizeof(raw);
	if (EVP_PKEY_get_raw_public_key(p, raw, &n) != 1 || n != sizeof(raw))
		return -EIO;
	digest_sha256(raw, n, md);
	Key *k = calloc(1, sizeof(Key));
	if (!k)
		return -ENOMEM;
	hex_encode(md, KEY_ID_LEN / 2, k->id);
	k->pkey = TAKE_PTR(p);
	k->private = private;
	*ret = k;
	return 0;
}

int key_generate(Key **ret) {
	EVP_PKEY *p = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!p)
		return -EIO;
	return key_wrap(p, true, ret);
}

int key_load_private(const char *path, Key **ret) {
	_cleanup_free_ char *pem = NULL;
	size_t len;
	int r = read_file(path, KEY_FILE_MAX, &pem, &len);
	if (r < 0)
		return r;
	_cleanup_(BIO_freep) BIO *b = BIO_new_mem_buf(pem, (int)len);
	if (!b)
		return -ENOMEM;
	EVP_PKEY *p = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	explicit_bzero(pem, len);
	if (!p) {
		ERR_clear_error();
		return -EBADMSG;
	}
	return key_wrap(p, true, ret);
}

static int key_write_pem(const Key *k, const char *path, bool private) {
	_cleanup_(BIO_freep) BIO *b = BIO_new(BIO_s_mem());
	if (!b)
		return -ENOMEM;
	int ok = private ? PEM_write_bio_PrivateKey(b, k->pkey, NULL, NULL, 0, NULL, NULL)
			 : PEM_write_bio_PUBKEY(b, k->pkey);
	if (!ok)
		return -EIO;
	char *data;
	long n = BIO_get_mem_data(b, &data);
	int r = write_file_atomic(path, data, (size_t)n, private ? 0600 : 0644);
	if (private)
		OPENSSL_cleanse(data, (size_t)n);
	return r;
}

int key_write_private(const Key *k, const char *path) {
	return k->private ? key_write_pem(k, path, true) : -EINVAL;
}

int key_write_public(const Key *k, const char *path) {
	return key_write_pem(k, path, false);
}

const char *key_id(const Key *k) {
	return k->id;
}

int key_sign(const Key *k, const void *data, size_t len, unsigned char sig[64]) {
	if (!k->private)
		return -EINVAL;
	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t n = 64;
	if (!ctx || EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) != 1 ||
	    EVP_DigestSign(ctx, sig, &n, data, len) != 1 || n != 64) {
		ERR_clear_error();
		return -EIO;
	}
	return 0;
}

int key_verify(const Key *k, const void *data, size_t len, const unsigned char *sig,
	       size_t sig_len) {
	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	int ok = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
		 EVP_DigestVerify(ctx, sig, sig_len, data, len) == 1;
	ERR_clear_error();
	return ok ? 0 : -EKEYREJECTED;
}

const Key *key_ring_find(const KeyRing *ring, const char *id) {
	for (size_t i = 0; i < ring->n; i++)
		if (streq(ring->keys[i]->id, id))
			return ring->keys[i];
	return NULL;
}

static int key_ring_push(KeyRing *ring, Key *k) {
	_cleanup_(key_freep) Key *owned = k;
	if (key_ring_find(ring, k->id))
		return 0;
	Key **nk = realloc(ring->keys, (ring->n + 1) * sizeof(Key *));
	if (!nk)
		return -ENOMEM;
	ring->keys = nk;
	ring->keys[ring->n++] = TAKE_PTR(owned);
	return 1;
}

int key_ring_add_pem(KeyRing *ring, const char *pem, size_t len) {
	_cleanup_(BIO_freep) BIO *b = BIO_new_mem_buf(pem, (int)len);
	if (!b)
		return -ENOMEM;
	int found = 0;
	EVP_PKEY *p;
	while ((p = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL))) {
		Key *k;
		int r = key_wrap(p, false, &k);
		if (r == -EPROTONOSUPPORT)
			continue;
		if (r < 0 || (r = key_ring_push(ring, k)) < 0) {
			ERR_clear_error();
			return r;
		}
		found++;
	}
	ERR_clear_error();
	return found > 0 ? 0 : -EBADMSG;
}

static int key_ring_add_file(KeyRing *ring, const char *path) {
	_cleanup_free_ char *pem = NULL;
	size_t len;
	int r = read_file(path, KEY_FILE_MAX, &pem, &len);
	if (r < 0)
		return r;
	return key_ring_add_pem(ring, pem, len);
}

static bool key_file_name(const char *name) {
	size_t n = strlen(name);
	return name[0] != '.' && n > 4 &&
	       (streq(name + n - 4, ".pub") || streq(name + n - 4, ".pem"));
}

static int compare_names(const void *a, const void *b) {
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int key_ring_load(const char *path, KeyRing *ret) {
	KeyRing ring = {};
	_cleanup_(closedirp) DIR *d = opendir(path);
	int r;
	if (!d) {
		if (errno != ENOTDIR)
			return -errno;
		r = key_ring_add_file(&ring, path);
	} else {
		_cleanup_strv_free_ char **names = calloc(1, sizeof(char *));
		if (!names)
			return -ENOMEM;
		struct dirent *de;
		while ((de = readdir(d)))
			if (key_file_name(de->d_name) && strv_push_dup(&names, de->d_name) < 0)
				return -ENOMEM;
		qsort(names, strv_length(names), sizeof(char *), compare_names);
		r = 0; /* an empty directory: an empty ring */
		STRV_FOREACH(n, names) {
			_cleanup_free_ char *p = strdup_printf("%s/%s", path, *n);
			r = p ? key_ring_add_file(&ring, p) : -ENOMEM;
			if (r < 0)
				break;
		}
	}
	if (r < 0) {
		key_ring_clear(&ring);
		return r;
	}
	*ret = ring;
	return 0;
}

void key_ring_clear(KeyRing *ring) {
	for (size_t i = 0; i < ring->n; i++)
		key_free(ring->keys[i]);
	free(ring->keys);
	*ring = (KeyRing){};
}
