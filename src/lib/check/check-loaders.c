/*
 * check-loaders.c - the boot loaders each firmware path loads from the TFTP root: the
 * BIOS path's file (bios-boot-file, pxelinux.0 by default, which loads ldlinux.c32
 * from its own directory next) and the x86-64 UEFI path's (efi64-boot-file, ipxe.efi
 * by default). Cobbler's check_bootloaders looks for them where syslinux installs them
 * and tells the operator to run `cobbler get-loaders`; here the file is looked for
 * where the server reads it, through the server's own resolver (xp_boot_open: beneath
 * the root, no symlink out), and `--fix` links it from the Debian package that ships
 * it. The server renders every menu itself (pxelinux's built-in prompt, GRUB, iPXE),
 * so no menu.c32 or other module is needed.
 *
 * Not here: the boot files rendered from the inventory (boot/), which need nothing on
 * disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check/check-internal.h"
#include "xenprov/boot.h"

/* The boot loaders Debian packages ship, by the name the TFTP root gives them. */
static const struct loader {
	const char *name;
	const char *package;
	const char *paths[2]; /* where the package installs it (a symlink is followed) */
	const char *needs;    /* a file it loads from its own directory next, or NULL */
} loaders[] = {
    {"pxelinux.0", "pxelinux", {"/usr/lib/PXELINUX/pxelinux.0"}, "ldlinux.c32"},
    {"lpxelinux.0", "pxelinux", {"/usr/lib/PXELINUX/lpxelinux.0"}, "ldlinux.c32"},
    {"ldlinux.c32", "syslinux-common", {"/usr/lib/syslinux/modules/bios/ldlinux.c32"}, NULL},
    {"undionly.kpxe", "ipxe", {"/usr/lib/ipxe/undionly.kpxe"}, NULL},
    {"ipxe.pxe", "ipxe", {"/usr/lib/ipxe/ipxe.pxe"}, NULL},
    {"ipxe.efi", "ipxe", {"/usr/lib/ipxe/ipxe.efi", "/boot/ipxe.efi"}, NULL},
    {"snponly.efi", "ipxe", {"/usr/lib/ipxe/snponly.efi"}, NULL},
    /* Debian's network GRUB image: it reads grub/grub.cfg from the TFTP root */
    {"grubx64.efi",
     "grub-efi-amd64-bin",
     {"/usr/lib/grub/x86_64-efi/monolithic/grubnetx64.efi"},
     NULL},
};
#define NLOADERS (sizeof(loaders) / sizeof(loaders[0]))

static const struct loader *loader_of(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	for (size_t i = 0; i < NLOADERS; i++)
		if (strcmp(loaders[i].name, base) == 0)
			return &loaders[i];
	return NULL;
}

/* The installed file of l (its real path, heap), or NULL when its package is not. */
static char *installed(const struct loader *l)
{
	for (size_t i = 0; i < 2 && l->paths[i]; i++) {
		char *real = realpath(l->paths[i], NULL);
		struct stat st;
		if (real && stat(real, &st) == 0 && S_ISREG(st.st_mode))
			return real;
		free(real);
	}
	return NULL;
}

/* Puts src at root/rel: a hard link made under a temporary name and renamed into
 * place (0), or a copy (xp_write_atomic) where a link cannot be made (another
 * filesystem, fs.protected_hardlinks for a file we do not own): 1. Parent directories
 * are made. -errno on failure. A symlink is never made: the server refuses those that
 * leave the root. */
static int put(const char *root, const char *rel, const char *src)
{
	char dst[PATH_MAX], tmp[PATH_MAX + 32];
	if (snprintf(dst, sizeof(dst), "%s/%s", root, rel) >= (int)sizeof(dst))
		return -ENAMETOOLONG;
	char *slash = strrchr(dst, '/');
	*slash = 0;
	int r = xp_mkdir_p(dst, 0755);
	*slash = '/';
	if (r < 0)
		return r;
	snprintf(tmp, sizeof(tmp), "%.*s/.%s.xenprov-%ld", (int)(slash - dst), dst, slash + 1,
		 (long)getpid());
	unlink(tmp);
	if (link(src, tmp) == 0) {
		if (rename(tmp, dst) < 0) {
			r = -errno;
			unlink(tmp);
			return r;
		}
		*slash = 0;
		int dfd = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		*slash = '/';
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
		return 0;
	}
	char *data = NULL;
	size_t len = 0;
	r = xp_read_file(src, 64u << 20, &data, &len);
	if (r == 0)
		r = xp_write_atomic(dst, data, len, 0644);
	free(data);
	return r < 0 ? r : 1;
}

/* What xp_boot_open says of rel: 0 there and readable by the server's user, else the
 * error (-ENOENT, -EACCES: refused by the resolver, or -EPERM: there, but not
 * readable by that user); *link when it is a symlink (which the resolver refuses when
 * it leaves the root). */
static int present(struct xp_boot *b, const char *root, const char *rel, bool *link)
{
	char path[PATH_MAX];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	*link = lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
	struct xp_bootfile f;
	int r = xp_boot_open(b, rel, &f);
	if (r < 0)
		return r;
	const char *user;
	if (f.fd >= 0 && fstat(f.fd, &st) == 0 && !xp__check_serve_can_read(&st, &user))
		r = -EPERM;
	xp_bootfile_release(&f);
	return r;
}

/* One file a firmware path needs: checked, and with --fix put there when it is missing
 * or a symlink the server refuses. */
static int need(struct xp__check_ctx *c, struct xp_boot *b, const char *firmware,
		const char *setting, const char *rel, const char *loaded_by)
{
	const char *root = c->tftp_root;
	const struct loader *l = loader_of(rel);
	bool link;
	int e = present(b, root, rel, &link);
	if (e == 0)
		return 0;
	char subject[PATH_MAX + 16], why[600], fix[PATH_MAX + 200];
	snprintf(subject, sizeof(subject), "%s/%s", root, rel);
	if (loaded_by)
		snprintf(
		    why, sizeof(why),
		    "%s clients load %s, which loads %s from its own directory next: they stop "
		    "there",
		    firmware, loaded_by, rel);
	else
		snprintf(why, sizeof(why),
			 "%s clients are told to load it (setting '%s'): they "
			 "get nothing to boot",
			 firmware, setting);
	if (e == -EPERM) {
		snprintf(fix, sizeof(fix), "chmod a+r %s", subject);
		return xp__check_add(
		    c, XP_SEV_ERROR, "boot-loader", subject, why, fix,
		    "%s is not readable by the user 'xenprov' xenprov serve runs as", rel);
	}
	if (e != -ENOENT && !(e == -EACCES && link))
		return xp__check_add(c, XP_SEV_ERROR, "boot-loader", subject, why, NULL,
				     "the server cannot serve %s: %s", rel,
				     e == -EACCES ? "not a regular file beneath the root"
						  : strerror(-e));
	const char *state = e == -ENOENT ? "missing from the TFTP root"
					 : "a symlink the server refuses (it leaves the root)";
	if (!l) {
		snprintf(fix, sizeof(fix),
			 "cp YOUR-BOOT-LOADER %s (or: xenprov settings set %s %s && xenprov check "
			 "--fix)",
			 subject, setting,
			 strcmp(setting, "bios-boot-file") == 0 ? "pxelinux.0" : "ipxe.efi");
		return xp__check_add(c, XP_SEV_ERROR, "boot-loader", subject, why, fix,
				     "%s is %s, and no Debian package xenprov knows ships it", rel,
				     state);
	}
	char *src = installed(l);
	if (!src) {
		snprintf(fix, sizeof(fix), "apt-get install %s && xenprov check --fix", l->package);
		return xp__check_add(
		    c, XP_SEV_ERROR, "boot-loader", subject, why, fix,
		    "%s is %s (Debian package %s ships it, and it is not installed)", rel, state,
		    l->package);
	}
	int r = 0;
	if (c->opts->fix) {
		int fr = put(root, rel, src);
		if (fr >= 0 && present(b, root, rel, &link) == 0) {
			r = xp__check_add(c, XP_SEV_ERROR, "boot-loader", subject, why, NULL,
					  "%s was %s: now %s from %s (package %s)", rel, state,
					  fr ? "copied" : "linked", src, l->package);
			if (r == 0)
				c->out->v[c->out->n - 1].fixed = true;
			free(src);
			return r;
		}
		if (fr < 0) {
			snprintf(fix, sizeof(fix), "cp %s %s", src, subject);
			r = xp__check_add(c, XP_SEV_ERROR, "boot-loader", subject, why, fix,
					  "%s is %s, and --fix could not put it there: %s", rel,
					  state, strerror(-fr));
			free(src);
			return r;
		}
	}
	r = xp__check_add(c, XP_SEV_ERROR, "boot-loader", subject, why, "xenprov check --fix",
			  "%s is %s (package %s has it: %s)", rel, state, l->package, src);
	free(src);
	return r;
}

int xp__check_loaders(struct xp__check_ctx *c)
{
	if (!c->tftp_root)
		return 0;
	struct xp_boot *b;
	struct xp_boot_opts bo = {.tftp_root = c->tftp_root,
				  .server = xp__check_setting(c, "server")};
	int r = xp_boot_new(c->inv, &bo, &b);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return 0; /* the tftp-root check said why */
	static const struct {
		const char *setting, *firmware;
	} paths[] = {
	    {"bios-boot-file", "BIOS PXE"},
	    {"efi64-boot-file", "x86-64 UEFI"},
	};
	for (size_t i = 0; r == 0 && i < sizeof(paths) / sizeof(paths[0]); i++) {
		const char *file = xp__check_setting(c, paths[i].setting);
		if (!file)
			continue;
		while (*file == '/')
			file++;
		r = need(c, b, paths[i].firmware, paths[i].setting, file, NULL);
		const struct loader *l = loader_of(file);
		if (r == 0 && l && l->needs) {
			/* the companion lives in the loader's directory */
			char next[PATH_MAX];
			const char *slash = strrchr(file, '/');
			snprintf(next, sizeof(next), "%.*s%s", slash ? (int)(slash - file + 1) : 0,
				 file, l->needs);
			r = need(c, b, paths[i].firmware, paths[i].setting, next, file);
		}
	}
	xp_boot_free(b);
	return r;
}
