/*
 * cat.h: the catalogue domain: perks, redemptions and vouchers, status
 * passes. May call loyalty/ (ly.h); loyalty never calls it. Same rules as
 * ly.h: functions that write run in the caller's transaction and return
 * enum ly_res.
 */
#ifndef CAT_H
#define CAT_H

#include "loyalty/ly.h"

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
