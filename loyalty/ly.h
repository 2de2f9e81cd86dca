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

/* The shard of aggregate rows a member's changes go to. */
static inline unsigned ly_shard(uint64_t member_id)
{ return (unsigned)(member_id % LIM_AGG_SHARDS); }

#endif /* LY_H */
