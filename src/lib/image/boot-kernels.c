/*
 * boot-kernels.c - the Linux kernels a guest image carries in /boot, newest first, each
 * with the initramfs made for it: what pygrub and PV GRUB boot through the grub.cfg
 * xenprov writes for them, and what `--kernel from-image` copies out of the golden image.
 *
 * A kernel is a regular file /boot/vmlinuz-VERSION; its initramfs, when there is one,
 * the regular file of the same VERSION under the name Debian (initrd.img-VERSION), Red
 * Hat (initramfs-VERSION.img) or SUSE (initrd-VERSION) gives it. Versions are ordered as
 * dpkg orders version strings (deb-version(7): runs of digits compared as numbers, the
 * rest character by character, letters before other characters, '~' before anything,
 * even the end), so that 6.1.0-10-amd64 is newer than 6.1.0-9-amd64, as GRUB's
 * grub-mkconfig (version_sort) and Debian's linux-update-symlinks rank them.
 *
 * Names are taken only when GRUB's script parser and pygrub's (which splits a `linux`
 * line at white space) read them as one plain word: letters, digits and ". _ + ~ -".
 * Package managers' leftovers (.dpkg-*, .rpmsave, .rpmnew, .old, .bak) are not kernels.
 *
 * Found from the three places the names can come from: a list of names (the pure
 * choice, shared by all), an open filesystem (a disk image), a root tarball (a profile
 * whose golden image is not built yet).
 *
 * Not here: what is written for them (image/guest-text.c: grub.cfg), where they are
 * copied to (deploy/guest-boot.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "image/extfs-internal.h"
#include "xenprov/image.h"

/* The boot loader configs pygrub and PV GRUB read (paths inside the image). */
static const char *const loader_configs[] = {"/boot/grub/grub.cfg", "/boot/grub2/grub.cfg",
					     "/boot/grub/menu.lst"};
#define N_LOADER_CONFIGS (sizeof(loader_configs) / sizeof(loader_configs[0]))

/* How many kernels are kept; a /boot with more keeps the newest. */
#define MAX_KERNELS 64
/* How many /boot names a tarball may offer (bounds what is held while scanning). */
#define MAX_NAMES 4096

void xp_boot_kernels_release(struct xp_boot_kernels *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->n; i++) {
		free(k->v[i].version);
		free(k->v[i].kernel);
		free(k->v[i].initrd);
	}
	free(k->v);
	k->v = NULL;
	k->n = 0;
}

int xp_boot_kernels_copy(const struct xp_boot_kernels *src, struct xp_boot_kernels *dst)
{
	memset(dst, 0, sizeof(*dst));
	if (src)
		dst->loader_config = src->loader_config;
	if (!src || src->n == 0)
		return 0;
	dst->v = calloc(src->n, sizeof(*dst->v));
	if (!dst->v)
		return -ENOMEM;
	for (size_t i = 0; i < src->n; i++) {
		const struct xp_boot_kernel *s = &src->v[i];
		struct xp_boot_kernel *t = &dst->v[dst->n++];
		t->version = strdup(s->version);
		t->kernel = strdup(s->kernel);
		t->initrd = s->initrd ? strdup(s->initrd) : NULL;
		if (!t->version || !t->kernel || (s->initrd && !t->initrd)) {
			xp_boot_kernels_release(dst);
			return -ENOMEM;
		}
	}
	return 0;
}

/* deb-version(7)'s order of one character of a non-digit run: '~' first, then the end
 * of the run, then letters, then everything else by its code. */
static int char_order(int c)
{
	if (c == '~')
		return -1;
	if (c == 0)
		return 0;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return c;
	return c + 256;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int xp_kernel_version_cmp(const char *a, const char *b)
{
	while (*a || *b) {
		/* the non-digit run */
		while ((*a && !is_digit(*a)) || (*b && !is_digit(*b))) {
			int ca = char_order(is_digit(*a) ? 0 : (unsigned char)*a);
			int cb = char_order(is_digit(*b) ? 0 : (unsigned char)*b);
			if (ca != cb)
				return ca < cb ? -1 : 1;
			if (*a && !is_digit(*a))
				a++;
			if (*b && !is_digit(*b))
				b++;
		}
		/* the digit run, as a number of any length: leading zeros skipped, then the
		 * longer run is the larger number, and equal lengths compare digit by digit */
		while (*a == '0')
			a++;
		while (*b == '0')
			b++;
		size_t la = 0, lb = 0;
		while (is_digit(a[la]))
			la++;
		while (is_digit(b[lb]))
			lb++;
		if (la != lb)
			return la < lb ? -1 : 1;
		int c = memcmp(a, b, la);
		if (c)
			return c < 0 ? -1 : 1;
		a += la;
		b += lb;
	}
	return 0;
}

/* A name GRUB and pygrub read as one plain word. */
static bool plain_word(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || is_digit(*s) ||
		      strchr("._+~-", *s)))
			return false;
	return true;
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);
	return n >= t && strcmp(s + n - t, tail) == 0;
}

/* A package manager's leftover, never booted. */
static bool leftover(const char *name)
{
	return strstr(name, ".dpkg-") || ends_with(name, ".rpmsave") ||
	       ends_with(name, ".rpmnew") || ends_with(name, ".old") || ends_with(name, ".bak");
}

static bool has_name(const char *const *names, size_t n, const char *want)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], want) == 0)
			return true;
	return false;
}

/* The initramfs of version among names, as "/boot/NAME" (heap), or NULL. */
static int initrd_of(const char *const *names, size_t n, const char *version, char **out)
{
	static const char *const forms[][2] = {
	    {"initrd.img-", ""},    /* Debian, Ubuntu (initramfs-tools, dracut on Debian) */
	    {"initramfs-", ".img"}, /* Red Hat, Fedora (dracut) */
	    {"initrd-", ""},	    /* SUSE */
	};
	*out = NULL;
	for (size_t f = 0; f < sizeof(forms) / sizeof(forms[0]); f++) {
		char *name = NULL;
		if (asprintf(&name, "%s%s%s", forms[f][0], version, forms[f][1]) < 0)
			return -ENOMEM;
		bool found = has_name(names, n, name);
		if (found && asprintf(out, "/boot/%s", name) < 0)
			*out = NULL;
		free(name);
		if (found)
			return *out ? 0 : -ENOMEM;
	}
	return 0;
}

static int newest_first(const void *a, const void *b)
{
	const struct xp_boot_kernel *x = a, *y = b;
	int c = xp_kernel_version_cmp(y->version, x->version);
	/* a total order for equal versions ("1.0" and "1.00"): the names */
	return c ? c : strcmp(x->version, y->version);
}

int xp_boot_kernels_pick(const char *const *names, size_t n, struct xp_boot_kernels *out)
{
	static const char prefix[] = "vmlinuz-";
	memset(out, 0, sizeof(*out));
	size_t cap = 0;
	int r = 0;
	for (size_t i = 0; r == 0 && i < n; i++) {
		const char *name = names[i];
		if (strncmp(name, prefix, sizeof(prefix) - 1) != 0 || leftover(name) ||
		    !plain_word(name + sizeof(prefix) - 1))
			continue;
		r = xp_grow(&out->v, &cap, out->n, sizeof(*out->v), 8);
		if (r < 0)
			break;
		struct xp_boot_kernel *k = &out->v[out->n];
		memset(k, 0, sizeof(*k));
		out->n++;
		k->version = strdup(name + sizeof(prefix) - 1);
		if (!k->version || asprintf(&k->kernel, "/boot/%s", name) < 0) {
			k->kernel = NULL;
			r = -ENOMEM;
			break;
		}
		r = initrd_of(names, n, k->version, &k->initrd);
	}
	if (r < 0) {
		xp_boot_kernels_release(out);
		return r;
	}
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), newest_first);
	while (out->n > MAX_KERNELS) {
		struct xp_boot_kernel *k = &out->v[--out->n];
		free(k->version);
		free(k->kernel);
		free(k->initrd);
	}
	return 0;
}

static int fs_loader_config(struct xp_fs *fs, bool *found)
{
	*found = false;
	for (size_t i = 0; i < N_LOADER_CONFIGS && !*found; i++) {
		struct xp_fs_entry st;
		int r = xp_fs_stat(fs, loader_configs[i], &st);
		*found = r == 0 && S_ISREG(st.mode);
		xp_fs_entry_release(&st);
		if (r < 0 && r != -ENOENT && r != -ENOTDIR)
			return r;
	}
	return 0;
}

static int fs_kernels(struct xp_fs *fs, struct xp_boot_kernels *out)
{
	struct xp_fs_entry *e = NULL;
	size_t n = 0;
	int r = xp_fs_list(fs, "/boot", &e, &n);
	if (r == -ENOENT || r == -ENOTDIR)
		return 0;
	if (r < 0)
		return r;
	const char **names = calloc(n ? n : 1, sizeof(*names));
	size_t k = 0;
	if (!names) {
		xp_fs_list_free(e, n);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		if (S_ISREG(e[i].mode))
			names[k++] = e[i].name;
	r = xp_boot_kernels_pick(names, k, out);
	free(names);
	xp_fs_list_free(e, n);
	return r;
}

int xp_fs_boot_kernels(struct xp_fs *fs, struct xp_boot_kernels *out)
{
	memset(out, 0, sizeof(*out));
	bool cfg;
	int r = fs_loader_config(fs, &cfg);
	if (r < 0)
		return r;
	r = fs_kernels(fs, out);
	out->loader_config = cfg;
	return r;
}

int xp_archive_boot_kernels(const char *path, struct xp_boot_kernels *out, struct xp_diags *d)
{
	memset(out, 0, sizeof(*out));
	struct archive *a;
	struct xp_src *src;
	int r = xp_archive_open(path, &a, &src, d);
	if (r < 0)
		return r;
	char **names = NULL;
	size_t n = 0, cap = 0;
	bool cfg = false;
	for (;;) {
		struct archive_entry *entry;
		int rc = xp_archive_next(a, src, &entry);
		if (rc == ARCHIVE_EOF)
			break;
		if (rc < ARCHIVE_WARN) {
			r = xp_archive_errno(a, src);
			xp_diags_add(d, XP_SEV_ERROR, path, 0, 0, "archive", NULL, NULL,
				     "cannot read the archive: %s", xp_archive_error(a, src));
			break;
		}
		const char *p = xp_entry_path(entry);
		/* a regular file, or a hard link to one: the same in the built filesystem */
		if (!p || (archive_entry_filetype(entry) != AE_IFREG && !xp_entry_hardlink(entry)))
			continue;
		char *norm = strdup(p);
		if (!norm) {
			r = -ENOMEM;
			break;
		}
		const char *name = norm + 5;
		bool ok = xp_path_normalize(norm) == 0;
		for (size_t i = 0; ok && i < N_LOADER_CONFIGS; i++)
			if (strcmp(norm, loader_configs[i] + 1) == 0)
				cfg = true;
		if (!ok || strncmp(norm, "boot/", 5) != 0 ||
		    strchr(name, '/') || !*name || has_name((const char *const *)names, n, name) ||
		    n >= MAX_NAMES) {
			free(norm);
			continue;
		}
		memmove(norm, name, strlen(name) + 1);
		if ((r = xp_grow(&names, &cap, n, sizeof(*names), 16)) < 0) {
			free(norm);
			break;
		}
		names[n++] = norm;
	}
	xp_archive_close(a, src);
	if (r == 0)
		r = xp_boot_kernels_pick((const char *const *)names, n, out);
	out->loader_config = r == 0 && cfg;
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}
