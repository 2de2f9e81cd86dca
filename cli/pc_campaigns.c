/*
 * pc_campaigns.c: the campaigns of the demo and its synthetic population
 * (perkctl demo), and the campaigns of perkctl generate --campaigns.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/perkctl.h"

static const char *const pc_demo_stmt_blood_rule =
 "SELECT code FROM rules WHERE code LIKE '%blood%' "
	    "ORDER BY id LIMIT 1";

/* ---- demo: two campaigns and a small population ---- */

/*
 * Two campaigns: a poster campaign at the library counter with an
 * enrolment target, and a blood drive doubling the points of the first
 * rule whose code mentions blood (or of `rule` if given; no bonus if
 * neither exists). Their windows cover the last `days` days.
 */
enum ly_res
pc_campaigns_create(struct pc *pc, const char *rule, long days)
{
	char starts[32], ends[32], brule[LIM_CODE_MAX + 1] = "";
	struct cat_campaign c;
	struct cat_campaign_in in;
	struct db_row *row;
	time_t now = time(NULL);
	enum ly_res res;
	enum db_res r;

	memset(&in, 0, sizeof(in));
	pc_fmt_time(now - days * 86400, starts);
	pc_fmt_time(now + 45 * 86400, ends);
	in.name = "Library counter posters";
	in.code = "library-poster";
	in.starts_at = starts;
	in.ends_at = ends;
	in.target = 500;
	if ((res = cat_campaign_create(pc->db, &in, &c)) != LY_OK)
		return res;
	if (rule != NULL)
		snprintf(brule, sizeof(brule), "%s", rule);
	else if ((r = db_one(pc->db, pc_demo_stmt_blood_rule, NULL, 0,
	    &row)) == DB_ROW)
		snprintf(brule, sizeof(brule), "%s", row->col[0].s);
	else if (r != DB_NOTFOUND)
		return ly_from_db(r);
	memset(&in, 0, sizeof(in));
	pc_fmt_time(now - (days < 14 ? days : 14) * 86400, starts);
	pc_fmt_time(now + 16 * 86400, ends);
	in.name = "Blood drive: double points";
	in.code = "blood-drive";
	in.starts_at = starts;
	in.ends_at = ends;
	if (brule[0] != '\0') {
		in.bonus_rule = brule;
		in.bonus_pct = 200;
	}
	return cat_campaign_create(pc->db, &in, &c);
}

enum ly_res
pc_demo_campaigns(struct pc *pc, struct pc_demo *demo)
{
	(void)demo;
	return pc_campaigns_create(pc, NULL, 45);
}

/*
 * The demo's synthetic population, so that the dashboard has figures
 * above the suppression threshold. Runs after the campaigns (their codes
 * become channels) in its own transactions.
 */
#define PC_DEMO_MEMBERS	3000	/* enough for most cells to pass k = 5 */
#define PC_DEMO_DAYS	120

enum ly_res
pc_demo_population(struct pc *pc, struct pc_demo *demo)
{
	(void)demo;
	/* like generate: synthetic members only on a development system */
	if (!pc->cfg.dev_mode) {
		fprintf(stderr, "perkctl: demo: no synthetic population "
		    "without dev_mode = 1\n");
		return LY_OK;
	}
	/* the demo step opened a transaction: generate commits its own */
	if (pc_txn_end(pc, LY_OK, "demo population") != 0)
		return LY_INTERNAL;
	if (pc_generate(pc, PC_DEMO_MEMBERS, PC_DEMO_DAYS, 0) != 0)
		return LY_INTERNAL;
	/* hand the step runner the open transaction it expects */
	return pc_begin(pc) == 0 ? LY_OK : LY_INTERNAL;
}
