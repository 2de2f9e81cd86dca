/*
 * test_auth.c: resident JWT verification (fcgi/auth.c): only HS256 with
 * the right secret, a future exp and a bounded sub gets through.
 */
#include "config.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "fcgi/ht.h"
#include "cli/perkctl.h"	/* pc_jwt_mint: the tokens under test */

static const unsigned char secret[] = "0123456789abcdef0123456789abcdef";
#define SL (sizeof(secret) - 1)

static char *
b64(const char *s)
{
	size_t n = sodium_base64_ENCODED_LEN(strlen(s),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *out = malloc(n);

	sodium_bin2base64(out, n, (const unsigned char *)s, strlen(s),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return out;
}

/* header.payload.<signature with secret> (sig "" for unsigned) */
static char *
forge(const char *hdr, const char *pay, int sign)
{
	char *h = b64(hdr), *p = b64(pay), *out = malloc(2048);
	unsigned char mac[32];
	crypto_auth_hmacsha256_state st;

	snprintf(out, 2048, "%s.%s", h, p);
	if (sign) {
		crypto_auth_hmacsha256_init(&st, secret, SL);
		crypto_auth_hmacsha256_update(&st, (unsigned char *)out,
		    strlen(out));
		crypto_auth_hmacsha256_final(&st, mac);
		strcat(out, ".");
		sodium_bin2base64(out + strlen(out), 64, mac, 32,
		    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	} else
		strcat(out, ".");
	free(h);
	free(p);
	return out;
}

static void
jwt__minted_token__verifies_with_subject(void **state)
{
	char sub[LIM_SUBJECT_MAX + 1];
	time_t now = time(NULL);
	char *tok = pc_jwt_mint(secret, SL, "resident-42", now, now + 60);

	(void)state;
	assert_non_null(tok);
	assert_int_equal(ht_jwt_verify(tok, secret, SL, now, sub, sizeof(sub)), 0);
	assert_string_equal(sub, "resident-42");
	free(tok);
}

static void
jwt__wrong_secret__refused(void **state)
{
	char sub[LIM_SUBJECT_MAX + 1];
	time_t now = time(NULL);
	char *tok = pc_jwt_mint((const unsigned char *)"another-secret-another-secret!!", 31,
	    "r", now, now + 60);

	(void)state;
	assert_int_equal(ht_jwt_verify(tok, secret, SL, now, sub, sizeof(sub)), -1);
	free(tok);
}

static void
jwt__expired_beyond_skew__refused(void **state)
{
	char sub[LIM_SUBJECT_MAX + 1];
	time_t now = time(NULL);
	char *tok = pc_jwt_mint(secret, SL, "r", now - 3600, now - LIM_JWT_SKEW_S - 1);

	(void)state;
	assert_int_equal(ht_jwt_verify(tok, secret, SL, now, sub, sizeof(sub)), -1);
	free(tok);
}

static void
jwt__alg_none_and_other_algs__refused(void **state)
{
	char sub[LIM_SUBJECT_MAX + 1], pay[128], *tok;
	time_t now = time(NULL);

	(void)state;
	snprintf(pay, sizeof(pay), "{\"sub\":\"r\",\"exp\":%ld}", (long)now + 60);
	tok = forge("{\"alg\":\"none\"}", pay, 0);
	assert_int_equal(ht_jwt_verify(tok, secret, SL, now, sub, sizeof(sub)), -1);
	free(tok);
	tok = forge("{\"alg\":\"none\"}", pay, 1);
	assert_int_equal(ht_jwt_verify(tok, secret, SL, now, sub, sizeof(sub)), -1);
	free(tok);
	tok = forge("{\"alg\":\"HS512\"}", pay, 1);
	assert_int_equal(ht_jwt_verify(tok, secret, SL, now, sub, sizeof(sub)), -1);
	free(tok);
	tok = forge("{\"alg\":\"HS256\"}", pay, 1);	/* control: accepted */
	assert_int_equal(ht_jwt_verify(tok, secret, SL, now, sub, sizeof(sub)), 0);
	free(tok);
}

static void
jwt__missing_exp_or_sub__refused(void **state)
{
	char sub[LIM_SUBJECT_MAX + 1], pay[256], *tok;
	time_t now = time(NULL);

	(void)state;
	tok = forge("{\"alg\":\"HS256\"}", "{\"sub\":\"r\"}", 1);
	assert_int_equal(ht_jwt_verify(tok, secret, SL, now, sub, sizeof(sub)), -1);
	free(tok);
	snprintf(pay, sizeof(pay), "{\"exp\":%ld}", (long)now + 60);
	tok = forge("{\"alg\":\"HS256\"}", pay, 1);
	assert_int_equal(ht_jwt_verify(tok, secret, SL, now, sub, sizeof(sub)), -1);
	free(tok);
	snprintf(pay, sizeof(pay), "{\"sub\":\"\",\"exp\":%ld}", (long)now + 60);
	tok = forge("{\"alg\":\"HS256\"}", pay, 1);
	assert_int_equal(ht_jwt_verify(tok, secret, SL, now, sub, sizeof(sub)), -1);
	free(tok);
}

static void
jwt__subject_over_128_chars__refused(void **state)
{
	char sub[LIM_SUBJECT_MAX + 1], long_sub[LIM_SUBJECT_MAX + 2];
	time_t now = time(NULL);
	char *tok;

	(void)state;
	memset(long_sub, 'a', sizeof(long_sub) - 1);
	long_sub[sizeof(long_sub) - 1] = '\0';
	tok = pc_jwt_mint(secret, SL, long_sub, now, now + 60);
	assert_int_equal(ht_jwt_verify(tok, secret, SL, now, sub, sizeof(sub)), -1);
	free(tok);
	long_sub[LIM_SUBJECT_MAX] = '\0';	/* exactly 128: accepted */
	tok = pc_jwt_mint(secret, SL, long_sub, now, now + 60);
	assert_int_equal(ht_jwt_verify(tok, secret, SL, now, sub, sizeof(sub)), 0);
	free(tok);
}

static void
jwt__tampered_payload_or_garbage__refused(void **state)
{
	char sub[LIM_SUBJECT_MAX + 1];
	time_t now = time(NULL);
	char *tok = pc_jwt_mint(secret, SL, "alice", now, now + 60), *dot;

	(void)state;
	dot = strchr(tok, '.');
	dot[3] ^= 1;	/* flip a bit of the payload */
	assert_int_equal(ht_jwt_verify(tok, secret, SL, now, sub, sizeof(sub)), -1);
	free(tok);
	assert_int_equal(ht_jwt_verify("", secret, SL, now, sub, sizeof(sub)), -1);
	assert_int_equal(ht_jwt_verify("a.b", secret, SL, now, sub, sizeof(sub)), -1);
	assert_int_equal(ht_jwt_verify("a.b.c.d", secret, SL, now, sub, sizeof(sub)), -1);
	assert_int_equal(ht_jwt_verify("!!.??.**", secret, SL, now, sub, sizeof(sub)), -1);
}

/* the per-thread HMAC key state follows the key it is given */
static void
jwt__secret_changes_between_calls__each_checked_with_its_own(void **state)
{
	static const unsigned char other[] = "fedcba9876543210fedcba9876543210";
	char *tok = forge("{\"alg\":\"HS256\"}",
	    "{\"sub\":\"r1\",\"exp\":2000000000}", 1);
	char sub[LIM_SUBJECT_MAX + 1];
	time_t now = 1900000000;

	(void)state;
	assert_int_equal(ht_jwt_verify(tok, secret, SL, now, sub, sizeof(sub)), 0);
	assert_int_equal(ht_jwt_verify(tok, other, sizeof(other) - 1, now, sub,
	    sizeof(sub)), -1);
	assert_int_equal(ht_jwt_verify(tok, secret, SL - 1, now, sub,
	    sizeof(sub)), -1);
	assert_int_equal(ht_jwt_verify(tok, secret, SL, now, sub, sizeof(sub)), 0);
	assert_string_equal(sub, "r1");
	free(tok);
}

static void
tokcache__digest__same_token_same_digest_another_differs(void **state)
{
	unsigned char a[HT_TOKDIGEST_LEN], b[HT_TOKDIGEST_LEN];
	unsigned char c[HT_TOKDIGEST_LEN];

	(void)state;
	ht_cred_digest("x.y.z", 5, a);
	ht_cred_digest("x.y.z", 5, b);
	ht_cred_digest("x.y.Z", 5, c);
	assert_memory_equal(a, b, sizeof(a));
	assert_memory_not_equal(a, c, sizeof(a));
}

static void
tokcache__verified_token__hit_until_exp_plus_skew(void **state)
{
	unsigned char d[HT_TOKDIGEST_LEN], h[32], out[32];

	(void)state;
	ht_cred_digest("hit.until.exp", 13, d);
	memset(h, 0xab, sizeof(h));
	memset(out, 0, sizeof(out));
	assert_int_equal(ht_tokcache_get(d, 1000, out), 0);
	ht_tokcache_put(d, 2000.0, -INFINITY, h);
	assert_int_equal(ht_tokcache_get(d, 1000, out), 1);
	assert_memory_equal(out, h, sizeof(h));
	assert_int_equal(ht_tokcache_get(d, 2000 + LIM_JWT_SKEW_S, out), 1);
	assert_int_equal(ht_tokcache_get(d, 2000 + LIM_JWT_SKEW_S + 1, out), 0);
}

static void
tokcache__not_before_in_future__miss(void **state)
{
	unsigned char d[HT_TOKDIGEST_LEN], h[32], out[32];

	(void)state;
	ht_cred_digest("nbf.in.future", 13, d);
	memset(h, 0xcd, sizeof(h));
	ht_tokcache_put(d, 5000.0, 3000.0, h);
	/* a clock that went back before nbf - skew */
	assert_int_equal(ht_tokcache_get(d, 3000 - LIM_JWT_SKEW_S - 1, out), 0);
	assert_int_equal(ht_tokcache_get(d, 3000 - LIM_JWT_SKEW_S, out), 1);
}

static void
tokcache__another_token__miss(void **state)
{
	unsigned char d[HT_TOKDIGEST_LEN], e[HT_TOKDIGEST_LEN], h[32], out[32];

	(void)state;
	ht_cred_digest("one.token.here", 14, d);
	memcpy(e, d, sizeof(e));
	e[HT_TOKDIGEST_LEN - 1] ^= 1;	/* same slot, another digest */
	memset(h, 0xef, sizeof(h));
	ht_tokcache_put(d, 5000.0, -INFINITY, h);
	assert_int_equal(ht_tokcache_get(e, 1000, out), 0);
	assert_int_equal(ht_tokcache_get(d, 1000, out), 1);
}

/* two tokens of one slot pair both stay; a third evicts the one used
 * less recently */
static void
tokcache__three_tokens_one_pair__least_recent_evicted(void **state)
{
	unsigned char a[HT_TOKDIGEST_LEN], b[HT_TOKDIGEST_LEN];
	unsigned char c[HT_TOKDIGEST_LEN], h[32], out[32];

	(void)state;
	ht_cred_digest("pair.of.slots", 13, a);
	memcpy(b, a, sizeof(b));
	memcpy(c, a, sizeof(c));
	b[HT_TOKDIGEST_LEN - 1] ^= 1;	/* the slot is chosen by the first bytes */
	c[HT_TOKDIGEST_LEN - 1] ^= 2;
	memset(h, 0x11, sizeof(h));
	ht_tokcache_put(a, 5000.0, -INFINITY, h);
	ht_tokcache_put(b, 5000.0, -INFINITY, h);
	assert_int_equal(ht_tokcache_get(a, 1000, out), 1);
	assert_int_equal(ht_tokcache_get(b, 1000, out), 1);
	assert_int_equal(ht_tokcache_get(a, 1000, out), 1);	/* a last */
	ht_tokcache_put(c, 5000.0, -INFINITY, h);
	assert_int_equal(ht_tokcache_get(a, 1000, out), 1);
	assert_int_equal(ht_tokcache_get(c, 1000, out), 1);
	assert_int_equal(ht_tokcache_get(b, 1000, out), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(jwt__minted_token__verifies_with_subject),
		cmocka_unit_test(jwt__wrong_secret__refused),
		cmocka_unit_test(jwt__expired_beyond_skew__refused),
		cmocka_unit_test(jwt__alg_none_and_other_algs__refused),
		cmocka_unit_test(jwt__missing_exp_or_sub__refused),
		cmocka_unit_test(jwt__subject_over_128_chars__refused),
		cmocka_unit_test(jwt__tampered_payload_or_garbage__refused),
		cmocka_unit_test(jwt__secret_changes_between_calls__each_checked_with_its_own),
		cmocka_unit_test(tokcache__digest__same_token_same_digest_another_differs),
		cmocka_unit_test(tokcache__verified_token__hit_until_exp_plus_skew),
		cmocka_unit_test(tokcache__not_before_in_future__miss),
		cmocka_unit_test(tokcache__another_token__miss),
		cmocka_unit_test(tokcache__three_tokens_one_pair__least_recent_evicted),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
