/*
 * pdutool: the codec from the command line, for interop tests and people.
 *
 *   pdutool samples DIR     write every sample PDU as DIR/NN-name.bin
 *   pdutool hex             print every sample PDU as "name hex" lines
 *   pdutool decode          read hex PDUs from stdin, one a line (optionally
 *                           after a name and a space), and print
 *                           each decoded as one key=value line (or the error)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smpp/pdu.h"
#include "tests/smpp/samples.h"

static struct smpp_pdu pdu;
static uint8_t buf[1 << 17];

static long encode_sample(size_t i, const char **name)
{
	static struct smpp_tlv_store store;
	struct smpp_error err;
	*name = sample_build(i, &pdu, &store);
	long n = smpp_pdu_encode(&pdu, buf, sizeof buf, &err);
	if (n < 0 || (size_t)n > sizeof buf) {
		fprintf(stderr, "pdutool: encoding %s: %s: %s\n", *name, err.field, err.reason);
		exit(1);
	}
	return n;
}

static int write_samples(const char *dir)
{
	for (size_t i = 0; i < sample_count(); i++) {
		const char *name;
		long n = encode_sample(i, &name);
		char path[4096];
		snprintf(path, sizeof path, "%s/%02zu-%s.bin", dir, i, name);
		FILE *f = fopen(path, "wb");
		if (!f || fwrite(buf, 1, (size_t)n, f) != (size_t)n || fclose(f) != 0) {
			fprintf(stderr, "pdutool: %s: %s\n", path, strerror(errno));
			return 1;
		}
	}
	return 0;
}

static int print_hex(void)
{
	for (size_t i = 0; i < sample_count(); i++) {
		const char *name;
		long n = encode_sample(i, &name);
		printf("%s ", name);
		for (long k = 0; k < n; k++)
			printf("%02x", buf[k]);
		printf("\n");
	}
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int decode_lines(void)
{
	static char line[1 << 18];
	int rc = 0;
	while (fgets(line, sizeof line, stdin)) {
		size_t n = 0;
		char *start = strrchr(line, ' '); /* "name hex" lines as hex prints */
		start = start ? start + 1 : line;
		for (char *p = start; p[0] && p[1] && hexval(p[0]) >= 0 && hexval(p[1]) >= 0; p += 2)
			buf[n++] = (uint8_t)(hexval(p[0]) << 4 | hexval(p[1]));
		struct smpp_error err;
		if (smpp_pdu_decode(buf, n, NULL, &pdu, &err) != 0) {
			printf("error status=0x%08x field=%s reason=\"%s\"\n", err.status,
			    err.field, err.reason);
			rc = 1;
			continue;
		}
		static char out[1 << 18];
		smpp_pdu_format(&pdu, out, sizeof out);
		printf("%s\n", out);
	}
	return rc;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "samples") == 0)
		return write_samples(argv[2]);
	if (argc == 2 && strcmp(argv[1], "hex") == 0)
		return print_hex();
	if (argc == 2 && strcmp(argv[1], "decode") == 0)
		return decode_lines();
	fprintf(stderr, "usage: pdutool samples DIR | hex | decode\n");
	return 2;
}
