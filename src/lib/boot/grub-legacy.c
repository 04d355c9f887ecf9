/*
 * grub-legacy.c - GRUB legacy's menu.lst / grub.conf (GRUB 0.97's manual, "Menu-specific
 * commands" and "Command-line and menu entry commands"), as old Debian, CentOS 5/6 and
 * xen-tools guests have it, read as GRUB 0.97 reads it.
 *
 * A line is a command and its arguments, split at the first blank or '=' ("default=0"
 * is "default 0"); '#' starts a comment line. Before the first `title`: `default N`
 * (0-based; `default saved`: the number in /boot/grub/default, its first line), the
 * rest (timeout, hiddenmenu, splashimage, password...) changes nothing that boots.
 * `title REST` opens an entry; in it, `root (hdD,P)` chooses the filesystem its paths
 * are on (P 0-based, so (hd0,0) is partition 1; (hdD) the whole disk; on a disk
 * without a partition table every device is the disk), `kernel [--opts] FILE ARGS`
 * the kernel and its command line, `initrd FILE`. A FILE may name its own device,
 * "(hd0,0)/vmlinuz". `uuid UUID` sets root to the filesystem of that UUID. An entry
 * with `module`, `chainloader` or no `kernel` boots no Linux kernel. An entry without
 * `root` reads the config's own filesystem (GRUB's default root is where it was
 * loaded from). A `default` past the last entry is 0.
 *
 * Not here: GRUB 2 (grub-script.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>

#include "boot/localboot-internal.h"

struct lent {
	char *title;
	long vol; /* -1: no filesystem there */
	char *kernel, *args, *initrd;
	bool other, bad;
};

/* The volume of "(hdD,P[,x])" (legacy numbering). */
static long legacy_vol(const struct xp__lb_disk *disk, const char *dev, size_t n)
{
	const char *comma = memchr(dev, ',', n);
	if (!comma || disk->label == XP_LABEL_NONE)
		return xp__lb_vol_of_dev(disk, "hd0");
	char *end;
	unsigned long p = strtoul(comma + 1, &end, 10);
	if (end == comma + 1 || p > 255)
		return -1;
	char name[32];
	snprintf(name, sizeof(name), "hd0,%lu", p + 1);
	return xp__lb_vol_of_dev(disk, name);
}

/* A file argument: its device (or the entry's root) and path. */
static int legacy_path(const struct xp__lb_disk *disk, long root, const char *w, long *vol,
		       char **path)
{
	long v = root;
	if (w[0] == '(') {
		const char *close = strchr(w, ')');
		if (!close)
			return -EINVAL;
		v = legacy_vol(disk, w + 1, (size_t)(close - w - 1));
		w = close + 1;
	}
	if (w[0] != '/')
		return -EINVAL;
	if (v < 0)
		return -ENOENT;
	*vol = v;
	*path = strdup(w);
	return *path ? 0 : -ENOMEM;
}

static void lent_release(struct lent *e)
{
	free(e->title);
	free(e->kernel);
	free(e->args);
	free(e->initrd);
}

int xp__lb_grub_legacy(const struct xp__lb_disk *disk, size_t vol, const char *path,
		       const char *data, size_t len, const char *entry, struct xp_localboot *out,
		       struct xp_diags *d)
{
	if (len > XP_LOCALBOOT_MAX_CONFIG || memchr(data, '\0', len))
		return xp_diags_fail(d, -EINVAL, path, "grub-legacy", NULL,
				     len > XP_LOCALBOOT_MAX_CONFIG ? "over the size limit"
								   : "holds a NUL byte");
	struct lent *v = NULL;
	size_t n = 0, cap = 0;
	char *deflt = NULL;
	int r = 0;
	unsigned line = 0;
	size_t at = 0, a, b;
	while (r == 0 && xp__lb_line(data, len, &at, &a, &b)) {
		line++;
		if (a == b)
			continue;
		size_t k = a;
		while (k < b && data[k] != ' ' && data[k] != '\t' && data[k] != '=')
			k++;
		char *cmd = strndup(data + a, k - a);
		while (k < b && (data[k] == ' ' || data[k] == '\t' || data[k] == '='))
			k++;
		char *arg = strndup(data + k, b - k);
		if (!cmd || !arg) {
			free(cmd);
			free(arg);
			r = -ENOMEM;
			break;
		}
		struct lent *e = n ? &v[n - 1] : NULL;
		if (strcmp(cmd, "title") == 0) {
			if (n >= XP_LOCALBOOT_MAX_ENTRIES) {
				r = xp_diags_fail(d, -EINVAL, path, "grub-legacy", NULL,
						  "over %u entries", XP_LOCALBOOT_MAX_ENTRIES);
			} else if (xp_grow(&v, &cap, n, sizeof(*v), 8) < 0) {
				r = -ENOMEM;
			} else {
				memset(&v[n], 0, sizeof(v[n]));
				v[n].title = arg;
				v[n].vol = (long)vol;
				arg = NULL;
				n++;
			}
		} else if (!e) {
			if (strcmp(cmd, "default") == 0) {
				free(deflt);
				deflt = arg;
				arg = NULL;
			}
		} else if (strcmp(cmd, "root") == 0 || strcmp(cmd, "rootnoverify") == 0) {
			const char *close = arg[0] == '(' ? strchr(arg, ')') : NULL;
			e->vol = close ? legacy_vol(disk, arg + 1, (size_t)(close - arg - 1)) : -1;
			if (e->vol < 0)
				xp_diags_add(d, XP_SEV_WARNING, path, line, 0, "grub-legacy", arg, NULL,
					     "root %s: no filesystem there on this disk", arg);
		} else if (strcmp(cmd, "uuid") == 0) {
			e->vol = -1;
			for (size_t x = 0; x < disk->n; x++)
				if (strcasecmp(disk->vols[x].uuid, arg) == 0)
					e->vol = (long)x;
		} else if (strcmp(cmd, "kernel") == 0) {
			char *p = arg;
			while (p[0] == '-' && p[1] == '-') { /* --type=, --no-mem-option */
				p += strcspn(p, " \t");
				p += strspn(p, " \t");
			}
			size_t fl = strcspn(p, " \t");
			char *file = strndup(p, fl);
			const char *rest = p + fl;
			rest += strspn(rest, " \t");
			long kv;
			char *kp = NULL;
			int q = file ? legacy_path(disk, e->vol, file, &kv, &kp) : -ENOMEM;
			free(file);
			free(e->kernel);
			free(e->args);
			e->kernel = e->args = NULL;
			if (q == -ENOMEM) {
				r = q;
			} else if (q < 0) {
				e->bad = true;
			} else {
				e->kernel = kp;
				e->vol = kv;
				e->bad = false;
				if (!(e->args = strdup(rest)))
					r = -ENOMEM;
			}
		} else if (strcmp(cmd, "initrd") == 0) {
			size_t fl = strcspn(arg, " \t");
			arg[fl] = '\0';
			long iv;
			char *ip = NULL;
			int q = legacy_path(disk, e->vol, arg, &iv, &ip);
			if (q == -ENOMEM)
				r = q;
			else if (q < 0 || (e->kernel && iv != e->vol)) {
				free(ip);
				e->bad = true;
			} else {
				free(e->initrd);
				e->initrd = ip;
			}
		} else if (strcmp(cmd, "module") == 0 || strcmp(cmd, "modulenounzip") == 0 ||
			   strcmp(cmd, "chainloader") == 0 || strcmp(cmd, "makeactive") == 0) {
			e->other = true;
		}
		free(cmd);
		free(arg);
	}
	for (size_t i = 0; i < n && r == 0; i++) {
		struct lent *e = &v[i];
		bool linux = e->kernel && !e->other && !e->bad && e->vol >= 0;
		r = xp__lb_add(out, e->title, NULL, linux ? e->kernel : NULL,
			       linux ? e->initrd : NULL, linux && e->args ? e->args : "",
			       disk->vols[linux ? (size_t)e->vol : vol].partition, NULL);
	}
	if (r == 0 && n == 0)
		r = xp_diags_fail(d, -ENOENT, path, "no-entries", NULL, "has no 'title' entries");
	size_t c = 0;
	if (r == 0 && entry) {
		r = xp__lb_pick(out, entry, path, &c, d);
	} else if (r == 0 && deflt) {
		char *num = deflt;
		char *saved = NULL;
		size_t slen = 0;
		if (strncmp(deflt, "saved", 5) == 0) {
			char *dir = xp__lb_path_join(path, "..");
			char *f = dir ? xp__lb_path_join(dir, "default") : NULL;
			num = f && xp__lb_read(disk, vol, f, 4096, &saved, &slen) == 0 ? saved : "0";
			free(f);
			free(dir);
		}
		char *end;
		unsigned long k = strtoul(num, &end, 10);
		c = end != num && k < out->n ? (size_t)k : 0;
		free(saved);
	}
	if (r == 0) {
		out->chosen = c;
		if (!out->v[c].kernel)
			r = xp_diags_fail(d, -ENOEXEC, path, "not-linux", NULL,
					  "entry '%s' boots no Linux kernel that can be found on "
					  "this disk",
					  out->v[c].title);
	}
	if (r == -E2BIG)
		r = xp_diags_fail(d, -EINVAL, path, "grub-legacy", NULL, "over %u entries",
				  XP_LOCALBOOT_MAX_ENTRIES);
	for (size_t i = 0; i < n; i++)
		lent_release(&v[i]);
	free(v);
	free(deflt);
	return r;
}
