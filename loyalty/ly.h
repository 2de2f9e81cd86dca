/*
 * ly.h: the loyalty domain: organisations and their keys, members and
 * consent, earning rules, awards, the append-only ledger, tiers and the
 * aggregates stats read. Plain structs in, plain structs and one result
 * enum out; no HTTP, no JSON.
 *
 * Every function that writes takes a struct db on which the caller has
 * opened a transaction (db_begin); the caller commits or rolls back. This
 * keeps one request = one transaction, so an Idempotency-Key record and
 * the effect it guards commit together.
 */
#ifndef LY_H
#define LY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "sql/db.h"
#include "sql/perkd_limits.h"

#define LY_WARN_UNUSED __attribute__((warn_unused_result))

/*
 * The one result enum of the domain (loyalty and catalog). fcgi/problem.c
 * maps each value to an HTTP status and a contract problem code.
 */
enum ly_res {
	LY_OK = 0,
	LY_NOMEM,
	LY_INVAL,		/* input a validator should have caught */
	LY_NOTFOUND,		/* generic absent thing (404 not_found) */
	LY_CONFLICT,		/* generic uniqueness conflict (409) */
	LY_RETRY,		/* deadlock: the caller re-runs the transaction */
	LY_UNAVAIL,		/* database unreachable: 503 */
	LY_INTERNAL,		/* anything else: 500, logged where it happened */
	/* members */
	LY_CONSENT_REQUIRED,
	LY_UNKNOWN_DISTRICT,
	LY_ALREADY_ENROLLED,
	LY_NOT_ENROLLED,
	LY_UNKNOWN_ISSUER,	/* a source that is not an issuer org */
	/* rules, awards, tiers */
	LY_UNKNOWN_RULE,
	LY_RULE_NOT_ALLOWED,
	LY_RULE_EXISTS,
	LY_RULE_NOT_FOUND,
	LY_UNKNOWN_TIER,
	LY_BAD_LADDER,
	/* organisations */
	LY_ORG_NOT_FOUND,
	LY_ORG_EXISTS,
	LY_KEY_NOT_FOUND,
	/* catalogue */
	LY_INSUFFICIENT_POINTS,
	LY_OUT_OF_STOCK,
	LY_LIMIT_REACHED,
	LY_TIER_TOO_LOW,
	LY_PERK_NOT_FOUND,
	LY_PERK_NOT_ACTIVE,
	LY_WRONG_PERK_KIND,
	LY_UNKNOWN_PARTNER,
	LY_REDEMPTION_NOT_FOUND,
	LY_NOT_CANCELLABLE,
	LY_VOUCHER_NOT_FOUND,
	LY_ALREADY_USED,
	LY_VOUCHER_EXPIRED,
	LY_VOUCHER_CANCELLED,
	LY_PASS_NOT_FOUND,
	/* campaigns */
	LY_CAMPAIGN_NOT_FOUND,
	LY_CAMPAIGN_EXISTS,
	LY_RES__MAX
};

const char	*ly_res_str(enum ly_res r);
/* Maps a database result to a domain result (DB_OK/ROW -> LY_OK). */
enum ly_res	 ly_from_db(enum db_res r);

/*
 * Process-wide secrets and settings the domain needs; filled once at
 * start-up from the config and read-only afterwards.
 */
struct ly_ctx {
	unsigned char	 subject_key[32];	/* HMAC key for subjects */
	unsigned char	 id_key[16];		/* SipHash key for derived ids */
	unsigned char	 seal_key[32];		/* secretbox key (voucher codes) */
	unsigned char	 cursor_key[32];	/* secretbox key (list cursors) */
	unsigned char	 pass_pk[32];		/* Ed25519 public key */
	unsigned char	 pass_sk[64];		/* Ed25519 secret key */
	int		 stats_min_group;
};

/* Derives every key from the configured secrets (server_key, subject_key,
 * pass_seed; raw bytes). */
void	ly_ctx_init(struct ly_ctx *ctx, const unsigned char server_key[32],
	    const unsigned char subject_key[32],
	    const unsigned char pass_seed[32], int stats_min_group);

/* ---- identifiers (ly_ids.c) ---- */

/* Random public id: prefix + 26 Crockford base32 chars (130 bits; the
 * last char carries 2 bits). out must hold LIM_PUBLIC_ID_MAX. */
void	ly_id_random(char *out, size_t outsz, const char *prefix);
/* Derived public id for rows never looked up by id (members, awards,
 * ledger entries): prefix + base32(SipHash(id_key, id)). */
void	ly_id_derived(const struct ly_ctx *ctx, char *out, size_t outsz,
	    const char *prefix, uint64_t id);
/* Crockford base32 of n bytes into out (NUL-terminated). */
void	ly_base32(char *out, size_t outsz, const unsigned char *in, size_t n);
/* Subject -> keyed hash (HMAC-SHA256(subject_key, sub)). */
void	ly_subject_hash(const struct ly_ctx *ctx, const char *sub,
	    unsigned char out[32]);
/* Current time as "YYYY-MM-DD HH:MM:SS.ffffff" UTC for DATETIME(6). */
void	ly_now(char out[32]);
/* The local day (programme time zone, process TZ) of a UTC time_t. */
void	ly_day(time_t t, char out[11]);
/* Seconds on CLOCK_MONOTONIC, for the TTLs of in-process caches. */
time_t	ly_mono_s(void);

/* ---- organisations and API keys (ly_orgs.c) ---- */

enum ly_role { LY_ROLE_ISSUER = 1, LY_ROLE_PARTNER = 2, LY_ROLE_MANAGER = 4 };

struct ly_org {
	uint64_t	 id;
	char		 public_id[LIM_PUBLIC_ID_MAX];
	char		 name[LIM_NAME_MAX + 1];
	unsigned	 roles;		/* enum ly_role bits */
	char		 created_at[32];
};

/* Creates an organisation. LY_ORG_EXISTS on a duplicate name. */
enum ly_res	ly_org_create(struct db *db, const char *name, unsigned roles,
		    struct ly_org *out) LY_WARN_UNUSED;
enum ly_res	ly_org_get(struct db *db, const char *public_id,
		    struct ly_org *out) LY_WARN_UNUSED;
/* Creates a key for the org; writes the full key (shown once) to key
 * (at least 80 bytes) and its public id to key_id. */
enum ly_res	ly_key_create(struct db *db, uint64_t org_id, char *key,
		    size_t keysz, char *key_id, size_t key_idsz) LY_WARN_UNUSED;
/* Revokes a key by public id. LY_KEY_NOT_FOUND if absent or revoked. */
enum ly_res	ly_key_revoke(struct db *db, const char *key_id) LY_WARN_UNUSED;
/* Authenticates a presented key: LY_OK and the org, or LY_NOTFOUND. The
 * hash comparison is constant-time. */
enum ly_res	ly_key_check(struct db *db, const char *key,
		    struct ly_org *out) LY_WARN_UNUSED;
/* Visits orgs having any of roles (0 = all), in creation order, after
 * the internal id `after`; stops after limit. */
enum ly_res	ly_org_list(struct db *db, unsigned roles, uint64_t after,
		    size_t limit, void (*cb)(const struct ly_org *, void *),
		    void *arg) LY_WARN_UNUSED;

/* ---- the ledger (ly_ledger.c) ---- */

enum ly_kind { LY_AWARD, LY_REDEMPTION, LY_REFUND, LY_CLOSURE, LY_KIND__MAX };
const char	*ly_kind_str(enum ly_kind k);

/* What one ledger entry records. */
struct ly_entry {
	uint64_t	 member_id;
	enum ly_kind	 kind;
	long long	 points;	/* > 0 for award/refund, < 0 otherwise */
	uint64_t	 rule_id;	/* 0 = none */
	uint64_t	 perk_id;
	uint64_t	 award_id;
	uint64_t	 redemption_id;
	uint64_t	 campaign_id;	/* award boosted by a campaign, or 0 */
	/* filled by ly_ledger_append: */
	uint64_t	 id;
	long long	 balance_after;
	long long	 lifetime_after;
};

/*
 * Appends one entry and moves the member's balance and lifetime points
 * with it, in the caller's transaction: a conditional UPDATE that must
 * touch exactly one active member row whose balance stays >= 0, then the
 * INSERT, then the daily aggregates (points per day/district/kind/ref,
 * and the funnel on a member's first earn or first redemption).
 * LY_INSUFFICIENT_POINTS if the balance would go negative,
 * LY_NOT_ENROLLED if the member is not active.
 */
enum ly_res	ly_ledger_append(struct db *db, struct ly_entry *e) LY_WARN_UNUSED;
/*
 * What the ledger needs of a member row that the caller has just locked
 * (SELECT ... FOR UPDATE in this transaction), so that an append need
 * not read it again: select LY_LEDGER_LOCK_COLS (the members table
 * aliased m), LY_LEDGER_LOCK_NCOLS columns, and parse them with
 * ly_ledger_lock_read(). Appends keep it current (balance, lifetime,
 * first earn/redemption).
 */
#define LY_LEDGER_LOCK_COLS "m.id, m.balance, m.lifetime_points, " \
	"COALESCE(m.district, ''), COALESCE(m.channel, ''), " \
	"FLOOR(UNIX_TIMESTAMP(m.enrolled_at)), m.first_earned_at IS NULL, " \
	"m.first_redeemed_at IS NULL, " \
	"m.enrolled_at >= UTC_TIMESTAMP(6) - INTERVAL 30 DAY"
#define LY_LEDGER_LOCK_NCOLS 9

struct ly_ledger_lock {
	uint64_t	 id;
	long long	 balance;
	long long	 lifetime;
	char		 district[LIM_CODE_MAX + 1];
	char		 channel[LIM_CODE_MAX + 1];
	char		 enroll_day[11];	/* cohort day, programme zone */
	int		 earn_open;		/* never earned yet */
	int		 redeem_open;		/* never redeemed yet */
	int		 within_30d;		/* enrolled in the last 30 days */
};

/* Parses LY_LEDGER_LOCK_COLS starting at column first of row. */
void		ly_ledger_lock_read(const struct db_row *row, size_t first,
		    struct ly_ledger_lock *out);
/*
 * ly_ledger_append() for an active member the caller has locked and read
 * into m: one conditional UPDATE (balance, lifetime, first earn or
 * redemption time; it must still touch exactly one row), the INSERT and
 * the aggregates, without reading the member again. Updates m.
 */
enum ly_res	ly_ledger_append_locked(struct db *db, struct ly_ledger_lock *m,
		    struct ly_entry *e) LY_WARN_UNUSED;

/*
 * Appends n entries as n ly_ledger_append() calls in this order would
 * (same balances, same CHECKs, same aggregates and funnel), in a handful
 * of multi-row statements. Locks the members itself (FOR UPDATE, by id).
 * Fills balance_after and lifetime_after of each entry; id stays 0 (not
 * read back). All or nothing: LY_INSUFFICIENT_POINTS if one balance would
 * go negative, LY_NOT_ENROLLED if one member is not active; the caller
 * rolls back.
 */
enum ly_res	ly_ledger_append_many(struct db *db, struct ly_entry *e,
		    size_t n) LY_WARN_UNUSED;
/* The same for members the caller has locked and read (every member of
 * the entries must be among the nm in m, in any order); m is updated. */
enum ly_res	ly_ledger_append_many_locked(struct db *db, struct ly_entry *e,
		    size_t n, struct ly_ledger_lock *m, size_t nm)
		    LY_WARN_UNUSED;

/* ---- slots for transactions that move points (ly_slots.c) ---- */

/* The slot this thread holds, or -1. */
extern _Thread_local int ly_slot_held;
/* Take a slot (waiting while all LIM_LEDGER_WRITERS are taken); call
 * before the transaction begins, ly_slot_give() after it ends. */
void		 ly_slot_take(void);
void		 ly_slot_give(void);
/* How many takes have had to wait, since the start. */
uint64_t	 ly_slot_waits(void);

/* The shard of aggregate rows a change goes to: the slot's, so that
 * concurrent transactions of this process never share an aggregate row;
 * outside a slot, the member's. */
static inline unsigned ly_shard(uint64_t member_id)
{
	return ly_slot_held >= 0 ? (unsigned)ly_slot_held :
	    (unsigned)(member_id % LIM_AGG_SHARDS);
}

/* ---- validators shared by the HTTP layer and perkctl (ly_rules.c) ---- */

/* 1 if s is a code (rules, districts, campaign channels): 1 to
 * LIM_CODE_MAX of [a-z0-9_.-], starting with a letter or digit. */
int	ly_code_valid(const char *s);

/* ---- districts (ly_districts.c) ---- */

struct ly_district {
	char		 code[LIM_CODE_MAX + 1];
	char		 name[LIM_NAME_MAX * 4 + 1];	/* UTF-8 */
	long long	 population;
	char		 updated_at[32];		/* RFC 3339 */
};

/* Creates or replaces a district; *created says which. */
enum ly_res	ly_district_put(struct db *db, const char *code,
		    const char *name, long long population, int *created,
		    struct ly_district *out) LY_WARN_UNUSED;
/* Visits districts ordered by code, skipping offset, at most limit. */
enum ly_res	ly_district_list(struct db *db, size_t offset, size_t limit,
		    void (*cb)(const struct ly_district *, void *), void *arg)
		    LY_WARN_UNUSED;

/* ---- tiers, stars and flags (ly_tiers.c) ---- */

struct ly_tier {
	char		 name[LIM_CODE_MAX * 4 + 1];
	long long	 min_lifetime;
};

struct ly_ladder {
	size_t		 n;
	struct ly_tier	 tiers[LIM_TIERS_MAX];	/* lowest first */
	long long	 star_points;
	long long	 stars_per_flag;
};

/* Where a member stands on the ladder. next is NULL at the top (and
 * to_next 0). Points to names inside the ladder. */
struct ly_standing {
	const char	*name;
	long long	 stars;
	long long	 flags;
	const char	*next;
	long long	 to_next;
};

/* Pure: the member's tier for lifetime points, stars = lifetime /
 * star_points, flags = stars / stars_per_flag. */
void		ly_standing(const struct ly_ladder *l, long long lifetime,
		    struct ly_standing *out);
/* Pure: LY_OK if the ladder starts at 0, rises strictly, has unique
 * names and positive star rules; else LY_BAD_LADDER. */
enum ly_res	ly_ladder_check(const struct ly_ladder *l) LY_WARN_UNUSED;
enum ly_res	ly_ladder_get(struct db *db, struct ly_ladder *out)
		    LY_WARN_UNUSED;
/* Keep the ladder in memory for this many seconds (0, the default: read
 * it every time); ly_ladder_forget drops it. The caller of
 * ly_ladder_put forgets again after its transaction ends, so that a read
 * racing the change cannot keep the old ladder. */
void		ly_ladder_cache_ttl(unsigned seconds);
void		ly_ladder_forget(void);
/* Replaces the ladder and the star rule (checked first). */
enum ly_res	ly_ladder_put(struct db *db, const struct ly_ladder *l)
		    LY_WARN_UNUSED;

/* ---- the access log (ly_access.c) ---- */

/* Records that org touched the member's data (action: 'award',
 * 'voucher_check', 'voucher_use', 'pass_check'). Inside a transaction, as
 * part of it; outside one, through the writer if it runs (committed with
 * the rows of other requests before this returns), else in a
 * transaction of its own. */
enum ly_res	ly_access_note(struct db *db, uint64_t member_id,
		    uint64_t org_id, const char *action) LY_WARN_UNUSED;
/* Starts the group-commit writer with its own connection (perkd); 0 or
 * -1. ly_access_stop writes what is queued, then stops it. */
int		ly_access_start(const struct db_cfg *cfg);
void		ly_access_stop(void);
/* What the writer committed so far: commits and rows (rows / commits is
 * how many checks share a commit). */
void		ly_access_counts(unsigned long long *commits,
		    unsigned long long *rows);

/* ---- rules (ly_rules.c) ---- */

struct ly_rule_issuer {
	uint64_t	 id;
	char		 public_id[LIM_PUBLIC_ID_MAX];
	char		 name[LIM_NAME_MAX * 4 + 1];
};

/* The best campaign bonus on a rule in force now. */
struct ly_bonus {
	uint64_t	 campaign_id;	/* 0 = none */
	char		 public_id[LIM_PUBLIC_ID_MAX];
	int		 pct;		/* 150 = x1.5 */
	int		 all_districts;
	char		 ends_at[32];	/* RFC 3339 */
	size_t		 ndistricts;
	char		 (*districts)[LIM_CODE_MAX + 1];	/* malloc'd */
};

struct ly_rule {
	uint64_t		 id;
	char			 code[LIM_CODE_MAX + 1];
	char			 title[LIM_NAME_MAX * 4 + 1];
	char			 description[LIM_DESC_MAX * 4 + 1];
	long long		 points;
	long long		 daily_cap;	/* 0 = no cap */
	int			 active;
	size_t			 nissuers;
	struct ly_rule_issuer	*issuers;	/* malloc'd, by name */
	struct ly_bonus		 bonus;
};

/* What a manager sends to create or change a rule. For a change, the
 * has_* flags say which fields are present. */
struct ly_rule_in {
	const char		*code;
	const char		*title;
	const char		*description;
	long long		 points;
	long long		 daily_cap;	/* 0 = none (null) */
	int			 active;
	const char *const	*issuers;	/* org public ids */
	size_t			 nissuers;
	int			 has_title, has_description, has_points,
				 has_daily_cap, has_active, has_issuers;
};

/* Resolves organisation public ids that must be issuers to internal ids
 * (out holds n) and, if canon is not NULL, their ids as stored (canon
 * holds n). LY_UNKNOWN_ISSUER names no org or a non-issuer. */
enum ly_res	ly_issuers_resolve(struct db *db, const char *const *ids,
		    size_t n, uint64_t *out,
		    char (*canon)[LIM_PUBLIC_ID_MAX]) LY_WARN_UNUSED;
/* Creates a rule. LY_RULE_EXISTS, LY_UNKNOWN_ISSUER. */
enum ly_res	ly_rule_create(struct db *db, const struct ly_rule_in *in)
		    LY_WARN_UNUSED;
/* Changes the present fields of rule code. LY_RULE_NOT_FOUND. */
enum ly_res	ly_rule_update(struct db *db, const char *code,
		    const struct ly_rule_in *in) LY_WARN_UNUSED;
/* Reads one rule with its issuers and best active bonus; free with
 * ly_rule_clear(). LY_RULE_NOT_FOUND. */
enum ly_res	ly_rule_get(struct db *db, const char *code,
		    struct ly_rule *out) LY_WARN_UNUSED;
/* A page of rules ordered by code (active only if active_only), each
 * with issuers and bonus. *out is a malloc'd array of *n rules: free with
 * ly_rules_free(). */
enum ly_res	ly_rule_list(struct db *db, int active_only, size_t offset,
		    size_t limit, struct ly_rule **out, size_t *n)
		    LY_WARN_UNUSED;
void		ly_rule_clear(struct ly_rule *r);
void		ly_rules_free(struct ly_rule *rules, size_t n);

/* ---- members (ly_members.c) ---- */

struct ly_member {
	uint64_t	 id;
	char		 district[LIM_CODE_MAX + 1];
	char		 channel[LIM_CODE_MAX + 1];
	char		 enrolled_at[32];	/* RFC 3339 */
	long long	 balance;
	long long	 lifetime;
	int		 sources_all;
};

struct ly_enroll {
	const unsigned char	*subject_hash;	/* 32 bytes */
	const char		*consent_version;
	const char		*district;
	const char		*channel;	/* NULL = none */
	int			 sources_all;	/* 1: sources ignored */
	const char *const	*sources;	/* issuer public ids */
	size_t			 nsources;
};

/* The active member with this subject hash; lock takes the row lock
 * (SELECT ... FOR UPDATE). LY_NOT_ENROLLED if none. */
enum ly_res	ly_member_find(struct db *db, const unsigned char hash[32],
		    int lock, struct ly_member *out) LY_WARN_UNUSED;
/* Enrols: consent record, member row, aggregates, in the caller's
 * transaction. LY_ALREADY_ENROLLED, LY_UNKNOWN_DISTRICT,
 * LY_UNKNOWN_ISSUER. */
enum ly_res	ly_member_enroll(struct db *db, const struct ly_enroll *in,
		    struct ly_member *out) LY_WARN_UNUSED;
/* Replaces the member's sources (sources_all = 1: every issuer) and
 * records the change in the consent history. */
enum ly_res	ly_member_sources_set(struct db *db, uint64_t member_id,
		    int sources_all, const char *const *sources, size_t n)
		    LY_WARN_UNUSED;
/* Visits the member's allowed issuers (only meaningful when
 * sources_all = 0), by name. */
enum ly_res	ly_member_sources(struct db *db, uint64_t member_id,
		    void (*cb)(const struct ly_rule_issuer *, void *),
		    void *arg) LY_WARN_UNUSED;
/*
 * Opt-out: in the caller's transaction, closes the balance with a
 * closure entry, deletes the member's vouchers (returning unused stock)
 * and passes, erases sources, consents, access log, the resident's
 * idempotency records and the issuers' external references, and leaves
 * an anonymous shell (no subject, district or channel; days only).
 * LY_NOT_ENROLLED if there is no active member.
 */
enum ly_res	ly_member_close(struct db *db, const unsigned char hash[32])
		    LY_WARN_UNUSED;

/* One ledger entry as a member sees it. */
struct ly_ledger_row {
	uint64_t	 id;
	char		 at[32];		/* RFC 3339 */
	enum ly_kind	 kind;
	long long	 points;
	long long	 balance_after;
	char		 rule[LIM_CODE_MAX + 1];	/* "" = none */
	char		 perk[LIM_PUBLIC_ID_MAX];	/* "" = none */
	char		 campaign[LIM_PUBLIC_ID_MAX];	/* "" = none */
};

struct ly_access_row {
	uint64_t	 id;
	char		 at[32];
	char		 org_id[LIM_PUBLIC_ID_MAX];
	char		 org_name[LIM_NAME_MAX * 4 + 1];
	char		 action[16];
};

struct ly_consent_row {
	char		 at[32];
	char		 action[16];
	char		 consent_version[LIM_CODE_MAX * 4 + 1];	/* "" = null */
	char		 district[LIM_CODE_MAX + 1];
	char		 channel[LIM_CODE_MAX + 1];
	int		 sources_null;
	const char	*sources;	/* JSON array text, or NULL */
};

struct ly_redemption_row {
	char		 id[LIM_PUBLIC_ID_MAX];
	char		 perk_id[LIM_PUBLIC_ID_MAX];
	long long	 points;
	char		 status[16];
	char		 issued_at[32];
	char		 expires_at[32];
	char		 used_at[32];	/* "" = null */
};

struct ly_pass_row {
	char		 perk_id[LIM_PUBLIC_ID_MAX];
	char		 created_at[32];
	char		 expires_at[32];
};

/* Newest first, entries with id < before (0 = from the newest). */
enum ly_res	ly_member_ledger(struct db *db, uint64_t member_id,
		    uint64_t before, size_t limit,
		    void (*cb)(const struct ly_ledger_row *, void *), void *arg)
		    LY_WARN_UNUSED;
enum ly_res	ly_member_access(struct db *db, uint64_t member_id,
		    uint64_t before, size_t limit,
		    void (*cb)(const struct ly_access_row *, void *), void *arg)
		    LY_WARN_UNUSED;
/* The export's other sections, oldest first. */
enum ly_res	ly_member_consents(struct db *db, uint64_t member_id,
		    void (*cb)(const struct ly_consent_row *, void *), void *arg)
		    LY_WARN_UNUSED;
enum ly_res	ly_member_redemptions(struct db *db, uint64_t member_id,
		    void (*cb)(const struct ly_redemption_row *, void *),
		    void *arg) LY_WARN_UNUSED;
enum ly_res	ly_member_passes(struct db *db, uint64_t member_id,
		    void (*cb)(const struct ly_pass_row *, void *), void *arg)
		    LY_WARN_UNUSED;

/* ---- earning terms (ly_terms.c) ---- */

/* A rule as an award reads it. code: as stored. cap 0 = none. */
struct ly_rule_terms {
	uint64_t	 id;
	char		 code[LIM_CODE_MAX + 1];
	long long	 points;
	long long	 cap;
};

/* The bonus campaign chosen for an award. */
struct ly_award_bonus {
	uint64_t	 campaign_id;
	int		 pct;		/* multiplier x 100 */
	char		 public_id[LIM_PUBLIC_ID_MAX];
};

/* A rule's terms: the rule, its issuers, its bonus campaigns not ended. */
struct ly_terms;

/* The terms of the active rule with this code (LY_UNKNOWN_RULE if none),
 * from the cache or read in the caller's transaction; *out is a reference
 * to give back with ly_terms_put(). */
enum ly_res	ly_terms_get(struct db *db, const char *code,
		    struct ly_terms **out) LY_WARN_UNUSED;
void		ly_terms_put(struct ly_terms *t);
const struct ly_rule_terms *ly_terms_rule(const struct ly_terms *t);
/* Pure: 1 if the organisation may award the rule. */
int		ly_terms_issuer_ok(const struct ly_terms *t, uint64_t org_id);
/* Pure: the best bonus in force at now (ly_now() text) for a member of
 * district: 1 and *out set, or 0 (none). */
int		ly_terms_bonus(const struct ly_terms *t, const char *district,
		    const char *now, struct ly_award_bonus *out);
/* Keep terms in memory for this many seconds (0, the default: read them
 * every time); ly_terms_forget drops them all. Whoever changes a rule or
 * a campaign forgets after its transaction ends (see ly_ladder_forget). */
void		ly_terms_cache_ttl(unsigned seconds);
void		ly_terms_forget(void);

/* ---- awards (ly_awards.c) ---- */

/* Pure: what a cap leaves of base points when earned_today were already
 * credited from the rule today (cap 0 = none); *capped set when cut. */
long long	ly_cap_cut(long long base, long long cap, long long earned_today,
		    int *capped);
/* Pure: rule points times a campaign bonus (pct 0 = none), rounded down. */
long long	ly_bonus_points(long long points, int pct);

struct ly_award_in {
	uint64_t		 issuer_id;
	const unsigned char	*subject_hash;	/* 32 bytes */
	const char		*rule;
	const char		*external_ref;
	const char		*occurred_at;	/* SQL DATETIME text or NULL */
};

struct ly_award {
	uint64_t	 id;
	char		 rule[LIM_CODE_MAX + 1];
	long long	 points;
	int		 capped;
	long long	 balance;
	uint64_t	 campaign_id;
	char		 campaign[LIM_PUBLIC_ID_MAX];	/* "" = none */
	int		 duplicate;	/* 1: the first award of this ref */
};

/*
 * One award, in the caller's transaction. Every refusal
 * (LY_NOT_ENROLLED, LY_UNKNOWN_RULE, LY_RULE_NOT_ALLOWED) is decided
 * before anything is written, so a refused item leaves no trace and a
 * batch can go on in the same transaction. A repeated (issuer,
 * external_ref) returns LY_OK with the first award and duplicate = 1.
 */
enum ly_res	ly_award(struct db *db, const struct ly_award_in *in,
		    struct ly_award *out) LY_WARN_UNUSED;

/* One item of a batch: what to award, and its own answer. */
struct ly_award_item {
	struct ly_award_in	 in;
	int			 skip;	/* set by the caller: not run (invalid) */
	enum ly_res		 res;	/* LY_OK (out filled) or the refusal */
	struct ly_award		 out;
};

/*
 * Up to LIM_BATCH_MAX awards of ONE issuer, in the caller's transaction,
 * answering each item exactly as ly_award() called item after item would
 * (caps and repeats of a reference within the batch included), with a few
 * multi-row statements per LIM_DB_ROWS_MAX items (ly_award_batch.c). The
 * refusals (LY_NOT_ENROLLED, LY_UNKNOWN_RULE, LY_RULE_NOT_ALLOWED) are in
 * each item's res and leave nothing written. The return value is LY_OK or
 * a failure of the whole batch (LY_RETRY, LY_UNAVAIL, LY_INTERNAL,
 * LY_NOMEM, LY_INVAL for items of several issuers): the caller rolls
 * back, and may re-run the transaction on LY_RETRY.
 */
enum ly_res	ly_award_batch(struct db *db, struct ly_award_item *items,
		    size_t n) LY_WARN_UNUSED;

/* ---- invariants (ly_verify.c) ---- */

/* Checks every member's balance and lifetime points against the ledger,
 * and the aggregates against the ledger and members. Calls cb with a
 * one-line description of each violation (member given by internal id,
 * and 0 for global ones). *bad counts them. */
enum ly_res	ly_verify(struct db *db,
		    void (*cb)(uint64_t member_id, const char *what, void *),
		    void *arg, size_t *bad) LY_WARN_UNUSED;

/* ---- configuration (ly_config.c) ---- */

struct ly_config {
	char		 socket[256];
	unsigned	 socket_mode;
	unsigned	 threads;
	char		 db_socket[1024];	/* one socket, or a list: sql/db.h */
	char		 db_host[1024];
	unsigned	 db_port;
	char		 db_name[64];
	char		 db_user[64];
	char		 db_password[128];
	unsigned char	 jwt_secret[256];
	size_t		 jwt_secret_len;
	unsigned char	 subject_key[32];
	unsigned char	 server_key[32];
	unsigned char	 pass_seed[32];
	int		 stats_min_group;
	char		 timezone[64];
	int		 dev_mode;
	int		 have_secrets;	/* all four secrets were set */
};

/* Loads defaults then the file. Returns 0, or -1 with a message in err. */
int	ly_config_load(const char *path, struct ly_config *cfg,
	    char *err, size_t errsz) LY_WARN_UNUSED;
void	ly_config_db(const struct ly_config *cfg, struct db_cfg *out);

/* Checked decimal parser for config values, Content-Length and query
 * numbers: the whole string must be digits, no sign, no overflow past
 * max. 0 and the value in out, or -1. */
int	ly_parse_uint(const char *s, unsigned long long max,
	    unsigned long long *out) LY_WARN_UNUSED;

#endif /* LY_H */
