/*
 * test_routes.c: the non-punitive guarantee, on the real route table.
 * Points leave a balance only when the member redeems them or closes the
 * account: so every handler that can lower a balance must be reachable
 * only by the resident themself, on their own /v1/me routes, and only on
 * the two routes that mean "spend" and "leave".
 *
 * The list below (ht_may_debit) is not trusted on its word:
 * tests/check-debits.py derives, from the source, every handler that can
 * reach a redemption or closure ledger entry and fails unless that set
 * is exactly this list.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fcgi/ht.h"

/* Handlers that may debit a balance (checked by tests/check-debits.py). */
static const ht_handler ht_may_debit[] = {
	ht_h_me_delete,			/* DELETE /v1/me: closure */
	ht_h_redemptions_create,	/* POST /v1/me/redemptions */
	/* MAY_DEBIT_END: check-debits.py reads the names above this line */
};

/* The only routes on which a balance may go down. */
static const struct { const char *method, *pattern; } ht_debit_routes[] = {
	{ "DELETE", "/v1/me" },			/* opt-out: closure */
	{ "POST", "/v1/me/redemptions" },	/* the member's own redemption */
};

static int
may_debit(ht_handler fn)
{
	size_t i;

	for (i = 0; i < sizeof(ht_may_debit) / sizeof(ht_may_debit[0]); i++)
		if (ht_may_debit[i] == fn)
			return 1;
	return 0;
}

static int
debit_route(const struct ht_route *rt)
{
	size_t i;

	for (i = 0; i < sizeof(ht_debit_routes) / sizeof(ht_debit_routes[0]);
	    i++)
		if (strcmp(rt->method, ht_debit_routes[i].method) == 0 &&
		    strcmp(rt->pattern, ht_debit_routes[i].pattern) == 0)
			return 1;
	return 0;
}

static void
routes__debiting_handlers__resident_only_on_spend_and_leave(void **state)
{
	size_t i, seen = 0;

	(void)state;
	for (i = 0; i < ht_routes_n; i++) {
		const struct ht_route *rt = &ht_routes[i];
		if (!may_debit(rt->fn))
			continue;
		seen++;
		if (rt->roles != HT_RESIDENT || !debit_route(rt))
			fail_msg("%s %s can lower a balance but is open to "
			    "roles 0x%x", rt->method, rt->pattern, rt->roles);
		assert_int_equal(strncmp(rt->pattern, "/v1/me", 6), 0);
	}
	/* each debiting handler is routed (else the list is stale) */
	assert_int_equal(seen, sizeof(ht_may_debit) / sizeof(ht_may_debit[0]));
}

static void
routes__organisations_and_public__cannot_reach_a_debit(void **state)
{
	size_t i, nonget = 0;

	(void)state;
	for (i = 0; i < ht_routes_n; i++) {
		const struct ht_route *rt = &ht_routes[i];
		if ((rt->roles & ~(unsigned)HT_RESIDENT) == 0 &&
		    rt->roles != HT_PUBLIC)
			continue;	/* residents only */
		if (strcmp(rt->method, "GET") != 0)
			nonget++;
		if (may_debit(rt->fn))
			fail_msg("%s %s (roles 0x%x) reaches a debiting "
			    "handler", rt->method, rt->pattern, rt->roles);
		/* no route for organisations names a member or a penalty */
		assert_null(strstr(rt->pattern, "/members"));
		assert_null(strstr(rt->pattern, "penalt"));
		assert_null(strstr(rt->pattern, "deduct"));
		assert_null(strstr(rt->pattern, "report"));
	}
	/* the walk saw the organisations' writing routes (awards, rules) */
	assert_true(nonget >= 4);
}

static void
routes__every_member_route__resident_only(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ht_routes_n; i++)
		if (strncmp(ht_routes[i].pattern, "/v1/me", 6) == 0)
			assert_int_equal(ht_routes[i].roles, HT_RESIDENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(routes__debiting_handlers__resident_only_on_spend_and_leave),
		cmocka_unit_test(routes__organisations_and_public__cannot_reach_a_debit),
		cmocka_unit_test(routes__every_member_route__resident_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
