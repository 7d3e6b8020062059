/*
 * The YAML targets' input as a file: config_load() and policy_load() read
 * a path.  One private directory per process, the same file each time,
 * both removed at exit.
 */
#ifndef SMPPD_FUZZ_YAMLFILE_H
#define SMPPD_FUZZ_YAMLFILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char yaml_dir[64], yaml_path[128];

static void yaml_cleanup(void)
{
	unlink(yaml_path);
	rmdir(yaml_dir);
}

static const char *yaml_file(const uint8_t *data, size_t size, const char *name)
{
	FILE *f;

	if (!yaml_dir[0]) {
		snprintf(yaml_dir, sizeof yaml_dir, "/tmp/smppd-fuzz.XXXXXX");
		if (!mkdtemp(yaml_dir))
			abort();
		snprintf(yaml_path, sizeof yaml_path, "%s/%s", yaml_dir, name);
		atexit(yaml_cleanup);
	}
	f = fopen(yaml_path, "wb");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	return yaml_path;
}

#endif
