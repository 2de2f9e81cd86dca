/*
 * page.c: keyset pages of a list. A list handler reads ?limit= and
 * ?cursor= with ht_page_start(), asks the domain for limit + 1 rows
 * after (or before) the cursor's id, keeps each row that ht_page_take()
 * admits, and replies with ht_page_reply(): the extra row only says that
 * there is a next page, whose cursor holds the id of the last row kept.
 */
#include "config.h"

#include <stdint.h>

#include <cJSON.h>

#include "fcgi/ht.h"

int
ht_page_start(struct ht_req *r, struct ht_page *pg, uint64_t *from)
{
	int64_t extra;

	pg->r = r;
	pg->items = NULL;
	pg->last = 0;
	pg->n = 0;
	pg->limit = 0;
	pg->more = 0;
	if (ht_query_limit(r, &pg->limit) != 0 ||
	    ht_cursor_read(r, from, &extra) < 0)
		return -1;
	return 0;
}

int
ht_page_take(struct ht_page *pg, uint64_t id)
{
	if (pg->n == pg->limit) {
		pg->more = 1;
		return 0;
	}
	if (pg->items == NULL)
		pg->items = cJSON_CreateArray();
	pg->last = id;
	pg->n++;
	return 1;
}

void
ht_page_reply(struct ht_page *pg, enum ly_res res)
{
	char cursor[LIM_CURSOR_MAX];

	if (res != LY_OK) {
		cJSON_Delete(pg->items);
		pg->items = NULL;
		ht_reply_result(pg->r, res, NULL);
		return;
	}
	if (pg->items == NULL)
		pg->items = cJSON_CreateArray();
	if (pg->more)
		ht_cursor_make(pg->r, pg->last, 0, cursor, sizeof(cursor));
	ht_reply_list(pg->r, pg->items, pg->more ? cursor : NULL);
	pg->items = NULL;
}
