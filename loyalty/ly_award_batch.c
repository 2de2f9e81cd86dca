/*
 * ly_award_batch.c: many awards of one issuer at once (POST
 * /v1/awards/batch), with the answers ly_award() would give item by item
 * in item order, in a few multi-row statements per LIM_DB_ROWS_MAX items
 * instead of ~10 statements an item. In the caller's transaction:
 *
 *   1. the distinct subjects, sorted by hash, locked with padded IN lists
 *      through the subject index (FORCE INDEX: every batch and every
 *      single award takes member locks in subject-hash order, so batches
 *      do not deadlock on members); a subject that is not an active
 *      member, or has not allowed this issuer, is LY_NOT_ENROLLED and
 *      nothing about it is written;
 *   2. each distinct rule code's terms once (ly_terms.c, as ly_award()
 *      reads them: the same collation decides, and the same C code picks
 *      the best bonus in force for each member's district);
 *   3. what each member earned today from each capped rule, one IN list
 *      per rule and LIM_DB_ROWS_MAX members;
 *   4. the references already awarded by this issuer (a locking read, so
 *      a concurrent uncommitted award of the same reference is waited
 *      for); references compare as the awards_ref key does (utf8mb4_bin,
 *      trailing spaces ignored);
 *   5. in C, in item order: a reference seen before (in the database or
 *      earlier in this batch) answers with the first award and credits
 *      nothing; otherwise the points (bonus, then the cap against what
 *      the member earned today, including earlier items of this batch)
 *      and the member's running balance;
 *   6. the new awards, multi-row, in reference order (a second lock order
 *      shared by all batches), then their ids read back; if a reference
 *      was awarded by another transaction after step 4, the INSERT fails
 *      with a duplicate: the new awards are rolled back to a savepoint
 *      taken before step 4 (the member locks stay, so steps 1-3 hold) and
 *      steps 4-6 run again, now seeing that award (each round sees at
 *      least one more; after AB_ROUNDS the whole transaction re-runs);
 *   7. the access log, multi-row, in item order, then the ledger entries
 *      through ly_ledger_append_many_locked() with the member rows as
 *      step 1 read them (balances, aggregates, funnel).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loyalty/ly.h"

enum ab_stmt {
	AB_RULE_CODE,
	AB_CAMPAIGN_ID,
	AB_STMT__MAX
};

static const char *const ab_stmts[AB_STMT__MAX] = {
	[AB_RULE_CODE] = "SELECT code FROM rules WHERE id = ?",
	[AB_CAMPAIGN_ID] = "SELECT public_id FROM campaigns WHERE id = ?",
};

enum ab_multi {
	AB_M_MEMBERS,
	AB_M_TODAY,
	AB_M_SEEN,
	AB_M_INSERT,
	AB_M_IDS,
	AB_M_ACCESS,
	AB_M__MAX
};

static const struct db_multi ab_multi[AB_M__MAX] = {
	[AB_M_MEMBERS] = { "SELECT m.subject_hash, " LY_LEDGER_LOCK_COLS ", "
	    "(m.sources_all = 1 OR "
	    "EXISTS (SELECT 1 FROM member_sources s WHERE s.member_id = m.id "
	    "AND s.org_id = ?)) FROM members m FORCE INDEX (members_subject) "
	    "WHERE m.status = 'active' AND m.subject_hash IN (", "?", ", ",
	    ") FOR UPDATE" },
	[AB_M_TODAY] = { "SELECT member_id, COALESCE(SUM(points), 0) FROM "
	    "awards WHERE rule_id = ? AND day = ? AND member_id IN (", "?",
	    ", ", ") GROUP BY member_id" },
	[AB_M_SEEN] = { "SELECT external_ref, id, rule_id, points, capped, "
	    "COALESCE(campaign_id, 0) FROM awards WHERE issuer_id = ? AND "
	    "external_ref IN (", "?", ", ", ") LOCK IN SHARE MODE" },
	[AB_M_INSERT] = { "INSERT INTO awards (issuer_id, external_ref, "
	    "member_id, rule_id, base_points, points, capped, campaign_id, "
	    "day, occurred_at, created_at) VALUES ",
	    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", ", ", "" },
	[AB_M_IDS] = { "SELECT external_ref, id FROM awards WHERE "
	    "issuer_id = ? AND external_ref IN (", "?", ", ", ")" },
	[AB_M_ACCESS] = { "INSERT INTO access_log (member_id, org_id, "
	    "action, at) VALUES ", "(?, ?, 'award', ?)", ", ", "" },
};

/* A distinct subject of the batch. */
struct ab_member {
	const unsigned char	*hash;
	uint64_t		 id;
	int			 found;	/* active and this issuer allowed */
	struct ly_ledger_lock	 lock;	/* as locked, for the ledger */
	const char		*district;	/* lock.district */
	long long		 balance;	/* running, in item order */
	long long		 balance0;	/* as locked */
};

/* A distinct rule code as the items wrote it: res is LY_OK, or why its
 * items fail; terms are held until the batch ends, and rt points into
 * them (NULL for an unknown code, whose items are then not live). */
struct ab_rule {
	const char			*code;
	enum ly_res			 res;
	struct ly_terms			*terms;
	const struct ly_rule_terms	*rt;
};

/* What a member earned today from a capped rule, running. Keyed by the
 * rule's id: two codes the rules table's collation finds equal ("vol",
 * "VOL") are one rule and share one cap, as in ly_award(). */
struct ab_pair {
	uint64_t	 rule_id;
	uint64_t	 member_id;
	long long	 today;		/* running */
	long long	 today0;	/* as read */
};

/* A distinct external reference. */
struct ab_ref {
	const char	*ref;
	size_t		 len;
	int		 old;		/* awarded before this batch */
	size_t		 first;		/* item that awards it now, or SIZE_MAX */
	struct ly_award	 award;		/* the first award (no balance) */
	uint64_t	 rule_id;	/* of an old award */
};

/* Per item working state, parallel to the items. */
struct ab_item {
	size_t		 member, rule, pair, ref;
	int		 fresh;		/* inserts a new award */
	long long	 base;
};

struct ab_run {
	struct db		*db;
	struct ly_award_item	*items;
	size_t			 n;
	uint64_t		 issuer;
	char			 now[32], day[11];
	struct ab_item		*w;
	size_t			*order;		/* scratch: item indices */
	struct ab_member	*mem;
	size_t			 nmem;
	struct ab_rule		*rules;
	size_t			 nrules;
	struct ab_pair		*pairs;
	size_t			 npairs;
	struct ab_ref		*refs;
	size_t			 nrefs;
	struct db_val		*v;		/* parameters of one statement */
};

/* Rounds of steps 4-6 before giving up to a re-run of the transaction:
 * each round follows a reference awarded concurrently, which only
 * concurrent requests with the same references cause. */
#define AB_ROUNDS 16

/* The column count of the widest multi-row statement (awards INSERT). */
#define AB_PARAMS (LIM_DB_ROWS_MAX * 11 + 2)

static int
ab_live(const struct ab_run *b, size_t i)
{
	return !b->items[i].skip && b->items[i].res == LY_OK;
}

/* ---- comparisons ---- */

/* References as the awards_ref key compares them: utf8mb4_bin is PAD
 * SPACE (the shorter is compared as if padded with spaces), and byte
 * order of UTF-8 is code point order. */
static int
ab_ref_cmp(const char *a, size_t al, const char *b, size_t bl)
{
	size_t n = al < bl ? al : bl, i;
	int c;

	if ((c = memcmp(a, b, n)) != 0)
		return c;
	for (i = n; i < al; i++)
		if ((unsigned char)a[i] != ' ')
			return (unsigned char)a[i] < ' ' ? -1 : 1;
	for (i = n; i < bl; i++)
		if ((unsigned char)b[i] != ' ')
			return (unsigned char)b[i] < ' ' ? 1 : -1;
	return 0;
}

/* qsort takes no argument: the run being sorted, per thread */
static _Thread_local const struct ab_run *ab_sort_run;

static int
ab_by_hash(const void *x, const void *y)
{
	const struct ly_award_item *it = ab_sort_run->items;

	return memcmp(it[*(const size_t *)x].in.subject_hash,
	    it[*(const size_t *)y].in.subject_hash, 32);
}

static int
ab_by_code(const void *x, const void *y)
{
	const struct ly_award_item *it = ab_sort_run->items;

	return strcmp(it[*(const size_t *)x].in.rule,
	    it[*(const size_t *)y].in.rule);
}

static int
ab_by_ref(const void *x, const void *y)
{
	const struct ly_award_item *it = ab_sort_run->items;
	const char *a = it[*(const size_t *)x].in.external_ref,
	    *b = it[*(const size_t *)y].in.external_ref;

	return ab_ref_cmp(a, strlen(a), b, strlen(b));
}

static int
ab_by_pair(const void *x, const void *y)
{
	const struct ab_run *b = ab_sort_run;
	const struct ab_item *p = &b->w[*(const size_t *)x],
	    *q = &b->w[*(const size_t *)y];
	uint64_t pm = b->mem[p->member].id, qm = b->mem[q->member].id;
	uint64_t pr = b->rules[p->rule].rt->id, qr = b->rules[q->rule].rt->id;

	if (pr != qr)
		return pr < qr ? -1 : 1;
	return pm < qm ? -1 : pm > qm;
}

/* Sorts the indices of the live items into b->order; returns their
 * count. */
static size_t
ab_sorted(struct ab_run *b, int (*cmp)(const void *, const void *))
{
	size_t i, k = 0;

	for (i = 0; i < b->n; i++)
		if (ab_live(b, i))
			b->order[k++] = i;
	ab_sort_run = b;
	qsort(b->order, k, sizeof(*b->order), cmp);
	return k;
}

/*
 * Runs the IN-list statement ab_multi[which] with the nfix values already
 * at the front of b->v and the n (1..LIM_DB_ROWS_MAX) list values after
 * them, padding the list to db_multi_pad(n) with its last value; calls
 * on_row for each row the statement returns.
 */
static enum ly_res
ab_in_list(struct ab_run *b, enum ab_multi which, size_t nfix, size_t n,
    void (*on_row)(struct ab_run *, const struct db_row *, void *),
    void *arg)
{
	size_t pad = db_multi_pad(n), i;
	struct db_row *row;
	const char *sql;
	enum db_res r;

	for (i = n; i < pad; i++)
		b->v[nfix + i] = b->v[nfix + n - 1];
	if ((sql = db_multi_sql(&ab_multi[which], pad)) == NULL)
		return LY_NOMEM;
	if ((r = db_exec(b->db, sql, b->v, nfix + pad)) != DB_OK)
		return ly_from_db(r);
	while ((r = db_next(b->db, &row)) == DB_ROW)
		on_row(b, row, arg);
	return r == DB_DONE ? LY_OK : ly_from_db(r);
}

/* The size of the next IN list of a run of n values from at. */
static size_t
ab_chunk(size_t at, size_t n)
{
	return n - at < LIM_DB_ROWS_MAX ? n - at : LIM_DB_ROWS_MAX;
}

/* ---- 1. members ---- */

static struct ab_member *
ab_member_find(struct ab_run *b, const unsigned char *hash)
{
	size_t lo = 0, hi = b->nmem, mid;
	int c;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if ((c = memcmp(b->mem[mid].hash, hash, 32)) == 0)
			return &b->mem[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void
ab_member_row(struct ab_run *b, const struct db_row *row, void *arg)
{
	struct ab_member *m;

	(void)arg;
	if (row->col[0].len != 32 || (m = ab_member_find(b,
	    (const unsigned char *)row->col[0].s)) == NULL)
		return;
	ly_ledger_lock_read(row, 1, &m->lock);
	m->id = m->lock.id;
	m->district = m->lock.district;
	m->balance = m->balance0 = m->lock.balance;
	m->found = row->col[1 + LY_LEDGER_LOCK_NCOLS].i != 0;
}

static enum ly_res
ab_members(struct ab_run *b)
{
	size_t k, i, at, c;
	enum ly_res res;

	k = ab_sorted(b, ab_by_hash);
	for (i = 0; i < k; i++) {
		const unsigned char *h = b->items[b->order[i]].in.subject_hash;
		if (b->nmem == 0 || memcmp(b->mem[b->nmem - 1].hash, h, 32) != 0)
			b->mem[b->nmem++] = (struct ab_member){ .hash = h };
		b->w[b->order[i]].member = b->nmem - 1;
	}
	for (at = 0; at < b->nmem; at += c) {
		c = ab_chunk(at, b->nmem);
		b->v[0] = db_int((long long)b->issuer);
		for (i = 0; i < c; i++)
			b->v[1 + i] = db_blob(b->mem[at + i].hash, 32);
		if ((res = ab_in_list(b, AB_M_MEMBERS, 1, c, ab_member_row,
		    NULL)) != LY_OK)
			return res;
	}
	for (i = 0; i < b->n; i++)
		if (ab_live(b, i) && !b->mem[b->w[i].member].found)
			b->items[i].res = LY_NOT_ENROLLED;
	return LY_OK;
}

/* ---- 2. rules and bonuses ---- */

static enum ly_res
ab_rules(struct ab_run *b)
{
	struct ab_rule *ru;
	enum ly_res res;
	size_t k, i;

	k = ab_sorted(b, ab_by_code);
	for (i = 0; i < k; i++) {
		const char *code = b->items[b->order[i]].in.rule;
		if (b->nrules == 0 ||
		    strcmp(b->rules[b->nrules - 1].code, code) != 0)
			b->rules[b->nrules++] = (struct ab_rule){ .code = code };
		b->w[b->order[i]].rule = b->nrules - 1;
	}
	for (i = 0; i < b->nrules; i++) {
		ru = &b->rules[i];
		res = ly_terms_get(b->db, ru->code, &ru->terms);
		if (res == LY_UNKNOWN_RULE) {
			ru->res = res;
			continue;
		}
		if (res != LY_OK)
			return res;
		ru->rt = ly_terms_rule(ru->terms);
		ru->res = ly_terms_issuer_ok(ru->terms, b->issuer) ? LY_OK :
		    LY_RULE_NOT_ALLOWED;
	}
	for (i = 0; i < b->n; i++)
		if (ab_live(b, i))
			b->items[i].res = b->rules[b->w[i].rule].res;
	return LY_OK;
}

/* ---- 3. today's earnings under capped rules ---- */

static struct ab_pair *
ab_pair_find(struct ab_run *b, size_t lo, size_t hi, uint64_t member_id)
{
	size_t mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (b->pairs[mid].member_id == member_id)
			return &b->pairs[mid];
		if (b->pairs[mid].member_id < member_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* arg: the [begin, end) of the pairs of this IN list */
static void
ab_today_row(struct ab_run *b, const struct db_row *row, void *arg)
{
	const size_t *span = arg;
	struct ab_pair *p;

	if ((p = ab_pair_find(b, span[0], span[1],
	    (uint64_t)row->col[0].i)) != NULL)
		p->today = p->today0 = row->col[1].i;
}

static enum ly_res
ab_today(struct ab_run *b)
{
	size_t k, i, at, end, span[2];
	enum ly_res res;

	k = ab_sorted(b, ab_by_pair);
	for (i = 0; i < k; i++) {
		struct ab_item *w = &b->w[b->order[i]];
		const struct ly_rule_terms *rt = b->rules[w->rule].rt;
		uint64_t mid = b->mem[w->member].id, rid = rt->id;
		if (rt->cap <= 0)
			continue;
		if (b->npairs == 0 || b->pairs[b->npairs - 1].rule_id != rid ||
		    b->pairs[b->npairs - 1].member_id != mid)
			b->pairs[b->npairs++] = (struct ab_pair){
			    .rule_id = rid, .member_id = mid };
		w->pair = b->npairs - 1;
	}
	/* pairs are sorted by (rule, member id): one run of IN lists a rule */
	for (at = 0; at < b->npairs; at = end) {
		for (end = at; end < b->npairs &&
		    b->pairs[end].rule_id == b->pairs[at].rule_id &&
		    end - at < LIM_DB_ROWS_MAX; end++)
			;
		b->v[0] = db_int((long long)b->pairs[at].rule_id);
		b->v[1] = db_text(b->day);
		for (i = at; i < end; i++)
			b->v[2 + i - at] = db_int((long long)b->pairs[i].member_id);
		span[0] = at;
		span[1] = end;
		if ((res = ab_in_list(b, AB_M_TODAY, 2, end - at, ab_today_row,
		    span)) != LY_OK)
			return res;
	}
	return LY_OK;
}

/* ---- 4. references awarded before ---- */

static struct ab_ref *
ab_ref_find(struct ab_run *b, const char *ref, size_t len)
{
	size_t lo = 0, hi = b->nrefs, mid;
	int c;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		c = ab_ref_cmp(b->refs[mid].ref, b->refs[mid].len, ref, len);
		if (c == 0)
			return &b->refs[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Fills the rule code and campaign id of old awards (usually one rule). */
static enum ly_res
ab_old_names(struct ab_run *b)
{
	struct db_row *row;
	struct ab_ref *x, *y;
	enum db_res r;
	size_t i, j;

	for (i = 0; i < b->nrefs; i++) {
		x = &b->refs[i];
		if (!x->old || x->award.rule[0] != '\0')
			continue;
		struct db_val q[] = { db_int((long long)x->rule_id) };
		if ((r = db_one(b->db, ab_stmts[AB_RULE_CODE], q, 1, &row)) !=
		    DB_ROW)
			return r == DB_NOTFOUND ? LY_INTERNAL : ly_from_db(r);
		for (j = i; j < b->nrefs; j++) {
			y = &b->refs[j];
			if (y->old && y->rule_id == x->rule_id)
				snprintf(y->award.rule, sizeof(y->award.rule),
				    "%s", row->col[0].s);
		}
	}
	for (i = 0; i < b->nrefs; i++) {
		x = &b->refs[i];
		if (!x->old || x->award.campaign_id == 0 ||
		    x->award.campaign[0] != '\0')
			continue;
		struct db_val q[] = { db_int((long long)x->award.campaign_id) };
		r = db_one(b->db, ab_stmts[AB_CAMPAIGN_ID], q, 1, &row);
		if (r != DB_ROW && r != DB_NOTFOUND)
			return ly_from_db(r);
		for (j = i; j < b->nrefs; j++) {
			y = &b->refs[j];
			if (y->old && y->award.campaign_id ==
			    x->award.campaign_id)
				snprintf(y->award.campaign,
				    sizeof(y->award.campaign), "%s",
				    r == DB_ROW ? row->col[0].s : "");
		}
	}
	return LY_OK;
}

static void
ab_seen_row(struct ab_run *b, const struct db_row *row, void *arg)
{
	struct ab_ref *x;

	(void)arg;
	if ((x = ab_ref_find(b, row->col[0].s, row->col[0].len)) == NULL)
		return;
	x->old = 1;
	x->award.id = (uint64_t)row->col[1].i;
	x->rule_id = (uint64_t)row->col[2].i;
	x->award.points = row->col[3].i;
	x->award.capped = (int)row->col[4].i;
	x->award.campaign_id = (uint64_t)row->col[5].i;
}

static enum ly_res
ab_seen(struct ab_run *b)
{
	size_t k, i, at, c;
	enum ly_res res;

	b->nrefs = 0;
	k = ab_sorted(b, ab_by_ref);
	for (i = 0; i < k; i++) {
		const char *ref = b->items[b->order[i]].in.external_ref;
		size_t len = strlen(ref);
		if (b->nrefs == 0 || ab_ref_cmp(b->refs[b->nrefs - 1].ref,
		    b->refs[b->nrefs - 1].len, ref, len) != 0)
			b->refs[b->nrefs++] = (struct ab_ref){ .ref = ref,
			    .len = len, .first = SIZE_MAX };
		b->w[b->order[i]].ref = b->nrefs - 1;
	}
	for (at = 0; at < b->nrefs; at += c) {
		c = ab_chunk(at, b->nrefs);
		b->v[0] = db_int((long long)b->issuer);
		for (i = 0; i < c; i++)
			b->v[1 + i] = db_text(b->refs[at + i].ref);
		if ((res = ab_in_list(b, AB_M_SEEN, 1, c, ab_seen_row, NULL)) !=
		    LY_OK)
			return res;
	}
	return ab_old_names(b);
}

/* ---- 5. the answers, in item order ---- */

static enum ly_res
ab_compute(struct ab_run *b)
{
	struct ly_award_bonus bo;
	struct ly_award_item *it;
	struct ab_member *m;
	struct ab_rule *ru;
	struct ab_ref *x;
	struct ab_item *w;
	long long points;
	size_t i;
	int capped;

	/* from the locked state: this may be a second round */
	for (i = 0; i < b->nmem; i++)
		b->mem[i].balance = b->mem[i].balance0;
	for (i = 0; i < b->npairs; i++)
		b->pairs[i].today = b->pairs[i].today0;
	for (i = 0; i < b->n; i++) {
		if (!ab_live(b, i))
			continue;
		it = &b->items[i];
		w = &b->w[i];
		m = &b->mem[w->member];
		ru = &b->rules[w->rule];
		x = &b->refs[w->ref];
		memset(&it->out, 0, sizeof(it->out));
		w->fresh = 0;
		if (x->old) {
			it->out = x->award;
			it->out.duplicate = 1;
			it->out.balance = m->balance;
			continue;
		}
		if (x->first != SIZE_MAX) {
			/* a repeat within the batch: completed once the
			 * first's id is known (ab_finish) */
			it->out.duplicate = 1;
			it->out.balance = m->balance;
			continue;
		}
		x->first = i;
		w->fresh = 1;
		ly_terms_bonus(ru->terms, m->district, b->now, &bo);
		w->base = ly_bonus_points(ru->rt->points, bo.pct);
		points = ly_cap_cut(w->base, ru->rt->cap,
		    ru->rt->cap > 0 ? b->pairs[w->pair].today : 0, &capped);
		if (ru->rt->cap > 0)
			b->pairs[w->pair].today += points;
		m->balance += points;
		snprintf(it->out.rule, sizeof(it->out.rule), "%s", it->in.rule);
		it->out.points = points;
		it->out.capped = capped;
		it->out.balance = m->balance;
		if (bo.campaign_id != 0) {
			it->out.campaign_id = bo.campaign_id;
			snprintf(it->out.campaign, sizeof(it->out.campaign),
			    "%s", bo.public_id);
		}
	}
	return LY_OK;
}

/* ---- 6. the new awards ---- */

static void
ab_id_row(struct ab_run *b, const struct db_row *row, void *arg)
{
	struct ab_ref *x;

	(void)arg;
	if ((x = ab_ref_find(b, row->col[0].s, row->col[0].len)) != NULL &&
	    !x->old && x->first != SIZE_MAX)
		b->items[x->first].out.id = (uint64_t)row->col[1].i;
}

static enum ly_res
ab_insert(struct ab_run *b)
{
	struct ly_award_item *it;
	size_t *fresh = b->order, nf = 0, at, c, i;
	const char *sql;
	enum ly_res res;
	enum db_res r;

	/* the refs are sorted: insert in that order */
	for (i = 0; i < b->nrefs; i++)
		if (!b->refs[i].old && b->refs[i].first != SIZE_MAX)
			fresh[nf++] = i;
	for (at = 0; at < nf; at += c) {
		c = db_multi_take(nf - at);
		for (i = 0; i < c; i++) {
			size_t j = b->refs[fresh[at + i]].first;
			struct db_val *v = &b->v[i * 11];
			it = &b->items[j];
			v[0] = db_int((long long)b->issuer);
			v[1] = db_text(it->in.external_ref);
			v[2] = db_int((long long)b->mem[b->w[j].member].id);
			v[3] = db_int((long long)b->rules[b->w[j].rule].rt->id);
			v[4] = db_int(b->w[j].base);
			v[5] = db_int(it->out.points);
			v[6] = db_int(it->out.capped);
			v[7] = it->out.campaign_id ?
			    db_int((long long)it->out.campaign_id) : db_null();
			v[8] = db_text(b->day);
			v[9] = db_text(it->in.occurred_at);
			v[10] = db_text(b->now);
		}
		if ((sql = db_multi_sql(&ab_multi[AB_M_INSERT], c)) == NULL)
			return LY_NOMEM;
		r = db_exec(b->db, sql, b->v, c * 11);
		if (r == DB_DUP)
			return LY_CONFLICT;	/* awarded meanwhile */
		if (r != DB_OK)
			return ly_from_db(r);
	}
	/* their ids */
	for (at = 0; at < nf; at += c) {
		c = ab_chunk(at, nf);
		b->v[0] = db_int((long long)b->issuer);
		for (i = 0; i < c; i++)
			b->v[1 + i] = db_text(b->refs[fresh[at + i]].ref);
		if ((res = ab_in_list(b, AB_M_IDS, 1, c, ab_id_row, NULL)) !=
		    LY_OK)
			return res;
	}
	for (i = 0; i < nf; i++)
		if (b->items[b->refs[fresh[i]].first].out.id == 0)
			return LY_INTERNAL;
	return LY_OK;
}

/* Repeats within the batch answer with the first award (its rule as
 * stored, like ly_award's repeat), keeping their own balance. */
static void
ab_finish(struct ab_run *b)
{
	struct ly_award_item *it;
	const struct ly_award *first;
	long long balance;
	size_t i;

	for (i = 0; i < b->n; i++) {
		it = &b->items[i];
		if (!ab_live(b, i) || b->w[i].fresh || b->refs[b->w[i].ref].old)
			continue;
		first = &b->items[b->refs[b->w[i].ref].first].out;
		balance = it->out.balance;
		it->out = *first;
		snprintf(it->out.rule, sizeof(it->out.rule), "%s",
		    b->rules[b->w[b->refs[b->w[i].ref].first].rule].rt->code);
		it->out.balance = balance;
		it->out.duplicate = 1;
	}
}

/* ---- 7. access log and ledger ---- */

/* The access log of the new awards, in item order. It comes before the
 * ledger, whose last writes are the shared daily aggregate rows: other
 * awards wait for their locks until this commit. */
static enum ly_res
ab_access(struct ab_run *b)
{
	size_t i, k, at, c;
	const char *sql;
	enum db_res r;

	for (i = 0, k = 0; i < b->n; i++)
		if (ab_live(b, i) && b->w[i].fresh)
			b->order[k++] = i;
	for (at = 0; at < k; at += c) {
		c = db_multi_take(k - at);
		for (i = 0; i < c; i++) {
			size_t j = b->order[at + i];
			b->v[i * 3] = db_int((long long)b->mem[b->w[j].member].id);
			b->v[i * 3 + 1] = db_int((long long)b->issuer);
			b->v[i * 3 + 2] = db_text(b->now);
		}
		if ((sql = db_multi_sql(&ab_multi[AB_M_ACCESS], c)) == NULL)
			return LY_NOMEM;
		if ((r = db_exec(b->db, sql, b->v, c * 3)) != DB_OK)
			return ly_from_db(r);
	}
	return LY_OK;
}

static enum ly_res
ab_ledger(struct ab_run *b)
{
	struct ly_ledger_lock *locks;
	struct ly_entry *e;
	size_t i, ne = 0, nl = 0;
	enum ly_res res;

	e = calloc(b->n, sizeof(*e));
	locks = calloc(b->nmem ? b->nmem : 1, sizeof(*locks));
	if (e == NULL || locks == NULL) {
		free(e);
		free(locks);
		return LY_NOMEM;
	}
	for (i = 0; i < b->nmem; i++)
		if (b->mem[i].found)
			locks[nl++] = b->mem[i].lock;
	for (i = 0; i < b->n; i++) {
		if (!ab_live(b, i) || !b->w[i].fresh ||
		    b->items[i].out.points <= 0)
			continue;
		e[ne++] = (struct ly_entry){
		    .member_id = b->mem[b->w[i].member].id, .kind = LY_AWARD,
		    .points = b->items[i].out.points,
		    .rule_id = b->rules[b->w[i].rule].rt->id,
		    .award_id = b->items[i].out.id,
		    .campaign_id = b->items[i].out.campaign_id };
		b->order[ne - 1] = i;
	}
	/* the member rows step 1 locked and read: not read again */
	res = ly_ledger_append_many_locked(b->db, e, ne, locks, nl);
	/* the ledger computed the same balances from the locked rows */
	for (i = 0; res == LY_OK && i < ne; i++)
		if (e[i].balance_after != b->items[b->order[i]].out.balance) {
			fprintf(stderr, "level=error component=awards "
			    "msg=\"batch: balance mismatch\"\n");
			res = LY_INTERNAL;
		}
	free(locks);
	free(e);
	return res;
}

enum ly_res
ly_award_batch(struct db *db, struct ly_award_item *items, size_t n)
{
	struct ab_run b;
	enum ly_res res = LY_OK;
	enum db_res d;
	size_t i;
	int round;

	memset(&b, 0, sizeof(b));
	b.db = db;
	b.items = items;
	b.n = n;
	for (i = 0; i < n; i++) {
		if (items[i].skip)
			continue;
		if (b.issuer == 0)
			b.issuer = items[i].in.issuer_id;
		if (items[i].in.issuer_id != b.issuer)
			return LY_INVAL;	/* one issuer a batch */
		items[i].res = LY_OK;
		memset(&items[i].out, 0, sizeof(items[i].out));
	}
	if (b.issuer == 0 || n > LIM_BATCH_MAX)
		return n > LIM_BATCH_MAX ? LY_INVAL : LY_OK;
	ly_now(b.now);
	ly_day(time(NULL), b.day);
	b.w = calloc(n, sizeof(*b.w));
	b.order = calloc(n, sizeof(*b.order));
	b.mem = calloc(n, sizeof(*b.mem));
	b.rules = calloc(n, sizeof(*b.rules));
	b.pairs = calloc(n, sizeof(*b.pairs));
	b.refs = calloc(n, sizeof(*b.refs));
	b.v = calloc(AB_PARAMS, sizeof(*b.v));
	if (b.w == NULL || b.order == NULL || b.mem == NULL ||
	    b.rules == NULL || b.pairs == NULL ||
	    b.refs == NULL || b.v == NULL) {
		res = LY_NOMEM;
		goto out;
	}
	if ((res = ab_members(&b)) != LY_OK || (res = ab_rules(&b)) != LY_OK ||
	    (res = ab_today(&b)) != LY_OK)
		goto out;
	for (round = 0; ; round++) {
		if (round == AB_ROUNDS) {
			res = LY_RETRY;	/* the whole transaction, then */
			goto out;
		}
		if ((d = db_savepoint_step(db)) != DB_OK) {
			res = ly_from_db(d);
			goto out;
		}
		if ((res = ab_seen(&b)) != LY_OK ||
		    (res = ab_compute(&b)) != LY_OK)
			goto out;
		if ((res = ab_insert(&b)) != LY_CONFLICT)
			break;
		/* a reference was awarded by another transaction since
		 * ab_seen: undo this round's awards and look again */
		fprintf(stderr, "level=info component=awards msg=\"batch: a "
		    "reference was awarded concurrently, round %d again\"\n",
		    round + 2);
		if ((d = db_rollback_step(db)) != DB_OK) {
			res = ly_from_db(d);
			goto out;
		}
	}
	if (res != LY_OK)
		goto out;
	ab_finish(&b);
	if ((res = ab_access(&b)) == LY_OK)
		res = ab_ledger(&b);
out:
	free(b.v);
	free(b.refs);
	free(b.pairs);
	for (i = 0; b.rules != NULL && i < b.nrules; i++)
		ly_terms_put(b.rules[i].terms);
	free(b.rules);
	free(b.mem);
	free(b.order);
	free(b.w);
	return res;
}
