/*
 * smppd-passwd: print a password_hash line for an account in smppd.yaml.
 *
 *   smppd-passwd                 prompt twice (no echo) on a terminal,
 *                                or read one line from stdin
 *   smppd-passwd PASSWORD        hash PASSWORD (visible in ps: avoid)
 *   smppd-passwd -i ITER ...     use ITER PBKDF2 iterations
 *   smppd-passwd -b              measure what one verify costs here
 */
#include "mta/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

static void usage(void)
{
	fprintf(stderr, "usage: smppd-passwd [-i ITERATIONS] [PASSWORD]\n"
	    "       smppd-passwd -b [-i ITERATIONS]\n"
	    "Prints a password_hash value for smppd.yaml.  Without PASSWORD it\n"
	    "prompts (no echo) on a terminal, or reads one line from stdin.\n");
	exit(2);
}

static int read_line(const char *prompt, char *buf, size_t cap)
{
	struct termios old, noecho;
	int tty = isatty(STDIN_FILENO);
	size_t len;
	char *got;

	if (tty) {
		fputs(prompt, stderr);
		fflush(stderr);
		if (tcgetattr(STDIN_FILENO, &old) == 0) {
			noecho = old;
			noecho.c_lflag &= ~(tcflag_t)ECHO;
			tcsetattr(STDIN_FILENO, TCSAFLUSH, &noecho);
		} else {
			tty = 0;
		}
	}
	got = fgets(buf, (int)cap, stdin);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (!got)
		return -1;
	len = strlen(buf);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	return 0;
}

static int bench(unsigned iter)
{
	char enc[CONFIG_PASSWORD_HASH_MAX];
	struct timespec a, b;
	int n = 200;

	if (config_password_hash_iter("secret1", iter, enc, sizeof(enc)) < 0)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < n; i++)
		if (config_password_verify("secret1", enc) != 1)
			return 1;
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%u iterations: %.3f ms per verify\n",
	    iter ? iter : CONFIG_PASSWORD_ITERATIONS,
	    ((double)(b.tv_sec - a.tv_sec) * 1e3 +
	    (double)(b.tv_nsec - a.tv_nsec) / 1e6) / n);
	return 0;
}

int main(int argc, char **argv)
{
	char pw[256], again[256], enc[CONFIG_PASSWORD_HASH_MAX];
	unsigned long iter = 0;
	int opt, do_bench = 0, rc = 1;

	while ((opt = getopt(argc, argv, "bi:h")) != -1) {
		switch (opt) {
		case 'b':
			do_bench = 1;
			break;
		case 'i': {
			char *end;

			iter = strtoul(optarg, &end, 10);
			if (*end || iter < CONFIG_PASSWORD_ITER_MIN ||
			    iter > CONFIG_PASSWORD_ITER_MAX) {
				fprintf(stderr, "smppd-passwd: iterations must be "
				    "%d to %d\n", CONFIG_PASSWORD_ITER_MIN,
				    CONFIG_PASSWORD_ITER_MAX);
				return 2;
			}
			break;
		}
		default:
			usage();
		}
	}
	if (do_bench)
		return bench((unsigned)iter);
	if (argc - optind > 1)
		usage();
	if (argc - optind == 1) {
		snprintf(pw, sizeof(pw), "%s", argv[optind]);
	} else {
		if (read_line("Password: ", pw, sizeof(pw)) < 0) {
			fprintf(stderr, "smppd-passwd: no password given\n");
			return 1;
		}
		if (isatty(STDIN_FILENO)) {
			if (read_line("Again: ", again, sizeof(again)) < 0 ||
			    strcmp(pw, again) != 0) {
				fprintf(stderr, "smppd-passwd: passwords differ\n");
				goto out;
			}
		}
	}
	if (pw[0] == '\0') {
		fprintf(stderr, "smppd-passwd: empty password\n");
		goto out;
	}
	if (strlen(pw) > CONFIG_PASSWORD_MAX) {
		fprintf(stderr, "smppd-passwd: SMPP passwords are at most %d "
		    "characters; a client could never send this one\n",
		    CONFIG_PASSWORD_MAX);
		goto out;
	}
	if (config_password_hash_iter(pw, (unsigned)iter, enc, sizeof(enc)) < 0) {
		fprintf(stderr, "smppd-passwd: hashing failed\n");
		goto out;
	}
	printf("%s\n", enc);
	rc = 0;
out:
	OPENSSL_cleanse(pw, sizeof(pw));
	OPENSSL_cleanse(again, sizeof(again));
	return rc;
}
