/*
 * h_ops.c: the operational endpoints: /healthz (the process answers),
 * /readyz (the database answers, else 503 with Retry-After) and /metrics
 * (Prometheus text format).
 */
#include "config.h"

#include <stdlib.h>

#include "fcgi/ht.h"

void
ht_h_healthz(struct ht_req *r)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "status", "ok");
	ht_reply_json(r, 200, o);
}

void
ht_h_readyz(struct ht_req *r)
{
	enum db_res d = db_ping(r->db);
	cJSON *o;

	if (d != DB_OK) {
		ht_reply_result(r, LY_UNAVAIL, "the database does not answer");
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "status", "ready");
	ht_reply_json(r, 200, o);
}

void
ht_h_metrics(struct ht_req *r)
{
	size_t len = 0;
	char *txt = ht_metrics_render(&len);

	if (txt == NULL) {
		ht_reply_result(r, LY_NOMEM, NULL);
		return;
	}
	ht_reply_raw(r, 200, "text/plain; version=0.0.4; charset=utf-8",
	    txt, len);
	free(txt);
}
