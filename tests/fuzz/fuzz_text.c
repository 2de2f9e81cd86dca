/*
 * fuzz_text.c: the small text parsers and writers: RFC 3339 times,
 * checked numbers, UTF-8 validation and the CSV writer (whose output must
 * never start a field with a formula character).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/ht.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned long long v;
	struct ht_csv c;
	char out[32], *s;
	time_t t;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	(void)ht_time_parse(s, out, &t);
	(void)ly_parse_uint(s, 1ULL << 62, &v);
	(void)ht_utf8_valid((const char *)data, size);
	ht_csv_init(&c, 1 << 16);
	ht_csv_field(&c, s);
	ht_csv_int(&c, (long long)size, 0);
	ht_csv_endrow(&c);
	if (!c.failed && c.len > 0 && strchr("=+-@\t\r", c.buf[0]) != NULL &&
	    c.buf[0] != '\0')
		abort();	/* formula injection got through */
	ht_csv_free(&c);
	free(s);
	return 0;
}
