/*
 * auth.c: who is calling. Organisations present an API key
 * ("Bearer pk_..."), checked against its stored SHA-256 in constant time;
 * residents present an HS256 JWT from the city's identity provider,
 * verified with libsodium's HMAC-SHA256. Only HS256 is accepted: "none"
 * and every other alg are refused, exp and sub are required. The subject
 * is turned into its keyed hash at once and never kept or logged raw.
 *
 * Verified API keys are cached in the process for LIM_KEY_CACHE_TTL_S,
 * keyed by a keyed digest of the whole key (ht_cred_digest), so
 * that an organisation's call does not pay a database round trip for its
 * key every time. Only successes are cached. Revoking a key through this
 * process clears the cache after the revocation commits (h_orgs.c); a
 * lookup that was already under way then does not store its answer (the
 * generation check below). Other processes see a revocation within the
 * TTL, when their entry expires and the key is looked up again.
 *
 * Residents' tokens that verified are cached too, by a keyed digest, with
 * the subject's hash (see "the verified-token cache" below): a resident's
 * next call with the same token skips the JWT check.
 */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fcgi/ht.h"

/* base64url (no padding) decode of s[0..len) into out (outsz bytes, one
 * more than the longest result kept for the NUL): 0, or -1. */
static int
ht_b64url_dec(const char *s, size_t len, unsigned char *out, size_t outsz,
    size_t *outlen)
{
	if (outsz == 0 || sodium_base642bin(out, outsz - 1, s, len, NULL,
	    outlen, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return -1;
	out[*outlen] = '\0';
	return 0;
}

/*
 * HMAC-SHA256 keyed with the JWT secret. HMAC's key setup hashes the key
 * into two SHA-256 states (two compressions of the ~seven a token's MAC
 * takes); each thread keeps the state of the last key it saw and starts
 * from a copy of it. The key is compared in full, so another secret (the
 * unit tests use several) just sets the state up again.
 */
#define HT_HMAC_KEY_MAX	256	/* as ly_config's jwt_secret; longer keys work, uncached */

struct ht_hmac_key {
	int				 set;
	size_t				 len;
	unsigned char			 key[HT_HMAC_KEY_MAX];
	crypto_auth_hmacsha256_state	 st;
};
static _Thread_local struct ht_hmac_key ht_hmac_key;

static void
ht_hs256(const unsigned char *key, size_t keylen, const char *msg, size_t len,
    unsigned char mac[32])
{
	struct ht_hmac_key *k = &ht_hmac_key;
	crypto_auth_hmacsha256_state st;

	if (keylen > sizeof(k->key)) {
		crypto_auth_hmacsha256_init(&st, key, keylen);
	} else {
		if (!k->set || k->len != keylen ||
		    memcmp(k->key, key, keylen) != 0) {
			crypto_auth_hmacsha256_init(&k->st, key, keylen);
			memcpy(k->key, key, keylen);
			k->len = keylen;
			k->set = 1;
		}
		st = k->st;
	}
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof(st));
}

/* ht_jwt_verify, also handing back the token's exp and nbf (-INFINITY if
 * it has none), which the verified-token cache re-checks on every hit. */
static int
ht_jwt_check(const char *tok, const unsigned char *secret, size_t secretlen,
    time_t now, char *sub, size_t subsz, double *expv, double *nbfv)
{
	/* the three parts decoded, each NUL-terminated: a token is at most
	 * LIM_JWT_MAX characters, so its parts decode to less than that */
	unsigned char buf[LIM_JWT_MAX], mac[32];
	unsigned char *hdr = buf, *pay, *sig;
	const char *d1, *d2;
	size_t hl, pl, sl, toklen = strlen(tok);
	cJSON *h = NULL, *p = NULL;
	const cJSON *alg, *exp, *nbf, *s;
	int rc = -1;

	if (toklen > LIM_JWT_MAX || secretlen == 0)
		goto out;
	if ((d1 = strchr(tok, '.')) == NULL || (d2 = strchr(d1 + 1, '.')) == NULL ||
	    strchr(d2 + 1, '.') != NULL)
		goto out;
	if (ht_b64url_dec(tok, (size_t)(d1 - tok), hdr, sizeof(buf), &hl) != 0)
		goto out;
	pay = hdr + hl + 1;
	if (ht_b64url_dec(d1 + 1, (size_t)(d2 - d1 - 1), pay,
	    sizeof(buf) - (size_t)(pay - buf), &pl) != 0)
		goto out;
	sig = pay + pl + 1;
	if (ht_b64url_dec(d2 + 1, toklen - (size_t)(d2 + 1 - tok), sig,
	    sizeof(buf) - (size_t)(sig - buf), &sl) != 0)
		goto out;
	if ((h = cJSON_ParseWithLength((const char *)hdr, hl)) == NULL ||
	    (p = cJSON_ParseWithLength((const char *)pay, pl)) == NULL)
		goto out;
	alg = cJSON_GetObjectItemCaseSensitive(h, "alg");
	if (!cJSON_IsString(alg) || strcmp(alg->valuestring, "HS256") != 0)
		goto out;
	if (cJSON_GetObjectItemCaseSensitive(h, "crit") != NULL)
		goto out;	/* no extensions understood */
	/* signature before claims: nothing unauthenticated is trusted */
	if (sl != sizeof(mac))
		goto out;
	ht_hs256(secret, secretlen, tok, (size_t)(d2 - tok), mac);
	if (sodium_memcmp(mac, sig, sizeof(mac)) != 0)
		goto out;
	exp = cJSON_GetObjectItemCaseSensitive(p, "exp");
	if (!cJSON_IsNumber(exp) || !isfinite(exp->valuedouble) ||
	    exp->valuedouble + LIM_JWT_SKEW_S < (double)now)
		goto out;
	nbf = cJSON_GetObjectItemCaseSensitive(p, "nbf");
	if (nbf != NULL && (!cJSON_IsNumber(nbf) ||
	    nbf->valuedouble - LIM_JWT_SKEW_S > (double)now))
		goto out;
	s = cJSON_GetObjectItemCaseSensitive(p, "sub");
	if (!cJSON_IsString(s) || s->valuestring[0] == '\0' ||
	    strlen(s->valuestring) > LIM_SUBJECT_MAX ||
	    strlen(s->valuestring) >= subsz)
		goto out;
	memcpy(sub, s->valuestring, strlen(s->valuestring) + 1);
	*expv = exp->valuedouble;
	*nbfv = nbf != NULL ? nbf->valuedouble : -INFINITY;
	rc = 0;
out:
	cJSON_Delete(h);
	cJSON_Delete(p);
	sodium_memzero(buf, sizeof(buf));	/* the raw subject */
	return rc;
}

int
ht_jwt_verify(const char *tok, const unsigned char *secret, size_t secretlen,
    time_t now, char *sub, size_t subsz)
{
	double exp, nbf;

	return ht_jwt_check(tok, secret, secretlen, now, sub, subsz, &exp,
	    &nbf);
}

/* ---- the API-key cache ---- */

struct ht_keyslot {
	int		 used;
	unsigned char	 hash[32];
	struct ly_org	 org;
	time_t		 at;		/* CLOCK_MONOTONIC seconds when verified */
};

static struct ht_keyslot ht_keycache[LIM_KEY_CACHE_SLOTS];
static unsigned long	 ht_keycache_gen;	/* bumped by every clear */
static pthread_mutex_t	 ht_keycache_mu = PTHREAD_MUTEX_INITIALIZER;

static struct ht_keyslot *
ht_keycache_slot(const unsigned char hash[32])
{
	return &ht_keycache[((unsigned)hash[0] | (unsigned)hash[1] << 8) %
	    LIM_KEY_CACHE_SLOTS];
}

int
ht_keycache_get(const unsigned char hash[32], time_t now, struct ly_org *org,
    unsigned long *gen)
{
	struct ht_keyslot *s = ht_keycache_slot(hash);
	int hit = 0;

	pthread_mutex_lock(&ht_keycache_mu);
	*gen = ht_keycache_gen;
	if (s->used && sodium_memcmp(s->hash, hash, 32) == 0 &&
	    now >= s->at && now - s->at < LIM_KEY_CACHE_TTL_S) {
		*org = s->org;
		hit = 1;
	}
	pthread_mutex_unlock(&ht_keycache_mu);
	return hit;
}

void
ht_keycache_put(const unsigned char hash[32], const struct ly_org *org,
    time_t now, unsigned long gen)
{
	struct ht_keyslot *s = ht_keycache_slot(hash);

	pthread_mutex_lock(&ht_keycache_mu);
	if (gen == ht_keycache_gen) {	/* no revocation since the lookup */
		s->used = 1;
		memcpy(s->hash, hash, 32);
		s->org = *org;
		s->at = now;
	}
	pthread_mutex_unlock(&ht_keycache_mu);
}

void
ht_keycache_clear(void)
{
	pthread_mutex_lock(&ht_keycache_mu);
	ht_keycache_gen++;
	sodium_memzero(ht_keycache, sizeof(ht_keycache));
	pthread_mutex_unlock(&ht_keycache_mu);
}

/* ---- the verified-token cache ---- */

/*
 * A resident's app calls several times with one token, and a token's
 * check (base64, two JSON parses, HMAC-SHA256, then the subject's keyed
 * hash) is most of perkd's own work for a read. A token that verified is
 * remembered by its digest: BLAKE2b keyed with a random per-process key,
 * so neither the token nor the raw subject is kept. A hit gives the
 * subject hash; exp and nbf are checked again against the clock on every
 * hit, exactly as the full check does, so a remembered token expires on
 * time. Nothing else can make a verified token invalid (HS256 with the
 * configured secret; no revocation list), so no TTL is needed. Failures
 * are not cached. Two slots per digest, the one used less recently goes
 * first; a lock per stripe of slots keeps the threads apart.
 */
struct ht_tokslot {
	int		 used;		/* 0 free, 1 in use, 2 used last of its pair */
	unsigned char	 digest[HT_TOKDIGEST_LEN];
	unsigned char	 subject_hash[32];
	double		 exp, nbf;
};

#define HT_TOK_STRIPES	64

static struct ht_tokslot ht_tokcache[LIM_TOKEN_CACHE_SLOTS];
static pthread_mutex_t	 ht_tokcache_mu[HT_TOK_STRIPES];
static unsigned char	 ht_tokcache_key[crypto_generichash_KEYBYTES];
static pthread_once_t	 ht_tokcache_once = PTHREAD_ONCE_INIT;

static void
ht_tokcache_init(void)
{
	size_t i;

	for (i = 0; i < HT_TOK_STRIPES; i++)
		pthread_mutex_init(&ht_tokcache_mu[i], NULL);
	randombytes_buf(ht_tokcache_key, sizeof(ht_tokcache_key));
}

void
ht_cred_digest(const char *tok, size_t len,
    unsigned char out[HT_TOKDIGEST_LEN])
{
	pthread_once(&ht_tokcache_once, ht_tokcache_init);
	crypto_generichash(out, HT_TOKDIGEST_LEN, (const unsigned char *)tok,
	    len, ht_tokcache_key, sizeof(ht_tokcache_key));
}

/* The first of the two slots a digest may live in (2-way: with one slot
 * a token, of 400 in 4,096 slots, met another in about 1 case in 10). */
static size_t
ht_tokcache_index(const unsigned char d[HT_TOKDIGEST_LEN])
{
	return (((size_t)d[0] | (size_t)d[1] << 8 | (size_t)d[2] << 16) %
	    LIM_TOKEN_CACHE_SLOTS) & ~(size_t)1;
}

int
ht_tokcache_get(const unsigned char d[HT_TOKDIGEST_LEN], time_t now,
    unsigned char subject_hash[32])
{
	size_t i = ht_tokcache_index(d), k;
	struct ht_tokslot *s;
	pthread_mutex_t *mu = &ht_tokcache_mu[i / 2 % HT_TOK_STRIPES];
	int hit = 0;

	pthread_once(&ht_tokcache_once, ht_tokcache_init);
	pthread_mutex_lock(mu);
	for (k = 0; k < 2 && !hit; k++) {
		s = &ht_tokcache[i + k];
		/* the same checks as ht_jwt_check's, on the same values */
		if (s->used && sodium_memcmp(s->digest, d,
		    HT_TOKDIGEST_LEN) == 0 &&
		    !(s->exp + LIM_JWT_SKEW_S < (double)now) &&
		    !(s->nbf - LIM_JWT_SKEW_S > (double)now)) {
			memcpy(subject_hash, s->subject_hash, 32);
			s->used = 2;	/* recently used: the other goes first */
			ht_tokcache[i + (k ^ 1)].used =
			    ht_tokcache[i + (k ^ 1)].used != 0;
			hit = 1;
		}
	}
	pthread_mutex_unlock(mu);
	return hit;
}

void
ht_tokcache_put(const unsigned char d[HT_TOKDIGEST_LEN], double exp,
    double nbf, const unsigned char subject_hash[32])
{
	size_t i = ht_tokcache_index(d);
	struct ht_tokslot *s;
	pthread_mutex_t *mu = &ht_tokcache_mu[i / 2 % HT_TOK_STRIPES];

	pthread_once(&ht_tokcache_once, ht_tokcache_init);
	pthread_mutex_lock(mu);
	/* a free slot, else the one not used last */
	s = &ht_tokcache[i + (ht_tokcache[i].used != 0 &&
	    (ht_tokcache[i + 1].used == 0 || ht_tokcache[i].used == 2))];
	s->used = 2;
	ht_tokcache[i + (s == &ht_tokcache[i])].used =
	    ht_tokcache[i + (s == &ht_tokcache[i])].used != 0;
	memcpy(s->digest, d, HT_TOKDIGEST_LEN);
	memcpy(s->subject_hash, subject_hash, 32);
	s->exp = exp;
	s->nbf = nbf;
	pthread_mutex_unlock(mu);
}

/* A resident's token: 0 and r->subject_hash set, or -1. */
static int
ht_resident_verify(struct ht_req *r, const char *tok)
{
	unsigned char d[HT_TOKDIGEST_LEN];
	char sub[LIM_SUBJECT_MAX + 1];
	size_t len = strlen(tok);
	time_t now = time(NULL);
	double exp, nbf;

	if (len > LIM_JWT_MAX)
		return -1;
	ht_cred_digest(tok, len, d);
	if (ht_tokcache_get(d, now, r->subject_hash))
		return 0;
	if (ht_jwt_check(tok, r->w->cfg->jwt_secret, r->w->cfg->jwt_secret_len,
	    now, sub, sizeof(sub), &exp, &nbf) != 0)
		return -1;
	ly_subject_hash(r->ctx, sub, r->subject_hash);
	sodium_memzero(sub, sizeof(sub));
	ht_tokcache_put(d, exp, nbf, r->subject_hash);
	return 0;
}

/* Verifies an API key, from the cache when it was verified recently. */
static enum ly_res
ht_key_verify(struct ht_req *r, const char *tok)
{
	unsigned char hash[HT_TOKDIGEST_LEN];
	unsigned long gen;
	time_t now = ly_mono_s();
	enum ly_res res;

	/* the keyed BLAKE2b digest: a third of SHA-256's cost here; the
	 * database lookup on a miss hashes the key its own way */
	ht_cred_digest(tok, strlen(tok), hash);
	if (ht_keycache_get(hash, now, &r->org, &gen))
		return LY_OK;
	if ((res = ly_key_check(r->db, tok, &r->org)) == LY_OK)
		ht_keycache_put(hash, &r->org, now, gen);
	return res;
}

int
ht_auth(struct ht_req *r, unsigned roles)
{
	const char *h = r->in_authz;	/* read by ht_req_read */
	const char *tok;
	enum ly_res res;
	unsigned have;

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0 || h[7] == '\0') {
		ht_header(r, "WWW-Authenticate", "Bearer");
		ht_reply_problem(r, HT_P_UNAUTHORIZED,
		    "send Authorization: Bearer <token or key>");
		return -1;
	}
	tok = h + 7;
	if (strncmp(tok, "pk_", 3) == 0) {
		res = ht_key_verify(r, tok);
		if (res == LY_UNAVAIL || res == LY_INTERNAL || res == LY_RETRY) {
			ht_reply_result(r, res, NULL);
			return -1;
		}
		if (res != LY_OK) {
			ht_header(r, "WWW-Authenticate",
			    "Bearer error=\"invalid_token\"");
			ht_reply_problem(r, HT_P_UNAUTHORIZED,
			    "unknown or revoked API key");
			return -1;
		}
		r->caller = HT_CALLER_ORG;
		have = (unsigned)r->org.roles << 1;	/* ly_role -> ht_role */
	} else {
		if (ht_resident_verify(r, tok) != 0) {
			ht_header(r, "WWW-Authenticate",
			    "Bearer error=\"invalid_token\"");
			ht_reply_problem(r, HT_P_UNAUTHORIZED,
			    "invalid or expired token");
			return -1;
		}
		r->caller = HT_CALLER_RESIDENT;
		have = HT_RESIDENT;
	}
	if ((have & roles) == 0) {
		ht_reply_problem(r, HT_P_FORBIDDEN,
		    "this credential may not call this endpoint");
		return -1;
	}
	return 0;
}

void
ht_caller_id(const struct ht_req *r, char *out, size_t outsz)
{
	char hex[65];

	if (r->caller == HT_CALLER_ORG)
		snprintf(out, outsz, "o:%llu", (unsigned long long)r->org.id);
	else if (r->caller == HT_CALLER_RESIDENT) {
		sodium_bin2hex(hex, sizeof(hex), r->subject_hash, 32);
		snprintf(out, outsz, "r:%s", hex);
	} else
		snprintf(out, outsz, "anon");
}
