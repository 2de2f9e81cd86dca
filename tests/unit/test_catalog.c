/*
 * test_catalog.c: the catalogue's pure parts: voucher codes (format,
 * tolerant parsing, hash, seal), QR SVG, pass signing and verification,
 * and the failed-check limiter's sliding window.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "catalog/cat.h"

static struct ly_ctx ctx;

static void
code__format__groups_of_four_crockford(void **state)
{
	unsigned char raw[LIM_VOUCHER_BYTES];
	char code[CAT_CODE_SZ];
	size_t i;

	(void)state;
	memset(raw, 0xff, sizeof(raw));
	cat_code_format(raw, code);
	/* 128 one-bits: 25 Z and a last symbol 111 + 00 = 11100 = W */
	assert_string_equal(code,
	    "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZW");
	cat_code_random(raw);
	cat_code_format(raw, code);
	assert_int_equal(strlen(code), 26 + 6);
	for (i = 0; code[i] != '\0'; i++)
		if (i % 5 == 4)
			assert_int_equal(code[i], '-');
		else
			assert_non_null(strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ",
			    code[i]));
}

static void
code__parse_of_format__round_trips(void **state)
{
	unsigned char raw[LIM_VOUCHER_BYTES], back[LIM_VOUCHER_BYTES];
	char code[CAT_CODE_SZ];
	int i;

	(void)state;
	for (i = 0; i < 1000; i++) {
		cat_code_random(raw);
		cat_code_format(raw, code);
		assert_int_equal(cat_code_parse(code, back), 0);
		assert_memory_equal(raw, back, sizeof(raw));
	}
}

static void
code__lowercase_spaces_and_lookalikes__same_code(void **state)
{
	unsigned char raw[LIM_VOUCHER_BYTES], back[LIM_VOUCHER_BYTES];
	char code[CAT_CODE_SZ], messy[128];
	size_t i, o = 0;

	(void)state;
	/* a code with 1s and 0s, typed as i, L, o, with spaces */
	assert_int_equal(cat_code_parse("1010-0101-ABCD-EFGH-JKMN-PQRS-T0",
	    raw), 0);
	assert_int_equal(cat_code_parse(" iolo OlOI abcd-efgh jkmn--pqrs t o ",
	    back), 0);
	assert_memory_equal(raw, back, sizeof(raw));

	cat_code_random(raw);
	cat_code_format(raw, code);
	for (i = 0; code[i] != '\0'; i++) {
		if (code[i] == '-') {
			messy[o++] = ' ';
			continue;
		}
		messy[o++] = (char)(code[i] >= 'A' && code[i] <= 'Z' ?
		    code[i] + 32 : code[i]);
	}
	messy[o] = '\0';
	assert_int_equal(cat_code_parse(messy, back), 0);
	assert_memory_equal(raw, back, sizeof(raw));
}

static void
code__malformed__refused(void **state)
{
	unsigned char raw[LIM_VOUCHER_BYTES];

	(void)state;
	assert_int_equal(cat_code_parse("", raw), -1);
	assert_int_equal(cat_code_parse(NULL, raw), -1);
	/* one symbol short, one too many */
	assert_int_equal(cat_code_parse("ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-Z",
	    raw), -1);
	assert_int_equal(cat_code_parse("ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZWW",
	    raw), -1);
	/* U is not a Crockford symbol; punctuation is not ignored */
	assert_int_equal(cat_code_parse("UZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZW",
	    raw), -1);
	assert_int_equal(cat_code_parse("ZZZZ.ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZW",
	    raw), -1);
	/* the last symbol's two padding bits must be zero (Z = 11111) */
	assert_int_equal(cat_code_parse("ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZ",
	    raw), -1);
	assert_int_equal(cat_code_parse("ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZW",
	    raw), 0);
}

static void
code__hash_and_seal__open_gives_code_back_and_tamper_fails(void **state)
{
	unsigned char raw[LIM_VOUCHER_BYTES], back[LIM_VOUCHER_BYTES];
	unsigned char h1[32], h2[32], sealed[CAT_SEALED_SZ];

	(void)state;
	cat_code_random(raw);
	cat_code_hash(raw, h1);
	crypto_hash_sha256(h2, raw, sizeof(raw));
	assert_memory_equal(h1, h2, 32);
	cat_code_seal(&ctx, raw, sealed);
	assert_int_equal(cat_code_open(&ctx, sealed, sizeof(sealed), back), 0);
	assert_memory_equal(raw, back, sizeof(raw));
	sealed[30] ^= 1;
	assert_int_equal(cat_code_open(&ctx, sealed, sizeof(sealed), back), -1);
	assert_int_equal(cat_code_open(&ctx, sealed, 10, back), -1);
}

static void
qr__svg__well_formed_with_quiet_zone(void **state)
{
	size_t len = 0, opens = 0;
	const char *p;
	char *svg;

	(void)state;
	svg = cat_qr_svg("R7N9-MBJ1-GTMH-7MYG-G1T4-Q2DM-10", &len);
	assert_non_null(svg);
	assert_int_equal(strlen(svg), len);
	assert_non_null(strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
	/* version 2 (25 modules) for 32 characters at level M, plus 2 x 4 */
	assert_non_null(strstr(svg, "viewBox=\"0 0 33 33\""));
	assert_non_null(strstr(svg, "</svg>\n"));
	/* the first dark run is the finder pattern at the quiet zone edge */
	assert_non_null(strstr(svg, "d=\"M4 4h7v1h-7z"));
	for (p = svg; (p = strchr(p, '<')) != NULL; p++)
		opens++;
	assert_int_equal(opens, 5);	/* ?xml, svg, rect, path, /svg */
	assert_null(strstr(svg, "M3 "));	/* nothing inside the quiet zone */
	free(svg);
	assert_null(cat_qr_svg("", &len));
}

static void
pass__signed__verifies_and_reads_back(void **state)
{
	unsigned char nonce[16], n2[16];
	char pass[LIM_PASS_TEXT_MAX], perk[LIM_PUBLIC_ID_MAX];
	time_t exp = 0;

	(void)state;
	randombytes_buf(nonce, sizeof(nonce));
	cat_pass_sign(&ctx, "prk_5N0QK3V8X2M7R1T4W6Y9Z0B3C5", 1795324455,
	    nonce, pass, sizeof(pass));
	assert_int_equal(strncmp(pass, "v1.", 3), 0);
	assert_int_equal(cat_pass_verify(&ctx, pass, perk, &exp, n2), 0);
	assert_string_equal(perk, "prk_5N0QK3V8X2M7R1T4W6Y9Z0B3C5");
	assert_int_equal(exp, 1795324455);
	assert_memory_equal(nonce, n2, 16);
}

static void
pass__tampered_or_other_key__refused(void **state)
{
	unsigned char nonce[16], seed[32], k[32], n2[16];
	char pass[LIM_PASS_TEXT_MAX], perk[LIM_PUBLIC_ID_MAX], *dot, was;
	struct ly_ctx other;
	time_t exp;

	(void)state;
	randombytes_buf(nonce, sizeof(nonce));
	cat_pass_sign(&ctx, "prk_A", 2000000000, nonce, pass, sizeof(pass));
	/* another server's key */
	randombytes_buf(seed, sizeof(seed));
	randombytes_buf(k, sizeof(k));
	ly_ctx_init(&other, k, k, seed, 5);
	assert_int_equal(cat_pass_verify(&other, pass, perk, &exp, n2), -1);
	/* one payload character changed */
	was = pass[10];
	pass[10] = was == 'A' ? 'B' : 'A';
	assert_int_equal(cat_pass_verify(&ctx, pass, perk, &exp, n2), -1);
	pass[10] = was;
	assert_int_equal(cat_pass_verify(&ctx, pass, perk, &exp, n2), 0);
	/* truncated signature, no signature, wrong version, junk */
	dot = strrchr(pass, '.');
	dot[5] = '\0';
	assert_int_equal(cat_pass_verify(&ctx, pass, perk, &exp, n2), -1);
	dot[0] = '\0';
	assert_int_equal(cat_pass_verify(&ctx, pass, perk, &exp, n2), -1);
	assert_int_equal(cat_pass_verify(&ctx, "v2.abc.def", perk, &exp, n2),
	    -1);
	assert_int_equal(cat_pass_verify(&ctx, "", perk, &exp, n2), -1);
}

/* the second check of a pass comes from the verified-pass cache (one
 * miss, then one hit): the same answer, and another key still refuses
 * the text it holds */
static void
pass__checked_twice__same_answer_other_key_still_refused(void **state)
{
	unsigned char nonce[16], n2[16], n3[16], seed[32], k[32];
	char pass[LIM_PASS_TEXT_MAX], perk[LIM_PUBLIC_ID_MAX];
	char perk2[LIM_PUBLIC_ID_MAX];
	struct ly_ctx other;
	time_t exp = 0, exp2 = 0;
	unsigned long long h0, m0, h1, m1, h2, m2;

	(void)state;
	randombytes_buf(nonce, sizeof(nonce));
	cat_pass_sign(&ctx, "prk_TWICE", 1795324455, nonce, pass, sizeof(pass));
	cat_pass_cache_counts(&h0, &m0);
	assert_int_equal(cat_pass_verify(&ctx, pass, perk, &exp, n2), 0);
	cat_pass_cache_counts(&h1, &m1);
	assert_int_equal(cat_pass_verify(&ctx, pass, perk2, &exp2, n3), 0);
	cat_pass_cache_counts(&h2, &m2);
	assert_true(h1 == h0 && m1 == m0 + 1);	/* first check: in full */
	assert_true(h2 == h1 + 1 && m2 == m1);	/* second: from the cache */
	assert_string_equal(perk2, "prk_TWICE");
	assert_string_equal(perk2, perk);
	assert_int_equal(exp2, 1795324455);
	assert_memory_equal(n3, nonce, 16);
	randombytes_buf(seed, sizeof(seed));
	randombytes_buf(k, sizeof(k));
	ly_ctx_init(&other, k, k, seed, 5);
	assert_int_equal(cat_pass_verify(&other, pass, perk, &exp, n2), -1);
}

static void
pass__payload__names_perk_expiry_nonce_never_member(void **state)
{
	unsigned char nonce[16], payload[256];
	char pass[LIM_PASS_TEXT_MAX], kid[CAT_KID_SZ], want[256], *dot;
	size_t n = 0;

	(void)state;
	memset(nonce, 0, sizeof(nonce));
	cat_pass_sign(&ctx, "prk_X", 1700000000, nonce, pass, sizeof(pass));
	dot = strchr(pass + 3, '.');
	assert_int_equal(sodium_base642bin(payload, sizeof(payload) - 1,
	    pass + 3, (size_t)(dot - pass - 3), NULL, &n, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
	payload[n] = '\0';
	cat_pass_kid(&ctx, kid);
	snprintf(want, sizeof(want), "{\"perk\":\"prk_X\",\"exp\":1700000000,"
	    "\"nonce\":\"AAAAAAAAAAAAAAAAAAAAAA\",\"kid\":\"%s\"}", kid);
	assert_string_equal((char *)payload, want);
	assert_int_equal(strlen(kid), 11);
}

static void
limiter__ten_failures_a_minute__then_waits_until_window_slides(void **state)
{
	time_t t0 = 1000000;
	int i;

	(void)state;
	cat_limiter_reset();
	for (i = 0; i < LIM_CHECK_FAILS; i++) {
		assert_int_equal(cat_limiter_allow(7, t0 + i), 0);
		cat_limiter_fail(7, t0 + i);
	}
	/* full: the oldest failure (t0) leaves the window at t0 + 60 */
	assert_int_equal(cat_limiter_allow(7, t0 + 10), LIM_CHECK_WINDOW_S - 10);
	assert_int_equal(cat_limiter_allow(7, t0 + 59), 1);
	assert_int_equal(cat_limiter_allow(7, t0 + 60), 0);
	/* sliding, not fixed: one more failure at t0 + 60 blocks until the
	 * second oldest (t0 + 1) leaves */
	cat_limiter_fail(7, t0 + 60);
	assert_int_equal(cat_limiter_allow(7, t0 + 60), 1);
	assert_int_equal(cat_limiter_allow(7, t0 + 61), 0);
	/* other orgs are unaffected */
	assert_int_equal(cat_limiter_allow(8, t0 + 10), 0);
}

static void
limiter__many_orgs__table_reuses_stalest_slot(void **state)
{
	uint64_t org;
	int i;

	(void)state;
	cat_limiter_reset();
	for (i = 0; i < LIM_CHECK_FAILS; i++)
		cat_limiter_fail(1, 5000);
	/* fill the table with other orgs failing later */
	for (org = 2; org < LIM_CHECK_ORGS + 10; org++)
		cat_limiter_fail(org, 5001);
	assert_int_equal(cat_limiter_allow(1, 5002), 0);	/* forgotten */
	for (i = 0; i < LIM_CHECK_FAILS; i++)
		cat_limiter_fail(3, 5002);
	assert_true(cat_limiter_allow(3, 5003) > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(code__format__groups_of_four_crockford),
		cmocka_unit_test(code__parse_of_format__round_trips),
		cmocka_unit_test(code__lowercase_spaces_and_lookalikes__same_code),
		cmocka_unit_test(code__malformed__refused),
		cmocka_unit_test(code__hash_and_seal__open_gives_code_back_and_tamper_fails),
		cmocka_unit_test(qr__svg__well_formed_with_quiet_zone),
		cmocka_unit_test(pass__signed__verifies_and_reads_back),
		cmocka_unit_test(pass__tampered_or_other_key__refused),
		cmocka_unit_test(pass__checked_twice__same_answer_other_key_still_refused),
		cmocka_unit_test(pass__payload__names_perk_expiry_nonce_never_member),
		cmocka_unit_test(limiter__ten_failures_a_minute__then_waits_until_window_slides),
		cmocka_unit_test(limiter__many_orgs__table_reuses_stalest_slot),
	};
	unsigned char k[32], seed[32];

	if (sodium_init() < 0)
		return 1;
	randombytes_buf(k, sizeof(k));
	randombytes_buf(seed, sizeof(seed));
	ly_ctx_init(&ctx, k, k, seed, 5);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
