/*
 * cat_passes.c: status passes. A pass proves, for LIM_PASS_TTL_S, that
 * its bearer may have a status perk, without saying who the bearer is:
 *
 *   v1.<base64url(payload)>.<base64url(signature)>
 *
 * payload is the compact JSON {"perk":"prk_...","exp":<unix seconds>,
 * "nonce":"<base64url of 16 random bytes>","kid":"<key id>"} and the
 * signature is Ed25519 (crypto_sign_detached) over exactly those payload
 * bytes, with the key derived from pass_seed. base64url is RFC 4648 §5
 * without padding. docs/passes.md is the partner-facing description.
 *
 * The passes table links the nonce to the member only so that an online
 * check can be written to that member's access log; the pass itself never
 * names the member. The sweep deletes expired rows.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "catalog/cat.h"

#define CAT_PAYLOAD_MAX	256	/* the payload is ~120 bytes */
#define CAT_B64(n)	sodium_base64_ENCODED_LEN(n, \
	sodium_base64_VARIANT_URLSAFE_NO_PADDING)

enum cat_pass_stmt {
	PASS_INSERT,
	PASS_CHECK,
	PASS_STMT__MAX
};

static const char *const cat_pass_stmts[PASS_STMT__MAX] = {
	[PASS_INSERT] = "INSERT INTO passes (nonce, member_id, perk_id, "
	    "created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
	/* a check in one round trip: the perk's partner, whether it is
	 * usable, and the holder of the pass's nonce if still enrolled */
	[PASS_CHECK] = "SELECT p.partner_id, " CAT_USABLE_SQL("p.") ", "
	    "(SELECT s.member_id FROM passes s JOIN members m ON "
	    "m.id = s.member_id WHERE s.nonce = ? AND s.perk_id = p.id AND "
	    "m.status = 'active') FROM perks p WHERE p.public_id = ?",
};

static void
cat_b64(char *out, size_t outsz, const unsigned char *in, size_t n)
{
	sodium_bin2base64(out, outsz, in, n,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static int
cat_unb64(unsigned char *out, size_t outsz, const char *in, size_t inlen,
    size_t *n)
{
	const char *end = NULL;

	if (sodium_base642bin(out, outsz, in, inlen, NULL, n, &end,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    end != in + inlen)
		return -1;
	return 0;
}

void
cat_pass_kid(const struct ly_ctx *ctx, char out[CAT_KID_SZ])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, ctx->pass_pk, sizeof(ctx->pass_pk));
	cat_b64(out, CAT_KID_SZ, h, 8);
}

void
cat_pass_pubkey(const struct ly_ctx *ctx, char out[48])
{
	cat_b64(out, 48, ctx->pass_pk, sizeof(ctx->pass_pk));
}

void
cat_pass_sign(const struct ly_ctx *ctx, const char *perk_public_id,
    time_t exp, const unsigned char nonce[16], char *out, size_t outsz)
{
	char payload[CAT_PAYLOAD_MAX], nonce64[CAT_B64(16)], kid[CAT_KID_SZ];
	char p64[CAT_B64(CAT_PAYLOAD_MAX)], s64[CAT_B64(crypto_sign_BYTES)];
	unsigned char sig[crypto_sign_BYTES];
	int n;

	cat_b64(nonce64, sizeof(nonce64), nonce, 16);
	cat_pass_kid(ctx, kid);
	/* perk ids and base64url are [A-Za-z0-9_-]: nothing to escape */
	n = snprintf(payload, sizeof(payload), "{\"perk\":\"%s\",\"exp\":%lld,"
	    "\"nonce\":\"%s\",\"kid\":\"%s\"}", perk_public_id,
	    (long long)exp, nonce64, kid);
	if (n < 0 || (size_t)n >= sizeof(payload)) {
		out[0] = '\0';
		return;
	}
	crypto_sign_detached(sig, NULL, (const unsigned char *)payload,
	    (size_t)n, ctx->pass_sk);
	cat_b64(p64, sizeof(p64), (const unsigned char *)payload, (size_t)n);
	cat_b64(s64, sizeof(s64), sig, sizeof(sig));
	snprintf(out, outsz, "v1.%s.%s", p64, s64);
}

/* Reads `"name":"` then [A-Za-z0-9_-]+ then `"` into out. */
static const char *
cat_json_str(const char *p, const char *name, char *out, size_t outsz)
{
	size_t nl = strlen(name), n = 0;

	if (p[0] != '"' || strncmp(p + 1, name, nl) != 0 ||
	    strncmp(p + 1 + nl, "\":\"", 3) != 0)
		return NULL;
	for (p += nl + 4; *p != '"'; p++) {
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '-') ||
		    n + 1 >= outsz)
			return NULL;
		out[n++] = *p;
	}
	out[n] = '\0';
	return p + 1;
}

/* cat_pass_verify without the cache: the Ed25519 check and the parse. */
static int
cat_pass_verify_text(const struct ly_ctx *ctx, const char *text,
    char perk_public_id[LIM_PUBLIC_ID_MAX], time_t *exp,
    unsigned char nonce[16])
{
	unsigned char payload[CAT_PAYLOAD_MAX + 1], sig[crypto_sign_BYTES + 1];
	char nonce64[CAT_B64(16) + 1], kid[CAT_KID_SZ + 1], ours[CAT_KID_SZ];
	const char *dot, *p;
	size_t len, plen = 0, slen = 0, n = 0;
	long long e = 0;

	if (text == NULL || (len = strlen(text)) > LIM_PASS_TEXT_MAX ||
	    strncmp(text, "v1.", 3) != 0 ||
	    (dot = strchr(text + 3, '.')) == NULL)
		return -1;
	if (cat_unb64(payload, CAT_PAYLOAD_MAX, text + 3,
	    (size_t)(dot - text - 3), &plen) != 0 ||
	    cat_unb64(sig, sizeof(sig), dot + 1, strlen(dot + 1), &slen) != 0 ||
	    slen != crypto_sign_BYTES ||
	    crypto_sign_verify_detached(sig, payload, plen, ctx->pass_pk) != 0)
		return -1;
	payload[plen] = '\0';
	if (memchr(payload, '\0', plen) != NULL)
		return -1;
	/* signed by us, so it has our shape; still parse it strictly */
	p = (const char *)payload;
	if (*p++ != '{' ||
	    (p = cat_json_str(p, "perk", perk_public_id, LIM_PUBLIC_ID_MAX)) ==
	    NULL || strncmp(p, ",\"exp\":", 7) != 0)
		return -1;
	for (p += 7; *p >= '0' && *p <= '9' && n < 12; p++, n++)
		e = e * 10 + (*p - '0');
	if (n == 0 || *p++ != ',' ||
	    (p = cat_json_str(p, "nonce", nonce64, sizeof(nonce64))) == NULL ||
	    *p++ != ',' || (p = cat_json_str(p, "kid", kid, sizeof(kid))) ==
	    NULL || strcmp(p, "}") != 0)
		return -1;
	cat_pass_kid(ctx, ours);
	if (strcmp(kid, ours) != 0 ||
	    cat_unb64(nonce, 16, nonce64, strlen(nonce64), &n) != 0 || n != 16)
		return -1;
	*exp = (time_t)e;
	return 0;
}

/*
 * The verified-pass cache. The Ed25519 check is nearly all of a pass
 * check's own CPU (about 640,000 of its 750,000 instructions, ~70 us
 * here), and a pass shown at a counter is often checked more than once.
 * A pass that verified is remembered by a digest of the public key and
 * the text (BLAKE2b-256: the pass is no secret from whoever reads this
 * memory, and the digest gives nothing back), with what the check read
 * from it; the same text under the same key always verifies to the same
 * thing, so a hit answers exactly as the check would. Its expiry is the
 * caller's to compare, as before. Direct-mapped, one lock (held for a
 * copy of ~100 bytes). Failures are not cached. Hits and misses are
 * counted for /metrics (a miss is a full check, whether it held or not).
 */
struct cat_passslot {
	int		 used;
	unsigned char	 digest[32];
	char		 perk[LIM_PUBLIC_ID_MAX];
	time_t		 exp;
	unsigned char	 nonce[16];
};

static struct cat_passslot cat_passcache[LIM_PASS_CACHE_SLOTS];
static pthread_mutex_t	 cat_passcache_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_ullong	 cat_passcache_hits, cat_passcache_misses;

void
cat_pass_cache_counts(unsigned long long *hits, unsigned long long *misses)
{
	*hits = atomic_load(&cat_passcache_hits);
	*misses = atomic_load(&cat_passcache_misses);
}

int
cat_pass_verify(const struct ly_ctx *ctx, const char *text,
    char perk_public_id[LIM_PUBLIC_ID_MAX], time_t *exp,
    unsigned char nonce[16])
{
	crypto_generichash_state hs;
	unsigned char d[32];
	struct cat_passslot *s;
	pthread_mutex_t *mu = &cat_passcache_mu;
	size_t len;
	int hit = 0;

	if (text == NULL || (len = strlen(text)) > LIM_PASS_TEXT_MAX)
		return -1;
	crypto_generichash_init(&hs, NULL, 0, sizeof(d));
	crypto_generichash_update(&hs, ctx->pass_pk, sizeof(ctx->pass_pk));
	crypto_generichash_update(&hs, (const unsigned char *)text, len);
	crypto_generichash_final(&hs, d, sizeof(d));
	s = &cat_passcache[((size_t)d[0] | (size_t)d[1] << 8) %
	    LIM_PASS_CACHE_SLOTS];
	pthread_mutex_lock(mu);
	if (s->used && sodium_memcmp(s->digest, d, sizeof(d)) == 0) {
		memcpy(perk_public_id, s->perk, strlen(s->perk) + 1);
		*exp = s->exp;
		memcpy(nonce, s->nonce, 16);
		hit = 1;
	}
	pthread_mutex_unlock(mu);
	atomic_fetch_add(hit ? &cat_passcache_hits : &cat_passcache_misses, 1);
	if (hit)
		return 0;
	if (cat_pass_verify_text(ctx, text, perk_public_id, exp, nonce) != 0)
		return -1;
	pthread_mutex_lock(mu);
	s->used = 1;
	memcpy(s->digest, d, sizeof(d));
	memcpy(s->perk, perk_public_id, strlen(perk_public_id) + 1);
	s->exp = *exp;
	memcpy(s->nonce, nonce, 16);
	pthread_mutex_unlock(mu);
	return 0;
}

enum ly_res
cat_pass_issue(struct db *db, const struct ly_ctx *ctx, uint64_t member_id,
    const char *perk_public_id, char *pass, size_t passsz,
    char expires_at[32])
{
	struct cat_perk_state perk;
	unsigned char nonce[16];
	enum ly_res res;
	enum db_res r;
	char now[32];
	time_t exp;

	if ((res = cat_perk_state_get(db, perk_public_id, 0, &perk)) != LY_OK)
		return res;
	if (perk.kind != CAT_STATUS)
		return LY_WRONG_PERK_KIND;
	if (!perk.usable)
		return LY_PERK_NOT_ACTIVE;
	if ((res = cat_member_tier_check(db, member_id, perk.min_tier)) !=
	    LY_OK)
		return res;
	randombytes_buf(nonce, sizeof(nonce));
	exp = time(NULL) + LIM_PASS_TTL_S;
	ly_now(now);
	cat_time_sql(exp, expires_at);
	struct db_val ins[] = { db_blob(nonce, sizeof(nonce)),
	    db_int((long long)member_id), db_int((long long)perk.id),
	    db_text(now), db_text(expires_at) };
	if ((r = db_exec(db, cat_pass_stmts[PASS_INSERT], ins, 5)) != DB_OK)
		return ly_from_db(r);
	cat_pass_sign(ctx, perk_public_id, exp, nonce, pass, passsz);
	return pass[0] != '\0' ? LY_OK : LY_INTERNAL;
}

enum ly_res
cat_pass_check(struct db *db, const struct ly_ctx *ctx, uint64_t org_id,
    const char *text, const char *perk_public_id, int *entitled,
    time_t *exp)
{
	char perk_in_pass[LIM_PUBLIC_ID_MAX];
	unsigned char nonce[16];
	struct db_row *row;
	enum db_res r;
	int signed_ok, ours;

	*entitled = 0;
	*exp = 0;
	/* the signature first (no database), then everything else at once */
	signed_ok = cat_pass_verify(ctx, text, perk_in_pass, exp, nonce) == 0;
	ours = signed_ok && strcmp(perk_in_pass, perk_public_id) == 0;
	struct db_val q[] = { ours ? db_blob(nonce, sizeof(nonce)) : db_null(),
	    db_text(perk_public_id) };
	r = db_one(db, cat_pass_stmts[PASS_CHECK], q, 2, &row);
	if (r == DB_NOTFOUND)
		return LY_PERK_NOT_FOUND;
	if (r != DB_ROW)
		return ly_from_db(r);
	if ((uint64_t)row->col[0].i != org_id)
		return LY_PERK_NOT_FOUND;	/* another partner's perk */
	if (!ours || row->col[2].null)
		return LY_OK;	/* not this perk's pass; swept; holder left */
	/* the check touched this member's pass: log it, entitled or not */
	*entitled = row->col[1].i != 0 && *exp > time(NULL);
	return ly_access_note(db, (uint64_t)row->col[2].i, org_id,
	    "pass_check");
}
