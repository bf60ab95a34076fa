/*
 * digest.c - SHA-256 as FIPS 180-4 section 6.2 specifies it (contract and
 * why it is not a library's in digest.h).
 *
 * Invariants: the message is processed in 64-byte blocks read big-endian;
 * padding (section 5.1.1: 0x80, zeros, the bit length as a 64-bit
 * big-endian number) is built in a local tail buffer of one or two blocks,
 * so the input is never copied or written.
 * Must never: read past data + len.
 */
#include "digest.h"

#include <stdint.h>
#include <string.h>

#include "util.h"

/* Section 4.2.2: the first 32 bits of the fractional parts of the cube
 * roots of the first 64 primes. */
static const uint32_t sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2,
};

/* Section 5.3.3: the first 32 bits of the fractional parts of the square
 * roots of the first 8 primes. */
static const uint32_t sha256_h0[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

static inline uint32_t rotr(uint32_t x, unsigned n) {
	return (x >> n) | (x << (32 - n));
}

static inline uint32_t load_be32(const unsigned char *p) {
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void store_be32(unsigned char *p, uint32_t v) {
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* Section 6.2.2: one 64-byte block into the hash value h. */
static void sha256_block(uint32_t h[8], const unsigned char block[64]) {
	uint32_t w[64];
	for (unsigned t = 0; t < 16; t++)
		w[t] = load_be32(block + 4 * t);
	for (unsigned t = 16; t < 64; t++) {
		uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
		uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
		w[t] = w[t - 16] + s0 + w[t - 7] + s1;
	}
	uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
	for (unsigned t = 0; t < 64; t++) {
		uint32_t t1 = k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) +
			      sha256_k[t] + w[t];
		uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		k = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
	h[5] += f;
	h[6] += g;
	h[7] += k;
}

void digest_sha256(const void *data, size_t len, unsigned char out[DIGEST_SHA256_LEN]) {
	const unsigned char *p = data;
	uint32_t h[8];
	memcpy(h, sha256_h0, sizeof(h));
	size_t whole = len / 64 * 64;
	for (size_t off = 0; off < whole; off += 64)
		sha256_block(h, p + off);

	/* The rest, 0x80, zeros, then the length in bits: one block when the
	 * rest is at most 55 bytes, else two. */
	unsigned char tail[128] = {};
	size_t rest = len - whole;
	if (rest)
		memcpy(tail, p + whole, rest);
	tail[rest] = 0x80;
	size_t tail_len = rest < 56 ? 64 : 128;
	uint64_t bits = (uint64_t)len * 8;
	store_be32(tail + tail_len - 8, (uint32_t)(bits >> 32));
	store_be32(tail + tail_len - 4, (uint32_t)bits);
	for (size_t off = 0; off < tail_len; off += 64)
		sha256_block(h, tail + off);

	for (unsigned i = 0; i < 8; i++)
		store_be32(out + 4 * i, h[i]);
}

void digest_sha256_hex(const void *data, size_t len, char out[DIGEST_SHA256_HEX_LEN + 1]) {
	unsigned char md[DIGEST_SHA256_LEN];
	digest_sha256(data, len, md);
	hex_encode(md, sizeof(md), out);
}
