/*
 * localboot-run.c - xp-localboot, a test tool: the library's local boot (localboot.h)
 * with pygrub's command line, for the integration tests and bench/bootloader.sh until
 * `xenprov pxeboot --local` exists. Not installed.
 *
 *   xp-localboot [--entry=E] [--list] [--output-directory=DIR] DISK
 *
 * Prints pygrub's "simple" output (kernel PATH, ramdisk PATH, args ARGS, a blank line)
 * with the files copied into DIR as boot_kernel.XXXXXX and boot_ramdisk.XXXXXX (the
 * paths inside the guest without --output-directory); --list prints every entry
 * (index, partition, title, kernel, initrd, args, one tab-separated line each) and a
 * last line "chosen N kind CONFIG". Several initrds are concatenated into one file, as
 * a PV domain builder takes one. Diagnostics go to standard error; exit 1 on failure.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xenprov/localboot.h"

static void print_diags(const struct xp_diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		fprintf(stderr, "xp-localboot: %s: %s%s%s\n", xp_severity_name(d->v[i].severity),
			d->v[i].file ? d->v[i].file : "", d->v[i].file ? ": " : "", d->v[i].msg);
}

static int copy_out(const char *disk, const struct xp_localboot *lb, const char *files,
		    const char *dir, const char *prefix, char **path, struct xp_diags *d)
{
	if (asprintf(path, "%s/%sXXXXXX", dir, prefix) < 0)
		return -ENOMEM;
	int fd = mkstemp(*path);
	if (fd < 0)
		return -errno;
	int r = 0;
	char *list = strdup(files);
	for (char *s = list, *save = NULL, *p; r == 0 && (p = strtok_r(s, " ", &save)); s = NULL)
		r = xp_localboot_extract(disk, lb, p, fd, d);
	free(list);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

int main(int argc, char **argv)
{
	const char *entry = NULL, *dir = NULL;
	int list = 0;
	static const struct option opts[] = {{"entry", required_argument, NULL, 'e'},
					     {"output-directory", required_argument, NULL, 'o'},
					     {"list", no_argument, NULL, 'l'},
					     {NULL, 0, NULL, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'e')
			entry = optarg;
		else if (c == 'o')
			dir = optarg;
		else if (c == 'l')
			list = 1;
		else
			return 2;
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: xp-localboot [--entry=E] [--list] [--output-directory=DIR] DISK\n");
		return 2;
	}
	const char *disk = argv[optind];
	struct xp_diags d;
	xp_diags_init(&d);
	struct xp_localboot lb;
	int r = xp_localboot_read(disk, entry, &lb, &d);
	if (list && lb.n) {
		for (size_t i = 0; i < lb.n; i++)
			printf("%zu\t%u\t%s\t%s\t%s\t%s\n", i, lb.v[i].partition, lb.v[i].title,
			       lb.v[i].kernel ? lb.v[i].kernel : "-",
			       lb.v[i].initrd ? lb.v[i].initrd : "-", lb.v[i].args);
		printf("chosen %zu %s %s\n", lb.chosen, xp_localboot_kind_name(lb.kind), lb.config);
	}
	char *kpath = NULL, *ipath = NULL;
	if (r == 0 && !list) {
		const struct xp_localboot_entry *e = &lb.v[lb.chosen];
		if (dir) {
			r = copy_out(disk, &lb, e->kernel, dir, "boot_kernel.", &kpath, &d);
			if (r == 0 && e->initrd)
				r = copy_out(disk, &lb, e->initrd, dir, "boot_ramdisk.", &ipath, &d);
		}
		if (r == 0) {
			printf("kernel %s\n", dir ? kpath : e->kernel);
			if (e->initrd)
				printf("ramdisk %s\n", dir ? ipath : e->initrd);
			if (e->args[0])
				printf("args %s\n", e->args);
			printf("\n");
		}
	}
	print_diags(&d);
	free(kpath);
	free(ipath);
	xp_localboot_release(&lb);
	xp_diags_release(&d);
	return r < 0 ? 1 : 0;
}
