/*
 * Mobile-originated keywords.  The whole message is the keyword: "STOP"
 * and "stop." opt out, "Please stop texting me about the sale" does not
 * (a person reads those; the FCC's "any reasonable means" is handled by
 * keeping the list editable in the policy file).
 */
#include <string.h>

#include "policy/impl.h"

enum policy_mo policy_classify_mo(const struct policy *p, const char *text,
    size_t len)
{
	char buf[64];
	size_t n = keyword_norm(text, len, buf, sizeof(buf));
	if (n == 0)
		return POLICY_MO_NONE;
	int32_t kind = strset_get(&p->keywords, buf, n);
	return kind < 0 ? POLICY_MO_NONE : (enum policy_mo)kind;
}

const char *policy_mo_reply(const struct policy *p, const char *brand,
    enum policy_mo kind)
{
	if (kind == POLICY_MO_NONE || (unsigned)kind > POLICY_MO_HELP)
		return NULL;
	for (unsigned i = 0; brand && i < p->nbrands; i++)
		if (strcmp(p->brands[i].name, brand) == 0 && p->brands[i].reply[kind])
			return p->brands[i].reply[kind];
	return p->default_reply[kind];
}

int policy_optout_global(const struct policy *p)
{
	return p != NULL && p->optout_global;
}
