/*
 * test_ids.c: identifiers and keyed hashes (loyalty/ly_ids.c).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "loyalty/ly.h"

static void
base32__known_vectors__crockford_alphabet(void **state)
{
	char out[64];

	(void)state;
	ly_base32(out, sizeof(out), (const unsigned char *)"\x00", 1);
	assert_string_equal(out, "00");
	ly_base32(out, sizeof(out), (const unsigned char *)"\xff\xff\xff\xff\xff", 5);
	assert_string_equal(out, "ZZZZZZZZ");
	ly_base32(out, sizeof(out), (const unsigned char *)"f", 1);
	assert_string_equal(out, "CR");	/* 01100 110(00) */
}

static void
random_id__prefix_and_26_chars__distinct(void **state)
{
	char a[LIM_PUBLIC_ID_MAX], b[LIM_PUBLIC_ID_MAX];

	(void)state;
	ly_id_random(a, sizeof(a), "prk_");
	ly_id_random(b, sizeof(b), "prk_");
	assert_int_equal(strncmp(a, "prk_", 4), 0);
	assert_int_equal(strlen(a), 4 + 26);
	assert_string_not_equal(a, b);
	assert_int_equal(strspn(a + 4, "0123456789ABCDEFGHJKMNPQRSTVWXYZ"), 26);
}

static void
derived_id__same_key_same_id__stable_and_keyed(void **state)
{
	unsigned char k1[32] = { 1 }, k2[32] = { 2 }, seed[32] = { 3 };
	struct ly_ctx c1, c2;
	char a[LIM_PUBLIC_ID_MAX], b[LIM_PUBLIC_ID_MAX], c[LIM_PUBLIC_ID_MAX];

	(void)state;
	ly_ctx_init(&c1, k1, k1, seed, 5);
	ly_ctx_init(&c2, k2, k1, seed, 5);
	ly_id_derived(&c1, a, sizeof(a), "mem_", 7);
	ly_id_derived(&c1, b, sizeof(b), "mem_", 7);
	ly_id_derived(&c2, c, sizeof(c), "mem_", 7);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	ly_id_derived(&c1, b, sizeof(b), "mem_", 8);
	assert_string_not_equal(a, b);
}

static void
subject_hash__depends_on_key__never_the_subject(void **state)
{
	unsigned char k1[32] = { 1 }, k2[32] = { 2 }, seed[32] = { 3 };
	unsigned char h1[32], h2[32];
	struct ly_ctx c1, c2;

	(void)state;
	ly_ctx_init(&c1, k1, k1, seed, 5);
	ly_ctx_init(&c2, k1, k2, seed, 5);
	ly_subject_hash(&c1, "alice", h1);
	ly_subject_hash(&c2, "alice", h2);
	assert_memory_not_equal(h1, h2, 32);
	ly_subject_hash(&c1, "alice", h2);
	assert_memory_equal(h1, h2, 32);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(base32__known_vectors__crockford_alphabet),
		cmocka_unit_test(random_id__prefix_and_26_chars__distinct),
		cmocka_unit_test(derived_id__same_key_same_id__stable_and_keyed),
		cmocka_unit_test(subject_hash__depends_on_key__never_the_subject),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
