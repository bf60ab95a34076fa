/*
 * bundle.h - signed policy bundles: what `smbpolicy publish` writes and the
 * agent fetches from any static web server.
 *
 * Format (one file, so one HTTP GET and one ETag cover payload and
 * signature together; text, so an admin can read it with `cat`):
 *
 *     smbpolicy-bundle 1
 *     type: policy                  (policy | index)
 *     group: /paris/fs              (policy bundles only)
 *     serial: 1764141000            (monotonic per publishing directory)
 *     created: 2026-11-26T07:10:00Z
 *     expires: 2026-12-03T07:10:00Z
 *     key-id: 0123456789abcdef      (keys.h)
 *     payload-sha256: <64 hex>
 *     payload-length: 4711
 *                                   (empty line)
 *     <payload-length bytes: the resultant policy document (rsop --xml)
 *      or, for the index, one line per group: GROUP SERIAL EXPIRES SHA256 FILE>
 *     signature: ed25519 <base64 of the 64-byte signature>
 *
 * The signature covers every byte before the "signature:" line (headers,
 * empty line, payload), so nothing a reader uses is unsigned.  Headers come
 * in exactly this order, each once; anything else is malformed.
 *
 * Invariants: a Bundle returned by bundle_verify() was signed by a trusted
 * key, is unexpired and its payload matches payload-sha256.  Errors are
 * -errno values that bundle_strerror() turns into the reason an operator
 * reads in the log (table in bundle.c).  Must never: accept a bundle whose
 * signature was not checked, or log.
 */
#pragma once

#include <stdint.h>

#include "keys.h"
#include "policy.h"

#define BUNDLE_MAGIC "smbpolicy-bundle 1"
/* A payload is at most a policy document (or an index of that size). */
#define BUNDLE_MAX_BYTES (POLICY_MAX_BYTES + 64u * 1024u)

typedef enum BundleType {
	BUNDLE_POLICY,
	BUNDLE_INDEX,
	_BUNDLE_TYPE_MAX,
} BundleType;

typedef struct Bundle {
	BundleType type;
	char *group; /* policy bundles; NULL for the index */
	uint64_t serial;
	uint64_t created, expires; /* seconds since the epoch, UTC */
	char key_id[KEY_ID_LEN + 1];
	char payload_sha256[65];
	char *payload; /* NUL-terminated copy */
	size_t payload_len;
} Bundle;

/* Errors beyond -ENOMEM, each with its reason text. */
#define BUNDLE_E_MALFORMED (-EBADMSG)    /* not a bundle, bad header, wrong length */
#define BUNDLE_E_UNSIGNED (-ENOMSG)      /* no signature line */
#define BUNDLE_E_UNKNOWN_KEY (-ENOKEY)   /* key id not in the trusted ring */
#define BUNDLE_E_BAD_SIG (-EKEYREJECTED) /* signature or payload hash wrong */
#define BUNDLE_E_EXPIRED (-EKEYEXPIRED)  /* expires <= now */
#define BUNDLE_E_REPLAY (-ESTALE)        /* serial not above the applied one */
#define BUNDLE_E_WRONG_GROUP (-EXDEV)    /* bundle for another group */
const char *bundle_strerror(int r);

/* Sign b's fields (key_id and payload_sha256 are filled in from k and the
 * payload) and return the bundle text.  b->payload must not contain NUL. */
int bundle_sign(Bundle *b, const Key *k, char **ret, size_t *ret_len);
/* Parse and check structure, payload hash and signature against ring,
 * then expiry against now (seconds).  *ret only on success. */
int bundle_verify(const char *buf, size_t len, const KeyRing *ring, uint64_t now, Bundle **ret);
/* Parse without checking the signature (the publisher reading back its own
 * index; `smbpolicy` showing a bundle).  Structure and payload hash are
 * still checked. */
int bundle_parse(const char *buf, size_t len, Bundle **ret);

/* Replay/downgrade rule for a bundle that verified: 1 when it is the one
 * already applied (same serial and payload), 0 when it is newer (higher
 * serial), BUNDLE_E_REPLAY when its serial is lower, or equal with other
 * content.  applied_serial 0 = nothing applied yet. */
int bundle_check_serial(const Bundle *b, uint64_t applied_serial, const char *applied_sha256);

/* The publishing directory's file name for a group: "groups/" + the path
 * with every '/' as '@' + ".bundle" ("/" -> "groups/@.bundle",
 * "/paris/fs" -> "groups/@paris@fs.bundle"); '@' is not allowed in group
 * names, so names never collide, and it needs no escaping in URLs. */
char *bundle_group_file(const char *group);

/* RFC 3339 UTC ("2026-11-26T07:10:00Z") <-> seconds. */
int bundle_parse_time(const char *s, uint64_t *ret);

void bundle_free(Bundle *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(Bundle *, bundle_free)
