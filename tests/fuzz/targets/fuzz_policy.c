/*
 * policy.yaml: arbitrary bytes as the operator's policy.  A refusal must
 * say why; what loads must free cleanly (ASan checks both).
 */
#include "policy/policy.h"
#include "tests/fuzz/targets/yamlfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy *pol = NULL;
	char err[1024];

	err[0] = '\0';
	if (policy_load(yaml_file(data, size, "policy.yaml"), &pol, err, sizeof err) != 0) {
		if (!err[0])
			abort();
		return 0;
	}
	if (pol == NULL)
		abort();
	policy_unref(pol);
	return 0;
}
