/*
 * pc_catalog.c: perkctl's catalogue parts.
 *
 *   sweep   ends vouchers past their expiry (status expired, stock and
 *           points returned, each in its own small transaction), then
 *           deletes idempotency records older than LIM_IDEM_KEEP_S and
 *           expired passes. Idempotent: run it from a timer as often as
 *           you like; requests also expire vouchers lazily, so nothing
 *           depends on it running on time.
 *   demo    (a step of `perkctl demo`) the demo catalogue: voucher perks
 *           bought with points and status perks unlocked by tier. Needs
 *           the loyalty step's tier ladder (Member, Bronze, Silver, Gold).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/perkctl.h"

int
pc_cmd_sweep(struct pc *pc, int argc, char *argv[])
{
	size_t expired = 0, idem = 0, passes = 0;
	enum ly_res res;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: perkctl sweep\n");
		return 2;
	}
	if (pc_open(pc) != 0)
		return 1;
	if ((res = cat_sweep_vouchers(pc->db, CAT_SWEEP_ALL, 0, NULL,
	    &expired)) != LY_OK) {
		fprintf(stderr, "perkctl: sweep: vouchers: %s (%zu expired "
		    "before the error)\n", ly_res_str(res), expired);
		return 1;
	}
	if ((res = cat_sweep_purge(pc->db, &idem, &passes)) != LY_OK) {
		fprintf(stderr, "perkctl: sweep: purge: %s\n", ly_res_str(res));
		return 1;
	}
	printf("expired_vouchers=%zu\nidempotency_deleted=%zu\n"
	    "passes_deleted=%zu\n", expired, idem, passes);
	return 0;
}

enum ly_res
pc_catalog_demo(struct pc *pc, struct pc_demo *demo)
{
	static const struct {
		int		 org;		/* index in demo->orgs */
		const char	*title;
		const char	*description;
		enum cat_kind	 kind;
		long long	 cost, stock, limit;
		const char	*min_tier;
	} perks[] = {
		{ 4, "Free medical check-up", "A general health check-up at "
		    "the Community Health Centre.", CAT_VOUCHER, 300, 50, 1,
		    NULL },
		{ 3, "30 m3 of free water", "A credit of 30 cubic metres of "
		    "water, collected at the Central Library's service desk.",
		    CAT_VOUCHER, 200, 100, -1, NULL },
		{ 4, "Heating discount 10%", "Ten per cent off one month of "
		    "district heating, arranged at the Community Health "
		    "Centre's social desk.", CAT_VOUCHER, 150, 200, 2, NULL },
		{ 3, "Library late-fee waiver", "Clears the late fees on one "
		    "loan at the Central Library.", CAT_VOUCHER, 20, -1, -1,
		    NULL },
		{ 5, "Deposit-free bike rental", "Rent a city bike without "
		    "the deposit.", CAT_STATUS, 0, -1, -1, "Silver" },
		{ 3, "Deposit-free library borrowing", "Borrow without the "
		    "deposit for special collections.", CAT_STATUS, 0, -1, -1,
		    "Bronze" },
		{ 4, "Express queue at the service hall", "Use the express "
		    "queue at the Community Health Centre's service hall.",
		    CAT_STATUS, 0, -1, -1, "Gold" },
	};
	struct cat_perk_in in;
	struct cat_perk *out;
	const char *why = NULL;
	enum ly_res res = LY_OK;
	size_t i;

	if ((out = calloc(1, sizeof(*out))) == NULL)
		return LY_NOMEM;
	for (i = 0; i < sizeof(perks) / sizeof(perks[0]); i++) {
		memset(&in, 0, sizeof(in));
		in.title = perks[i].title;
		in.description = perks[i].description;
		in.partner = demo->orgs[perks[i].org].public_id;
		in.kind = perks[i].kind;
		in.cost_points = perks[i].cost;
		in.min_tier = perks[i].min_tier;
		in.stock = perks[i].stock;
		in.per_member_limit = perks[i].limit;
		in.voucher_days = 30;
		in.active = 1;
		if ((res = cat_perk_create(pc->db, &in, out, &why)) != LY_OK) {
			fprintf(stderr, "perkctl: demo perk '%s': %s%s%s\n",
			    perks[i].title, ly_res_str(res),
			    res == LY_UNKNOWN_TIER ? " (load the tier ladder "
			    "first)" : "", why ? why : "");
			break;
		}
	}
	free(out);
	return res;
}
