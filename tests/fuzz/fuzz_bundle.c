/*
 * fuzz_bundle.c - libFuzzer harness for the bundle reader (lib/bundle.c),
 * which agents run on whatever a web server hands them.
 *
 * Invariants checked beyond "no crash, no leak, no UB, no read past the
 * input": bundle_verify() accepts nothing it was not signed for (the ring
 * holds a key made at start-up, so random input can never verify, and any
 * success is a bug); whatever bundle_parse() accepts signs again with the
 * same fields and parses back to them (the writer and the reader agree on
 * the format).  Must never touch the network or files.
 */
#include <stdint.h>

#include "bundle.h"

static Key *key;
static KeyRing ring;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
	(void)argc;
	(void)argv;
	if (key_generate(&key) < 0)
		abort();
	/* A ring with another key than the one used to re-sign below. */
	Key *other = NULL;
	if (key_generate(&other) < 0 || !(ring.keys = calloc(1, sizeof(Key *))))
		abort();
	ring.keys[0] = other;
	ring.n = 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	Bundle *b = NULL;
	if (bundle_verify((const char *)data, size, &ring, 0, &b) >= 0)
		abort(); /* a forgery */
	if (bundle_parse((const char *)data, size, &b) < 0)
		return 0;
	Bundle copy = *b;
	copy.group = b->group;
	char *text = NULL;
	size_t len;
	Bundle *back = NULL;
	if (bundle_sign(&copy, key, &text, &len) < 0 || bundle_parse(text, len, &back) < 0 ||
	    back->serial != b->serial || back->created != b->created ||
	    back->expires != b->expires || back->type != b->type ||
	    !streq_ptr(back->group, b->group) || back->payload_len != b->payload_len ||
	    memcmp(back->payload, b->payload, b->payload_len) != 0)
		abort();
	bundle_free(back);
	free(text);
	bundle_free(b);
	return 0;
}
