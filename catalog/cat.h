/*
 * cat.h: the catalogue domain: perks, redemptions and vouchers, status
 * passes. May call loyalty/ (ly.h); loyalty never calls it. Same rules as
 * ly.h: functions that write run in the caller's transaction and return
 * enum ly_res, except the expiry sweep (cat_sweep_*), which runs its own
 * small transactions and must be called outside one.
 *
 * Lock order, the same on every path so that concurrent requests queue
 * instead of deadlocking: redemption row, then perk row, then member row
 * (the ledger). A redemption locks the perk (FOR UPDATE) and then the
 * member (ly_ledger_append); a cancel or an expiry locks the redemption,
 * then the perk (stock returned), then the member (refund).
 */
#ifndef CAT_H
#define CAT_H

#include "loyalty/ly.h"

#define CAT_WARN_UNUSED __attribute__((warn_unused_result))

/* Buffer sizes derived from the limits. Titles and descriptions are
 * counted in characters; a UTF-8 character takes at most 4 bytes. */
#define CAT_TITLE_SZ	(LIM_NAME_MAX * 4 + 1)
#define CAT_DESC_SZ	(LIM_DESC_MAX * 4 + 1)
#define CAT_TIER_SZ	(LIM_CODE_MAX * 4 + 1)
/* A voucher as shown: 26 base32 chars in groups of 4 with dashes. */
#define CAT_CODE_SZ	40

/* ---- perks (cat_perks.c) ---- */

enum cat_kind { CAT_VOUCHER, CAT_STATUS };

struct cat_perk {
	uint64_t	 id;
	char		 public_id[LIM_PUBLIC_ID_MAX];
	uint64_t	 partner_id;
	char		 partner_public_id[LIM_PUBLIC_ID_MAX];
	char		 partner_name[CAT_TITLE_SZ];
	char		 title[CAT_TITLE_SZ];
	char		 description[CAT_DESC_SZ];
	enum cat_kind	 kind;
	long long	 cost_points;
	char		 min_tier[CAT_TIER_SZ];	/* "" = any tier */
	long long	 stock;			/* -1 = unlimited */
	long long	 issued;
	long long	 per_member_limit;	/* -1 = none */
	char		 valid_from[32];	/* SQL DATETIME text, "" = open */
	char		 valid_to[32];
	int		 voucher_days;
	int		 active;
	char		 created_at[32];
	char		 updated_at[32];
};

/* What a manager sets. Strings are borrowed; times are SQL DATETIME text
 * (ht_time_parse output) or NULL. */
struct cat_perk_in {
	const char	*title;
	const char	*description;
	const char	*partner;		/* org public id (create only) */
	enum cat_kind	 kind;			/* create only */
	long long	 cost_points;
	const char	*min_tier;		/* NULL = any tier */
	long long	 stock;			/* -1 = unlimited */
	long long	 per_member_limit;	/* -1 = none */
	const char	*valid_from;
	const char	*valid_to;
	int		 voucher_days;
	int		 active;
};

/* Which fields a PATCH carries (bits of struct cat_perk_in). */
enum cat_perk_field {
	CAT_F_TITLE = 1 << 0, CAT_F_DESCRIPTION = 1 << 1,
	CAT_F_COST = 1 << 2, CAT_F_MIN_TIER = 1 << 3, CAT_F_STOCK = 1 << 4,
	CAT_F_LIMIT = 1 << 5, CAT_F_VALID_FROM = 1 << 6,
	CAT_F_VALID_TO = 1 << 7, CAT_F_DAYS = 1 << 8, CAT_F_ACTIVE = 1 << 9,
};

/* Creates a perk. LY_UNKNOWN_PARTNER if partner is not an org with the
 * partner role, LY_UNKNOWN_TIER if min_tier is not on the ladder, LY_INVAL
 * (detail in *why) for a status perk with a cost or a window that ends
 * before it starts. */
enum ly_res	cat_perk_create(struct db *db, const struct cat_perk_in *in,
		    struct cat_perk *out, const char **why) CAT_WARN_UNUSED;
/* Changes the fields named in `set`; kind and partner never change.
 * LY_PERK_NOT_FOUND, LY_UNKNOWN_TIER, LY_INVAL (stock below the units
 * already issued, cost on a status perk, window inverted). */
enum ly_res	cat_perk_update(struct db *db, const char *public_id,
		    unsigned set, const struct cat_perk_in *in,
		    struct cat_perk *out, const char **why) CAT_WARN_UNUSED;
enum ly_res	cat_perk_get(struct db *db, const char *public_id,
		    struct cat_perk *out) CAT_WARN_UNUSED;
/* Visits active perks whose window has not ended, by internal id after
 * `after`, at most limit. */
enum ly_res	cat_perk_list(struct db *db, uint64_t after, size_t limit,
		    void (*cb)(const struct cat_perk *, void *), void *arg)
		    CAT_WARN_UNUSED;
/* What redeeming and passes need to know about a perk. */
struct cat_perk_state {
	uint64_t	 id;
	uint64_t	 partner_id;
	enum cat_kind	 kind;
	long long	 cost_points;
	char		 min_tier[CAT_TIER_SZ];	/* "" = any tier */
	long long	 per_member_limit;	/* -1 = none */
	int		 voucher_days;
	int		 usable;	/* active and inside its window now */
};
/* SQL: whether perk row t (an alias and a dot, or "") is usable now:
 * active and inside its window. */
#define CAT_USABLE_SQL(t) t "active = 1 AND (" t "valid_from IS NULL OR " \
	t "valid_from <= UTC_TIMESTAMP(6)) AND (" t "valid_to IS NULL OR " \
	t "valid_to > UTC_TIMESTAMP(6))"
/* Reads a perk's state; with lock, FOR UPDATE (the first lock a
 * redemption takes). LY_PERK_NOT_FOUND. */
enum ly_res	cat_perk_state_get(struct db *db, const char *public_id,
		    int lock, struct cat_perk_state *out) CAT_WARN_UNUSED;
const char	*cat_kind_str(enum cat_kind k);

/* ---- members as the catalogue sees them (cat_redeem.c); the member
 * itself is found with ly_member_find ---- */

/* LY_OK if the member's lifetime points reach min_tier ("" = any),
 * LY_TIER_TOO_LOW if not or if the tier left the ladder. */
enum ly_res	cat_member_tier_check(struct db *db, uint64_t member_id,
		    const char *min_tier) CAT_WARN_UNUSED;

/* ---- redemptions and vouchers (cat_redeem.c) ---- */

struct cat_redemption {
	uint64_t	 id;
	char		 public_id[LIM_PUBLIC_ID_MAX];
	char		 perk_public_id[LIM_PUBLIC_ID_MAX];
	char		 perk_title[CAT_TITLE_SZ];
	long long	 points;
	char		 status[12];		/* issued|used|cancelled|expired */
	char		 code[CAT_CODE_SZ];	/* "" unless issued */
	char		 issued_at[32];
	char		 expires_at[32];
	char		 used_at[32];		/* "" = not used */
};

/*
 * Redeems a voucher perk for the member: locks the perk, checks kind,
 * validity window, tier, per-member limit, takes one unit of stock,
 * inserts the voucher and debits cost_points through the ledger (not for
 * a free perk). All or nothing, in the caller's transaction. Results:
 * LY_PERK_NOT_FOUND, LY_WRONG_PERK_KIND, LY_PERK_NOT_ACTIVE,
 * LY_TIER_TOO_LOW, LY_LIMIT_REACHED, LY_OUT_OF_STOCK,
 * LY_INSUFFICIENT_POINTS, LY_NOT_ENROLLED.
 */
enum ly_res	cat_redeem(struct db *db, const struct ly_ctx *ctx,
		    uint64_t member_id, const char *perk_public_id,
		    struct cat_redemption *out) CAT_WARN_UNUSED;
/* Cancels one of the member's own issued vouchers: status cancelled, the
 * seal wiped, the unit of stock and the points returned (refund).
 * LY_REDEMPTION_NOT_FOUND (absent or another member's),
 * LY_NOT_CANCELLABLE (used, cancelled or expired). */
enum ly_res	cat_redemption_cancel(struct db *db, const struct ly_ctx *ctx,
		    uint64_t member_id, const char *public_id,
		    struct cat_redemption *out) CAT_WARN_UNUSED;
/* One of the member's vouchers, with its code if issued. */
enum ly_res	cat_redemption_get(struct db *db, const struct ly_ctx *ctx,
		    uint64_t member_id, const char *public_id,
		    struct cat_redemption *out) CAT_WARN_UNUSED;
/* The member's vouchers, newest first, with id below `before` (0 = from
 * the newest), at most limit. */
enum ly_res	cat_redemption_list(struct db *db, const struct ly_ctx *ctx,
		    uint64_t member_id, uint64_t before, size_t limit,
		    void (*cb)(const struct cat_redemption *, void *),
		    void *arg) CAT_WARN_UNUSED;

/* What a partner learns about a voucher: nothing about its holder. */
struct cat_voucher_view {
	char		 status[12];
	int		 valid;
	char		 perk_public_id[LIM_PUBLIC_ID_MAX];
	char		 expires_at[32];
	char		 used_at[32];
	int		 due;	/* still issued, but past its time: not ended
				 * yet; the caller should end it now
				 * (cat_sweep_vouchers, CAT_SWEEP_CODE) */
};

/* A partner checks a code of one of its own perks; the check lands in
 * the member's access log. LY_VOUCHER_NOT_FOUND for a malformed or
 * unknown code or another partner's. It changes nothing but the log, so
 * it needs no transaction: outside one it costs the look-up and a share
 * of the access-log writer's commit (ly_access_note). */
enum ly_res	cat_voucher_check(struct db *db, uint64_t org_id,
		    const char *code, struct cat_voucher_view *out)
		    CAT_WARN_UNUSED;
/* A partner uses a code, exactly once: a conditional UPDATE from
 * issued. The attempt lands in the access log, also when refused.
 * LY_VOUCHER_NOT_FOUND, LY_ALREADY_USED (out->used_at is the first use),
 * LY_VOUCHER_EXPIRED, LY_VOUCHER_CANCELLED. When the refusal is one of the
 * last three, *logged is 1: the access-log row was written and the caller
 * should commit it. */
enum ly_res	cat_voucher_use(struct db *db, uint64_t org_id,
		    const char *code, struct cat_voucher_view *out,
		    int *logged) CAT_WARN_UNUSED;

/* ---- expiry (cat_redeem.c) ---- */

/* Expires one voucher if it is still issued and past its expiry: status
 * expired, seal wiped, stock and points returned. *done = 1 if this call
 * did it, 0 if it was not due or already ended (idempotent). In the
 * caller's transaction. */
enum ly_res	cat_voucher_expire(struct db *db, uint64_t redemption_id,
		    int *done) CAT_WARN_UNUSED;

enum cat_sweep_scope { CAT_SWEEP_ALL, CAT_SWEEP_MEMBER, CAT_SWEEP_CODE };

/*
 * Expires due vouchers, each in its own short transaction (retried on
 * deadlock), so correctness never depends on a timer: perkctl sweep runs
 * it over everything, and requests run it over one member's vouchers or
 * one code before they look. scope_arg is the member id
 * (CAT_SWEEP_MEMBER) or unused; code is the voucher text (CAT_SWEEP_CODE).
 * Must be called outside a transaction. *count = vouchers expired.
 */
enum ly_res	cat_sweep_vouchers(struct db *db, enum cat_sweep_scope scope,
		    uint64_t member_id, const char *code, size_t *count)
		    CAT_WARN_UNUSED;
/* Deletes idempotency records older than LIM_IDEM_KEEP_S and passes that
 * have expired, in batches; outside a transaction. */
enum ly_res	cat_sweep_purge(struct db *db, size_t *idem, size_t *passes)
		    CAT_WARN_UNUSED;

/* ---- voucher codes (cat_voucher.c) ---- */

/* Fresh random code bytes (randombytes_buf). */
void	cat_code_random(unsigned char raw[LIM_VOUCHER_BYTES]);
/* Formats raw bytes as Crockford base32 in dash-separated groups of 4. */
void	cat_code_format(const unsigned char raw[LIM_VOUCHER_BYTES],
	    char out[CAT_CODE_SZ]);
/* Parses a code as typed or scanned: case-insensitive, spaces and dashes
 * ignored, I/L read as 1 and O as 0. 0, or -1 if it is not a code. */
int	cat_code_parse(const char *text, unsigned char raw[LIM_VOUCHER_BYTES])
	    CAT_WARN_UNUSED;
/* The lookup hash stored in redemptions.code_hash: SHA-256(raw). */
void	cat_code_hash(const unsigned char raw[LIM_VOUCHER_BYTES],
	    unsigned char out[32]);
#define CAT_SEALED_SZ	(24 + 16 + LIM_VOUCHER_BYTES)	/* nonce, MAC, code */
/* Seals raw with the server's seal key (crypto_secretbox), so that the
 * owner can be shown the code again; opens it. open: 0 or -1. */
void	cat_code_seal(const struct ly_ctx *ctx,
	    const unsigned char raw[LIM_VOUCHER_BYTES],
	    unsigned char out[CAT_SEALED_SZ]);
int	cat_code_open(const struct ly_ctx *ctx, const unsigned char *sealed,
	    size_t len, unsigned char raw[LIM_VOUCHER_BYTES]) CAT_WARN_UNUSED;

/* ---- passes (cat_passes.c) ---- */

#define CAT_KID_SZ	16	/* base64url of 8 bytes + NUL */

/* The key id: base64url(first 8 bytes of SHA-256(public key)). */
void	cat_pass_kid(const struct ly_ctx *ctx, char out[CAT_KID_SZ]);
/* The public key as base64url (43 chars + NUL). */
void	cat_pass_pubkey(const struct ly_ctx *ctx, char out[48]);
/*
 * Signs a pass for perk_public_id expiring at exp with nonce:
 * "v1.<base64url(payload)>.<base64url(signature)>", payload the compact
 * JSON {"perk":"prk_...","exp":<unix>,"nonce":"<b64url>","kid":"..."}.
 * out must hold LIM_PASS_TEXT_MAX. Pure: no database.
 */
void	cat_pass_sign(const struct ly_ctx *ctx, const char *perk_public_id,
	    time_t exp, const unsigned char nonce[16], char *out,
	    size_t outsz);
/* Verifies a pass's signature and reads it back (expiry is not checked
 * here). 0, or -1 if malformed or not signed by this key. */
int	cat_pass_verify(const struct ly_ctx *ctx, const char *text,
	    char perk_public_id[LIM_PUBLIC_ID_MAX], time_t *exp,
	    unsigned char nonce[16]) CAT_WARN_UNUSED;
/* What cat_pass_verify's verified-pass cache answered so far: hits, and
 * misses (texts checked in full with Ed25519, whether they held or not). */
void	cat_pass_cache_counts(unsigned long long *hits,
	    unsigned long long *misses);
/* Issues a pass for a status perk the member's tier unlocks: records the
 * nonce (for the member's access log only). LY_PERK_NOT_FOUND,
 * LY_WRONG_PERK_KIND, LY_PERK_NOT_ACTIVE, LY_TIER_TOO_LOW. */
enum ly_res	cat_pass_issue(struct db *db, const struct ly_ctx *ctx,
		    uint64_t member_id, const char *perk_public_id,
		    char *pass, size_t passsz, char expires_at[32])
		    CAT_WARN_UNUSED;
/* A partner checks a pass online for one of its perks: *entitled if the
 * signature holds, the perk matches, the pass has not expired and was
 * issued by this server to a member who is still enrolled; *exp the
 * pass's expiry (0 if the signature does not hold). Logs 'pass_check' in
 * the holder's access log. LY_PERK_NOT_FOUND if perk_public_id is not
 * this partner's. Like cat_voucher_check it changes nothing but the log
 * and needs no transaction. */
enum ly_res	cat_pass_check(struct db *db, const struct ly_ctx *ctx,
		    uint64_t org_id, const char *text,
		    const char *perk_public_id, int *entitled, time_t *exp)
		    CAT_WARN_UNUSED;

/* ---- the failed-check limiter (cat_limiter.c) ---- */

/*
 * Per-organisation sliding window of failed voucher and pass checks,
 * in-process, mutex-protected. cat_limiter_allow: 0 if the org may check
 * now, else the seconds until it may (for Retry-After). Successful checks
 * are never counted. `now` is passed in for tests.
 */
unsigned	cat_limiter_allow(uint64_t org_id, time_t now);
void		cat_limiter_fail(uint64_t org_id, time_t now);
void		cat_limiter_reset(void);

/* ---- QR codes (cat_qr.c) ---- */

/* Renders text as a QR code (libqrencode, error correction M) in SVG:
 * one path of dark modules and a 4-module quiet zone. Returns a malloc'd
 * NUL-terminated document (caller frees), or NULL. */
char	*cat_qr_svg(const char *text, size_t *len);

/* ---- time helpers (cat_perks.c) ---- */

/* Copies a fetched text column (NULL -> ""), truncating to dstsz. */
void	cat_copy(char *dst, size_t dstsz, const struct db_col *c);
/* A UTC time_t as SQL DATETIME(6) text. */
void	cat_time_sql(time_t t, char out[32]);

/* ---- campaigns (cat_campaigns.c) ---- */

/* A campaign: a code that attributes enrolments (the enrolment channel),
 * a window, optional districts, target and award bonus. */
struct cat_campaign {
	uint64_t	 id;
	char		 public_id[LIM_PUBLIC_ID_MAX];
	char		 name[LIM_NAME_MAX * 4 + 1];	/* UTF-8 */
	char		 code[LIM_CODE_MAX + 1];
	char		 starts_at[32];		/* RFC 3339 */
	char		 ends_at[32];
	long long	 target;		/* 0 = none */
	char		 bonus_rule[LIM_CODE_MAX + 1];	/* "" = no bonus */
	int		 bonus_pct;		/* 150 = x1.5; 0 = none */
	int		 active;		/* now within the window */
	size_t		 ndistricts;		/* 0 = every district */
	char		 districts[LIM_CAMPAIGN_DISTRICTS][LIM_CODE_MAX + 1];
	char		 created_at[32];
	char		 updated_at[32];
};

/* What a manager sends. Times are SQL DATETIME text (UTC). For an update
 * the has_* flags say which fields are present; a present bonus_rule of
 * NULL removes the bonus, a present target of 0 removes the target, a
 * present ndistricts of 0 means every district. */
struct cat_campaign_in {
	const char		*name;
	const char		*code;
	const char		*starts_at;
	const char		*ends_at;
	long long		 target;
	const char		*bonus_rule;
	int			 bonus_pct;
	const char *const	*districts;
	size_t			 ndistricts;
	int			 has_name, has_code, has_starts_at, has_ends_at,
				 has_target, has_bonus, has_districts;
};

/* Creates a campaign and reads it back into out. LY_CAMPAIGN_EXISTS
 * (code taken), LY_UNKNOWN_RULE, LY_UNKNOWN_DISTRICT, LY_INVAL (window
 * not increasing). */
enum ly_res	cat_campaign_create(struct db *db,
		    const struct cat_campaign_in *in, struct cat_campaign *out)
		    LY_WARN_UNUSED;
/* Changes the present fields; same refusals, and LY_CAMPAIGN_NOT_FOUND. */
enum ly_res	cat_campaign_update(struct db *db, const char *public_id,
		    const struct cat_campaign_in *in, struct cat_campaign *out)
		    LY_WARN_UNUSED;
enum ly_res	cat_campaign_get(struct db *db, const char *public_id,
		    struct cat_campaign *out) LY_WARN_UNUSED;
/* A page of campaigns in creation order after internal id `after`, at
 * most limit. *out is malloc'd (free() it); *n rows. */
enum ly_res	cat_campaign_list(struct db *db, uint64_t after, size_t limit,
		    struct cat_campaign **out, size_t *n) LY_WARN_UNUSED;

/* ---- statistics (cat_stats.c) ----
 *
 * Every figure is read from the aggregate tables (0002, 0030), never from
 * members or the ledger. Any count describing fewer than k members
 * (stats_min_group) comes back withheld (null = 1), and so does anything
 * computed from a withheld count. docs/stats.md explains the rules. */

struct cat_count {
	long long	 v;
	int		 null;		/* withheld */
};

struct cat_rate {
	double		 v;
	int		 null;
};

enum cat_interval { CAT_DAY, CAT_WEEK, CAT_MONTH, CAT_INTERVAL__MAX };

/* Pure helpers, exported for the unit tests. Days are counted from
 * 1970-01-01 (day 0). */
/* Parses a strict "YYYY-MM-DD" (a real date): 0, or -1. */
int	cat_day_parse(const char *s, long *day);
void	cat_day_fmt(long day, char out[11]);
/* First day of the day / ISO week (Monday) / month holding day, and the
 * first day of the period after the one starting at start. */
long	cat_period_start(long day, enum cat_interval iv);
long	cat_period_next(long start, enum cat_interval iv);
/*
 * Primary and complementary suppression of one breakdown v[0..n) whose
 * total is published: withheld[i] = 1 for 0 < v[i] < k; then, while the
 * withheld cells add up to more than 0 and less than k (so that the total
 * minus the published cells would reveal a small group), the smallest
 * published non-zero cell is withheld too. Returns 1 if the total itself
 * may be published (0 or at least k), else 0.
 */
int	cat_stats_suppress(const long long *v, size_t n, long long k,
	    int *withheld);
/* v as a count, withheld if 0 < v < k or if `withheld`. */
struct cat_count cat_count_of(long long v, long long k, int withheld);
/* part / whole, null if either is withheld, whole is 0, or the
 * complement whole - part describes 1..k-1 members. */
struct cat_rate	cat_rate_of(struct cat_count part, struct cat_count whole,
		    long long k);

struct cat_series_row {
	char		 period[11];	/* first day of the period */
	struct cat_count enrolled, left, net, members;
	char		 members_as_of[11];	/* "" when members is null */
	long long	 population;
	struct cat_rate	 opt_in_rate;
};

struct cat_series_q {
	const char		*from;		/* "YYYY-MM-DD" or NULL */
	const char		*to;
	const char		*district;	/* NULL = the whole city */
	enum cat_interval	 interval;
};

/* The enrolment series. Periods are whole days, ISO weeks or months:
 * from and to widen to the period boundaries. *rows is malloc'd (free()).
 * LY_UNKNOWN_DISTRICT, LY_INVAL (from after to, or longer than
 * LIM_STATS_DAYS). */
enum ly_res	cat_stats_enrollment(struct db *db, long long k,
		    const struct cat_series_q *q, struct cat_series_row **rows,
		    size_t *n) LY_WARN_UNUSED;

struct cat_district_stat {
	char		 code[LIM_CODE_MAX + 1];
	char		 name[LIM_NAME_MAX * 4 + 1];
	struct cat_count members;
	long long	 population;
	struct cat_rate	 opt_in_rate;
};

/* One line of a breakdown: a perk (id = public id), a rule (id = code)
 * or a channel (id = code, "" = none). */
struct cat_line {
	char		 id[LIM_PUBLIC_ID_MAX + LIM_CODE_MAX];
	char		 title[LIM_NAME_MAX * 4 + 1];
	struct cat_count count;		/* redemptions, awards, enrolments */
	struct cat_count points;
};

struct cat_overview {
	struct cat_count	 members;
	char			 members_as_of[11];
	long long		 population;
	struct cat_rate		 opt_in_rate;
	struct cat_district_stat *districts;
	size_t			 ndistricts;
	struct cat_count	 awarded, redeemed, refunded, closed,
				 outstanding;
	struct cat_line		*perks, *rules, *channels;
	size_t			 nperks, nrules, nchannels;
	struct cat_count	 f_enrolled, f_earned, f_redeemed;
};

enum ly_res	cat_stats_overview(struct db *db, long long k,
		    struct cat_overview *out) LY_WARN_UNUSED;
void		cat_overview_free(struct cat_overview *o);

struct cat_campaign_stats {
	struct cat_campaign	 c;
	struct cat_count	 enrolled;
	struct cat_rate		 progress;	/* enrolled / target */
	struct cat_rate		 activation_rate;
	struct cat_count	 bonus_points;
	struct cat_line		*districts;	/* id = district code */
	size_t			 ndistricts;
};

/* LY_CAMPAIGN_NOT_FOUND. Free districts with free(). */
enum ly_res	cat_stats_campaign(struct db *db, long long k,
		    const char *public_id, struct cat_campaign_stats *out)
		    LY_WARN_UNUSED;

#endif /* CAT_H */
