/* json: the admin API's writer and reader, hostile input included. */
#include "tests/unit.h"
#include "mta/json.h"

#include <stdlib.h>

static int parses(const char *s)
{
	struct json_doc d;
	char err[128];
	int rc = json_parse(s, strlen(s), &d, err, sizeof(err));
	if (rc == 0)
		json_free(&d);
	return rc == 0;
}

static void test_write(void)
{
	struct json_out j;
	json_out_init(&j);
	json_obj(&j);
	json_kstr(&j, "s", "a\"b\\c\n\x01");
	json_kint(&j, "i", -5);
	json_kuint(&j, "u", 18446744073709551615ull);
	json_kbool(&j, "t", 1);
	json_key(&j, "n");
	json_null(&j);
	json_key(&j, "a");
	json_arr(&j);
	json_int(&j, 1);
	json_str(&j, NULL);
	json_obj(&j);
	json_obj_end(&j);
	json_arr_end(&j);
	json_kstr(&j, "bad utf8", "\xff\xc3\xa9");
	json_obj_end(&j);
	CHECK(!j.failed);
	CHECK_EQ_STR(j.buf, "{\"s\":\"a\\\"b\\\\c\\u000a\\u0001\",\"i\":-5,\"u\":18446744073709551615,"
	    "\"t\":true,\"n\":null,\"a\":[1,null,{}],\"bad utf8\":\"\\ufffd\xc3\xa9\"}");
	size_t len;
	char *b = json_out_take(&j, &len);
	CHECK(b && strlen(b) == len);
	free(b);
	CHECK(j.buf == NULL);
}

static void test_round_trip(void)
{
	const char *in = " {\"a\" : [1, -2.5e3, \"x\\u00e9\\ud83d\\ude00\"], \"b\": {\"c\": true},"
	    " \"d\": null, \"e\": false, \"f\": \"\" } ";
	struct json_doc d;
	char err[128];
	CHECK_EQ_INT(json_parse(in, strlen(in), &d, err, sizeof(err)), 0);
	const struct json_node *r = json_root(&d);
	CHECK_EQ_INT(r->type, JSON_OBJECT);
	CHECK_EQ_INT(r->count, 5);
	const struct json_node *a = json_get(&d, r, "a");
	CHECK(a && a->type == JSON_ARRAY && a->count == 3);
	const struct json_node *e = json_first(&d, a);
	CHECK_EQ_STR(json_text(&d, e, NULL), "1");
	e = json_next(&d, e);
	CHECK(e && e->num == -2500.0);
	e = json_next(&d, e);
	CHECK_EQ_STR(e->str, "x\xc3\xa9\xf0\x9f\x98\x80");
	CHECK(json_next(&d, e) == NULL);
	CHECK_EQ_STR(json_text(&d, json_get(&d, r, "b"), "c"), "true");
	CHECK_EQ_STR(json_text(&d, r, "d"), "null");
	CHECK_EQ_STR(json_text(&d, r, "e"), "false");
	CHECK_EQ_STR(json_text(&d, r, "f"), "");
	CHECK_EQ_STR(json_text(&d, r, "missing"), "");
	CHECK(json_get(&d, a, "x") == NULL);
	json_free(&d);
}

static void test_hostile(void)
{
	static const char *const bad[] = {
		"", " ", "{", "[", "{\"a\"}", "{\"a\":}", "{a:1}", "[1,]", "[1 2]", "01", "-", "1.",
		"1e", "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\u0000\"",
		"\"a\nb\"", "tru", "nul", "[1] x", "{\"a\":1,}", "\"\\ud800\\u0041\"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!CHECK(!parses(bad[i])))
			printf("#   accepted: %s\n", bad[i]);
	/* nesting past the limit, and a long flat array within it */
	char deep[2 * JSON_MAX_DEPTH + 3];
	memset(deep, '[', JSON_MAX_DEPTH + 1);
	memset(deep + JSON_MAX_DEPTH + 1, ']', JSON_MAX_DEPTH + 1);
	deep[2 * JSON_MAX_DEPTH + 2] = '\0';
	CHECK(!parses(deep));
	CHECK(parses("[[[[1]]]]"));
	size_t n = 3 * (size_t)JSON_MAX_NODES;
	char *many = malloc(n + 2);
	many[0] = '[';
	for (size_t i = 0; i < n / 2; i++)
		memcpy(many + 1 + 2 * i, "0,", 2);
	many[n - 1] = '0';
	many[n] = ']';
	many[n + 1] = '\0';
	CHECK(!parses(many)); /* more values than JSON_MAX_NODES */
	free(many);
	struct json_doc d;
	char err[128];
	CHECK_EQ_INT(json_parse("[1,,2]", 6, &d, err, sizeof(err)), -1);
	CHECK(strstr(err, "at byte 3") != NULL);
}

int main(void)
{
	RUN(test_write);
	RUN(test_round_trip);
	RUN(test_hostile);
	return unit_done();
}
