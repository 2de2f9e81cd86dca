/*
 * perkctl.h: what perkctl's subcommands share. Each area adds its
 * subcommands (pc_<area>.c) through PC_<AREA>_COMMANDS and its demo data
 * through PC_<AREA>_DEMO, so perkctl.c keeps one command table.
 */
#ifndef PERKCTL_H
#define PERKCTL_H

#include <stdio.h>
#include <time.h>

#include "loyalty/ly.h"
#include "catalog/cat.h"

struct pc {
	struct ly_config	 cfg;
	struct ly_ctx		 ctx;
	struct db		*db;
};

struct pc_cmd {
	const char	*name;
	const char	*usage;
	int		(*fn)(struct pc *, int, char *[]);
};

/* What the demo created so far, for later steps to refer to: the orgs in
 * the order of cmd_demo's table (0 manager, 1 blood bank, 2 utility,
 * 3 library, 4 health centre, 5 bike share). */
struct pc_demo {
	struct ly_org	 orgs[6];
};

/* One demo step runs in its own transaction. */
struct pc_demo_step {
	const char	*name;
	enum ly_res	(*fn)(struct pc *, struct pc_demo *);
};

/* Shared helpers (perkctl.c): CLOCK_MONOTONIC seconds, and a time as
 * "YYYY-MM-DD HH:MM:SS" UTC for DATETIME values. */
double	pc_clock(void);
void	pc_fmt_time(time_t t, char out[32]);
int	pc_open(struct pc *pc);
int	pc_begin(struct pc *pc);
/* Commits on LY_OK, else rolls back and reports; 0 or -1. */
int	pc_txn_end(struct pc *pc, enum ly_res res, const char *what);
/* Mints an HS256 JWT for sub expiring at exp (perkctl token). Returns a
 * malloc'd string the caller frees, or NULL. (pc_token.c) */
char	*pc_jwt_mint(const unsigned char *secret, size_t secretlen,
	    const char *sub, time_t iat, time_t exp);
int	pc_org_with_key(struct pc *pc, const char *name, unsigned roles,
	    struct ly_org *org, char *key, size_t keysz);

/*
 * Subcommands and demo steps contributed by each area: each area defines
 * its own macros (rows of struct pc_cmd / struct pc_demo_step) and
 * declares its functions here, so areas never edit each other's lines.
 */
/* loyalty (pc_loyalty.c) */
int		pc_cmd_verify(struct pc *, int, char *[]);
enum ly_res	pc_demo_districts(struct pc *, struct pc_demo *);
enum ly_res	pc_demo_rules(struct pc *, struct pc_demo *);
enum ly_res	pc_demo_tiers(struct pc *, struct pc_demo *);
#define PC_LOYALTY_COMMANDS \
	{ "verify", "verify", pc_cmd_verify },
#define PC_LOYALTY_DEMO \
	{ "districts", pc_demo_districts }, \
	{ "rules", pc_demo_rules }, \
	{ "tiers", pc_demo_tiers },
/* catalogue (pc_catalog.c) */
int		pc_cmd_sweep(struct pc *, int, char *[]);
enum ly_res	pc_catalog_demo(struct pc *, struct pc_demo *);
#define PC_CATALOG_COMMANDS \
	{ "sweep", "sweep", pc_cmd_sweep },
#define PC_CATALOG_DEMO \
	{ "catalogue", pc_catalog_demo },
/* generate (pc_generate.c) */
int		pc_cmd_generate(struct pc *pc, int argc, char *argv[]);
/* Loads members synthetic members enrolled over the last days days, with
 * their ledger and aggregates, in transactions of its own (campaigns:
 * create the demo's campaigns first). 0 or -1. */
int		pc_generate(struct pc *pc, long long members, long long days,
		    int campaigns);
#define PC_GENERATE_COMMANDS \
	{ "generate", "generate --members N --days D [--campaigns]", pc_cmd_generate },
/* stats rebuild and verify (pc_stats.c) */
int		pc_cmd_stats(struct pc *pc, int argc, char *argv[]);
/* Checks that the aggregates agree with members and ledger and the
 * roll-ups with the daily tables, printing one line per check to out.
 * 0 all agree, 1 some disagree, -1 a query failed. For perkctl verify. */
int		pc_stats_verify(struct pc *pc, FILE *out);
#define PC_STATS_COMMANDS \
	{ "stats", "stats rebuild|verify", pc_cmd_stats },
/* the demo's campaigns and population (pc_campaigns.c) */
/* The two demo campaigns, their windows covering the last days days; a
 * bonus on rule (or the first blood rule, if rule is NULL). */
enum ly_res	pc_campaigns_create(struct pc *pc, const char *rule, long days);
enum ly_res	pc_demo_campaigns(struct pc *pc, struct pc_demo *demo);
enum ly_res	pc_demo_population(struct pc *pc, struct pc_demo *demo);
#define PC_CAMPAIGNS_DEMO \
	{ "campaigns", pc_demo_campaigns }, \
	{ "population", pc_demo_population },

#endif /* PERKCTL_H */
