/*
 * h_orgs.c: organisations and their API keys (managers only), and the
 * public list of issuers a resident may allow to report acts.
 */
#include "config.h"

#include <string.h>

#include <sodium.h>

#include "fcgi/ht.h"

static const char *const ht_role_names[] = { "issuer", "partner", "manager" };

static cJSON *
ht_org_json(const struct ly_org *o, int full)
{
	cJSON *j = cJSON_CreateObject(), *roles;
	size_t i;

	cJSON_AddStringToObject(j, "id", o->public_id);
	cJSON_AddStringToObject(j, "name", o->name);
	if (full) {
		roles = cJSON_AddArrayToObject(j, "roles");
		for (i = 0; i < 3; i++)
			if (o->roles & (1u << i))
				cJSON_AddItemToArray(roles,
				    cJSON_CreateString(ht_role_names[i]));
		cJSON_AddStringToObject(j, "created_at", o->created_at);
	}
	return j;
}

static const struct ht_field ht_org_fields[] = {
	{ "name", HT_F_STRING, 1, 1, LIM_NAME_MAX, 0 },
	{ "roles", HT_F_STRINGS, 1, 1, 3, 0 },
};

struct ht_org_args {
	const char	*name;
	unsigned	 roles;
};

static enum ly_res
ht_org_create_work(struct ht_req *r, void *arg)
{
	struct ht_org_args *a = arg;
	struct ly_org o;
	enum ly_res res;

	if ((res = ly_org_create(r->db, a->name, a->roles, &o)) != LY_OK)
		return res;
	ht_reply_json(r, 201, ht_org_json(&o, 1));
	return LY_OK;
}

void
ht_h_orgs_create(struct ht_req *r)
{
	struct ht_org_args a = { NULL, 0 };
	const cJSON *it;
	size_t i;

	if (ht_body(r, ht_org_fields, 2) != 0)
		return;
	a.name = ht_jstr(r->json, "name");
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(r->json, "roles")) {
		for (i = 0; i < 3; i++)
			if (strcmp(it->valuestring, ht_role_names[i]) == 0)
				break;
		if (i < 3)
			a.roles |= 1u << i;
		else {
			ht_reply_field(r, "roles",
			    "roles are issuer, partner or manager");
			return;
		}
	}
	ht_txn(r, ht_org_create_work, &a);
}

/* A page of organisations; full adds their roles and creation time. */
struct ht_org_page {
	struct ht_page	 pg;
	int		 full;
};

static void
ht_org_list_cb(const struct ly_org *o, void *arg)
{
	struct ht_org_page *l = arg;

	if (ht_page_take(&l->pg, o->id))
		cJSON_AddItemToArray(l->pg.items, ht_org_json(o, l->full));
}

static void
ht_orgs_list(struct ht_req *r, unsigned roles, int full)
{
	struct ht_org_page l;
	uint64_t after;

	l.full = full;
	if (ht_page_start(r, &l.pg, &after) != 0)
		return;
	ht_page_reply(&l.pg, ly_org_list(r->db, roles, after, l.pg.limit + 1,
	    ht_org_list_cb, &l));
}

void
ht_h_orgs_list(struct ht_req *r)
{
	ht_orgs_list(r, 0, 1);
}

void
ht_h_issuers(struct ht_req *r)
{
	ht_orgs_list(r, LY_ROLE_ISSUER, 0);
}

static enum ly_res
ht_key_create_work(struct ht_req *r, void *arg)
{
	char key[128], key_id[LIM_PUBLIC_ID_MAX];
	struct ly_org o;
	enum ly_res res;
	cJSON *j;

	(void)arg;
	if ((res = ly_org_get(r->db, r->params[0], &o)) != LY_OK)
		return res;
	if ((res = ly_key_create(r->db, o.id, key, sizeof(key), key_id,
	    sizeof(key_id))) != LY_OK)
		return res;
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "id", key_id);
	cJSON_AddStringToObject(j, "org_id", o.public_id);
	cJSON_AddStringToObject(j, "key", key);
	sodium_memzero(key, sizeof(key));
	ht_reply_json(r, 201, j);
	return LY_OK;
}

void
ht_h_keys_create(struct ht_req *r)
{
	if (r->bodylen > 0 && ht_body(r, NULL, 0) != 0)
		return;
	ht_txn(r, ht_key_create_work, NULL);
}

static enum ly_res
ht_key_revoke_work(struct ht_req *r, void *arg)
{
	enum ly_res res;

	(void)arg;
	if ((res = ly_key_revoke(r->db, r->params[0])) != LY_OK)
		return res;
	r->status = 204;
	return LY_OK;
}

void
ht_h_keys_revoke(struct ht_req *r)
{
	ht_txn(r, ht_key_revoke_work, NULL);
	/* committed: no cached copy of any key may outlive it here */
	if (r->status == 204)
		ht_keycache_clear();
}
