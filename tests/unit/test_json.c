/*
 * test_json.c: input checking in fcgi/json.c and fcgi/req.c: the checked
 * number parser, UTF-8 validation, RFC 3339 times and validator tables;
 * on output, the JSON writer and whole numbers, byte for byte as cJSON.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fcgi/ht.h"

static void
parse_uint__digits_only__accepted(void **state)
{
	unsigned long long v = 0;

	(void)state;
	assert_int_equal(ly_parse_uint("65536", 1ULL << 62, &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(ly_parse_uint("0", 10, &v), 0);
	assert_int_equal(v, 0);
}

static void
parse_uint__junk_sign_space_or_overflow__rejected(void **state)
{
	unsigned long long v;

	(void)state;
	assert_int_equal(ly_parse_uint("", 100, &v), -1);
	assert_int_equal(ly_parse_uint("-1", 100, &v), -1);
	assert_int_equal(ly_parse_uint("+1", 100, &v), -1);
	assert_int_equal(ly_parse_uint(" 1", 100, &v), -1);
	assert_int_equal(ly_parse_uint("12a", 100, &v), -1);
	assert_int_equal(ly_parse_uint("0x10", 100, &v), -1);
	assert_int_equal(ly_parse_uint("101", 100, &v), -1);
	assert_int_equal(ly_parse_uint("99999999999999999999999", ~0ULL, &v), -1);
}

static void
utf8__valid_text__accepted(void **state)
{
	const char *s = "caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x9a\xb2";

	(void)state;
	assert_true(ht_utf8_valid(s, strlen(s)));
}

static void
utf8__overlong_surrogate_truncated__rejected(void **state)
{
	(void)state;
	assert_false(ht_utf8_valid("\xc0\xaf", 2));		/* overlong '/' */
	assert_false(ht_utf8_valid("\xed\xa0\x80", 3));	/* surrogate */
	assert_false(ht_utf8_valid("\xe4\xb8", 2));		/* truncated */
	assert_false(ht_utf8_valid("\xff", 1));
	assert_false(ht_utf8_valid("\xf4\x90\x80\x80", 4));	/* > U+10FFFF */
}

static void
time_parse__zulu_and_offset__normalised_to_utc(void **state)
{
	char out[32];
	time_t t;

	(void)state;
	assert_int_equal(ht_time_parse("2026-03-01T10:00:00Z", out, &t), 0);
	assert_string_equal(out, "2026-03-01 10:00:00.000000");
	assert_int_equal(ht_time_parse("2026-03-01T10:00:00.25+02:00", out, &t), 0);
	assert_string_equal(out, "2026-03-01 08:00:00.250000");
	assert_int_equal(ht_time_parse("2026-01-01T01:00:00-02:30", out, &t), 0);
	assert_string_equal(out, "2026-01-01 03:30:00.000000");
}

static void
time_parse__bad_dates__rejected(void **state)
{
	char out[32];
	time_t t;

	(void)state;
	assert_int_equal(ht_time_parse("2026-02-29T00:00:00Z", out, &t), -1);
	assert_int_equal(ht_time_parse("2026-13-01T00:00:00Z", out, &t), -1);
	assert_int_equal(ht_time_parse("2026-01-01 00:00:00Z", out, &t), -1);
	assert_int_equal(ht_time_parse("2026-01-01T00:00:00", out, &t), -1);
	assert_int_equal(ht_time_parse("2026-01-01T24:00:00Z", out, &t), -1);
	assert_int_equal(ht_time_parse("2026-01-01T00:00:00Zjunk", out, &t), -1);
}

static const struct ht_field fields[] = {
	{ "name", HT_F_STRING, 1, 1, 5, 0 },
	{ "points", HT_F_INT, 0, 1, 100, 0 },
	{ "ok", HT_F_BOOL, 0, 0, 0, 0 },
	{ "tags", HT_F_STRINGS, 0, 0, 2, 0 },
	{ "cap", HT_F_INT, 0, 1, 10, 1 },
};
#define NF (sizeof(fields) / sizeof(fields[0]))

static int
check(const char *json, struct ht_verr *err)
{
	cJSON *j = cJSON_Parse(json);
	int rc;

	assert_non_null(j);
	rc = ht_json_check(j, fields, NF, err);
	cJSON_Delete(j);
	return rc;
}

static void
validator__complete_valid_object__accepted(void **state)
{
	struct ht_verr err;

	(void)state;
	assert_int_equal(check("{\"name\":\"ab\",\"points\":100,\"ok\":true,"
	    "\"tags\":[\"x\"],\"cap\":null}", &err), 0);
}

static void
validator__unknown_field__rejected_as_unknown(void **state)
{
	struct ht_verr err;

	(void)state;
	assert_int_equal(check("{\"name\":\"ab\",\"evil\":1}", &err), -1);
	assert_int_equal(err.prob, HT_P_UNKNOWN_FIELD);
	assert_string_equal(err.field, "evil");
}

static void
validator__missing_required__rejected(void **state)
{
	struct ht_verr err;

	(void)state;
	assert_int_equal(check("{\"points\":1}", &err), -1);
	assert_string_equal(err.field, "name");
}

static void
validator__fraction_range_and_big_numbers__rejected(void **state)
{
	struct ht_verr err;

	(void)state;
	assert_int_equal(check("{\"name\":\"a\",\"points\":1.5}", &err), -1);
	assert_string_equal(err.field, "points");
	assert_int_equal(check("{\"name\":\"a\",\"points\":101}", &err), -1);
	assert_int_equal(check("{\"name\":\"a\",\"points\":0}", &err), -1);
	assert_int_equal(check("{\"name\":\"a\",\"points\":9007199254740993}",
	    &err), -1);
	assert_int_equal(check("{\"name\":\"a\",\"points\":\"5\"}", &err), -1);
}

static void
validator__string_length_counts_characters__not_bytes(void **state)
{
	struct ht_verr err;

	(void)state;
	/* five CJK characters: 15 bytes, 5 characters */
	assert_int_equal(check("{\"name\":\"\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad"
	    "\xe4\xb8\xad\xe4\xb8\xad\"}", &err), 0);
	assert_int_equal(check("{\"name\":\"abcdef\"}", &err), -1);
	assert_int_equal(check("{\"name\":\"\"}", &err), -1);
}

static void
validator__duplicate_field__rejected(void **state)
{
	struct ht_verr err;

	(void)state;
	assert_int_equal(check("{\"name\":\"a\",\"name\":\"b\"}", &err), -1);
}

static void
validator__array_items_and_count__checked(void **state)
{
	struct ht_verr err;

	(void)state;
	assert_int_equal(check("{\"name\":\"a\",\"tags\":[\"a\",\"b\",\"c\"]}",
	    &err), -1);
	assert_int_equal(check("{\"name\":\"a\",\"tags\":[1]}", &err), -1);
	assert_int_equal(check("{\"name\":\"a\",\"tags\":\"a\"}", &err), -1);
}

/* The writer gives the bytes cJSON's unformatted printer gives the same
 * members: escapes, UTF-8, null, nesting, whole numbers. */
static void
writer__any_members__same_bytes_as_cjson(void **state)
{
	static const char *const strs[] = { "plain", "quote \" and \\ back",
	    "ctl \b\f\n\r\t \x01\x1f end", "Gr\xc3\xbcn \xe2\x82\xac", "/", "",
	    "\x7f" };
	static const long long ints[] = { 0, 7, -7, 2147483647LL,
	    -2147483648LL, 4294967296LL, 999999999999999LL,
	    -999999999999999LL };
	struct ht_jw w = { NULL, 0, 0, 0, 0 };
	cJSON *o = cJSON_CreateObject(), *t;
	char *want, *got, key[16];
	size_t i, len;

	(void)state;
	ht_jw_open(&w, NULL);
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		snprintf(key, sizeof(key), "s%zu", i);
		cJSON_AddStringToObject(o, key, strs[i]);
		ht_jw_str(&w, key, strs[i]);
	}
	t = cJSON_AddObjectToObject(o, "nested \"key\"");
	ht_jw_open(&w, "nested \"key\"");
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		snprintf(key, sizeof(key), "i%zu", i);
		cJSON_AddNumberToObject(t, key, (double)ints[i]);
		ht_jw_int(&w, key, ints[i]);
	}
	cJSON_AddNullToObject(t, "none");
	ht_jw_null(&w, "none");
	ht_jw_close(&w);
	cJSON_AddObjectToObject(o, "empty");
	ht_jw_open(&w, "empty");
	ht_jw_close(&w);
	ht_jw_str(&w, "last", NULL);
	cJSON_AddNullToObject(o, "last");
	ht_jw_close(&w);
	want = cJSON_PrintUnformatted(o);
	got = ht_jw_take(&w, &len);
	assert_non_null(got);
	assert_string_equal(got, want);
	assert_int_equal(len, strlen(want));
	free(got);
	free(want);
	cJSON_Delete(o);
}

/* ht_jadd_int's raw digits print as cJSON's numbers do (|v| < 10^15) */
static void
jadd_int__whole_numbers__printed_as_cjson_numbers(void **state)
{
	static const long long v[] = { 0, 1, -1, 42, -100000, 2147483648LL,
	    -2147483649LL, 123456789012345LL, -999999999999999LL };
	cJSON *a = cJSON_CreateObject(), *b = cJSON_CreateObject();
	char *x, *y, key[16];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(key, sizeof(key), "k%zu", i);
		ht_jadd_int(a, key, v[i]);
		cJSON_AddNumberToObject(b, key, (double)v[i]);
	}
	x = cJSON_PrintUnformatted(a);
	y = cJSON_PrintUnformatted(b);
	assert_string_equal(x, y);
	free(x);
	free(y);
	cJSON_Delete(a);
	cJSON_Delete(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_uint__digits_only__accepted),
		cmocka_unit_test(parse_uint__junk_sign_space_or_overflow__rejected),
		cmocka_unit_test(utf8__valid_text__accepted),
		cmocka_unit_test(utf8__overlong_surrogate_truncated__rejected),
		cmocka_unit_test(time_parse__zulu_and_offset__normalised_to_utc),
		cmocka_unit_test(time_parse__bad_dates__rejected),
		cmocka_unit_test(validator__complete_valid_object__accepted),
		cmocka_unit_test(validator__unknown_field__rejected_as_unknown),
		cmocka_unit_test(validator__missing_required__rejected),
		cmocka_unit_test(validator__fraction_range_and_big_numbers__rejected),
		cmocka_unit_test(validator__string_length_counts_characters__not_bytes),
		cmocka_unit_test(validator__duplicate_field__rejected),
		cmocka_unit_test(validator__array_items_and_count__checked),
		cmocka_unit_test(writer__any_members__same_bytes_as_cjson),
		cmocka_unit_test(jadd_int__whole_numbers__printed_as_cjson_numbers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
