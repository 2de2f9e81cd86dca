/*
 * auth.c: who is calling. Organisations present an API key
 * ("Bearer pk_..."), checked against its stored SHA-256 in constant time;
 * residents present an HS256 JWT from the city's identity provider,
 * verified with libsodium's HMAC-SHA256. Only HS256 is accepted: "none"
 * and every other alg are refused, exp and sub are required. The subject
 * is turned into its keyed hash at once and never kept or logged raw.
 */
#include "config.h"

#include <math.h>
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
		res = ly_key_check(r->db, tok, &r->org);
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
