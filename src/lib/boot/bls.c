/*
 * bls.c - BootLoaderSpec type #1 entries (the UAPI group's Boot Loader Specification:
 * /loader/entries/NAME.conf, "KEY VALUE" lines) as Fedora and RHEL 8+ write them, read
 * from a guest's disk: one entry file parsed, a directory of them sorted as GRUB's
 * blscfg sorts them, and the disk's entries alone when there is no grub.cfg to run
 * them (xp__lb_bls). Also grubenv, GRUB's environment block, where RHEL 8 keeps the
 * $kernelopts its entries' options name.
 *
 * The order is blscfg's (Fedora's grub2 blscfg.c, bls_cmp): the `version` key, newest
 * first, an entry with a version before one without; then the file name, split as
 * NAME-VERSION-RELEASE at its last two '-', each part compared newest first; versions
 * are compared as rpm compares them (rpmvercmp: runs of digits as numbers, of letters
 * as strings, a digit run newer than a letter run, '~' older than anything, '+' newer
 * than the end).
 *
 * The file format is the spec's: blank lines and '#' lines are skipped (blscfg stops
 * reading at a blank line; the spec and systemd-boot skip it, and so do we), a key
 * ends at the first blank, `options` and `initrd` may repeat. GRUB's blscfg takes the
 * first `options` line only; read alone (no grub.cfg), every `options` line is joined
 * as the spec says.
 *
 * Not here: the menu entries blscfg makes of them inside a grub.cfg (grub-script.c).
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/localboot-internal.h"

#define MAX_ENTRY (64u << 10)

void xp__bls_entry_release(struct xp__bls_entry *e)
{
	if (!e)
		return;
	free(e->id);
	free(e->title);
	free(e->version);
	free(e->linux);
	free(e->efi);
	free(e->options);
	free(e->options_all);
	for (size_t i = 0; i < e->n_initrd; i++)
		free(e->initrd[i]);
	free(e->initrd);
	memset(e, 0, sizeof(*e));
}

void xp__bls_free(struct xp__bls_entry *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		xp__bls_entry_release(&v[i]);
	free(v);
}

static int set_once(char **slot, const char *v, size_t n)
{
	char *s = strndup(v, n);
	if (!s)
		return -ENOMEM;
	free(*slot); /* a key given twice: the last wins */
	*slot = s;
	return 0;
}

int xp__bls_parse(const char *data, size_t len, const char *id, struct xp__bls_entry *e,
		  struct xp_diags *d)
{
	memset(e, 0, sizeof(*e));
	if (memchr(data, '\0', len))
		return xp_diags_fail(d, -EINVAL, id, "bls-nul", NULL,
				     "holds a NUL byte: not a BootLoaderSpec entry");
	if (!(e->id = strdup(id)))
		return -ENOMEM;
	struct xp_buf all = XP_BUF_INIT;
	size_t i = 0;
	int r = 0;
	size_t a, b;
	while (r == 0 && xp__lb_line(data, len, &i, &a, &b)) {
		if (a == b)
			continue;
		size_t k = a;
		while (k < b && data[k] != ' ' && data[k] != '\t')
			k++;
		size_t v = k;
		while (v < b && (data[v] == ' ' || data[v] == '\t'))
			v++;
		size_t kl = k - a, vl = b - v;
		const char *key = data + a, *val = data + v;
		if (kl == 5 && memcmp(key, "title", 5) == 0)
			r = set_once(&e->title, val, vl);
		else if (kl == 7 && memcmp(key, "version", 7) == 0)
			r = set_once(&e->version, val, vl);
		else if (kl == 5 && memcmp(key, "linux", 5) == 0)
			r = set_once(&e->linux, val, vl);
		else if (kl == 3 && memcmp(key, "efi", 3) == 0)
			r = set_once(&e->efi, val, vl);
		else if (kl == 7 && memcmp(key, "options", 7) == 0) {
			if (!e->options)
				r = set_once(&e->options, val, vl);
			if (all.len)
				xp_buf_addc(&all, ' ');
			xp_buf_add(&all, val, vl);
		} else if (kl == 6 && memcmp(key, "initrd", 6) == 0 && vl) {
			if (e->n_initrd >= 64)
				continue;
			char **nv = realloc(e->initrd, (e->n_initrd + 1) * sizeof(*nv));
			if (!nv) {
				r = -ENOMEM;
				break;
			}
			e->initrd = nv;
			if (!(e->initrd[e->n_initrd] = strndup(val, vl)))
				r = -ENOMEM;
			else
				e->n_initrd++;
		}
	}
	if (r == 0 && all.len && !(e->options_all = xp_buf_steal(&all)))
		r = -ENOMEM;
	xp_buf_release(&all);
	if (r < 0)
		xp__bls_entry_release(e);
	return r;
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int xp__bls_vercmp(const char *a, const char *b)
{
	if (strcmp(a, b) == 0)
		return 0;
	const char *one = a, *two = b;
	while (*one || *two) {
		while (*one && !is_alpha(*one) && !is_digit(*one) && *one != '~' && *one != '+')
			one++;
		while (*two && !is_alpha(*two) && !is_digit(*two) && *two != '~' && *two != '+')
			two++;
		if (*one == '~' || *two == '~') {
			if (*one != '~')
				return 1;
			if (*two != '~')
				return -1;
			one++;
			two++;
			continue;
		}
		if (*one == '+' || *two == '+') {
			if (!*one)
				return -1;
			if (!*two)
				return 1;
			if (*one != '+')
				return 1;
			if (*two != '+')
				return -1;
			one++;
			two++;
			continue;
		}
		if (!(*one && *two))
			break;
		const char *s1 = one, *s2 = two;
		bool num = is_digit(*s1);
		if (num) {
			while (is_digit(*s1))
				s1++;
			while (is_digit(*s2))
				s2++;
		} else {
			while (is_alpha(*s1))
				s1++;
			while (is_alpha(*s2))
				s2++;
		}
		if (s2 == two) /* segments of different kinds: the number is newer */
			return num ? 1 : -1;
		if (num) {
			while (*one == '0' && one < s1)
				one++;
			while (*two == '0' && two < s2)
				two++;
			size_t l1 = (size_t)(s1 - one), l2 = (size_t)(s2 - two);
			if (l1 != l2)
				return l1 > l2 ? 1 : -1;
		}
		size_t l1 = (size_t)(s1 - one), l2 = (size_t)(s2 - two);
		int c = memcmp(one, two, l1 < l2 ? l1 : l2);
		if (c == 0 && l1 != l2)
			c = l1 < l2 ? -1 : 1;
		if (c)
			return c < 0 ? -1 : 1;
		one = s1;
		two = s2;
	}
	if (!*one && !*two)
		return 0;
	return !*one ? -1 : 1;
}

/* blscfg's split_package_string: NAME-VERSION-RELEASE at the last two '-'. */
static void split_nvr(char *s, const char **name, const char **ver, const char **rel)
{
	char *r = strrchr(s, '-');
	if (r)
		*r++ = '\0';
	char *v = strrchr(s, '-');
	if (v)
		*v++ = '\0';
	*name = s;
	*ver = v;
	*rel = r;
	if (!*ver) { /* bubble the parts found up to the name */
		*ver = *rel;
		*rel = NULL;
	}
}

static int nvr_cmp(const char *a, const char *b)
{
	char *x = strdup(a), *y = strdup(b);
	int r = 0;
	if (x && y) {
		const char *n1, *v1, *r1, *n2, *v2, *r2;
		split_nvr(x, &n1, &v1, &r1);
		split_nvr(y, &n2, &v2, &r2);
		r = xp__bls_vercmp(n1, n2);
		if (r == 0)
			r = xp__bls_vercmp(v1 ? v1 : "", v2 ? v2 : "");
		if (r == 0)
			r = xp__bls_vercmp(r1 ? r1 : "", r2 ? r2 : "");
	}
	if (r == 0)
		r = strcmp(a, b) < 0 ? -1 : strcmp(a, b) > 0;
	free(x);
	free(y);
	return r;
}

int xp__bls_cmp(const struct xp__bls_entry *a, const struct xp__bls_entry *b)
{
	if (a->version && !b->version)
		return -1;
	if (!a->version && b->version)
		return 1;
	if (a->version) {
		int r = xp__bls_vercmp(a->version, b->version);
		if (r)
			return -r;
	}
	return -nvr_cmp(a->id, b->id);
}

static int cmp_qsort(const void *a, const void *b)
{
	return xp__bls_cmp(a, b);
}

int xp__bls_load(const struct xp__lb_disk *disk, size_t vol, const char *dir,
		 struct xp__bls_entry **out, size_t *nout, struct xp_diags *d)
{
	*out = NULL;
	*nout = 0;
	char **names = NULL;
	size_t n = 0;
	int r = xp__lb_list(disk, vol, dir, &names, &n);
	if (r < 0)
		return r;
	struct xp__bls_entry *v = calloc(n ? n : 1, sizeof(*v));
	size_t k = 0;
	if (!v)
		r = -ENOMEM;
	for (size_t i = 0; r == 0 && i < n; i++) {
		size_t l = strlen(names[i]);
		if (names[i][0] == '.' || l <= 5 || strcmp(names[i] + l - 5, ".conf") != 0)
			continue;
		char *path = xp__lb_path_join(dir, names[i]);
		char *data = NULL;
		size_t len = 0;
		if (!path) {
			r = -ENOMEM;
			break;
		}
		int q = xp__lb_read(disk, vol, path, MAX_ENTRY, &data, &len);
		free(path);
		if (q == -ENOMEM) {
			r = q;
			break;
		}
		if (q < 0) /* a directory or a dangling link named *.conf: blscfg skips it */
			continue;
		names[i][l - 5] = '\0';
		q = xp__bls_parse(data, len, names[i], &v[k], d);
		free(data);
		if (q == -ENOMEM)
			r = q;
		else if (q == 0)
			k++;
	}
	xp__lb_names_free(names, n);
	if (r < 0) {
		xp__bls_free(v, k);
		return r;
	}
	qsort(v, k, sizeof(*v), cmp_qsort);
	*out = v;
	*nout = k;
	return 0;
}

int xp__grubenv_parse(const char *data, size_t len,
		      int (*set)(void *ud, const char *name, const char *value), void *ud)
{
	static const char sig[] = "# GRUB Environment Block\n";
	if (len < sizeof(sig) - 1 || memcmp(data, sig, sizeof(sig) - 1) != 0)
		return -EINVAL;
	struct xp_buf name = XP_BUF_INIT, val = XP_BUF_INIT;
	int r = 0;
	size_t i = sizeof(sig) - 1;
	while (i < len && r == 0) {
		if (data[i] == '#' || data[i] == '\n') { /* padding, or an empty line */
			while (i < len && data[i] != '\n')
				i++;
			i++;
			continue;
		}
		xp_buf_truncate(&name, 0);
		xp_buf_truncate(&val, 0);
		while (i < len && data[i] != '=' && data[i] != '\n')
			xp_buf_addc(&name, data[i++]);
		if (i >= len || data[i] != '=') {
			i++;
			continue;
		}
		i++;
		while (i < len && data[i] != '\n') {
			if (data[i] == '\\' && i + 1 < len)
				i++;
			xp_buf_addc(&val, data[i++]);
		}
		i++;
		if (xp_buf_error(&name) || xp_buf_error(&val))
			r = -ENOMEM;
		else if (name.len && !memchr(name.s, '\0', name.len) &&
			 !memchr(xp_buf_str(&val), '\0', val.len))
			r = set(ud, name.s, xp_buf_str(&val));
	}
	xp_buf_release(&name);
	xp_buf_release(&val);
	return r;
}

/* ---- entries alone ------------------------------------------------------------------ */

struct kv {
	char **k, **v;
	size_t n;
};

static int kv_set(void *ud, const char *name, const char *value)
{
	struct kv *e = ud;
	if (e->n >= 256)
		return 0;
	char **nk = realloc(e->k, (e->n + 1) * sizeof(*nk));
	if (!nk)
		return -ENOMEM;
	e->k = nk;
	char **nv = realloc(e->v, (e->n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	e->v = nv;
	e->k[e->n] = strdup(name);
	e->v[e->n] = strdup(value);
	if (!e->k[e->n] || !e->v[e->n]) {
		free(e->k[e->n]);
		free(e->v[e->n]);
		return -ENOMEM;
	}
	e->n++;
	return 0;
}

static const char *kv_get(const struct kv *e, const char *name)
{
	for (size_t i = e->n; i-- > 0;)
		if (strcmp(e->k[i], name) == 0)
			return e->v[i];
	return NULL;
}

static void kv_free(struct kv *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free(e->k[i]);
		free(e->v[i]);
	}
	free(e->k);
	free(e->v);
}

/* options with $NAME taken from grubenv (unset: nothing), blanks squeezed */
static char *expand_options(const char *o, const struct kv *env)
{
	struct xp_buf b = XP_BUF_INIT;
	for (size_t i = 0; o && o[i];) {
		if (o[i] == '$' && (o[i + 1] == '_' || is_alpha(o[i + 1]))) {
			size_t j = i + 1;
			while (o[j] == '_' || is_alpha(o[j]) || is_digit(o[j]))
				j++;
			char name[128];
			size_t nl = j - i - 1 < sizeof(name) - 1 ? j - i - 1 : sizeof(name) - 1;
			memcpy(name, o + i + 1, nl);
			name[nl] = '\0';
			const char *v = kv_get(env, name);
			if (v)
				xp_buf_adds(&b, v);
			i = j;
		} else {
			xp_buf_addc(&b, o[i++]);
		}
	}
	/* the words, one space apart, as a boot loader's command line parser reads them */
	struct xp_buf w = XP_BUF_INIT;
	const char *s = xp_buf_str(&b);
	for (size_t i = 0; s[i];) {
		while (s[i] == ' ' || s[i] == '\t')
			i++;
		size_t st = i;
		while (s[i] && s[i] != ' ' && s[i] != '\t')
			i++;
		if (i > st) {
			if (w.len)
				xp_buf_addc(&w, ' ');
			xp_buf_add(&w, s + st, i - st);
		}
	}
	xp_buf_release(&b);
	char *r = xp_buf_steal(&w);
	xp_buf_release(&w);
	return r;
}

int xp__lb_bls(const struct xp__lb_disk *disk, size_t vol, const char *path, const char *entry,
	       struct xp_localboot *out, struct xp_diags *d)
{
	struct xp__bls_entry *v = NULL;
	size_t n = 0;
	int r = xp__bls_load(disk, vol, path, &v, &n, d);
	if (r < 0)
		return r == -ENOMEM ? r
				    : xp_diags_fail(d, r, path, "bls", NULL, "cannot be read: %s",
						    strerror(-r));
	struct kv env = {0};
	static const char *const envs[] = {"/boot/grub2/grubenv", "/grub2/grubenv",
					   "/boot/grub/grubenv", "/grub/grubenv"};
	for (size_t i = 0; i < sizeof(envs) / sizeof(envs[0]); i++) {
		char *data = NULL;
		size_t len = 0;
		if (xp__lb_read(disk, vol, envs[i], 1u << 16, &data, &len) == 0) {
			r = xp__grubenv_parse(data, len, kv_set, &env);
			free(data);
			if (r == -ENOMEM)
				goto done;
			r = 0;
			break;
		}
	}
	unsigned part = disk->vols[vol].partition;
	for (size_t i = 0; i < n && r == 0; i++) {
		const struct xp__bls_entry *e = &v[i];
		char *args = expand_options(e->options_all, &env);
		struct xp_buf initrd = XP_BUF_INIT;
		for (size_t k = 0; k < e->n_initrd; k++) {
			if (k)
				xp_buf_addc(&initrd, ' ');
			xp_buf_adds(&initrd, e->initrd[k]);
		}
		if (!args || xp_buf_error(&initrd))
			r = -ENOMEM;
		else
			r = xp__lb_add(out, e->title ? e->title : e->linux ? e->linux : e->id, e->id,
				       e->linux && e->linux[0] == '/' ? e->linux : NULL,
				       e->n_initrd ? initrd.s : NULL, args, part, NULL);
		free(args);
		xp_buf_release(&initrd);
	}
	if (r == -E2BIG)
		r = xp_diags_fail(d, -EINVAL, path, "bls", NULL, "over %u entries",
				  XP_LOCALBOOT_MAX_ENTRIES);
	if (r < 0)
		goto done;
	if (out->n == 0) {
		r = xp_diags_fail(d, -ENOENT, path, "no-entries", NULL, "holds no entry (*.conf)");
		goto done;
	}
	size_t c = 0;
	if (entry) {
		r = xp__lb_pick(out, entry, path, &c, d);
		if (r < 0)
			goto done;
	} else {
		/* loader.conf's `default`, a glob of entry ids, beside the entries */
		char *dir = xp__lb_path_join(path, "..");
		char *conf = dir ? xp__lb_path_join(dir, "loader.conf") : NULL;
		char *data = NULL;
		size_t len = 0;
		if (conf && xp__lb_read(disk, vol, conf, 1u << 16, &data, &len) == 0) {
			const char *p = strstr(data, "default");
			while (p && !(p == data || p[-1] == '\n'))
				p = strstr(p + 1, "default");
			if (p && (p[7] == ' ' || p[7] == '\t')) {
				const char *a = p + 7;
				while (*a == ' ' || *a == '\t')
					a++;
				size_t l = strcspn(a, " \t\r\n");
				char *pat = strndup(a, l);
				for (size_t i = 0; pat && i < out->n; i++) {
					char with[512];
					snprintf(with, sizeof(with), "%s.conf", out->v[i].id);
					if (fnmatch(pat, out->v[i].id, 0) == 0 ||
					    fnmatch(pat, with, 0) == 0) {
						c = i;
						break;
					}
				}
				free(pat);
			}
		}
		free(data);
		free(conf);
		free(dir);
	}
	out->chosen = c;
	if (!out->v[c].kernel)
		r = xp_diags_fail(d, -ENOEXEC, path, "not-linux", NULL,
				  "entry '%s' has no 'linux' key: not a Linux kernel to boot",
				  out->v[c].title);
done:
	kv_free(&env);
	xp__bls_free(v, n);
	return r;
}
