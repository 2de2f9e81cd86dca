/*
 * pc_loyalty.c: perkctl's loyalty parts: `perkctl verify` (the ledger's
 * invariants, see loyalty/ly_verify.c) and the loyalty steps of the demo
 * programme (districts, earning rules, the tier ladder).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli/perkctl.h"

/* ---- verify ---- */

static void
pc_verify_cb(uint64_t member_id, const char *what, void *arg)
{
	struct pc *pc = arg;
	char id[LIM_PUBLIC_ID_MAX];

	if (member_id == 0) {
		printf("FAIL aggregates: %s\n", what);
		return;
	}
	ly_id_derived(&pc->ctx, id, sizeof(id), "mem_", member_id);
	printf("FAIL member %s (internal id %llu): %s\n", id,
	    (unsigned long long)member_id, what);
}

int
pc_cmd_verify(struct pc *pc, int argc, char *argv[])
{
	enum ly_res res;
	size_t bad = 0;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: perkctl verify\n");
		return 2;
	}
	if (pc_open(pc) != 0 || pc_begin(pc) != 0)
		return 1;
	/* one transaction: the checks see one consistent state */
	res = ly_verify(pc->db, pc_verify_cb, pc, &bad);
	db_rollback(pc->db);
	if (res != LY_OK) {
		fprintf(stderr, "perkctl: verify: %s\n", ly_res_str(res));
		return 1;
	}
	/* and the statistics' roll-ups against the daily aggregates */
	switch (pc_stats_verify(pc, stdout)) {
	case 0:
		break;
	case 1:
		bad++;
		break;
	default:
		return 1;
	}
	if (bad > 0) {
		printf("verify: %zu invariant(s) broken\n", bad);
		return 4;
	}
	printf("verify: ok (every balance equals its ledger, lifetime points "
	    "equal awards, aggregates and roll-ups agree)\n");
	return 0;
}

/* ---- demo ---- */

enum ly_res
pc_demo_districts(struct pc *pc, struct pc_demo *demo)
{
	static const struct { const char *code, *name; long long pop; } d[] = {
		{ "old-town", "Old Town", 24000 },
		{ "riverside", "Riverside", 61000 },
		{ "north-hill", "North Hill", 118000 },
		{ "harbour", "Harbour", 43000 },
		{ "west-park", "West Park", 87000 },
		{ "eastgate", "Eastgate", 52000 },
	};
	struct ly_district out;
	enum ly_res res;
	size_t i;
	int created;

	(void)demo;
	for (i = 0; i < sizeof(d) / sizeof(d[0]); i++)
		if ((res = ly_district_put(pc->db, d[i].code, d[i].name,
		    d[i].pop, &created, &out)) != LY_OK)
			return res;
	return LY_OK;
}

enum ly_res
pc_demo_rules(struct pc *pc, struct pc_demo *demo)
{
	/* issuer: index into demo->orgs (1 blood bank, 2 utility,
	 * 3 library) */
	static const struct { const char *code, *title, *desc; long long pts,
	    cap; int issuer; } rl[] = {
		{ "blood_donation", "Blood donation",
		  "A whole-blood, plasma or platelet donation at the regional "
		  "blood bank.", 50, 0, 1 },
		{ "volunteer_hour", "Volunteering hour",
		  "One hour of registered volunteering.", 10, 40, 1 },
		{ "utility_bill_on_time", "Utility bill paid on time",
		  "A water and heat bill paid by its due date.", 5, 0, 2 },
		{ "recycling_dropoff", "Recycling drop-off",
		  "A sorted drop-off at a recycling point.", 2, 10, 2 },
		{ "study_quiz", "Study quiz completed",
		  "A library learning quiz completed.", 3, 9, 3 },
		{ "library_return_on_time", "Library return on time",
		  "A loan returned by its due date.", 2, 0, 3 },
	};
	struct ly_rule_in in;
	const char *issuer[1];
	enum ly_res res;
	size_t i;

	for (i = 0; i < sizeof(rl) / sizeof(rl[0]); i++) {
		memset(&in, 0, sizeof(in));
		issuer[0] = demo->orgs[rl[i].issuer].public_id;
		in.code = rl[i].code;
		in.title = rl[i].title;
		in.description = rl[i].desc;
		in.points = rl[i].pts;
		in.daily_cap = rl[i].cap;
		in.issuers = issuer;
		in.nissuers = 1;
		if ((res = ly_rule_create(pc->db, &in)) != LY_OK)
			return res;
	}
	return LY_OK;
}

enum ly_res
pc_demo_tiers(struct pc *pc, struct pc_demo *demo)
{
	static const struct ly_ladder ladder = { 4, {
		{ "Member", 0 }, { "Bronze", 100 }, { "Silver", 300 },
		{ "Gold", 600 } }, 100, 6 };

	(void)demo;
	return ly_ladder_put(pc->db, &ladder);
}
