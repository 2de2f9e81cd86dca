/*
 * cat_limiter.c: the limit on failed voucher and pass checks, per
 * organisation key, so that a partner key cannot be used to guess codes.
 * A code carries 128 bits, so guessing is hopeless anyway; the limit
 * makes trying visibly expensive and shows up as 429s in the metrics.
 *
 * In-process: perkd is one process, and a restart forgetting the window
 * costs an attacker nothing worth having. A fixed table of LIM_CHECK_ORGS
 * slots, each a ring of the times of the org's last LIM_CHECK_FAILS
 * failures: the org is over the limit while the oldest of those is still
 * inside the LIM_CHECK_WINDOW_S window (a sliding window, exact). When the
 * table is full the slot with the oldest last failure is reused. Only
 * failures are recorded, so a partner scanning valid codes never meets
 * the limiter.
 */
#include "config.h"

#include <pthread.h>
#include <string.h>

#include "catalog/cat.h"

struct cat_slot {
	uint64_t	 org_id;	/* 0 = free */
	time_t		 fails[LIM_CHECK_FAILS];	/* ring, 0 = empty */
	unsigned	 next;		/* where the next failure goes */
	time_t		 last;
};

static pthread_mutex_t cat_lim_mu = PTHREAD_MUTEX_INITIALIZER;
static struct cat_slot cat_lim[LIM_CHECK_ORGS];

/* The org's slot, or NULL; with create, a free or the stalest slot. */
static struct cat_slot *
cat_slot_find(uint64_t org_id, int create)
{
	struct cat_slot *s, *stale = NULL;
	size_t i, h = (size_t)(org_id % LIM_CHECK_ORGS);

	for (i = 0; i < LIM_CHECK_ORGS; i++) {
		s = &cat_lim[(h + i) % LIM_CHECK_ORGS];
		if (s->org_id == org_id)
			return s;
		if (s->org_id == 0) {
			if (!create)
				return NULL;
			stale = s;
			break;
		}
		if (stale == NULL || s->last < stale->last)
			stale = s;
	}
	if (!create)
		return NULL;
	memset(stale, 0, sizeof(*stale));
	stale->org_id = org_id;
	return stale;
}

unsigned
cat_limiter_allow(uint64_t org_id, time_t now)
{
	struct cat_slot *s;
	time_t oldest;
	unsigned wait = 0;

	pthread_mutex_lock(&cat_lim_mu);
	if ((s = cat_slot_find(org_id, 0)) != NULL) {
		/* the ring is full once next wrapped: the oldest is at next */
		oldest = s->fails[s->next];
		if (oldest != 0 && now - oldest < LIM_CHECK_WINDOW_S)
			wait = (unsigned)(LIM_CHECK_WINDOW_S - (now - oldest));
	}
	pthread_mutex_unlock(&cat_lim_mu);
	return wait;
}

void
cat_limiter_fail(uint64_t org_id, time_t now)
{
	struct cat_slot *s;

	pthread_mutex_lock(&cat_lim_mu);
	s = cat_slot_find(org_id, 1);
	s->fails[s->next] = now;
	s->next = (s->next + 1) % LIM_CHECK_FAILS;
	s->last = now;
	pthread_mutex_unlock(&cat_lim_mu);
}

void
cat_limiter_reset(void)
{
	pthread_mutex_lock(&cat_lim_mu);
	memset(cat_lim, 0, sizeof(cat_lim));
	pthread_mutex_unlock(&cat_lim_mu);
}
