/*
 * auth.c: who is calling. Organisations present an API key
 * ("Bearer pk_..."), checked against its stored SHA-256 in constant time;
 * residents present an HS256 JWT from the city's identity provider,
 * verified with libsodium's HMAC-SHA256. Only HS256 is accepted: "none"
 * and every other alg are refused, exp and sub are required. The subject
 * is turned into its keyed hash at once and never kept or logged raw.
 *
 * Verified API keys are cached in the process for LIM_KEY_CACHE_TTL_S,
 * keyed by the SHA-256 of the whole key (what the database stores), so
 * that an organisation's call does not pay a database round trip for its
 * key every time. Only successes are cached. Revoking a key through this
 * process clears the cache after the revocation commits (h_orgs.c); a
 * lookup that was already under way then does not store its answer (the
 * generation check below). Other processes see a revocation within the
 * TTL, when their entry expires and the key is looked up again.
 */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fcgi/ht.h"

/* base64url (no padding) decode into a malloc'd NUL-terminated buffer */
static unsigned char *
ht_b64url_dec(const char *s, size_t len, size_t *outlen)
{
	unsigned char *out;
	size_t max = len / 4 * 3 + 3;

	if ((out = malloc(max + 1)) == NULL)
		return NULL;
	if (sodium_base642bin(out, max, s, len, NULL, outlen, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
		free(out);
		return NULL;
	}
	out[*outlen] = '\0';
	return out;
}

static void
ht_hs256(const unsigned char *key, size_t keylen, const char *msg, size_t len,
    unsigned char mac[32])
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, keylen);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, len);
	crypto_auth_hmacsha256_final(&st, mac);
}

int
ht_jwt_verify(const char *tok, const unsigned char *secret, size_t secretlen,
    time_t now, char *sub, size_t subsz)
{
	const char *d1, *d2;
	unsigned char *hdr = NULL, *pay = NULL, *sig = NULL, mac[32];
	size_t hl, pl, sl, toklen = strlen(tok);
	cJSON *h = NULL, *p = NULL;
	const cJSON *alg, *exp, *nbf, *s;
	int rc = -1;

	if (toklen > LIM_JWT_MAX || secretlen == 0)
		goto out;
	if ((d1 = strchr(tok, '.')) == NULL || (d2 = strchr(d1 + 1, '.')) == NULL ||
	    strchr(d2 + 1, '.') != NULL)
		goto out;
	if ((hdr = ht_b64url_dec(tok, (size_t)(d1 - tok), &hl)) == NULL ||
	    (pay = ht_b64url_dec(d1 + 1, (size_t)(d2 - d1 - 1), &pl)) == NULL ||
	    (sig = ht_b64url_dec(d2 + 1, strlen(d2 + 1), &sl)) == NULL)
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
	rc = 0;
out:
	cJSON_Delete(h);
	cJSON_Delete(p);
	free(hdr);
	free(pay);
	free(sig);
	return rc;
}

char *
ht_jwt_mint(const unsigned char *secret, size_t secretlen, const char *sub,
    time_t iat, time_t exp)
{
	static const char hdr[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	cJSON *p = cJSON_CreateObject();
	char *pay = NULL, *out = NULL;
	size_t hb, pb, n;
	unsigned char mac[32];

	cJSON_AddStringToObject(p, "sub", sub);
	cJSON_AddNumberToObject(p, "iat", (double)iat);
	cJSON_AddNumberToObject(p, "exp", (double)exp);
	if ((pay = cJSON_PrintUnformatted(p)) == NULL)
		goto out;
	hb = sodium_base64_ENCODED_LEN(sizeof(hdr) - 1,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	pb = sodium_base64_ENCODED_LEN(strlen(pay),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	n = hb + pb + sodium_base64_ENCODED_LEN(32,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) + 4;
	if ((out = malloc(n)) == NULL)
		goto out;
	sodium_bin2base64(out, hb, (const unsigned char *)hdr, sizeof(hdr) - 1,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	strcat(out, ".");
	sodium_bin2base64(out + strlen(out), pb, (const unsigned char *)pay,
	    strlen(pay), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	ht_hs256(secret, secretlen, out, strlen(out), mac);
	strcat(out, ".");
	sodium_bin2base64(out + strlen(out), n - strlen(out), mac, sizeof(mac),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
out:
	cJSON_Delete(p);
	free(pay);
	return out;
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

static time_t
ht_mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* Verifies an API key, from the cache when it was verified recently. */
static enum ly_res
ht_key_verify(struct ht_req *r, const char *tok)
{
	unsigned char hash[crypto_hash_sha256_BYTES];
	unsigned long gen;
	time_t now = ht_mono_s();
	enum ly_res res;

	crypto_hash_sha256(hash, (const unsigned char *)tok, strlen(tok));
	if (ht_keycache_get(hash, now, &r->org, &gen))
		return LY_OK;
	if ((res = ly_key_check(r->db, tok, &r->org)) == LY_OK)
		ht_keycache_put(hash, &r->org, now, gen);
	return res;
}

int
ht_auth(struct ht_req *r, unsigned roles)
{
	const char *h = ht_param(r, "HTTP_AUTHORIZATION");
	char sub[LIM_SUBJECT_MAX + 1];
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
		if (ht_jwt_verify(tok, r->w->cfg->jwt_secret,
		    r->w->cfg->jwt_secret_len, time(NULL), sub,
		    sizeof(sub)) != 0) {
			ht_header(r, "WWW-Authenticate",
			    "Bearer error=\"invalid_token\"");
			ht_reply_problem(r, HT_P_UNAUTHORIZED,
			    "invalid or expired token");
			return -1;
		}
		r->caller = HT_CALLER_RESIDENT;
		ly_subject_hash(r->ctx, sub, r->subject_hash);
		sodium_memzero(sub, sizeof(sub));
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
