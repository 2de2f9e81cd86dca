/*
 * ly_terms.c: the earning terms of a rule, as an award needs them: the
 * rule (id, points, daily cap), the issuers allowed to award it, and its
 * bonus campaigns that have not ended yet (window, multiplier, target
 * districts). ly_terms_bonus() picks the best bonus in force for a
 * district at a time, in C, the same for a single award and a batch:
 * the highest multiplier, then the oldest campaign.
 *
 * perkd keeps terms in memory (ly_terms_cache_ttl), because every award
 * needs them and they change a few times a day: reading them cost an
 * award a statement with four subqueries, the most expensive one it ran
 * (docs/benchmarks.md). An entry is trusted for the TTL; ly_terms_forget()
 * drops them all at once, and a load that was under way when they were
 * dropped is not kept (the generation check, as the ladder's). A change
 * made by another process (perkctl, a second perkd) shows within the
 * TTL. Campaign windows are compared with the clock at every award, so a
 * bonus starts and ends on time whatever the cache holds. An unknown code
 * is never kept: a typo costs its one statement every time.
 *
 * Entries are immutable and counted: ly_terms_get() hands out a
 * reference, ly_terms_put() returns it; the cache holds one of its own.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loyalty/ly.h"

enum ly_terms_stmt {
	TERMS_RULE,
	TERMS_ISSUERS,
	TERMS_BONUSES,
	TERMS_STMT__MAX
};

static const char *const ly_terms_stmts[TERMS_STMT__MAX] = {
	/* the code compares as the rules table's collation says */
	[TERMS_RULE] = "SELECT id, code, points, COALESCE(daily_cap, 0) "
	    "FROM rules WHERE code = ? AND active = 1",
	[TERMS_ISSUERS] = "SELECT org_id FROM rule_issuers WHERE rule_id = ? "
	    "ORDER BY org_id",
	/* one row per (campaign, target district), in the order the bonus
	 * is chosen by; times as ly_now() writes them */
	[TERMS_BONUSES] = "SELECT c.id, c.public_id, c.bonus_pct, "
	    "DATE_FORMAT(c.starts_at, '%Y-%m-%d %H:%i:%s.%f'), "
	    "DATE_FORMAT(c.ends_at, '%Y-%m-%d %H:%i:%s.%f'), c.all_districts, "
	    "COALESCE(cd.district, '') FROM campaigns c "
	    "LEFT JOIN campaign_districts cd ON c.all_districts = 0 AND "
	    "cd.campaign_id = c.id WHERE c.bonus_rule_id = ? AND "
	    "c.bonus_pct IS NOT NULL AND c.ends_at > ? "
	    "ORDER BY c.bonus_pct DESC, c.id, cd.district",
};

struct ly_terms_bonus {
	uint64_t	 id;
	char		 public_id[LIM_PUBLIC_ID_MAX];
	int		 pct;
	char		 starts[32], ends[32];
	int		 all;
	size_t		 nd;
	char		 (*districts)[LIM_CODE_MAX + 1];
};

struct ly_terms {
	unsigned		 refs;		/* under ly_terms_cache.mu */
	char			 key[LIM_CODE_MAX + 1];	/* as asked */
	time_t			 loaded;	/* CLOCK_MONOTONIC seconds */
	struct ly_rule_terms	 rule;
	size_t			 nissuers;
	uint64_t		*issuers;	/* ascending */
	size_t			 nbonus;
	struct ly_terms_bonus	*bonus;		/* best first */
};

static struct {
	pthread_mutex_t		 mu;
	unsigned		 ttl;		/* seconds; 0: no cache */
	unsigned long		 gen;		/* bumped by every forget */
	size_t			 n;
	struct ly_terms		*e[LIM_TERMS_CACHE];
} ly_terms_cache = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void
ly_terms_free(struct ly_terms *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nbonus; i++)
		free(t->bonus[i].districts);
	free(t->bonus);
	free(t->issuers);
	free(t);
}

/* Drops a reference; the caller holds the cache's lock. */
static void
ly_terms_unref_locked(struct ly_terms *t)
{
	if (t != NULL && --t->refs == 0)
		ly_terms_free(t);
}

void
ly_terms_put(struct ly_terms *t)
{
	pthread_mutex_lock(&ly_terms_cache.mu);
	ly_terms_unref_locked(t);
	pthread_mutex_unlock(&ly_terms_cache.mu);
}

/* Drops every entry; a ttl >= 0 also sets the TTL. */
static void
ly_terms_reset(long ttl)
{
	size_t i;

	pthread_mutex_lock(&ly_terms_cache.mu);
	if (ttl >= 0)
		ly_terms_cache.ttl = (unsigned)ttl;
	for (i = 0; i < ly_terms_cache.n; i++)
		ly_terms_unref_locked(ly_terms_cache.e[i]);
	ly_terms_cache.n = 0;
	ly_terms_cache.gen++;
	pthread_mutex_unlock(&ly_terms_cache.mu);
}

void
ly_terms_cache_ttl(unsigned seconds)
{
	ly_terms_reset((long)seconds);
}

void
ly_terms_forget(void)
{
	ly_terms_reset(-1);
}

/* arr (of *cap elements of size sz), grown to hold one more than n;
 * NULL if out of memory (arr is then still valid). */
static void *
ly_terms_grow(void *arr, size_t *cap, size_t n, size_t sz)
{
	size_t ncap = *cap ? *cap * 2 : 4;
	void *np;

	if (n < *cap)
		return arr;
	if ((np = realloc(arr, ncap * sz)) == NULL)
		return NULL;
	*cap = ncap;
	return np;
}

/* The bonus campaigns of t's rule not ended at now, best first. Out of
 * memory, the rows left unread are discarded by the next statement
 * (db_run), as everywhere. */
static enum ly_res
ly_terms_load_bonuses(struct db *db, struct ly_terms *t, const char *now)
{
	struct ly_terms_bonus *b = NULL;
	size_t cap = 0, dcap = 0;
	void *np;
	struct db_row *row;
	enum db_res r;

	struct db_val p[] = { db_int((long long)t->rule.id), db_text(now) };
	if ((r = db_exec(db, ly_terms_stmts[TERMS_BONUSES], p, 2)) != DB_OK)
		return ly_from_db(r);
	while ((r = db_next(db, &row)) == DB_ROW) {
		if (b == NULL || b->id != (uint64_t)row->col[0].i) {
			if ((np = ly_terms_grow(t->bonus, &cap, t->nbonus,
			    sizeof(*t->bonus))) == NULL)
				return LY_NOMEM;
			t->bonus = np;
			b = &t->bonus[t->nbonus++];
			memset(b, 0, sizeof(*b));
			dcap = 0;
			b->id = (uint64_t)row->col[0].i;
			snprintf(b->public_id, sizeof(b->public_id), "%s",
			    row->col[1].s);
			b->pct = (int)row->col[2].i;
			snprintf(b->starts, sizeof(b->starts), "%s",
			    row->col[3].s);
			snprintf(b->ends, sizeof(b->ends), "%s", row->col[4].s);
			b->all = (int)row->col[5].i;
		}
		if (b->all || row->col[6].s[0] == '\0')
			continue;
		if ((np = ly_terms_grow(b->districts, &dcap, b->nd,
		    sizeof(*b->districts))) == NULL)
			return LY_NOMEM;
		b->districts = np;
		snprintf(b->districts[b->nd++], sizeof(*b->districts), "%s",
		    row->col[6].s);
	}
	return r == DB_DONE ? LY_OK : ly_from_db(r);
}

/* Reads the terms of code from the database; LY_UNKNOWN_RULE if no
 * active rule has it. */
static enum ly_res
ly_terms_load(struct db *db, const char *code, struct ly_terms **out)
{
	struct ly_terms *t;
	struct db_row *row;
	size_t cap = 0;
	void *np;
	enum ly_res res = LY_NOMEM;
	enum db_res r;
	char now[32];

	*out = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return LY_NOMEM;
	t->refs = 1;
	snprintf(t->key, sizeof(t->key), "%s", code);
	struct db_val p[] = { db_text(code) };
	if ((r = db_one(db, ly_terms_stmts[TERMS_RULE], p, 1, &row)) !=
	    DB_ROW) {
		res = r == DB_NOTFOUND ? LY_UNKNOWN_RULE : ly_from_db(r);
		goto out;
	}
	t->rule.id = (uint64_t)row->col[0].i;
	snprintf(t->rule.code, sizeof(t->rule.code), "%s", row->col[1].s);
	t->rule.points = row->col[2].i;
	t->rule.cap = row->col[3].i;

	struct db_val ip[] = { db_int((long long)t->rule.id) };
	if ((r = db_exec(db, ly_terms_stmts[TERMS_ISSUERS], ip, 1)) != DB_OK) {
		res = ly_from_db(r);
		goto out;
	}
	while ((r = db_next(db, &row)) == DB_ROW) {
		if ((np = ly_terms_grow(t->issuers, &cap, t->nissuers,
		    sizeof(*t->issuers))) == NULL)
			goto out;	/* LY_NOMEM */
		t->issuers = np;
		t->issuers[t->nissuers++] = (uint64_t)row->col[0].i;
	}
	if (r != DB_DONE) {
		res = ly_from_db(r);
		goto out;
	}
	ly_now(now);
	if ((res = ly_terms_load_bonuses(db, t, now)) != LY_OK)
		goto out;
	t->loaded = ly_mono_s();
	*out = t;
	t = NULL;
out:
	ly_terms_free(t);
	return res;
}

/* Keeps t (one more reference) unless the cache was dropped since gen;
 * replaces an entry of the same key, else the oldest when full. */
static void
ly_terms_keep(struct ly_terms *t, unsigned long gen)
{
	size_t i, at;

	pthread_mutex_lock(&ly_terms_cache.mu);
	if (ly_terms_cache.ttl == 0 || gen != ly_terms_cache.gen)
		goto out;
	for (at = 0; at < ly_terms_cache.n; at++)
		if (strcmp(ly_terms_cache.e[at]->key, t->key) == 0)
			break;
	if (at == ly_terms_cache.n && at == LIM_TERMS_CACHE)
		for (at = 0, i = 1; i < ly_terms_cache.n; i++)
			if (ly_terms_cache.e[i]->loaded <
			    ly_terms_cache.e[at]->loaded)
				at = i;
	if (at < ly_terms_cache.n)
		ly_terms_unref_locked(ly_terms_cache.e[at]);
	else
		ly_terms_cache.n++;
	t->refs++;
	ly_terms_cache.e[at] = t;
out:
	pthread_mutex_unlock(&ly_terms_cache.mu);
}

enum ly_res
ly_terms_get(struct db *db, const char *code, struct ly_terms **out)
{
	time_t now = ly_mono_s();
	unsigned long gen;
	enum ly_res res;
	size_t i;

	*out = NULL;
	pthread_mutex_lock(&ly_terms_cache.mu);
	gen = ly_terms_cache.gen;
	for (i = 0; i < ly_terms_cache.n; i++) {
		struct ly_terms *t = ly_terms_cache.e[i];

		if (strcmp(t->key, code) == 0 &&
		    now - t->loaded < (time_t)ly_terms_cache.ttl) {
			t->refs++;
			*out = t;
			break;
		}
	}
	pthread_mutex_unlock(&ly_terms_cache.mu);
	if (*out != NULL)
		return LY_OK;
	if ((res = ly_terms_load(db, code, out)) == LY_OK)
		ly_terms_keep(*out, gen);
	return res;
}

const struct ly_rule_terms *
ly_terms_rule(const struct ly_terms *t)
{
	return &t->rule;
}

int
ly_terms_issuer_ok(const struct ly_terms *t, uint64_t org_id)
{
	size_t lo = 0, hi = t->nissuers, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (t->issuers[mid] == org_id)
			return 1;
		if (t->issuers[mid] < org_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

int
ly_terms_bonus(const struct ly_terms *t, const char *district,
    const char *now, struct ly_award_bonus *out)
{
	const struct ly_terms_bonus *b;
	size_t i, k;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < t->nbonus; i++) {
		b = &t->bonus[i];
		if (strcmp(b->starts, now) > 0 || strcmp(b->ends, now) <= 0)
			continue;
		for (k = 0; !b->all && k < b->nd; k++)
			if (strcmp(b->districts[k], district) == 0)
				break;
		if (!b->all && k == b->nd)
			continue;
		/* the list is best first: the first in force wins */
		out->campaign_id = b->id;
		out->pct = b->pct;
		snprintf(out->public_id, sizeof(out->public_id), "%s",
		    b->public_id);
		return 1;
	}
	return 0;
}
