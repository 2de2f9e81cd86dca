/*
 * ly_slots.c: at most LIM_LEDGER_WRITERS transactions of this process
 * move points at once, each in a slot of its own.
 *
 * Why: every change to a balance also upserts the day's aggregate rows
 * (ly_ledger.c), which all awards of one rule and district share, split
 * into LIM_AGG_SHARDS rows. A transaction holds its row's lock until its
 * COMMIT is on disk, so with 64 concurrent awards of one rule InnoDB
 * queued them on 16 rows (0.45 lock waits an award, 4 ms each), and the
 * awards waited holding their member locks. A slot is taken before the
 * transaction begins (ht_txn_points) and given back after its COMMIT or
 * ROLLBACK: the surplus waits here, holding no database lock, and the
 * slot's number is the aggregate shard the transaction writes
 * (ly_shard), so no two of them ever wait for each other's aggregate row.
 * Measured in docs/benchmarks.md ("Session 4: points-moving transactions
 * in slots").
 *
 * A thread waiting for a slot holds no slot and no transaction, and a
 * slot holder never waits for a slot, so the slots add no deadlock.
 * Code that moves points outside a slot (perkctl, tests) writes the
 * member's shard, as before; the stats sum the shards either way.
 */
#include "config.h"

#include <pthread.h>

#include "loyalty/ly.h"

_Static_assert(LIM_LEDGER_WRITERS <= LIM_AGG_SHARDS,
    "a slot is an aggregate shard of its own");
_Static_assert(LIM_LEDGER_WRITERS <= 32, "the slots are bits of a word");

_Thread_local int ly_slot_held = -1;

static struct {
	pthread_mutex_t	 mu;
	pthread_cond_t	 freed;
	uint32_t	 used;		/* bit k: slot k is taken */
	uint64_t	 waits;		/* takes that had to wait */
} ly_slots = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0 };

#define LY_SLOTS_ALL	((uint32_t)((1ULL << LIM_LEDGER_WRITERS) - 1))

void
ly_slot_take(void)
{
	int k;

	pthread_mutex_lock(&ly_slots.mu);
	if (ly_slots.used == LY_SLOTS_ALL) {
		ly_slots.waits++;
		while (ly_slots.used == LY_SLOTS_ALL)
			pthread_cond_wait(&ly_slots.freed, &ly_slots.mu);
	}
	for (k = 0; ly_slots.used & (1U << k); k++)
		continue;
	ly_slots.used |= 1U << k;
	pthread_mutex_unlock(&ly_slots.mu);
	ly_slot_held = k;
}

void
ly_slot_give(void)
{
	if (ly_slot_held < 0)
		return;
	pthread_mutex_lock(&ly_slots.mu);
	ly_slots.used &= ~(1U << ly_slot_held);
	pthread_cond_signal(&ly_slots.freed);
	pthread_mutex_unlock(&ly_slots.mu);
	ly_slot_held = -1;
}

uint64_t
ly_slot_waits(void)
{
	uint64_t n;

	pthread_mutex_lock(&ly_slots.mu);
	n = ly_slots.waits;
	pthread_mutex_unlock(&ly_slots.mu);
	return n;
}
