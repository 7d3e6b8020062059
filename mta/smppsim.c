/*
 * smppsim: a test and load peer built on the project's own codec and
 * session engine.
 *
 *   smppsim carrier --listen ADDR [...]   a carrier SMSC stand-in
 *   smppsim app --connect ADDR [...]      an upstream application
 *
 * See sim_carrier.c and sim_app.c; `smppsim CMD --help` lists options.
 */
#include <stdio.h>
#include <string.h>

#include "mta/sim.h"

static const char usage[] =
"usage: smppsim carrier --listen ADDR [options]\n"
"       smppsim app --connect ADDR --system-id ID --password PW [options]\n"
"       smppsim CMD --help\n"
"\n"
"A test and load peer for SMPP 3.4:\n"
"  carrier  a carrier SMSC stand-in: answers binds and submits with message\n"
"           ids, sends delivery receipts and scripted MO messages, injects\n"
"           errors, throttling, slow answers, stalls and disconnects\n"
"  app      an upstream application: binds N sessions, submits M messages\n"
"           flat out or at a rate with a window, collects receipts and MO,\n"
"           prints throughput and latency percentiles as JSON\n"
"\n"
"Exit status: 0 ran, 1 connection, bind or start-up failure, 2 usage error.\n";

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return SIM_EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
		fputs(usage, stdout);
		return SIM_EXIT_OK;
	}
	if (strcmp(cmd, "carrier") == 0)
		return sim_carrier_main(argc - 1, argv + 1);
	if (strcmp(cmd, "app") == 0)
		return sim_app_main(argc - 1, argv + 1);
	sim_err("unknown command \"%s\" (expected carrier or app; see smppsim --help)",
	    cmd);
	return SIM_EXIT_USAGE;
}
