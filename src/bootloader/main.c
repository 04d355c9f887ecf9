/*
 * main.c - xenprov-pxeboot, the program libxl runs as a PV/PVH guest's bootloader
 * (bootloader = "xenprov-pxeboot"): `xenprov pxeboot` (src/cmd/cmd-pxeboot.c) on its
 * own, linked with only the part of the library it uses.
 *
 * Why a program of its own rather than a link to xenprov: it runs at every start of
 * such a guest, and the whole xenprov loads thirty-four shared libraries (libarchive
 * with libxml2 and ICU, SQLite, libmicrohttpd with GnuTLS...) whose loading and
 * relocation cost ~9 ms of CPU before main(), more than half of what a local boot
 * spends above copying the files (bench/bootloader.sh). This one loads libext2fs (with
 * libcom_err), libuuid, jansson and libc; libcurl is loaded only for an http:// URL
 * (src/lib/util/http-client.c).
 *
 * Not here: anything else of the command (cmd-pxeboot.c), which `xenprov pxeboot` runs
 * the same.
 */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"

int main(int argc, char **argv)
{
	opterr = 0; /* commands say what is wrong themselves */
	cli_prog = "xenprov-pxeboot";
	if (cli_wants_help(argc, argv)) {
		cli_print_usage(stdout, &cmd_pxeboot, NULL);
		return XP_EXIT_OK;
	}
	return cmd_pxeboot.run(argc, argv);
}
