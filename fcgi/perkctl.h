/*
 * perkctl.h: what perkctl's subcommands share. Each area adds its
 * subcommands (pc_<area>.c) through PC_<AREA>_COMMANDS and its demo data
 * through PC_<AREA>_DEMO, so perkctl.c keeps one command table.
 */
#ifndef PERKCTL_H
#define PERKCTL_H

#include "fcgi/ht.h"

struct pc {
	struct ht_config	 cfg;
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

int	pc_open(struct pc *pc);
int	pc_begin(struct pc *pc);
/* Commits on LY_OK, else rolls back and reports; 0 or -1. */
int	pc_txn_end(struct pc *pc, enum ly_res res, const char *what);
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
#define PC_STATS_COMMANDS \
	{ "generate", "generate --members N --days D [--campaigns]", pc_cmd_generate }, \
	{ "stats", "stats rebuild|verify", pc_cmd_stats },
#define PC_CATALOG_DEMO \
	{ "catalogue", pc_catalog_demo },
/* campaigns and stats (pc_stats.c) */
int		pc_cmd_generate(struct pc *pc, int argc, char *argv[]);
int		pc_cmd_stats(struct pc *pc, int argc, char *argv[]);
/* Checks that the aggregates agree with members and ledger and the
 * roll-ups with the daily tables, printing one line per check to out.
 * 0 all agree, 1 some disagree, -1 a query failed. For perkctl verify. */
int		pc_stats_verify(struct pc *pc, FILE *out);
enum ly_res	pc_stats_demo(struct pc *pc, struct pc_demo *demo);
enum ly_res	pc_stats_demo_population(struct pc *pc, struct pc_demo *demo);
#define PC_STATS_DEMO \
	{ "campaigns", pc_stats_demo }, \
	{ "population", pc_stats_demo_population },

#endif /* PERKCTL_H */
