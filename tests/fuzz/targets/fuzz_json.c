/*
 * Admin API request bodies: arbitrary bytes into json_parse.  A document
 * that parses must be a tree whose links stay inside it; every member is
 * looked up again by its name and read as text, as the handlers do.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mta/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int link_ok(const struct json_doc *doc, int32_t i)
{
	return i == -1 || (i > 0 && (size_t)i < doc->n);
}

static void check_node(const struct json_doc *doc, const struct json_node *n)
{
	if (!link_ok(doc, n->child) || !link_ok(doc, n->next))
		abort();
	if ((n->type == JSON_STRING || n->type == JSON_NUMBER) && n->str == NULL)
		abort();
	if (n->type != JSON_OBJECT)
		return;
	uint32_t count = 0;
	for (const struct json_node *m = json_first(doc, n); m; m = json_next(doc, m)) {
		if (m->key == NULL || json_get(doc, n, m->key) == NULL)
			abort();
		(void)strlen(json_text(doc, n, m->key));
		count++;
	}
	if (count != n->count)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_doc doc;
	char err[128];

	memset(&doc, 0, sizeof doc);
	if (json_parse((const char *)data, size, &doc, err, sizeof err) != 0) {
		if (strlen(err) == 0)
			abort(); /* a refusal always says why */
		return 0;
	}
	if (doc.n == 0 || json_root(&doc) == NULL)
		abort();
	for (size_t i = 0; i < doc.n; i++)
		check_node(&doc, &doc.nodes[i]);
	json_free(&doc);
	return 0;
}
