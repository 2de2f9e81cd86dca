/*
 * fuzz_cursor.c: list cursors are sealed; no input but one perkd issued
 * may be accepted, and a cursor for one route never opens another's list.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/ht.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ly_ctx ctx;
	static int ready;
	char query[LIM_QUERY_MAX + 16];
	struct ht_req r;
	uint64_t last;
	int64_t extra;

	if (!ready) {
		unsigned char k[32] = { 7 }, seed[32] = { 9 };
		ly_ctx_init(&ctx, k, k, seed, 5);
		ready = 1;
	}
	if (size > LIM_QUERY_MAX)
		return 0;
	memcpy(query, "cursor=", 7);
	memcpy(query + 7, data, size);
	query[7 + size] = '\0';
	memset(&r, 0, sizeof(r));
	r.ctx = &ctx;
	r.query = query;
	r.route = 3;
	if (ht_cursor_read(&r, &last, &extra) == 1)
		abort();	/* a cursor perkd never made was accepted */
	free(r.out);
	return 0;
}
