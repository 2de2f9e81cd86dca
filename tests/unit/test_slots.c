/*
 * test_slots.c: the slots of transactions that move points
 * (loyalty/ly_slots.c): never more than LIM_LEDGER_WRITERS held, never
 * one slot held twice, a take beyond them waits and is counted, and the
 * aggregate shard is the slot's inside one, the member's outside.
 */
#include "config.h"

#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "loyalty/ly.h"

#define THREADS	(3 * LIM_LEDGER_WRITERS)
#define ROUNDS	2000

static atomic_int holders[LIM_LEDGER_WRITERS];
static atomic_int held_now, held_max, bad;

static void *
churn(void *arg)
{
	int i, k, n, m;

	(void)arg;
	for (i = 0; i < ROUNDS; i++) {
		ly_slot_take();
		k = ly_slot_held;
		if (k < 0 || k >= LIM_LEDGER_WRITERS ||
		    atomic_fetch_add(&holders[k], 1) != 0)
			atomic_fetch_add(&bad, 1);
		n = atomic_fetch_add(&held_now, 1) + 1;
		while ((m = atomic_load(&held_max)) < n &&
		    !atomic_compare_exchange_weak(&held_max, &m, n))
			continue;
		sched_yield();
		atomic_fetch_sub(&held_now, 1);
		if (k >= 0 && k < LIM_LEDGER_WRITERS)
			atomic_fetch_sub(&holders[k], 1);
		ly_slot_give();
		if (ly_slot_held != -1)
			atomic_fetch_add(&bad, 1);
	}
	return NULL;
}

static void
slots__many_threads__bounded_and_never_shared(void **state)
{
	pthread_t t[THREADS];
	int i;

	(void)state;
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, churn, NULL), 0);
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(atomic_load(&bad), 0);
	assert_true(atomic_load(&held_max) >= 1);
	assert_true(atomic_load(&held_max) <= LIM_LEDGER_WRITERS);
	assert_int_equal(atomic_load(&held_now), 0);
}

static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_open, gate_in;

/* takes a slot, then holds it until the gate opens */
static void *
hold(void *arg)
{
	(void)arg;
	ly_slot_take();
	pthread_mutex_lock(&gate_mu);
	gate_in++;
	pthread_cond_broadcast(&gate_cv);
	while (!gate_open)
		pthread_cond_wait(&gate_cv, &gate_mu);
	pthread_mutex_unlock(&gate_mu);
	ly_slot_give();
	return NULL;
}

static void
slots__all_taken__next_take_waits_and_is_counted(void **state)
{
	pthread_t t[LIM_LEDGER_WRITERS + 1];
	uint64_t before;
	int i, tries;

	(void)state;
	before = ly_slot_waits();
	for (i = 0; i < LIM_LEDGER_WRITERS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hold, NULL), 0);
	pthread_mutex_lock(&gate_mu);
	while (gate_in < LIM_LEDGER_WRITERS)
		pthread_cond_wait(&gate_cv, &gate_mu);
	pthread_mutex_unlock(&gate_mu);
	/* every slot is held: one more take must wait */
	assert_int_equal(pthread_create(&t[i], NULL, hold, NULL), 0);
	for (tries = 0; ly_slot_waits() == before && tries < 5000; tries++)
		usleep(1000);
	assert_int_equal(ly_slot_waits(), before + 1);
	pthread_mutex_lock(&gate_mu);
	assert_int_equal(gate_in, LIM_LEDGER_WRITERS);	/* still waiting */
	gate_open = 1;
	pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate_mu);
	for (i = 0; i <= LIM_LEDGER_WRITERS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(gate_in, LIM_LEDGER_WRITERS + 1);
}

static void
shard__slot_inside_member_outside(void **state)
{
	(void)state;
	assert_int_equal(ly_slot_held, -1);
	assert_int_equal(ly_shard(37), 37 % LIM_AGG_SHARDS);
	ly_slot_take();
	assert_true(ly_slot_held >= 0);
	assert_int_equal(ly_shard(37), (unsigned)ly_slot_held);
	assert_int_equal(ly_shard(38), (unsigned)ly_slot_held);
	ly_slot_give();
	assert_int_equal(ly_shard(38), 38 % LIM_AGG_SHARDS);
	ly_slot_give();		/* giving none is harmless */
	assert_int_equal(ly_slot_held, -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(shard__slot_inside_member_outside),
		cmocka_unit_test(slots__many_threads__bounded_and_never_shared),
		cmocka_unit_test(slots__all_taken__next_take_waits_and_is_counted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
