/*
 * ly_members.c: members, their consent and sources, what they can see
 * about themselves (ledger, access log, export), and opt-out.
 *
 * A member is found only by the keyed hash of their subject. Enrolment
 * is explicit and recorded (consent version, time, district, channel,
 * sources); every change of sources is recorded too. Opt-out closes the
 * balance, deletes vouchers and passes and erases everything that ties
 * the account to a person, keeping an anonymous shell (internal id,
 * balance arithmetic, enrolment and departure days) for the ledger's
 * arithmetic and the statistics.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "loyalty/ly.h"

enum ly_member_stmt {
	MEMBER_FIND,
	MEMBER_FIND_LOCK,
	MEMBER_DISTRICT,
	MEMBER_INSERT,
	MEMBER_SOURCES_ALL,
	SOURCE_ADD,
	SOURCES_CLEAR,
	SOURCES_LIST,
	CONSENT_INSERT,
	AGG_ENROLL,
	AGG_LEFT,
	AGG_FUNNEL,
	LEDGER_PAGE,
	ACCESS_PAGE,
	CONSENT_LIST,
	REDEMPTION_LIST,
	PASS_LIST,
	CLOSE_STOCK,
	CLOSE_REDEMPTIONS,
	CLOSE_PASSES,
	CLOSE_CONSENTS,
	CLOSE_ACCESS,
	CLOSE_IDEMPOTENCY,
	CLOSE_AWARDS,
	CLOSE_MEMBER,
	MEMBER_STMT__MAX
};

#define RFC3339(x) "DATE_FORMAT(" x ", '%Y-%m-%dT%H:%i:%sZ')"
#define MEMBER_COLS "id, COALESCE(district, ''), COALESCE(channel, ''), " \
	RFC3339("enrolled_at") ", balance, lifetime_points, sources_all"

static const char *const ly_member_stmts[MEMBER_STMT__MAX] = {
	[MEMBER_FIND] = "SELECT " MEMBER_COLS " FROM members WHERE "
	    "subject_hash = ? AND status = 'active'",
	[MEMBER_FIND_LOCK] = "SELECT " MEMBER_COLS " FROM members WHERE "
	    "subject_hash = ? AND status = 'active' FOR UPDATE",
	[MEMBER_DISTRICT] = "SELECT 1 FROM districts WHERE code = ?",
	[MEMBER_INSERT] = "INSERT INTO members (subject_hash, status, district, "
	    "channel, enrolled_at, sources_all) VALUES (?, 'active', ?, ?, ?, ?)",
	[MEMBER_SOURCES_ALL] = "UPDATE members SET sources_all = ? WHERE id = ?",
	[SOURCE_ADD] = "INSERT INTO member_sources (member_id, org_id) VALUES "
	    "(?, ?) ON DUPLICATE KEY UPDATE org_id = org_id",
	[SOURCES_CLEAR] = "DELETE FROM member_sources WHERE member_id = ?",
	[SOURCES_LIST] = "SELECT o.id, o.public_id, o.name FROM member_sources s "
	    "JOIN orgs o ON o.id = s.org_id WHERE s.member_id = ? "
	    "ORDER BY o.name",
	[CONSENT_INSERT] = "INSERT INTO consents (member_id, at, action, "
	    "consent_version, district, channel, sources) VALUES "
	    "(?, ?, ?, ?, ?, ?, ?)",
	[AGG_ENROLL] = "INSERT INTO agg_enroll_daily (day, district, channel, "
	    "shard, enrolled) VALUES (?, ?, ?, ?, 1) ON DUPLICATE KEY UPDATE "
	    "enrolled = enrolled + 1",
	[AGG_LEFT] = "INSERT INTO agg_enroll_daily (day, district, channel, "
	    "shard, left_count) VALUES (?, ?, ?, ?, 1) ON DUPLICATE KEY UPDATE "
	    "left_count = left_count + 1",
	[AGG_FUNNEL] = "INSERT INTO agg_funnel_daily (enroll_day, district, "
	    "channel, shard, enrolled) VALUES (?, ?, ?, ?, 1) ON DUPLICATE KEY "
	    "UPDATE enrolled = enrolled + 1",
	[LEDGER_PAGE] = "SELECT l.id, " RFC3339("l.at") ", l.kind, l.points, "
	    "l.balance_after, COALESCE(r.code, ''), COALESCE(p.public_id, ''), "
	    "COALESCE(c.public_id, '') FROM ledger l "
	    "LEFT JOIN rules r ON r.id = l.rule_id "
	    "LEFT JOIN perks p ON p.id = l.perk_id "
	    "LEFT JOIN awards a ON a.id = l.award_id "
	    "LEFT JOIN campaigns c ON c.id = a.campaign_id "
	    "WHERE l.member_id = ? AND (? = 0 OR l.id < ?) "
	    "ORDER BY l.id DESC LIMIT ?",
	[ACCESS_PAGE] = "SELECT a.id, " RFC3339("a.at") ", o.public_id, o.name, "
	    "a.action FROM access_log a JOIN orgs o ON o.id = a.org_id "
	    "WHERE a.member_id = ? AND (? = 0 OR a.id < ?) "
	    "ORDER BY a.id DESC LIMIT ?",
	[CONSENT_LIST] = "SELECT " RFC3339("at") ", action, consent_version, "
	    "district, channel, sources FROM consents WHERE member_id = ? "
	    "ORDER BY id",
	[REDEMPTION_LIST] = "SELECT r.public_id, p.public_id, r.points, "
	    "r.status, " RFC3339("r.issued_at") ", " RFC3339("r.expires_at") ", "
	    RFC3339("r.used_at") " FROM redemptions r JOIN perks p ON "
	    "p.id = r.perk_id WHERE r.member_id = ? ORDER BY r.id",
	[PASS_LIST] = "SELECT p.public_id, " RFC3339("s.created_at") ", "
	    RFC3339("s.expires_at") " FROM passes s JOIN perks p ON "
	    "p.id = s.perk_id WHERE s.member_id = ? ORDER BY s.id",
	/* unused vouchers give their stock back, as a cancellation would */
	[CLOSE_STOCK] = "UPDATE perks p JOIN (SELECT perk_id, COUNT(*) AS n "
	    "FROM redemptions WHERE member_id = ? AND status = 'issued' "
	    "GROUP BY perk_id) x ON x.perk_id = p.id SET p.issued = p.issued - x.n",
	[CLOSE_REDEMPTIONS] = "DELETE FROM redemptions WHERE member_id = ?",
	[CLOSE_PASSES] = "DELETE FROM passes WHERE member_id = ?",
	[CLOSE_CONSENTS] = "DELETE FROM consents WHERE member_id = ?",
	[CLOSE_ACCESS] = "DELETE FROM access_log WHERE member_id = ?",
	[CLOSE_IDEMPOTENCY] = "DELETE FROM idempotency WHERE caller = ?",
	/* an issuer's reference can name the person at the issuer: replace
	 * it with a value unrelated to it (still unique per issuer) */
	[CLOSE_AWARDS] = "UPDATE awards SET external_ref = CONCAT('erased:', "
	    "REPLACE(UUID(), '-', '')), occurred_at = NULL WHERE member_id = ?",
	/* times that could be matched against an identity provider's log
	 * are cut to the day */
	[CLOSE_MEMBER] = "UPDATE members SET subject_hash = NULL, "
	    "district = NULL, channel = NULL, status = 'closed', "
	    "sources_all = 1, enrolled_at = DATE(enrolled_at), "
	    "first_earned_at = DATE(first_earned_at), "
	    "first_redeemed_at = DATE(first_redeemed_at), "
	    "left_at = DATE(UTC_TIMESTAMP()) WHERE id = ?",
};

static void
ly_member_from_row(const struct db_row *row, struct ly_member *m)
{
	memset(m, 0, sizeof(*m));
	m->id = (uint64_t)row->col[0].i;
	snprintf(m->district, sizeof(m->district), "%s", row->col[1].s);
	snprintf(m->channel, sizeof(m->channel), "%s", row->col[2].s);
	snprintf(m->enrolled_at, sizeof(m->enrolled_at), "%s", row->col[3].s);
	m->balance = row->col[4].i;
	m->lifetime = row->col[5].i;
	m->sources_all = (int)row->col[6].i;
}

enum ly_res
ly_member_find(struct db *db, const unsigned char hash[32], int lock,
    struct ly_member *out)
{
	struct db_val p[] = { db_blob(hash, 32) };
	struct db_row *row;
	enum db_res r;

	r = db_one(db, ly_member_stmts[lock ? MEMBER_FIND_LOCK : MEMBER_FIND],
	    p, 1, &row);
	if (r == DB_NOTFOUND)
		return LY_NOT_ENROLLED;
	if (r != DB_ROW)
		return ly_from_db(r);
	ly_member_from_row(row, out);
	return LY_OK;
}

/*
 * The sources as the consent history records them: a JSON array of org
 * ids, built from the ids as stored (base32, so no escaping is needed),
 * or NULL for "every issuer". Caller frees.
 */
static char *
ly_sources_text(char (*canon)[LIM_PUBLIC_ID_MAX], size_t n)
{
	size_t i, len = 3, off = 0;
	char *s;

	for (i = 0; i < n; i++)
		len += strlen(canon[i]) + 3;
	if ((s = malloc(len)) == NULL)
		return NULL;
	s[off++] = '[';
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(s + off, len - off, "%s\"%s\"",
		    i ? "," : "", canon[i]);
	snprintf(s + off, len - off, "]");
	return s;
}

/*
 * Stores a member's chosen sources (sources_all = 0) and returns the
 * consent-history text in *text (caller frees).
 */
static enum ly_res
ly_sources_store(struct db *db, uint64_t member_id, const char *const *ids,
    size_t n, char **text)
{
	char (*canon)[LIM_PUBLIC_ID_MAX] = NULL;
	uint64_t *org = NULL;
	enum ly_res res;
	enum db_res r;
	size_t i;

	*text = NULL;
	if (n > LIM_ISSUERS_MAX)
		return LY_INVAL;
	if (n > 0 && ((org = calloc(n, sizeof(*org))) == NULL ||
	    (canon = calloc(n, sizeof(*canon))) == NULL)) {
		res = LY_NOMEM;
		goto out;
	}
	if ((res = ly_issuers_resolve(db, ids, n, org, canon)) != LY_OK)
		goto out;
	struct db_val k[] = { db_int((long long)member_id) };
	if ((r = db_exec(db, ly_member_stmts[SOURCES_CLEAR], k, 1)) != DB_OK) {
		res = ly_from_db(r);
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct db_val p[] = { db_int((long long)member_id),
		    db_int((long long)org[i]) };
		if ((r = db_exec(db, ly_member_stmts[SOURCE_ADD], p, 2)) !=
		    DB_OK) {
			res = ly_from_db(r);
			goto out;
		}
	}
	if ((*text = ly_sources_text(canon, n)) == NULL)
		res = LY_NOMEM;
out:
	free(org);
	free(canon);
	return res;
}

static enum ly_res
ly_consent_add(struct db *db, uint64_t member_id, const char *at,
    const char *action, const char *version, const char *district,
    const char *channel, const char *sources)
{
	struct db_val p[] = { db_int((long long)member_id), db_text(at),
	    db_text(action), db_text(version), db_text(district),
	    db_text(channel), db_text(sources) };

	return ly_from_db(db_exec(db, ly_member_stmts[CONSENT_INSERT], p, 7));
}

enum ly_res
ly_member_enroll(struct db *db, const struct ly_enroll *in,
    struct ly_member *out)
{
	struct db_row *row;
	char now[32], day[11], *sources = NULL;
	enum ly_res res;
	enum db_res r;
	uint64_t id;

	if (in->consent_version == NULL || !ly_code_valid(in->district) ||
	    (in->channel != NULL && !ly_code_valid(in->channel)))
		return LY_INVAL;
	if ((res = ly_member_find(db, in->subject_hash, 0, out)) == LY_OK)
		return LY_ALREADY_ENROLLED;
	if (res != LY_NOT_ENROLLED)
		return res;
	struct db_val d[] = { db_text(in->district) };
	r = db_one(db, ly_member_stmts[MEMBER_DISTRICT], d, 1, &row);
	if (r == DB_NOTFOUND)
		return LY_UNKNOWN_DISTRICT;
	if (r != DB_ROW)
		return ly_from_db(r);

	ly_now(now);
	struct db_val m[] = { db_blob(in->subject_hash, 32),
	    db_text(in->district), db_text(in->channel), db_text(now),
	    db_int(!!in->sources_all) };
	r = db_exec(db, ly_member_stmts[MEMBER_INSERT], m, 5);
	if (r == DB_DUP)	/* a concurrent enrolment won */
		return LY_ALREADY_ENROLLED;
	if (r != DB_OK)
		return ly_from_db(r);
	id = db_insert_id(db);
	if (!in->sources_all && (res = ly_sources_store(db, id, in->sources,
	    in->nsources, &sources)) != LY_OK)
		goto out;
	if ((res = ly_consent_add(db, id, now, "enroll", in->consent_version,
	    in->district, in->channel, sources)) != LY_OK)
		goto out;

	/* the aggregates move in the same transaction as the enrolment */
	ly_day(time(NULL), day);
	struct db_val a[] = { db_text(day), db_text(in->district),
	    db_text(in->channel ? in->channel : ""), db_int(ly_shard(id)) };
	if ((r = db_exec(db, ly_member_stmts[AGG_ENROLL], a, 4)) != DB_OK ||
	    (r = db_exec(db, ly_member_stmts[AGG_FUNNEL], a, 4)) != DB_OK) {
		res = ly_from_db(r);
		goto out;
	}

	memset(out, 0, sizeof(*out));
	out->id = id;
	snprintf(out->district, sizeof(out->district), "%s", in->district);
	snprintf(out->channel, sizeof(out->channel), "%s",
	    in->channel ? in->channel : "");
	snprintf(out->enrolled_at, sizeof(out->enrolled_at), "%.10sT%.8sZ",
	    now, now + 11);
	out->sources_all = !!in->sources_all;
out:
	free(sources);
	return res;
}

enum ly_res
ly_member_sources_set(struct db *db, uint64_t member_id, int sources_all,
    const char *const *ids, size_t n)
{
	struct db_val k[] = { db_int((long long)member_id) };
	char now[32], *sources = NULL;
	enum ly_res res;
	enum db_res r;

	if (sources_all) {
		if ((r = db_exec(db, ly_member_stmts[SOURCES_CLEAR], k, 1)) !=
		    DB_OK)
			return ly_from_db(r);
	} else if ((res = ly_sources_store(db, member_id, ids, n, &sources)) !=
	    LY_OK)
		return res;
	struct db_val p[] = { db_int(!!sources_all),
	    db_int((long long)member_id) };
	if ((r = db_exec(db, ly_member_stmts[MEMBER_SOURCES_ALL], p, 2)) !=
	    DB_OK) {
		free(sources);
		return ly_from_db(r);
	}
	ly_now(now);
	res = ly_consent_add(db, member_id, now, "sources", NULL, NULL, NULL,
	    sources);
	free(sources);
	return res;
}

enum ly_res
ly_member_sources(struct db *db, uint64_t member_id,
    void (*cb)(const struct ly_rule_issuer *, void *), void *arg)
{
	struct db_val k[] = { db_int((long long)member_id) };
	struct ly_rule_issuer is;
	struct db_row *row;
	enum db_res r;

	if ((r = db_exec(db, ly_member_stmts[SOURCES_LIST], k, 1)) != DB_OK)
		return ly_from_db(r);
	while ((r = db_next(db, &row)) == DB_ROW) {
		is.id = (uint64_t)row->col[0].i;
		snprintf(is.public_id, sizeof(is.public_id), "%s",
		    row->col[1].s);
		snprintf(is.name, sizeof(is.name), "%s", row->col[2].s);
		cb(&is, arg);
	}
	return r == DB_DONE ? LY_OK : ly_from_db(r);
}

enum ly_res
ly_member_close(struct db *db, const unsigned char hash[32])
{
	static const enum ly_member_stmt erase[] = { CLOSE_STOCK,
	    CLOSE_REDEMPTIONS, CLOSE_PASSES, SOURCES_CLEAR, CLOSE_CONSENTS,
	    CLOSE_ACCESS, CLOSE_AWARDS };
	char hex[65], caller[80], day[11];
	struct ly_member m;
	enum ly_res res;
	enum db_res r;
	size_t i;

	if ((res = ly_member_find(db, hash, 1, &m)) != LY_OK)
		return res;
	if (m.balance > 0) {
		struct ly_entry e = { .member_id = m.id, .kind = LY_CLOSURE,
		    .points = -m.balance };
		if ((res = ly_ledger_append(db, &e)) != LY_OK)
			return res;
	}
	struct db_val k[] = { db_int((long long)m.id) };
	for (i = 0; i < sizeof(erase) / sizeof(erase[0]); i++)
		if ((r = db_exec(db, ly_member_stmts[erase[i]], k, 1)) != DB_OK)
			return ly_from_db(r);
	/* the resident's Idempotency-Key records hold their answers */
	sodium_bin2hex(hex, sizeof(hex), hash, 32);
	snprintf(caller, sizeof(caller), "r:%s", hex);
	struct db_val c[] = { db_text(caller) };
	if ((r = db_exec(db, ly_member_stmts[CLOSE_IDEMPOTENCY], c, 1)) != DB_OK)
		return ly_from_db(r);
	/* statistics keep the departure, anonymously */
	ly_day(time(NULL), day);
	struct db_val a[] = { db_text(day), db_text(m.district),
	    db_text(m.channel), db_int(ly_shard(m.id)) };
	if ((r = db_exec(db, ly_member_stmts[AGG_LEFT], a, 4)) != DB_OK)
		return ly_from_db(r);
	if ((r = db_exec(db, ly_member_stmts[CLOSE_MEMBER], k, 1)) != DB_OK)
		return ly_from_db(r);
	return db_affected(db) == 1 ? LY_OK : LY_INTERNAL;
}

static enum ly_kind
ly_kind_parse(const char *s)
{
	int k;

	for (k = 0; k < LY_KIND__MAX; k++)
		if (strcmp(s, ly_kind_str((enum ly_kind)k)) == 0)
			return (enum ly_kind)k;
	return LY_KIND__MAX;
}

enum ly_res
ly_member_ledger(struct db *db, uint64_t member_id, uint64_t before,
    size_t limit, void (*cb)(const struct ly_ledger_row *, void *), void *arg)
{
	struct db_val p[] = { db_int((long long)member_id),
	    db_int((long long)before), db_int((long long)before),
	    db_int((long long)limit) };
	struct ly_ledger_row e;
	struct db_row *row;
	enum db_res r;

	if ((r = db_exec(db, ly_member_stmts[LEDGER_PAGE], p, 4)) != DB_OK)
		return ly_from_db(r);
	while ((r = db_next(db, &row)) == DB_ROW) {
		memset(&e, 0, sizeof(e));
		e.id = (uint64_t)row->col[0].i;
		snprintf(e.at, sizeof(e.at), "%s", row->col[1].s);
		e.kind = ly_kind_parse(row->col[2].s);
		e.points = row->col[3].i;
		e.balance_after = row->col[4].i;
		snprintf(e.rule, sizeof(e.rule), "%s", row->col[5].s);
		snprintf(e.perk, sizeof(e.perk), "%s", row->col[6].s);
		snprintf(e.campaign, sizeof(e.campaign), "%s", row->col[7].s);
		cb(&e, arg);
	}
	return r == DB_DONE ? LY_OK : ly_from_db(r);
}

enum ly_res
ly_member_access(struct db *db, uint64_t member_id, uint64_t before,
    size_t limit, void (*cb)(const struct ly_access_row *, void *), void *arg)
{
	struct db_val p[] = { db_int((long long)member_id),
	    db_int((long long)before), db_int((long long)before),
	    db_int((long long)limit) };
	struct ly_access_row a;
	struct db_row *row;
	enum db_res r;

	if ((r = db_exec(db, ly_member_stmts[ACCESS_PAGE], p, 4)) != DB_OK)
		return ly_from_db(r);
	while ((r = db_next(db, &row)) == DB_ROW) {
		memset(&a, 0, sizeof(a));
		a.id = (uint64_t)row->col[0].i;
		snprintf(a.at, sizeof(a.at), "%s", row->col[1].s);
		snprintf(a.org_id, sizeof(a.org_id), "%s", row->col[2].s);
		snprintf(a.org_name, sizeof(a.org_name), "%s", row->col[3].s);
		snprintf(a.action, sizeof(a.action), "%s", row->col[4].s);
		cb(&a, arg);
	}
	return r == DB_DONE ? LY_OK : ly_from_db(r);
}

enum ly_res
ly_member_consents(struct db *db, uint64_t member_id,
    void (*cb)(const struct ly_consent_row *, void *), void *arg)
{
	struct db_val k[] = { db_int((long long)member_id) };
	struct ly_consent_row c;
	struct db_row *row;
	enum db_res r;

	if ((r = db_exec(db, ly_member_stmts[CONSENT_LIST], k, 1)) != DB_OK)
		return ly_from_db(r);
	while ((r = db_next(db, &row)) == DB_ROW) {
		memset(&c, 0, sizeof(c));
		snprintf(c.at, sizeof(c.at), "%s", row->col[0].s);
		snprintf(c.action, sizeof(c.action), "%s", row->col[1].s);
		if (!row->col[2].null)
			snprintf(c.consent_version, sizeof(c.consent_version),
			    "%s", row->col[2].s);
		if (!row->col[3].null)
			snprintf(c.district, sizeof(c.district), "%s",
			    row->col[3].s);
		if (!row->col[4].null)
			snprintf(c.channel, sizeof(c.channel), "%s",
			    row->col[4].s);
		c.sources_null = row->col[5].null;
		c.sources = row->col[5].null ? NULL : row->col[5].s;
		cb(&c, arg);
	}
	return r == DB_DONE ? LY_OK : ly_from_db(r);
}

enum ly_res
ly_member_redemptions(struct db *db, uint64_t member_id,
    void (*cb)(const struct ly_redemption_row *, void *), void *arg)
{
	struct db_val k[] = { db_int((long long)member_id) };
	struct ly_redemption_row v;
	struct db_row *row;
	enum db_res r;

	if ((r = db_exec(db, ly_member_stmts[REDEMPTION_LIST], k, 1)) != DB_OK)
		return ly_from_db(r);
	while ((r = db_next(db, &row)) == DB_ROW) {
		memset(&v, 0, sizeof(v));
		snprintf(v.id, sizeof(v.id), "%s", row->col[0].s);
		snprintf(v.perk_id, sizeof(v.perk_id), "%s", row->col[1].s);
		v.points = row->col[2].i;
		snprintf(v.status, sizeof(v.status), "%s", row->col[3].s);
		snprintf(v.issued_at, sizeof(v.issued_at), "%s", row->col[4].s);
		snprintf(v.expires_at, sizeof(v.expires_at), "%s",
		    row->col[5].s);
		if (!row->col[6].null)
			snprintf(v.used_at, sizeof(v.used_at), "%s",
			    row->col[6].s);
		cb(&v, arg);
	}
	return r == DB_DONE ? LY_OK : ly_from_db(r);
}

enum ly_res
ly_member_passes(struct db *db, uint64_t member_id,
    void (*cb)(const struct ly_pass_row *, void *), void *arg)
{
	struct db_val k[] = { db_int((long long)member_id) };
	struct ly_pass_row v;
	struct db_row *row;
	enum db_res r;

	if ((r = db_exec(db, ly_member_stmts[PASS_LIST], k, 1)) != DB_OK)
		return ly_from_db(r);
	while ((r = db_next(db, &row)) == DB_ROW) {
		memset(&v, 0, sizeof(v));
		snprintf(v.perk_id, sizeof(v.perk_id), "%s", row->col[0].s);
		snprintf(v.created_at, sizeof(v.created_at), "%s",
		    row->col[1].s);
		snprintf(v.expires_at, sizeof(v.expires_at), "%s",
		    row->col[2].s);
		cb(&v, arg);
	}
	return r == DB_DONE ? LY_OK : ly_from_db(r);
}
