/*
 * test_auth.c: resident JWT verification (fcgi/auth.c): only HS256 with
 * the right secret, a future exp and a bounded sub gets through.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "fcgi/ht.h"

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
	char *tok = ht_jwt_mint(secret, SL, "resident-42", now, now + 60);

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
	char *tok = ht_jwt_mint((const unsigned char *)"another-secret-another-secret!!", 31,
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
	char *tok = ht_jwt_mint(secret, SL, "r", now - 3600, now - LIM_JWT_SKEW_S - 1);

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
	tok = ht_jwt_mint(secret, SL, long_sub, now, now + 60);
	assert_int_equal(ht_jwt_verify(tok, secret, SL, now, sub, sizeof(sub)), -1);
	free(tok);
	long_sub[LIM_SUBJECT_MAX] = '\0';	/* exactly 128: accepted */
	tok = ht_jwt_mint(secret, SL, long_sub, now, now + 60);
	assert_int_equal(ht_jwt_verify(tok, secret, SL, now, sub, sizeof(sub)), 0);
	free(tok);
}

static void
jwt__tampered_payload_or_garbage__refused(void **state)
{
	char sub[LIM_SUBJECT_MAX + 1];
	time_t now = time(NULL);
	char *tok = ht_jwt_mint(secret, SL, "alice", now, now + 60), *dot;

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
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
