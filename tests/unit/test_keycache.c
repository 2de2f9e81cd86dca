/*
 * test_keycache.c: the API-key cache of fcgi/auth.c. A verified key is
 * served from the cache only within LIM_KEY_CACHE_TTL_S, only for the
 * very same key, never after a clear (a revocation), and a lookup that
 * straddles a clear does not put a stale answer back.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "fcgi/ht.h"

static void
key_hash(const char *key, unsigned char out[32])
{
	crypto_hash_sha256(out, (const unsigned char *)key, strlen(key));
}

static void
org_fill(struct ly_org *o, uint64_t id)
{
	memset(o, 0, sizeof(*o));
	o->id = id;
	snprintf(o->public_id, sizeof(o->public_id), "org_%llu",
	    (unsigned long long)id);
	o->roles = LY_ROLE_ISSUER;
}

/* Verifies key at time at as the org id would be after a database check:
 * a miss, then a put. Leaves the key's hash in h. */
static void
remember(const char *key, uint64_t id, time_t at, unsigned char h[32])
{
	struct ly_org in, out;
	unsigned long gen;

	key_hash(key, h);
	org_fill(&in, id);
	assert_int_equal(ht_keycache_get(h, at, &out, &gen), 0);
	ht_keycache_put(h, &in, at, gen);
}

static int
setup(void **state)
{
	(void)state;
	ht_keycache_clear();
	return 0;
}

static void
keycache__hit_within_ttl__returns_the_org(void **state)
{
	unsigned char h[32];
	struct ly_org out;
	unsigned long gen;

	(void)state;
	remember("pk_AAAAAAAAAAAAAAAA_secret", 42, 100, h);
	memset(&out, 0, sizeof(out));
	assert_int_equal(ht_keycache_get(h, 100 + LIM_KEY_CACHE_TTL_S - 1,
	    &out, &gen), 1);
	assert_int_equal(out.id, 42);
	assert_string_equal(out.public_id, "org_42");
	assert_int_equal(out.roles, LY_ROLE_ISSUER);
}

static void
keycache__after_ttl__misses(void **state)
{
	unsigned char h[32];
	struct ly_org out;
	unsigned long gen;

	(void)state;
	remember("pk_AAAAAAAAAAAAAAAA_secret", 42, 100, h);
	assert_int_equal(ht_keycache_get(h, 100 + LIM_KEY_CACHE_TTL_S, &out,
	    &gen), 0);
	/* a clock that seems to go back is not trusted either */
	assert_int_equal(ht_keycache_get(h, 99, &out, &gen), 0);
}

static void
keycache__other_key_same_lookup__misses(void **state)
{
	unsigned char h1[32], h2[32];
	struct ly_org out;
	unsigned long gen;

	(void)state;
	remember("pk_AAAAAAAAAAAAAAAA_secret", 42, 100, h1);
	key_hash("pk_AAAAAAAAAAAAAAAA_guess", h2);
	assert_int_equal(ht_keycache_get(h2, 100, &out, &gen), 0);
}

static void
keycache__clear__forgets_every_key(void **state)
{
	unsigned char h[32];
	struct ly_org out;
	unsigned long gen;

	(void)state;
	remember("pk_BBBBBBBBBBBBBBBB_secret", 7, 100, h);
	ht_keycache_clear();
	assert_int_equal(ht_keycache_get(h, 100, &out, &gen), 0);
}

static void
keycache__lookup_straddling_a_clear__stores_nothing(void **state)
{
	unsigned char h[32];
	struct ly_org in, out;
	unsigned long gen, gen2;

	(void)state;
	key_hash("pk_CCCCCCCCCCCCCCCC_secret", h);
	org_fill(&in, 9);
	assert_int_equal(ht_keycache_get(h, 100, &out, &gen), 0);
	/* the key is revoked while this request asks the database */
	ht_keycache_clear();
	ht_keycache_put(h, &in, 100, gen);
	assert_int_equal(ht_keycache_get(h, 100, &out, &gen2), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(keycache__hit_within_ttl__returns_the_org,
		    setup),
		cmocka_unit_test_setup(keycache__after_ttl__misses, setup),
		cmocka_unit_test_setup(keycache__other_key_same_lookup__misses,
		    setup),
		cmocka_unit_test_setup(keycache__clear__forgets_every_key, setup),
		cmocka_unit_test_setup(
		    keycache__lookup_straddling_a_clear__stores_nothing, setup),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
