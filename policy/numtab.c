/*
 * The number tables shipped in conf/ (scripts/gen-nanp-tables):
 * E.164 prefix -> IANA zones, and 1 + area code -> state.  Loaded with the
 * policy so that a reload picks up a regenerated table too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/impl.h"

struct tsv {
	FILE *f;
	const char *path;
	unsigned line;
	char buf[4096];
	char *key, *val;
};

/* Next "key TAB value" line, skipping comments and blanks.
 * Returns 1, 0 at the end, -1 on a malformed line (err filled). */
static int tsv_next(struct tsv *t, char *err, size_t errcap)
{
	while (fgets(t->buf, sizeof(t->buf), t->f)) {
		t->line++;
		t->buf[strcspn(t->buf, "\r\n")] = '\0';
		if (t->buf[0] == '#' || t->buf[0] == '\0')
			continue;
		char *tab = strchr(t->buf, '\t');
		if (tab == NULL || tab == t->buf || tab[1] == '\0') {
			snprintf(err, errcap, "%s:%u: expected KEY<TAB>VALUE",
			    t->path, t->line);
			return -1;
		}
		*tab = '\0';
		t->key = t->buf;
		t->val = tab + 1;
		if (strspn(t->key, "0123456789") != strlen(t->key)) {
			snprintf(err, errcap, "%s:%u: key \"%s\" is not digits",
			    t->path, t->line, t->key);
			return -1;
		}
		return 1;
	}
	return 0;
}

static int tsv_open(struct tsv *t, const char *path, char *err,
    size_t errcap)
{
	memset(t, 0, sizeof(*t));
	t->path = path;
	t->f = fopen(path, "r");
	if (t->f == NULL) {
		snprintf(err, errcap, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Parses "Zone,Zone,..." into list[0] = count, list[1..] = indexes. */
static int parse_zones(struct tsv *t, uint8_t *list, char *err,
    size_t errcap)
{
	unsigned n = 0;
	for (char *save = NULL, *z = strtok_r(t->val, ",", &save); z;
	    z = strtok_r(NULL, ",", &save)) {
		int i = tz_index(z);
		if (i < 0) {
			snprintf(err, errcap, "%s:%u: zone %s is not in "
			    "policy/tz.c's table", t->path, t->line, z);
			return -1;
		}
		if (n == POLICY_MAX_ZONES) {
			snprintf(err, errcap, "%s:%u: more than %d zones",
			    t->path, t->line, POLICY_MAX_ZONES);
			return -1;
		}
		list[1 + n++] = (uint8_t)i;
	}
	list[0] = (uint8_t)n;
	return 0;
}

static int load_tz(struct policy *p, const char *path, char *err,
    size_t errcap)
{
	struct tsv t;
	int r;
	if (tsv_open(&t, path, err, errcap) < 0)
		return -1;
	while ((r = tsv_next(&t, err, errcap)) > 0) {
		size_t klen = strlen(t.key);
		uint8_t *list = arena_alloc(&p->arena, 1 + POLICY_MAX_ZONES);
		if (parse_zones(&t, list, err, errcap) < 0) {
			r = -1;
			break;
		}
		/* The map holds int32 values: store the list's position in a
		 * side array kept in the arena. */
		int32_t id = (int32_t)p->tz_prefix.count;
		if (strset_put(&p->arena, &p->tz_prefix,
		    arena_strndup(&p->arena, t.key, klen), klen, id, NULL)) {
			snprintf(err, errcap, "%s:%u: prefix %s repeated",
			    path, t.line, t.key);
			r = -1;
			break;
		}
		if (id % 256 == 0) {
			uint8_t **grown = arena_alloc(&p->arena,
			    (size_t)(id + 256) * sizeof(*grown));
			if (id)
				memcpy(grown, p->tz_lists, (size_t)id * sizeof(*grown));
			p->tz_lists = grown;
		}
		p->tz_lists[id] = list;
		if (klen > p->tz_maxlen)
			p->tz_maxlen = (unsigned)klen;
	}
	fclose(t.f);
	return r;
}

static int load_states(struct policy *p, const char *path, char *err,
    size_t errcap)
{
	struct tsv t;
	int r;
	if (tsv_open(&t, path, err, errcap) < 0)
		return -1;
	while ((r = tsv_next(&t, err, errcap)) > 0) {
		if (strlen(t.key) != 4 || t.key[0] != '1' || strlen(t.val) != 2) {
			snprintf(err, errcap, "%s:%u: expected 1NPA<TAB>XX",
			    path, t.line);
			r = -1;
			break;
		}
		int32_t id = (int32_t)p->area_state.count;
		if (id % 256 == 0) {
			char (*grown)[3] = arena_alloc(&p->arena, (size_t)(id + 256) * 3);
			if (id)
				memcpy(grown, p->states, (size_t)id * 3);
			p->states = grown;
		}
		memcpy(p->states[id], t.val, 3);
		if (strset_put(&p->arena, &p->area_state,
		    arena_strndup(&p->arena, t.key, 4), 4, id, NULL)) {
			snprintf(err, errcap, "%s:%u: area code %s repeated",
			    path, t.line, t.key);
			r = -1;
			break;
		}
	}
	fclose(t.f);
	return r;
}

int numtab_load(struct policy *p, const char *tzpath, const char *statepath,
    char *err, size_t errcap)
{
	if (load_tz(p, tzpath, err, errcap) < 0)
		return -1;
	return load_states(p, statepath, err, errcap);
}

unsigned numtab_zones(const struct policy *p, const char *digits,
    size_t len, const uint8_t **zones)
{
	for (size_t n = len < p->tz_maxlen ? len : p->tz_maxlen; n > 0; n--) {
		int32_t id = strset_get(&p->tz_prefix, digits, n);
		if (id >= 0) {
			*zones = p->tz_lists[id] + 1;
			return p->tz_lists[id][0];
		}
	}
	return 0;
}

const char *numtab_state(const struct policy *p, const char *digits)
{
	if (strlen(digits) < 4)
		return NULL;
	int32_t id = strset_get(&p->area_state, digits, 4);
	return id < 0 ? NULL : p->states[id];
}
