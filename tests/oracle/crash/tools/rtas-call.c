// SPDX-License-Identifier: GPL-2.0
/*
 * rtas-call: one RTAS call from user space on pseries, for the crash stories' PHB removal
 * (tests/oracle/crash/init.sh, action remove-phb), which does what drmgr does for
 * `drmgr -c phb -r`: set-indicator isolation-state (9001) isolate and allocation-state (9003)
 * unusable on the PHB's DRC before its device-tree nodes are removed.
 *
 *   rtas-call FUNCTION NRET [ARG...]     e.g. rtas-call set-indicator 1 9001 0x20000001 0
 *
 * The function's token is the 4-byte big-endian value of /proc/device-tree/rtas/FUNCTION; the
 * call goes through the powerpc rtas system call with the argument block big-endian, as RTAS
 * wants it. Prints the return values; exits 0 when the call and its status (the first return
 * value) are 0.
 */
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef __NR_rtas
#error "rtas-call is for powerpc"
#endif

#define RTAS_MAX_ARGS 16

struct rtas_block {  /* the kernel's struct rtas_args, all fields big-endian */
	uint32_t token;
	uint32_t nargs;
	uint32_t nret;
	uint32_t args[RTAS_MAX_ARGS];
	uint32_t *rets;
};

static int read_token(const char *function, uint32_t *token_be)
{
	char path[256];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/proc/device-tree/rtas/%s", function);
	f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "rtas-call: %s: %s\n", path, strerror(errno));
		return -1;
	}
	ok = fread(token_be, sizeof(*token_be), 1, f) == 1;
	fclose(f);
	if (!ok)
		fprintf(stderr, "rtas-call: %s: short read\n", path);
	return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct rtas_block b;
	int nargs, nret, i;
	long rc;

	if (argc < 3) {
		fprintf(stderr, "usage: rtas-call FUNCTION NRET [ARG...]\n");
		return 2;
	}
	nret = atoi(argv[2]);
	nargs = argc - 3;
	if (nret < 0 || nargs + nret > RTAS_MAX_ARGS) {
		fprintf(stderr, "rtas-call: at most %d arguments and return values\n", RTAS_MAX_ARGS);
		return 2;
	}
	memset(&b, 0, sizeof(b));
	if (read_token(argv[1], &b.token))
		return 2;
	b.nargs = htobe32((uint32_t)nargs);
	b.nret = htobe32((uint32_t)nret);
	for (i = 0; i < nargs; i++)
		b.args[i] = htobe32((uint32_t)strtoul(argv[3 + i], NULL, 0));
	b.rets = &b.args[nargs];
	rc = syscall(__NR_rtas, &b);
	printf("rtas-call %s token=%u rc=%ld", argv[1], be32toh(b.token), rc);
	for (i = 0; i < nret; i++)
		printf(" ret%d=%d", i, (int32_t)be32toh(b.args[nargs + i]));
	printf("\n");
	if (rc)
		return 1;
	return nret > 0 && b.args[nargs] != 0 ? 1 : 0;
}
