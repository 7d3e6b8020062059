/*
 * smppd.yaml: arbitrary bytes as the operator's configuration.  A refusal
 * must say why; what loads must free cleanly (ASan checks both).
 */
#include "mta/config.h"
#include "tests/fuzz/targets/yamlfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	char err[1024];

	memset(&cfg, 0, sizeof cfg);
	err[0] = '\0';
	if (config_load(yaml_file(data, size, "smppd.yaml"), &cfg, err, sizeof err) != 0) {
		if (!err[0])
			abort();
		return 0;
	}
	config_free(&cfg);
	return 0;
}
