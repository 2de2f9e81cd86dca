/*
 * cat_voucher.c: voucher codes. A code is LIM_VOUCHER_BYTES (16) bytes
 * from libsodium's random source, 128 bits, shown as Crockford base32
 * (26 characters, the last one carrying 3 bits and two zero bits) in
 * dash-separated groups of four: "7K3M-Q9X2-VD4T-8NRB-6WJ1-H0PC-F4".
 *
 * The parser is tolerant of the ways a person or a scanner mangles a
 * code: any case, spaces and dashes anywhere, I and L for 1, O for 0.
 * Anything else (U, punctuation, a wrong length, non-zero padding bits)
 * is not a code. The database keeps SHA-256 of the raw bytes for lookup
 * and the bytes sealed with the server's seal key (crypto_secretbox), so
 * the owner can see the code again until it is used, cancelled or
 * expired; nothing else about the code is stored.
 */
#include "config.h"

#include <string.h>

#include <sodium.h>

#include "catalog/cat.h"

#define CAT_CODE_CHARS	26	/* ceil(128 / 5) */

_Static_assert(CAT_SEALED_SZ == crypto_secretbox_NONCEBYTES +
    crypto_secretbox_MACBYTES + LIM_VOUCHER_BYTES, "CAT_SEALED_SZ");

void
cat_code_random(unsigned char raw[LIM_VOUCHER_BYTES])
{
	randombytes_buf(raw, LIM_VOUCHER_BYTES);
}

void
cat_code_format(const unsigned char raw[LIM_VOUCHER_BYTES],
    char out[CAT_CODE_SZ])
{
	char plain[CAT_CODE_CHARS + 1];
	size_t i, o = 0;

	ly_base32(plain, sizeof(plain), raw, LIM_VOUCHER_BYTES);
	for (i = 0; plain[i] != '\0' && o + 2 < CAT_CODE_SZ; i++) {
		if (i > 0 && i % 4 == 0)
			out[o++] = '-';
		out[o++] = plain[i];
	}
	out[o] = '\0';
}

/* The value of one Crockford symbol, or -1. */
static int
cat_b32_val(int c)
{
	static const char digits[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	const char *p;

	if (c >= 'a' && c <= 'z')
		c -= 'a' - 'A';
	if (c == 'I' || c == 'L')
		return 1;
	if (c == 'O')
		return 0;
	if (c == '\0' || (p = strchr(digits, c)) == NULL)
		return -1;
	return (int)(p - digits);
}

int
cat_code_parse(const char *text, unsigned char raw[LIM_VOUCHER_BYTES])
{
	unsigned acc = 0, bits = 0;
	size_t n = 0, o = 0, len;
	int v;

	if (text == NULL || (len = strlen(text)) > LIM_VOUCHER_TEXT_MAX)
		return -1;
	for (; *text != '\0'; text++) {
		if (*text == ' ' || *text == '-')
			continue;
		if ((v = cat_b32_val((unsigned char)*text)) < 0 ||
		    n == CAT_CODE_CHARS)
			return -1;
		n++;
		acc = (acc << 5) | (unsigned)v;
		bits += 5;
		if (bits >= 8) {
			raw[o++] = (unsigned char)(acc >> (bits - 8));
			bits -= 8;
			acc &= (1u << bits) - 1;
		}
	}
	/* 26 symbols = 130 bits: 16 bytes and two padding bits, zero */
	if (n != CAT_CODE_CHARS || o != LIM_VOUCHER_BYTES || acc != 0)
		return -1;
	return 0;
}

void
cat_code_hash(const unsigned char raw[LIM_VOUCHER_BYTES],
    unsigned char out[32])
{
	crypto_hash_sha256(out, raw, LIM_VOUCHER_BYTES);
}

void
cat_code_seal(const struct ly_ctx *ctx,
    const unsigned char raw[LIM_VOUCHER_BYTES],
    unsigned char out[CAT_SEALED_SZ])
{
	randombytes_buf(out, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(out + crypto_secretbox_NONCEBYTES, raw,
	    LIM_VOUCHER_BYTES, out, ctx->seal_key);
}

int
cat_code_open(const struct ly_ctx *ctx, const unsigned char *sealed,
    size_t len, unsigned char raw[LIM_VOUCHER_BYTES])
{
	if (sealed == NULL || len != CAT_SEALED_SZ)
		return -1;
	return crypto_secretbox_open_easy(raw,
	    sealed + crypto_secretbox_NONCEBYTES,
	    len - crypto_secretbox_NONCEBYTES, sealed, ctx->seal_key) == 0 ?
	    0 : -1;
}
