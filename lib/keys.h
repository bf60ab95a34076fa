/*
 * keys.h - Ed25519 signing keys for policy bundles and the agent's ring of
 * trusted public keys.
 *
 * Files: a private key is PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"),
 * written mode 0600; a public key is SubjectPublicKeyInfo PEM ("-----BEGIN
 * PUBLIC KEY-----"), as `openssl pkey -pubout` writes it, so keys made with
 * the openssl tool work too.  A key id is the first 16 hex digits of the
 * SHA-256 of the raw 32-byte public key: stable, short, printable.
 *
 * Key rotation: the agent's trust list is a file with one or more public
 * keys, or a directory whose *.pub and *.pem files each hold some; during
 * an overlap both the old and the new key are listed, then the old one is
 * removed.
 *
 * Invariants: every Key holds an Ed25519 key (other algorithms are refused
 * with -EPROTONOSUPPORT); a KeyRing holds public keys only, no two with the
 * same id.  Must never: write a private key readable by others, or log.
 */
#pragma once

#include "util.h"

typedef struct Key Key;

#define KEY_ID_LEN 16

/* A new random Ed25519 key pair. */
int key_generate(Key **ret);
/* The private key in path (PEM); -ENOENT, -EBADMSG (not a PEM key),
 * -EPROTONOSUPPORT (not Ed25519). */
int key_load_private(const char *path, Key **ret);
/* Write the private key (0600) / public key (0644) atomically. */
int key_write_private(const Key *k, const char *path);
int key_write_public(const Key *k, const char *path);
const char *key_id(const Key *k);
/* Ed25519 signature (64 bytes) of data; private keys only (-EINVAL). */
int key_sign(const Key *k, const void *data, size_t len, unsigned char sig[64]);
/* 0 when sig is k's signature of data, -EKEYREJECTED when not. */
int key_verify(const Key *k, const void *data, size_t len, const unsigned char *sig,
	       size_t sig_len);
void key_free(Key *k);
DEFINE_TRIVIAL_CLEANUP_FUNC(Key *, key_free)

typedef struct KeyRing {
	Key **keys;
	size_t n;
} KeyRing;

/* Public keys from a PEM file (one or more keys) or a directory (its *.pub
 * and *.pem files, in name order).  A file without any Ed25519 public key
 * is -EBADMSG; an empty directory gives an empty ring (every bundle is then
 * refused as signed by an unknown key). */
int key_ring_load(const char *path, KeyRing *ret);
/* Add a public key from PEM text; duplicates (same id) are ignored. */
int key_ring_add_pem(KeyRing *ring, const char *pem, size_t len);
const Key *key_ring_find(const KeyRing *ring, const char *id);
void key_ring_clear(KeyRing *ring);
