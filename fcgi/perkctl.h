/*
 * perkctl.h: what perkctl's subcommands share. Each area adds its
 * subcommands (pc_<area>.c) through PC_MORE_COMMANDS and its demo data
 * through PC_DEMO_STEPS, so perkctl.c keeps one command table.
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
#define PC_LOYALTY_COMMANDS
#define PC_CATALOG_COMMANDS
#define PC_STATS_COMMANDS
#define PC_LOYALTY_DEMO
#define PC_CATALOG_DEMO
#define PC_STATS_DEMO

#endif /* PERKCTL_H */
