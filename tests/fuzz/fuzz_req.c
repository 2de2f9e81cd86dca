/*
 * fuzz_req.c: the FastCGI params/body reader and JSON validation. The
 * input is "NAME=value" lines (the FastCGI params), a blank line, then the
 * body. It drives ht_req_read() and ht_req_read_body() (CONTENT_LENGTH
 * parsing, the bounded body read), the query parsers, and ht_body() with a validator table, through
 * a memory-backed FCGX_Stream.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/ht.h"

static void
fz_fill(FCGX_Stream *s)
{
	s->isClosed = 1;	/* everything was in the first buffer */
}

static const struct ht_field fz_fields[] = {
	{ "name", HT_F_STRING, 1, 1, LIM_NAME_MAX, 0 },
	{ "points", HT_F_INT, 0, 1, LIM_POINTS_MAX, 0 },
	{ "flag", HT_F_BOOL, 0, 0, 0, 0 },
	{ "at", HT_F_TIME, 0, 0, 0, 1 },
	{ "tags", HT_F_STRINGS, 0, 0, 10, 0 },
	{ "bonus", HT_F_OBJECT, 0, 0, 0, 0 },
	{ "ratio", HT_F_NUMBER, 0, 1, 10, 0 },
	{ "items", HT_F_ARRAY, 0, 0, 1000, 0 },
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ly_ctx ctx;
	static struct ly_config cfg;
	struct ht_worker w = { 0, NULL, &cfg, &ctx };
	char *copy, *envp[32], *line, *sep, *body, buf[64];
	size_t n = 0, limit, bodylen;
	FCGX_Stream in;
	FCGX_Request fcgx;
	struct ht_req r;
	uint64_t last;
	int64_t extra;

	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	sep = strstr(copy, "\n\n");
	body = sep ? sep + 2 : copy + size;
	bodylen = sep ? size - (size_t)(body - copy) : 0;
	if (sep)
		*sep = '\0';
	for (line = copy; line != NULL && *line != '\0' && n < 31; ) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (strchr(line, '=') != NULL)
			envp[n++] = line;
		line = nl ? nl + 1 : NULL;
	}
	envp[n] = NULL;

	memset(&in, 0, sizeof(in));
	in.rdNext = (unsigned char *)body;
	in.stop = in.stopUnget = (unsigned char *)body + bodylen;
	in.isReader = 1;
	in.fillBuffProc = fz_fill;
	memset(&fcgx, 0, sizeof(fcgx));
	fcgx.in = &in;
	fcgx.envp = envp;

	memset(&r, 0, sizeof(r));
	r.fcgx = &fcgx;
	r.w = &w;
	r.ctx = &ctx;
	r.route = 1;
	if (ht_req_read(&r) == 0 && ht_req_read_body(&r, LIM_BODY_MAX) == 0) {
		(void)ht_query(&r, "district", buf, sizeof(buf));
		if (ht_query_limit(&r, &limit) == 0)
			(void)ht_cursor_read(&r, &last, &extra);
		(void)ht_wants_csv(&r);
		(void)ht_body(&r, fz_fields, sizeof(fz_fields) / sizeof(fz_fields[0]));
	}
	free(r.body);
	cJSON_Delete(r.json);
	free(r.out);
	free(copy);
	return 0;
}
