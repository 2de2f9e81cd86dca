/*
 * pc_generate.c: perkctl generate, the synthetic data generator for
 * benchmarks and demos.
 *
 *   generate --members N --days D [--campaigns]
 *                                   load N synthetic members enrolled over
 *                                   the last D days, about ten ledger
 *                                   entries each, and their aggregates
 *                                   (--campaigns first creates the two
 *                                   campaigns of the demo)
 *
 * generate is a bulk loader for an idle database (benchmarks, demos): it
 * takes member ids above the current maximum and writes rows the way the
 * domain would have (balances follow the ledger, opt-outs are erased
 * shells), through multi-row INSERTs of PC_BULK_ROWS rows bound to one
 * prepared statement. The statement texts repeat a constant tuple of
 * placeholders; no value is ever printed into SQL. perkctl stats verify
 * (pc_stats.c) checks what it wrote.
 *
 * At about 900 lines this file has one job in three stages that share
 * struct pc_gen: the reference data (districts, rules, perks, campaigns),
 * each member's rows, and the aggregates of what was written. The bulk
 * loader and the progress bar under it are in pc_bulk.c.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/pc_bulk.h"

#define PC_COMMIT_MEMBERS	20000	/* members per transaction */
#define PC_GEN_MEMBERS_MAX	100000000LL
#define PC_GEN_DAYS_MAX		3650
#define PC_GEN_CHANNELS		6
#define PC_GEN_REFS_MAX		4096	/* rules x campaigns + 2 x perks + 1 */
#define PC_GEN_CELLS_MAX	(64LL * 1024 * 1024)

enum pc_gen_stmt {
	GEN_MAX_MEMBER,
	GEN_DISTRICTS,
	GEN_RULES,
	GEN_PERKS,
	GEN_BONUSES,
	GEN_CAMPAIGN_CODES,
	GEN_ADD_DISTRICT,
	GEN_ADD_RULE,
	GEN_PARTNER,
	GEN_ADD_PARTNER,
	GEN_ADD_PERK,
	GEN_ISSUER,
	GEN_ADD_ISSUER,
	GEN_MAX_AWARD,
	GEN_UNIQUE_CHECKS,
	PC_GEN_STMT__MAX
};

static const char *const pc_gen_stmts[PC_GEN_STMT__MAX] = {
	[GEN_MAX_MEMBER] = "SELECT COALESCE(MAX(id), 0) FROM members",
	[GEN_DISTRICTS] = "SELECT code, population FROM districts ORDER BY code",
	[GEN_RULES] = "SELECT id, points FROM rules WHERE active = 1 ORDER BY id",
	[GEN_PERKS] = "SELECT id, cost_points FROM perks WHERE active = 1 AND "
	    "kind = 'voucher' AND cost_points > 0 ORDER BY id",
	[GEN_BONUSES] = "SELECT id, bonus_rule_id, bonus_pct, "
	    "UNIX_TIMESTAMP(starts_at), UNIX_TIMESTAMP(ends_at) FROM campaigns "
	    "WHERE bonus_rule_id IS NOT NULL AND all_districts = 1 ORDER BY id",
	[GEN_CAMPAIGN_CODES] = "SELECT code FROM campaigns ORDER BY id LIMIT 3",
	[GEN_ADD_DISTRICT] = "INSERT INTO districts (code, name, population, "
	    "updated_at) VALUES (?, ?, ?, UTC_TIMESTAMP(6))",
	[GEN_ADD_RULE] = "INSERT INTO rules (code, title, description, points, "
	    "created_at, updated_at) VALUES (?, ?, '', ?, UTC_TIMESTAMP(6), "
	    "UTC_TIMESTAMP(6))",
	[GEN_PARTNER] = "SELECT id FROM orgs WHERE is_partner = 1 ORDER BY id "
	    "LIMIT 1",
	[GEN_ADD_PARTNER] = "INSERT INTO orgs (public_id, name, is_partner, "
	    "created_at) VALUES (?, 'Generated Partner', 1, UTC_TIMESTAMP(6))",
	[GEN_ISSUER] = "SELECT id FROM orgs WHERE is_issuer = 1 ORDER BY id "
	    "LIMIT 1",
	[GEN_ADD_ISSUER] = "INSERT INTO orgs (public_id, name, is_issuer, "
	    "created_at) VALUES (?, 'Generated Issuer', 1, UTC_TIMESTAMP(6))",
	[GEN_MAX_AWARD] = "SELECT COALESCE(MAX(id), 0) FROM awards",
	/* a bulk load of rows unique by construction (fresh ids, refs
	 * "gen-<member id>-<n>") need not look each one up in the unique
	 * indexes: InnoDB buffers the inserts instead (as mysqldump does) */
	[GEN_UNIQUE_CHECKS] = "SET SESSION unique_checks = ?",
	[GEN_ADD_PERK] = "INSERT INTO perks (public_id, partner_id, title, kind, "
	    "cost_points, created_at, updated_at) VALUES (?, ?, ?, 'voucher', ?, "
	    "UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
};

/* ---- generate ---- */

struct pc_gen_district {
	char		 code[LIM_CODE_MAX + 1];
	long long	 population;
};

struct pc_gen_ref {
	uint64_t	 id;
	long long	 points;	/* rule points or perk cost */
};

struct pc_gen_bonus {
	uint64_t	 id;
	uint64_t	 rule_id;
	int		 pct;
	time_t		 from, to;
};

/* Everything generate reads before it starts, and its aggregates. */
struct pc_gen {
	long long	 members, days;
	struct pc_gen_district d[LIM_STATS_DISTRICTS];
	size_t		 nd;
	double		 dweight[LIM_STATS_DISTRICTS];	/* cumulative */
	struct pc_gen_ref rules[64], perks[64];
	size_t		 nrules, nperks;
	struct pc_gen_bonus bonus[8];
	size_t		 nbonus;
	char		 channels[PC_GEN_CHANNELS][LIM_CODE_MAX + 1];
	time_t		*midnight;	/* [days + 2]: local midnights */
	char		(*daystr)[11];	/* [days + 1]: their local days */
	time_t		 now;
	uint64_t	 issuer;	/* the org the awards come from */
	/* aggregates: [day][district][channel][shard] and
	 * [day][district][ref][shard] */
	size_t		 nref;
	long long	*enr, *left, *f_en, *f_earn, *f_e30, *f_red;
	long long	*p_n, *p_pts;
};

static size_t
pc_gen_ecell(const struct pc_gen *g, long day, size_t d, size_t ch,
    unsigned shard)
{
	return (((size_t)day * g->nd + d) * PC_GEN_CHANNELS + ch) *
	    LIM_AGG_SHARDS + shard;
}

static size_t
pc_gen_pcell(const struct pc_gen *g, long day, size_t d, size_t ref,
    unsigned shard)
{
	return (((size_t)day * g->nd + d) * g->nref + ref) * LIM_AGG_SHARDS +
	    shard;
}

/* ref index: awards by rule and bonus (0 = none), then redemptions and
 * refunds by perk, then closures. */
static size_t
pc_ref_award(const struct pc_gen *g, size_t rule, size_t bonus)
{
	return rule * (g->nbonus + 1) + bonus;
}

static size_t
pc_ref_redeem(const struct pc_gen *g, size_t perk)
{
	return g->nrules * (g->nbonus + 1) + perk;
}

static size_t
pc_ref_refund(const struct pc_gen *g, size_t perk)
{
	return g->nrules * (g->nbonus + 1) + g->nperks + perk;
}

static size_t
pc_ref_closure(const struct pc_gen *g)
{
	return g->nrules * (g->nbonus + 1) + 2 * g->nperks;
}

/* Day index (0 = first generated day) of a time, from the midnights. */
static long
pc_gen_day(const struct pc_gen *g, time_t t)
{
	long lo = 0, hi = (long)g->days + 1, mid;

	while (lo < hi) {
		mid = (lo + hi + 1) / 2;
		if (g->midnight[mid] <= t)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/* Creates reference data a bare database lacks: districts, rules and
 * voucher perks (with a partner), so generate works on an empty schema. */
static int
pc_gen_reference(struct pc *pc)
{
	static const struct { const char *code, *name; long long pop; } ds[] = {
		{ "centre", "Centre", 120000 }, { "north", "North", 160000 },
		{ "south", "South", 150000 }, { "east", "East", 140000 },
		{ "west", "West", 130000 }, { "harbour", "Harbour", 90000 },
		{ "hills", "Hills", 70000 }, { "old-town", "Old Town", 60000 },
		{ "riverside", "Riverside", 110000 },
		{ "university", "University", 80000 },
		{ "airport", "Airport", 40000 }, { "park", "Park", 50000 },
	};
	static const struct { const char *code, *title; long long pts; } rs[] = {
		{ "gen-blood-donation", "Blood donation", 50 },
		{ "gen-library-visit", "Library visit", 5 },
		{ "gen-recycling", "Recycling drop-off", 10 },
		{ "gen-volunteering", "Volunteering hour", 20 },
		{ "gen-bike-commute", "Bike commute", 3 },
		{ "gen-energy-saving", "Energy saving month", 30 },
	};
	static const struct { const char *title; long long cost; } ps[] = {
		{ "Swimming pool entry", 40 }, { "Museum ticket", 60 },
		{ "Bike share day pass", 30 }, { "Theatre discount", 120 },
	};
	struct db_row *row;
	char pid[LIM_PUBLIC_ID_MAX];
	uint64_t partner;
	enum db_res r;
	size_t i;

	if ((r = db_one(pc->db, pc_gen_stmts[GEN_DISTRICTS], NULL, 0,
	    &row)) == DB_NOTFOUND) {
		for (i = 0; i < sizeof(ds) / sizeof(ds[0]); i++) {
			struct db_val p[] = { db_text(ds[i].code),
			    db_text(ds[i].name), db_int(ds[i].pop) };
			if (db_exec(pc->db, pc_gen_stmts[GEN_ADD_DISTRICT], p,
			    3) != DB_OK)
				return -1;
		}
	} else if (r != DB_ROW)
		return -1;
	if ((r = db_one(pc->db, pc_gen_stmts[GEN_RULES], NULL, 0, &row)) ==
	    DB_NOTFOUND) {
		for (i = 0; i < sizeof(rs) / sizeof(rs[0]); i++) {
			struct db_val p[] = { db_text(rs[i].code),
			    db_text(rs[i].title), db_int(rs[i].pts) };
			if (db_exec(pc->db, pc_gen_stmts[GEN_ADD_RULE], p, 3) !=
			    DB_OK)
				return -1;
		}
	} else if (r != DB_ROW)
		return -1;
	if ((r = db_one(pc->db, pc_gen_stmts[GEN_ISSUER], NULL, 0, &row)) ==
	    DB_NOTFOUND) {
		ly_id_random(pid, sizeof(pid), "org_");
		struct db_val p[] = { db_text(pid) };
		if (db_exec(pc->db, pc_gen_stmts[GEN_ADD_ISSUER], p, 1) !=
		    DB_OK)
			return -1;
	} else if (r != DB_ROW)
		return -1;
	if ((r = db_one(pc->db, pc_gen_stmts[GEN_PERKS], NULL, 0, &row)) !=
	    DB_NOTFOUND)
		return r == DB_ROW ? 0 : -1;
	if ((r = db_one(pc->db, pc_gen_stmts[GEN_PARTNER], NULL, 0, &row)) ==
	    DB_ROW)
		partner = (uint64_t)row->col[0].i;
	else if (r == DB_NOTFOUND) {
		ly_id_random(pid, sizeof(pid), "org_");
		struct db_val p[] = { db_text(pid) };
		if (db_exec(pc->db, pc_gen_stmts[GEN_ADD_PARTNER], p, 1) !=
		    DB_OK)
			return -1;
		partner = db_insert_id(pc->db);
	} else
		return -1;
	for (i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		ly_id_random(pid, sizeof(pid), "prk_");
		struct db_val p[] = { db_text(pid), db_int((long long)partner),
		    db_text(ps[i].title), db_int(ps[i].cost) };
		if (db_exec(pc->db, pc_gen_stmts[GEN_ADD_PERK], p, 4) != DB_OK)
			return -1;
	}
	return 0;
}

/* Reads districts, rules, perks, bonus campaigns and channel names. */
static int
pc_gen_load(struct pc *pc, struct pc_gen *g)
{
	static const char *const fixed[] = { "", "poster", "app-banner",
	    "library-counter", "newsletter", "event" };
	struct db_row *row;
	enum db_res r;
	double sum = 0;
	size_t i, nc = 0;

	if (db_one(pc->db, pc_gen_stmts[GEN_ISSUER], NULL, 0, &row) != DB_ROW)
		return -1;
	g->issuer = (uint64_t)row->col[0].i;
	if ((r = db_exec(pc->db, pc_gen_stmts[GEN_DISTRICTS], NULL, 0)) !=
	    DB_OK)
		return -1;
	while ((r = db_next(pc->db, &row)) == DB_ROW &&
	    g->nd < LIM_STATS_DISTRICTS) {
		snprintf(g->d[g->nd].code, sizeof(g->d[0].code), "%s",
		    row->col[0].s);
		g->d[g->nd++].population = row->col[1].i;
	}
	if ((r = db_exec(pc->db, pc_gen_stmts[GEN_RULES], NULL, 0)) != DB_OK)
		return -1;
	while ((r = db_next(pc->db, &row)) == DB_ROW && g->nrules < 64) {
		g->rules[g->nrules].id = (uint64_t)row->col[0].i;
		g->rules[g->nrules++].points = row->col[1].i;
	}
	if ((r = db_exec(pc->db, pc_gen_stmts[GEN_PERKS], NULL, 0)) != DB_OK)
		return -1;
	while ((r = db_next(pc->db, &row)) == DB_ROW && g->nperks < 64) {
		g->perks[g->nperks].id = (uint64_t)row->col[0].i;
		g->perks[g->nperks++].points = row->col[1].i;
	}
	if ((r = db_exec(pc->db, pc_gen_stmts[GEN_BONUSES], NULL, 0)) != DB_OK)
		return -1;
	while ((r = db_next(pc->db, &row)) == DB_ROW && g->nbonus < 8) {
		struct pc_gen_bonus *b = &g->bonus[g->nbonus++];
		b->id = (uint64_t)row->col[0].i;
		b->rule_id = (uint64_t)row->col[1].i;
		b->pct = (int)row->col[2].i;
		b->from = (time_t)row->col[3].i;
		b->to = (time_t)row->col[4].i;
	}
	/* campaign codes first, so campaign stats have enrolments */
	if ((r = db_exec(pc->db, pc_gen_stmts[GEN_CAMPAIGN_CODES], NULL,
	    0)) != DB_OK)
		return -1;
	snprintf(g->channels[nc++], LIM_CODE_MAX + 1, "%s", "");
	while ((r = db_next(pc->db, &row)) == DB_ROW && nc < PC_GEN_CHANNELS)
		snprintf(g->channels[nc++], LIM_CODE_MAX + 1, "%s",
		    row->col[0].s);
	for (i = 1; nc < PC_GEN_CHANNELS; i++)
		snprintf(g->channels[nc++], LIM_CODE_MAX + 1, "%s", fixed[i]);
	if (g->nd == 0 || g->nrules == 0) {
		fprintf(stderr, "perkctl: generate needs districts and rules\n");
		return -1;
	}
	for (i = 0; i < g->nd; i++) {
		sum += g->d[i].population > 0 ? (double)g->d[i].population : 1.0;
		g->dweight[i] = sum;
	}
	for (i = 0; i < g->nd; i++)
		g->dweight[i] /= sum;
	g->nref = g->nrules * (g->nbonus + 1) + 2 * g->nperks + 1;
	return 0;
}

static int
pc_gen_alloc(struct pc_gen *g)
{
	long long ecells = (g->days + 1) * (long long)g->nd * PC_GEN_CHANNELS *
	    LIM_AGG_SHARDS;
	long long pcells = (g->days + 1) * (long long)g->nd *
	    (long long)g->nref * LIM_AGG_SHARDS;
	struct tm tm;
	time_t t;
	long i;

	if (ecells > PC_GEN_CELLS_MAX || pcells > PC_GEN_CELLS_MAX ||
	    g->nref > PC_GEN_REFS_MAX) {
		fprintf(stderr, "perkctl: too many days x districts x rules\n");
		return -1;
	}
	g->enr = calloc((size_t)ecells, sizeof(long long));
	g->left = calloc((size_t)ecells, sizeof(long long));
	g->f_en = calloc((size_t)ecells, sizeof(long long));
	g->f_earn = calloc((size_t)ecells, sizeof(long long));
	g->f_e30 = calloc((size_t)ecells, sizeof(long long));
	g->f_red = calloc((size_t)ecells, sizeof(long long));
	g->p_n = calloc((size_t)pcells, sizeof(long long));
	g->p_pts = calloc((size_t)pcells, sizeof(long long));
	g->midnight = calloc((size_t)g->days + 2, sizeof(time_t));
	g->daystr = calloc((size_t)g->days + 2, sizeof(*g->daystr));
	if (g->enr == NULL || g->left == NULL || g->f_en == NULL ||
	    g->f_earn == NULL || g->f_e30 == NULL || g->f_red == NULL ||
	    g->p_n == NULL || g->p_pts == NULL || g->midnight == NULL ||
	    g->daystr == NULL)
		return -1;
	/* local midnights from D days ago to tomorrow (DST-safe: mktime
	 * normalises the day of month) */
	g->now = time(NULL);
	localtime_r(&g->now, &tm);
	for (i = 0; i <= g->days + 1; i++) {
		struct tm m = tm;
		m.tm_mday -= (int)(g->days - i);
		m.tm_hour = m.tm_min = m.tm_sec = 0;
		m.tm_isdst = -1;
		t = mktime(&m);
		g->midnight[i] = t;
		ly_day(t + 43200, g->daystr[i]);
	}
	return 0;
}

static void
pc_gen_free(struct pc_gen *g)
{
	free(g->enr);
	free(g->left);
	free(g->f_en);
	free(g->f_earn);
	free(g->f_e30);
	free(g->f_red);
	free(g->p_n);
	free(g->p_pts);
	free(g->midnight);
	free(g->daystr);
}

static int
pc_time_cmp(const void *a, const void *b)
{
	time_t x = *(const time_t *)a, y = *(const time_t *)b;

	return x < y ? -1 : x > y;
}

/* One ledger entry being generated. */
struct pc_gen_entry;
static void pc_gen_award(const struct pc_gen *, struct pc_rng *,
    struct pc_gen_entry *);
struct pc_gen_entry {
	time_t		 at;
	enum ly_kind	 kind;
	long long	 points, balance;
	uint64_t	 rule_id, perk_id, campaign_id;
	long long	 base;		/* rule points x bonus (awards) */
	size_t		 ref;
};

#define PC_ENTRIES_MAX 24

/* An award of a random rule at x->at, with the best bonus in force. */
static void
pc_gen_award(const struct pc_gen *g, struct pc_rng *rng,
    struct pc_gen_entry *x)
{
	size_t rl = pc_below(rng, g->nrules), b, bi = 0;
	int best = 100;

	for (b = 0; b < g->nbonus; b++)
		if (g->bonus[b].rule_id == g->rules[rl].id &&
		    x->at >= g->bonus[b].from && x->at < g->bonus[b].to &&
		    g->bonus[b].pct > best) {
			best = g->bonus[b].pct;
			bi = b + 1;
		}
	x->kind = LY_AWARD;
	x->points = x->base = g->rules[rl].points * best / 100;
	x->rule_id = g->rules[rl].id;
	x->campaign_id = bi ? g->bonus[bi - 1].id : 0;
	x->ref = pc_ref_award(g, rl, bi);
}

/*
 * Generates one member's life: enrolment, entries, maybe an opt-out.
 * Fills the member row values into bm and the entries into e (returns
 * their count), and adds everything to the aggregates.
 */
static size_t
pc_gen_member(struct pc_gen *g, struct pc_rng *rng, uint64_t id,
    struct pc_gen_entry *e, time_t *enrolled_at, time_t *left_at,
    size_t *dist, size_t *chan, long long *balance, long long *lifetime,
    time_t *first_earn, time_t *first_redeem)
{
	time_t times[PC_ENTRIES_MAX], end;
	double u = pc_unit(rng);
	size_t n, i, k, last_red = 0;
	long eday, day;
	unsigned shard = ly_shard(id);
	int open_red = 0;

	for (*dist = 0; *dist + 1 < g->nd && g->dweight[*dist] < u; (*dist)++)
		;
	/* about 40 % come without a campaign, the rest through one */
	*chan = pc_unit(rng) < 0.4 ? 0 : 1 + pc_below(rng, PC_GEN_CHANNELS - 1);
	/* enrolments grow over time: more in recent days */
	eday = (long)((double)g->days * sqrt(pc_unit(rng)));
	if (eday >= g->days)
		eday = g->days - 1;
	*enrolled_at = g->midnight[eday] + (time_t)pc_below(rng,
	    (uint64_t)(g->midnight[eday + 1] - g->midnight[eday]));
	end = g->now - 60;
	*left_at = 0;
	if (pc_unit(rng) < 0.03 && end > *enrolled_at + 120) {
		*left_at = *enrolled_at + 60 + (time_t)pc_below(rng,
		    (uint64_t)(end - *enrolled_at - 60));
		end = *left_at - 1;
	}
	/* about one in seven never earns: the funnel narrows */
	n = pc_unit(rng) < 0.15 ? 0 : 6 + pc_below(rng, 13);
	if (end <= *enrolled_at + 60)
		n = 0;
	for (i = 0; i < n; i++)
		times[i] = *enrolled_at + 60 + (time_t)pc_below(rng,
		    (uint64_t)(end - *enrolled_at - 60));
	qsort(times, n, sizeof(times[0]), pc_time_cmp);
	*balance = *lifetime = 0;
	*first_earn = *first_redeem = 0;
	for (i = k = 0; i < n; i++) {
		struct pc_gen_entry *x = &e[k];
		double r = pc_unit(rng);
		memset(x, 0, sizeof(*x));
		x->at = times[i];
		size_t p = g->nperks > 0 ? pc_below(rng, g->nperks) : 0;
		if (open_red && r < 0.05) {
			/* the last voucher cancelled: its points come back */
			x->kind = LY_REFUND;
			x->points = -e[last_red].points;
			x->perk_id = e[last_red].perk_id;
			x->ref = pc_ref_refund(g, e[last_red].ref -
			    pc_ref_redeem(g, 0));
			open_red = 0;
		} else if (g->nperks > 0 && r < 0.25 &&
		    g->perks[p].points <= *balance) {
			x->kind = LY_REDEMPTION;
			x->points = -g->perks[p].points;
			x->perk_id = g->perks[p].id;
			x->ref = pc_ref_redeem(g, p);
			last_red = k;
			open_red = 1;
		} else
			pc_gen_award(g, rng, x);
		if (x->points == 0)
			continue;
		*balance += x->points;
		if (x->kind == LY_AWARD) {
			*lifetime += x->points;
			if (*first_earn == 0)
				*first_earn = x->at;
		}
		if (x->kind == LY_REDEMPTION && *first_redeem == 0)
			*first_redeem = x->at;
		x->balance = *balance;
		k++;
	}
	if (*left_at != 0 && *balance > 0) {
		struct pc_gen_entry *x = &e[k++];
		memset(x, 0, sizeof(*x));
		x->at = *left_at;
		x->kind = LY_CLOSURE;
		x->points = -*balance;
		x->ref = pc_ref_closure(g);
		*balance = 0;
		x->balance = 0;
	}
	/* aggregates, as the domain would have kept them */
	g->enr[pc_gen_ecell(g, eday, *dist, *chan, shard)]++;
	g->f_en[pc_gen_ecell(g, eday, *dist, *chan, shard)]++;
	if (*first_earn != 0) {
		g->f_earn[pc_gen_ecell(g, eday, *dist, *chan, shard)]++;
		if (*first_earn <= *enrolled_at + 30 * 86400)
			g->f_e30[pc_gen_ecell(g, eday, *dist, *chan, shard)]++;
	}
	if (*first_redeem != 0)
		g->f_red[pc_gen_ecell(g, eday, *dist, *chan, shard)]++;
	if (*left_at != 0)
		g->left[pc_gen_ecell(g, pc_gen_day(g, *left_at), *dist, *chan,
		    shard)]++;
	for (i = 0; i < k; i++) {
		day = pc_gen_day(g, e[i].at);
		g->p_n[pc_gen_pcell(g, day, *dist, e[i].ref, shard)]++;
		g->p_pts[pc_gen_pcell(g, day, *dist, e[i].ref, shard)] +=
		    e[i].points;
	}
	return k;
}

static const char pc_members_head[] = "INSERT INTO members (id, subject_hash, "
    "status, district, channel, enrolled_at, left_at, balance, "
    "lifetime_points, first_earned_at, first_redeemed_at)";
static const char pc_ledger_head[] = "INSERT INTO ledger (member_id, at, kind, "
    "points, balance_after, rule_id, perk_id, award_id)";
static const char pc_awards_head[] = "INSERT INTO awards (id, issuer_id, "
    "external_ref, member_id, rule_id, base_points, points, campaign_id, day, "
    "occurred_at, created_at)";

/* Binds a time, or NULL for 0. */
static void
pc_bulk_time(struct pc_bulk *b, size_t col, time_t t)
{
	char buf[32];

	if (t == 0) {
		*pc_bulk_slot(b, col) = db_null();
		return;
	}
	pc_fmt_time(t, buf);
	pc_bulk_str(b, col, buf);
}

/* Loads the members and ledger; returns 0 or -1. */
static int
pc_gen_rows(struct pc *pc, struct pc_gen *g, struct pc_rng *rng)
{
	struct pc_bulk bm, bl, ba;
	struct pc_gen_entry e[PC_ENTRIES_MAX];
	char ref[48], day[11];	/* "gen-" + a 20-digit id + "-" + a 20-digit index */
	uint64_t award;
	struct pc_progress pg = { "members", 0, 0, 0 };
	unsigned char hash[32 * PC_BULK_ROWS];
	struct db_row *row;
	uint64_t base, id;
	long long i;
	size_t n, k, dist, chan;
	time_t enrolled_at, left_at, fe, fr;
	long long balance, lifetime;
	int rc = -1;

	if (pc_bulk_init(&bm, pc_members_head, "", 11) != 0 ||
	    pc_bulk_init(&bl, pc_ledger_head, "", 8) != 0 ||
	    pc_bulk_init(&ba, pc_awards_head, "", 11) != 0)
		goto out;
	if (db_one(pc->db, pc_gen_stmts[GEN_MAX_MEMBER], NULL, 0, &row) !=
	    DB_ROW)
		goto out;
	base = (uint64_t)row->col[0].i + 1;
	if (db_one(pc->db, pc_gen_stmts[GEN_MAX_AWARD], NULL, 0, &row) !=
	    DB_ROW)
		goto out;
	award = (uint64_t)row->col[0].i;
	struct db_val off[] = { db_int(0) };
	if (db_exec(pc->db, pc_gen_stmts[GEN_UNIQUE_CHECKS], off, 1) != DB_OK)
		goto out;
	pg.start = pc_clock();
	pg.total = (unsigned long long)g->members;
	if (pc_begin(pc) != 0)
		goto out;
	for (i = 0; i < g->members; i++) {
		id = base + (uint64_t)i;
		n = pc_gen_member(g, rng, id, e, &enrolled_at, &left_at, &dist,
		    &chan, &balance, &lifetime, &fe, &fr);
		if (bm.rows == 0)
			randombytes_buf(hash, sizeof(hash));
		*pc_bulk_slot(&bm, 0) = db_int((long long)id);
		if (left_at != 0) {
			/* an opt-out leaves an anonymous shell */
			*pc_bulk_slot(&bm, 1) = db_null();
			*pc_bulk_slot(&bm, 2) = db_text("closed");
			*pc_bulk_slot(&bm, 3) = db_null();
			*pc_bulk_slot(&bm, 4) = db_null();
		} else {
			*pc_bulk_slot(&bm, 1) = db_blob(hash + 32 * bm.rows, 32);
			*pc_bulk_slot(&bm, 2) = db_text("active");
			*pc_bulk_slot(&bm, 3) = db_text(g->d[dist].code);
			*pc_bulk_slot(&bm, 4) = g->channels[chan][0] ?
			    db_text(g->channels[chan]) : db_null();
		}
		pc_bulk_time(&bm, 5, enrolled_at);
		pc_bulk_time(&bm, 6, left_at);
		*pc_bulk_slot(&bm, 7) = db_int(balance);
		*pc_bulk_slot(&bm, 8) = db_int(lifetime);
		pc_bulk_time(&bm, 9, fe);
		pc_bulk_time(&bm, 10, fr);
		if (pc_bulk_row(pc, &bm) != DB_OK)
			goto out;
		for (k = 0; k < n; k++) {
			if (e[k].kind == LY_AWARD) {
				/* the award an issuer would have reported;
				 * fixed-width refs keep the unique index
				 * appending in order */
				award++;
				snprintf(ref, sizeof(ref), "gen-%012llu-%02zu",
				    (unsigned long long)id, k);
				memcpy(day, g->daystr[pc_gen_day(g, e[k].at)],
				    sizeof(day));
				*pc_bulk_slot(&ba, 0) = db_int((long long)award);
				*pc_bulk_slot(&ba, 1) = db_int((long long)
				    g->issuer);
				pc_bulk_str(&ba, 2, ref);
				*pc_bulk_slot(&ba, 3) = db_int((long long)id);
				*pc_bulk_slot(&ba, 4) = db_int((long long)
				    e[k].rule_id);
				*pc_bulk_slot(&ba, 5) = db_int(e[k].base);
				*pc_bulk_slot(&ba, 6) = db_int(e[k].points);
				*pc_bulk_slot(&ba, 7) = e[k].campaign_id ?
				    db_int((long long)e[k].campaign_id) :
				    db_null();
				pc_bulk_str(&ba, 8, day);
				pc_bulk_time(&ba, 9, e[k].at);
				pc_bulk_time(&ba, 10, e[k].at);
				if (pc_bulk_row(pc, &ba) != DB_OK)
					goto out;
			}
			*pc_bulk_slot(&bl, 7) = e[k].kind == LY_AWARD ?
			    db_int((long long)award) : db_null();
			*pc_bulk_slot(&bl, 0) = db_int((long long)id);
			pc_bulk_time(&bl, 1, e[k].at);
			*pc_bulk_slot(&bl, 2) = db_text(ly_kind_str(e[k].kind));
			*pc_bulk_slot(&bl, 3) = db_int(e[k].points);
			*pc_bulk_slot(&bl, 4) = db_int(e[k].balance);
			*pc_bulk_slot(&bl, 5) = e[k].rule_id ?
			    db_int((long long)e[k].rule_id) : db_null();
			*pc_bulk_slot(&bl, 6) = e[k].perk_id ?
			    db_int((long long)e[k].perk_id) : db_null();
			if (pc_bulk_row(pc, &bl) != DB_OK)
				goto out;
		}
		if ((i + 1) % PC_COMMIT_MEMBERS == 0) {
			/* a ledger row must not commit before its member */
			if (pc_bulk_flush(pc, &bm) != DB_OK ||
			    pc_bulk_flush(pc, &ba) != DB_OK ||
			    pc_bulk_flush(pc, &bl) != DB_OK ||
			    pc_txn_end(pc, LY_OK, "generate") != 0 ||
			    pc_begin(pc) != 0)
				goto out;
		}
		pc_progress_show(&pg, (unsigned long long)i + 1, bl.inserted +
		    bl.rows, "ledger entries", 0);
	}
	if (pc_bulk_flush(pc, &bm) != DB_OK || pc_bulk_flush(pc, &ba) != DB_OK ||
	    pc_bulk_flush(pc, &bl) != DB_OK ||
	    pc_txn_end(pc, LY_OK, "generate") != 0)
		goto out;
	pc_progress_show(&pg, (unsigned long long)g->members, bl.inserted,
	    "ledger entries", 1);
	rc = 0;
out:
	if (rc != 0 && db_in_txn(pc->db))
		db_rollback(pc->db);
	struct db_val on[] = { db_int(1) };
	if (db_exec(pc->db, pc_gen_stmts[GEN_UNIQUE_CHECKS], on, 1) != DB_OK)
		rc = -1;
	pc_bulk_done(&bm);
	pc_bulk_done(&bl);
	pc_bulk_done(&ba);
	return rc;
}

/* Adds the generated aggregates to the daily tables (the 0030 triggers
 * keep the roll-ups). */
static int
pc_gen_aggregates(struct pc *pc, struct pc_gen *g)
{
	static const char *const kinds[] = { "award", "redemption", "refund",
	    "closure" };
	struct pc_bulk be, bf, bp;
	struct pc_progress pg = { "aggregates", 0, 0, 0 };
	char day[11];
	long d;
	size_t di, c, ref, ci, kind;
	unsigned s;
	uint64_t refid, campaign;
	int rc = -1;

	if (pc_bulk_init(&be, "INSERT INTO agg_enroll_daily (day, district, "
	    "channel, shard, enrolled, left_count)", "ON DUPLICATE KEY UPDATE "
	    "enrolled = enrolled + VALUES(enrolled), left_count = left_count + "
	    "VALUES(left_count)", 6) != 0 ||
	    pc_bulk_init(&bf, "INSERT INTO agg_funnel_daily (enroll_day, "
	    "district, channel, shard, enrolled, earned, earned_30d, redeemed)",
	    "ON DUPLICATE KEY UPDATE enrolled = enrolled + VALUES(enrolled), "
	    "earned = earned + VALUES(earned), earned_30d = earned_30d + "
	    "VALUES(earned_30d), redeemed = redeemed + VALUES(redeemed)", 8) != 0 ||
	    pc_bulk_init(&bp, "INSERT INTO agg_points_daily (day, district, "
	    "kind, ref_id, campaign_id, shard, entries, points)",
	    "ON DUPLICATE KEY UPDATE entries = entries + VALUES(entries), "
	    "points = points + VALUES(points)", 8) != 0)
		goto out;
	pg.start = pc_clock();
	pg.total = (unsigned long long)g->days + 1;
	if (pc_begin(pc) != 0)
		goto out;
	for (d = 0; d <= g->days; d++) {
		memcpy(day, g->daystr[d], sizeof(day));
		for (di = 0; di < g->nd; di++) {
			for (c = 0; c < PC_GEN_CHANNELS; c++)
				for (s = 0; s < LIM_AGG_SHARDS; s++) {
					ci = pc_gen_ecell(g, d, di, c, s);
					if (g->enr[ci] || g->left[ci]) {
						pc_bulk_str(&be, 0, day);
						pc_bulk_str(&be, 1, g->d[di].code);
						pc_bulk_str(&be, 2, g->channels[c]);
						*pc_bulk_slot(&be, 3) = db_int(s);
						*pc_bulk_slot(&be, 4) = db_int(g->enr[ci]);
						*pc_bulk_slot(&be, 5) = db_int(g->left[ci]);
						if (pc_bulk_row(pc, &be) != DB_OK)
							goto out;
					}
					if (g->f_en[ci]) {
						pc_bulk_str(&bf, 0, day);
						pc_bulk_str(&bf, 1, g->d[di].code);
						pc_bulk_str(&bf, 2, g->channels[c]);
						*pc_bulk_slot(&bf, 3) = db_int(s);
						*pc_bulk_slot(&bf, 4) = db_int(g->f_en[ci]);
						*pc_bulk_slot(&bf, 5) = db_int(g->f_earn[ci]);
						*pc_bulk_slot(&bf, 6) = db_int(g->f_e30[ci]);
						*pc_bulk_slot(&bf, 7) = db_int(g->f_red[ci]);
						if (pc_bulk_row(pc, &bf) != DB_OK)
							goto out;
					}
				}
			for (ref = 0; ref < g->nref; ref++)
				for (s = 0; s < LIM_AGG_SHARDS; s++) {
					ci = pc_gen_pcell(g, d, di, ref, s);
					if (g->p_n[ci] == 0)
						continue;
					campaign = 0;
					if (ref < pc_ref_redeem(g, 0)) {
						kind = 0;
						refid = g->rules[ref /
						    (g->nbonus + 1)].id;
						if (ref % (g->nbonus + 1))
							campaign = g->bonus[ref %
							    (g->nbonus + 1) - 1].id;
					} else if (ref < pc_ref_refund(g, 0)) {
						kind = 1;
						refid = g->perks[ref -
						    pc_ref_redeem(g, 0)].id;
					} else if (ref < pc_ref_closure(g)) {
						kind = 2;
						refid = g->perks[ref -
						    pc_ref_refund(g, 0)].id;
					} else {
						kind = 3;
						refid = 0;
					}
					pc_bulk_str(&bp, 0, day);
					pc_bulk_str(&bp, 1, g->d[di].code);
					*pc_bulk_slot(&bp, 2) = db_text(kinds[kind]);
					*pc_bulk_slot(&bp, 3) = db_int((long long)refid);
					*pc_bulk_slot(&bp, 4) = db_int((long long)campaign);
					*pc_bulk_slot(&bp, 5) = db_int(s);
					*pc_bulk_slot(&bp, 6) = db_int(g->p_n[ci]);
					*pc_bulk_slot(&bp, 7) = db_int(g->p_pts[ci]);
					if (pc_bulk_row(pc, &bp) != DB_OK)
						goto out;
				}
		}
		pc_progress_show(&pg, (unsigned long long)d + 1, be.inserted +
		    bf.inserted + bp.inserted, "rows", 0);
	}
	if (pc_bulk_flush(pc, &be) != DB_OK || pc_bulk_flush(pc, &bf) != DB_OK ||
	    pc_bulk_flush(pc, &bp) != DB_OK ||
	    pc_txn_end(pc, LY_OK, "aggregates") != 0)
		goto out;
	pc_progress_show(&pg, pg.total, be.inserted + bf.inserted + bp.inserted,
	    "rows", 1);
	rc = 0;
out:
	if (rc != 0 && db_in_txn(pc->db))
		db_rollback(pc->db);
	pc_bulk_done(&be);
	pc_bulk_done(&bf);
	pc_bulk_done(&bp);
	return rc;
}

/* Loads the synthetic population; used by generate and by the demo. */
int
pc_generate(struct pc *pc, long long members, long long days, int campaigns)
{
	struct pc_gen *g = NULL;
	struct pc_rng rng;
	double t0 = pc_clock();
	int rc = -1;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return -1;
	g->members = members;
	g->days = days;
	do
		randombytes_buf(rng.s, sizeof(rng.s));
	while ((rng.s[0] | rng.s[1] | rng.s[2] | rng.s[3]) == 0);
	if (pc_begin(pc) != 0)
		goto out;
	if (pc_gen_reference(pc) != 0) {
		fprintf(stderr, "perkctl: generate: cannot create reference "
		    "data: %s\n", db_error(pc->db));
		db_rollback(pc->db);
		goto out;
	}
	if (campaigns && pc_campaigns_create(pc, NULL, (long)days) != LY_OK) {
		fprintf(stderr, "perkctl: generate: cannot create the "
		    "campaigns (do they exist already?)\n");
		db_rollback(pc->db);
		goto out;
	}
	if (pc_txn_end(pc, LY_OK, "generate") != 0 || pc_gen_load(pc, g) != 0 ||
	    pc_gen_alloc(g) != 0 || pc_gen_rows(pc, g, &rng) != 0 ||
	    pc_gen_aggregates(pc, g) != 0)
		goto out;
	fprintf(stderr, "generated %lld members over %lld days in %.1f s\n",
	    members, days, pc_clock() - t0);
	rc = 0;
out:
	pc_gen_free(g);
	free(g);
	return rc;
}

int
pc_cmd_generate(struct pc *pc, int argc, char *argv[])
{
	unsigned long long members = 0, days = 0;
	int i, campaigns = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--members") == 0 && i + 1 < argc) {
			if (ly_parse_uint(argv[++i], PC_GEN_MEMBERS_MAX,
			    &members) != 0)
				goto usage;
		} else if (strcmp(argv[i], "--days") == 0 && i + 1 < argc) {
			if (ly_parse_uint(argv[++i], PC_GEN_DAYS_MAX, &days) != 0)
				goto usage;
		} else if (strcmp(argv[i], "--campaigns") == 0)
			campaigns = 1;
		else
			goto usage;
	}
	if (members == 0 || days == 0)
		goto usage;
	/* synthetic members would corrupt a real programme's statistics */
	if (!pc->cfg.dev_mode) {
		fprintf(stderr, "perkctl: generate loads synthetic data and runs "
		    "only with dev_mode = 1\n");
		return 1;
	}
	if (pc_open(pc) != 0)
		return 1;
	return pc_generate(pc, (long long)members, (long long)days,
	    campaigns) == 0 ? 0 : 1;
usage:
	fprintf(stderr, "usage: perkctl generate --members N --days D "
	    "[--campaigns]\n"
	    "  (N from 1 to %lld, D from 1 to %d)\n", PC_GEN_MEMBERS_MAX,
	    PC_GEN_DAYS_MAX);
	return 2;
}
