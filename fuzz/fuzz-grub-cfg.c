/*
 * fuzz-grub-cfg.c - libFuzzer target for the GRUB 2 script reader (boot/grub-script.c):
 * the input is a grub.cfg on a disk held in memory with two filesystems (a grubenv, a
 * custom.cfg to source, BLS entries for blscfg, a kernel to search for). Beyond "no
 * crash, no leak, bounded time": the result is one of the documented codes; a refusal
 * says why (an error in the diagnostics); a success chooses an entry that boots a
 * kernel at an absolute path on a filesystem of the disk; and reading again gives the
 * same entries (the interpreter keeps no state between reads).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/lib/boot/localboot-internal.h"
#include "fuzz-file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char env[] = "# GRUB Environment Block\nsaved_entry=1>0\nkernelopts=root=/dev/xvda1 ro\n"
			  "next_entry=\n#####";
static const char custom[] = "menuentry Custom --id custom { linux /boot/vmlinuz x=$1 }\n";
static const char bls[] = "title B\nversion 1.2\nlinux /vmlinuz-b\ninitrd /initrd-b\n"
			  "options $kernelopts quiet\n";

static int read_once(const char *text, size_t len, const char *entry, struct xp_localboot *lb,
		     struct xp_diags *d)
{
	struct xp__lb_vol vols[2] = {{.partition = 1, .uuid = "11111111-1111-1111-1111-111111111111",
				      .label = "boot"},
				     {.partition = 2, .uuid = "22222222-2222-2222-2222-222222222222"}};
	struct xp__lb_file files[] = {
	    {0, "/boot/grub/grub.cfg", text, len},
	    {0, "/boot/grub/grubenv", env, sizeof(env) - 1},
	    {0, "/boot/grub/custom.cfg", custom, sizeof(custom) - 1},
	    {0, "/loader/entries/a-1.2-3.conf", bls, sizeof(bls) - 1},
	    {1, "/boot/vmlinuz", "k", 1},
	};
	struct xp__lb_disk disk = {.label = XP_LABEL_MSDOS, .vols = vols, .n = 2, .files = files,
				   .nfiles = sizeof(files) / sizeof(files[0])};
	memset(lb, 0, sizeof(*lb));
	return xp__lb_read_disk(&disk, "fuzz", entry, lb, d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xp_diags d;
	xp_diags_init(&d);
	struct xp_localboot lb, again;
	/* the first line, if short, is also tried as an entry asked for */
	const char *nl = memchr(data, '\n', size);
	char entry[64] = "";
	if (nl && (size_t)((const uint8_t *)nl - data) < sizeof(entry))
		memcpy(entry, data, (size_t)((const uint8_t *)nl - data));
	int r = read_once((const char *)data, size, NULL, &lb, &d);
	fuzz_check(r == 0 || r == -ENOENT || r == -EINVAL || r == -ENOEXEC || r == -ENOMEM);
	if (r < 0 && r != -ENOMEM)
		fuzz_check(xp_diags_count(&d, XP_SEV_ERROR) > 0);
	if (r == 0) {
		fuzz_check(lb.chosen < lb.n && lb.n <= XP_LOCALBOOT_MAX_ENTRIES);
		const struct xp_localboot_entry *e = &lb.v[lb.chosen];
		fuzz_check(e->kernel && e->kernel[0] == '/' && e->args && e->title);
		fuzz_check(e->partition == 1 || e->partition == 2);
		int r2 = read_once((const char *)data, size, NULL, &again, NULL);
		fuzz_check(r2 == 0 && again.n == lb.n && again.chosen == lb.chosen);
		for (size_t i = 0; i < lb.n; i++)
			fuzz_check(strcmp(lb.v[i].title, again.v[i].title) == 0 &&
				   strcmp(lb.v[i].args, again.v[i].args) == 0);
		xp_localboot_release(&again);
	}
	xp_localboot_release(&lb);
	if (entry[0]) {
		r = read_once((const char *)data, size, entry, &lb, NULL);
		fuzz_check(r == 0 || r == -ENOENT || r == -EINVAL || r == -ENOEXEC || r == -ENOMEM);
		fuzz_check(r != 0 || lb.chosen < lb.n);
		xp_localboot_release(&lb);
	}
	xp_diags_release(&d);
	return 0;
}
