/*
 * ly_tiers.c: the tier ladder, stars and flags. Everything is computed
 * from lifetime points, which only awards raise and nothing lowers, so a
 * member's tier, stars and flags never go down: there is no demotion and
 * no penalty. stars = lifetime / star_points; flags = stars /
 * stars_per_flag (the Rongcheng notice-board rule without its
 * punishments).
 *
 * perkd keeps the ladder in memory (ly_ladder_cache_ttl), because every
 * GET /v1/me shows the member's tier: a read costs one round trip instead
 * of three. A cached ladder is trusted for the TTL; ly_ladder_forget()
 * drops it at once, and a load that was under way when it was dropped is
 * not kept (the generation check). A change made by another process
 * (perkctl, a second perkd) shows within the TTL. Without a TTL (perkctl,
 * the tests) every call reads the database.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "loyalty/ly.h"

enum ly_tier_stmt {
	TIER_LIST,
	TIER_SETTINGS,
	TIER_DELETE,
	TIER_INSERT,
	TIER_SETTING_PUT,
	TIER_STMT__MAX
};

static const char *const ly_tier_stmts[TIER_STMT__MAX] = {
	[TIER_LIST] = "SELECT name, min_lifetime_points FROM tiers "
	    "ORDER BY position",
	[TIER_SETTINGS] = "SELECT name, value FROM settings WHERE name IN "
	    "('star_points', 'stars_per_flag')",
	[TIER_DELETE] = "DELETE FROM tiers",
	[TIER_INSERT] = "INSERT INTO tiers (position, name, "
	    "min_lifetime_points) VALUES (?, ?, ?)",
	[TIER_SETTING_PUT] = "INSERT INTO settings (name, value) VALUES (?, ?) "
	    "ON DUPLICATE KEY UPDATE value = VALUES(value)",
};

/* The defaults the contract names, used if settings rows are missing. */
#define LY_STAR_POINTS_DEFAULT		100
#define LY_STARS_PER_FLAG_DEFAULT	6

void
ly_standing(const struct ly_ladder *l, long long lifetime,
    struct ly_standing *out)
{
	size_t i, at = 0;

	memset(out, 0, sizeof(*out));
	if (lifetime < 0)
		lifetime = 0;
	for (i = 0; i < l->n; i++)
		if (l->tiers[i].min_lifetime <= lifetime)
			at = i;
	out->name = l->n > 0 ? l->tiers[at].name : "";
	if (at + 1 < l->n) {
		out->next = l->tiers[at + 1].name;
		out->to_next = l->tiers[at + 1].min_lifetime - lifetime;
	}
	out->stars = l->star_points > 0 ? lifetime / l->star_points : 0;
	out->flags = l->stars_per_flag > 0 ? out->stars / l->stars_per_flag : 0;
}

enum ly_res
ly_ladder_check(const struct ly_ladder *l)
{
	size_t i, k;

	if (l->n < 1 || l->n > LIM_TIERS_MAX || l->tiers[0].min_lifetime != 0)
		return LY_BAD_LADDER;
	if (l->star_points < 1 || l->star_points > LIM_STAR_POINTS_MAX ||
	    l->stars_per_flag < 1 || l->stars_per_flag > LIM_STARS_PER_FLAG_MAX)
		return LY_BAD_LADDER;
	for (i = 0; i < l->n; i++) {
		if (l->tiers[i].name[0] == '\0')
			return LY_BAD_LADDER;
		if (i > 0 && l->tiers[i].min_lifetime <=
		    l->tiers[i - 1].min_lifetime)
			return LY_BAD_LADDER;
		for (k = 0; k < i; k++)
			if (strcmp(l->tiers[i].name, l->tiers[k].name) == 0)
				return LY_BAD_LADDER;
	}
	return LY_OK;
}

static struct {
	pthread_mutex_t		 mu;
	unsigned		 ttl;		/* seconds; 0: no cache */
	unsigned long		 gen;		/* bumped by every forget */
	int			 full;
	time_t			 loaded;	/* CLOCK_MONOTONIC seconds */
	struct ly_ladder	 l;
} ly_ladder_cache = { .mu = PTHREAD_MUTEX_INITIALIZER };

/* Drops the cached ladder; a ttl >= 0 also sets the TTL. */
static void
ly_ladder_reset(long ttl)
{
	pthread_mutex_lock(&ly_ladder_cache.mu);
	if (ttl >= 0)
		ly_ladder_cache.ttl = (unsigned)ttl;
	ly_ladder_cache.full = 0;
	ly_ladder_cache.gen++;
	pthread_mutex_unlock(&ly_ladder_cache.mu);
}

void
ly_ladder_cache_ttl(unsigned seconds)
{
	ly_ladder_reset((long)seconds);
}

void
ly_ladder_forget(void)
{
	ly_ladder_reset(-1);
}

static enum ly_res
ly_ladder_load(struct db *db, struct ly_ladder *out)
{
	struct db_row *row;
	enum db_res r;

	memset(out, 0, sizeof(*out));
	out->star_points = LY_STAR_POINTS_DEFAULT;
	out->stars_per_flag = LY_STARS_PER_FLAG_DEFAULT;
	if ((r = db_exec(db, ly_tier_stmts[TIER_LIST], NULL, 0)) != DB_OK)
		return ly_from_db(r);
	while ((r = db_next(db, &row)) == DB_ROW) {
		if (out->n == LIM_TIERS_MAX)
			continue;	/* ly_ladder_put never stores more */
		snprintf(out->tiers[out->n].name, sizeof(out->tiers[0].name),
		    "%s", row->col[0].s);
		out->tiers[out->n].min_lifetime = row->col[1].i;
		out->n++;
	}
	if (r != DB_DONE)
		return ly_from_db(r);
	if ((r = db_exec(db, ly_tier_stmts[TIER_SETTINGS], NULL, 0)) != DB_OK)
		return ly_from_db(r);
	while ((r = db_next(db, &row)) == DB_ROW) {
		if (strcmp(row->col[0].s, "star_points") == 0 &&
		    row->col[1].i > 0)
			out->star_points = row->col[1].i;
		else if (strcmp(row->col[0].s, "stars_per_flag") == 0 &&
		    row->col[1].i > 0)
			out->stars_per_flag = row->col[1].i;
	}
	return r == DB_DONE ? LY_OK : ly_from_db(r);
}

enum ly_res
ly_ladder_get(struct db *db, struct ly_ladder *out)
{
	time_t now = ly_mono_s();
	unsigned long gen;
	enum ly_res res;
	unsigned ttl;

	pthread_mutex_lock(&ly_ladder_cache.mu);
	ttl = ly_ladder_cache.ttl;
	gen = ly_ladder_cache.gen;
	if (ttl > 0 && ly_ladder_cache.full &&
	    now - ly_ladder_cache.loaded < (time_t)ttl) {
		*out = ly_ladder_cache.l;
		pthread_mutex_unlock(&ly_ladder_cache.mu);
		return LY_OK;
	}
	pthread_mutex_unlock(&ly_ladder_cache.mu);
	if ((res = ly_ladder_load(db, out)) != LY_OK || ttl == 0)
		return res;
	pthread_mutex_lock(&ly_ladder_cache.mu);
	if (gen == ly_ladder_cache.gen) {	/* not forgotten meanwhile */
		ly_ladder_cache.l = *out;
		ly_ladder_cache.loaded = now;
		ly_ladder_cache.full = 1;
	}
	pthread_mutex_unlock(&ly_ladder_cache.mu);
	return LY_OK;
}

enum ly_res
ly_ladder_put(struct db *db, const struct ly_ladder *l)
{
	enum ly_res res;
	enum db_res r;
	size_t i;

	if ((res = ly_ladder_check(l)) != LY_OK)
		return res;
	ly_ladder_forget();
	if ((r = db_exec(db, ly_tier_stmts[TIER_DELETE], NULL, 0)) != DB_OK)
		return ly_from_db(r);
	for (i = 0; i < l->n; i++) {
		struct db_val p[] = { db_int((long long)i),
		    db_text(l->tiers[i].name), db_int(l->tiers[i].min_lifetime) };
		if ((r = db_exec(db, ly_tier_stmts[TIER_INSERT], p, 3)) != DB_OK)
			return r == DB_DUP ? LY_BAD_LADDER : ly_from_db(r);
	}
	struct db_val sp[] = { db_text("star_points"), db_int(l->star_points) };
	struct db_val sf[] = { db_text("stars_per_flag"),
	    db_int(l->stars_per_flag) };
	if ((r = db_exec(db, ly_tier_stmts[TIER_SETTING_PUT], sp, 2)) != DB_OK ||
	    (r = db_exec(db, ly_tier_stmts[TIER_SETTING_PUT], sf, 2)) != DB_OK)
		return ly_from_db(r);
	return LY_OK;
}
