/*
 * ly_ids.c: identifiers, keyed hashes and clocks for the domain.
 *
 * Public ids are opaque: random ones for rows looked up by id (orgs,
 * keys, perks, redemptions, campaigns), keyed-hash ones for rows never
 * looked up by id (members, awards, ledger entries), so those tables need
 * no second unique index. Subjects are kept only as HMAC-SHA256 with a
 * server key, so a stolen disk cannot be matched against known subjects
 * without the key.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include <sodium.h>

#include "loyalty/ly.h"

static const char ly_b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void
ly_base32(char *out, size_t outsz, const unsigned char *in, size_t n)
{
	size_t o = 0, i;
	unsigned int acc = 0, bits = 0;

	for (i = 0; i < n && o + 1 < outsz; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5 && o + 1 < outsz) {
			out[o++] = ly_b32[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0 && o + 1 < outsz)
		out[o++] = ly_b32[(acc << (5 - bits)) & 31];
	out[o] = '\0';
}

void
ly_id_random(char *out, size_t outsz, const char *prefix)
{
	unsigned char raw[16];
	size_t pl = strlen(prefix);

	randombytes_buf(raw, sizeof(raw));
	snprintf(out, outsz, "%s", prefix);
	if (pl < outsz)
		ly_base32(out + pl, outsz - pl, raw, sizeof(raw));
}

void
ly_id_derived(const struct ly_ctx *ctx, char *out, size_t outsz,
    const char *prefix, uint64_t id)
{
	unsigned char in[8 + LIM_PUBLIC_ID_MAX], h[crypto_shorthash_BYTES];
	size_t pl = strlen(prefix), n;
	int i;

	/* the prefix is hashed too, so that mem_, awd_ and led_ ids of the
	 * same internal number do not share a suffix (which would tell that
	 * the rows are related) */
	for (i = 0; i < 8; i++)
		in[i] = (unsigned char)(id >> (8 * i));
	n = pl < LIM_PUBLIC_ID_MAX ? pl : LIM_PUBLIC_ID_MAX;
	memcpy(in + 8, prefix, n);
	crypto_shorthash(h, in, 8 + n, ctx->id_key);
	snprintf(out, outsz, "%s", prefix);
	if (pl < outsz)
		ly_base32(out + pl, outsz - pl, h, sizeof(h));
}

void
ly_subject_hash(const struct ly_ctx *ctx, const char *sub,
    unsigned char out[32])
{
	crypto_auth_hmacsha256(out, (const unsigned char *)sub, strlen(sub),
	    ctx->subject_key);
}

void
ly_ctx_init(struct ly_ctx *ctx, const unsigned char server_key[32],
    const unsigned char subject_key[32], const unsigned char pass_seed[32],
    int stats_min_group)
{
	memset(ctx, 0, sizeof(*ctx));
	memcpy(ctx->subject_key, subject_key, 32);
	/* independent sub-keys, so one leaked purpose reveals no other */
	crypto_kdf_derive_from_key(ctx->id_key, sizeof(ctx->id_key), 1,
	    "perkd-id", server_key);
	crypto_kdf_derive_from_key(ctx->seal_key, sizeof(ctx->seal_key), 2,
	    "perkd-vc", server_key);
	crypto_kdf_derive_from_key(ctx->cursor_key, sizeof(ctx->cursor_key), 3,
	    "perkd-cu", server_key);
	crypto_sign_seed_keypair(ctx->pass_pk, ctx->pass_sk, pass_seed);
	ctx->stats_min_group = stats_min_group;
}

void
ly_now(char out[32])
{
	struct timeval tv;
	struct tm tm;
	size_t n;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%06u", (unsigned)tv.tv_usec % 1000000u);
}

time_t
ly_mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

void
ly_day(time_t t, char out[11])
{
	struct tm tm;

	localtime_r(&t, &tm);
	if (strftime(out, 11, "%Y-%m-%d", &tm) == 0)
		out[0] = '\0';
}
