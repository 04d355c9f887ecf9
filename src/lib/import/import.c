/*
 * import.c - `xenprov import` (xenprov/import.h): a tree recognised, its kernel and
 * initrd taken into the distro store, the tree offered over HTTP, the distro NAME-ARCH
 * and its default profile added, in this order:
 *
 *  1. the options checked, the signature file read, the tree opened (a directory walked
 *     or an image listed: tree.c) and recognised (signatures.c). Nothing is written
 *     before this succeeds, so a bad path or an unknown tree leaves nothing behind;
 *  2. the tree, when it is copied, made to hold exactly it in TFTP-ROOT/trees/NAME-ARCH
 *     (tree-copy.c: hard links, copies only where needed, nothing the second time),
 *     under a lock on trees/, before any database transaction (a DVD's copy never holds
 *     the inventory's write lock);
 *  3. one inventory transaction (xp_distro_put): the kernel and initrd, copied into the
 *     store before it begins, named in it; the distro row unless it already says the
 *     same; the tree's record (the image's file places for a tree served from an ISO);
 *     the profile NAME-ARCH when there is none (one that exists is the operator's and is
 *     left as it is). A failure undoes all of it and removes a copy step 2 made new.
 *
 * Installers find the tree at http://SERVER[:PORT]/distros/NAME-ARCH/tree/ (boot.c
 * serves it from the copy or from inside the image), or at --available-as; a
 * signature's kernel options name it as $tree (and the image itself, served at
 * distros/NAME-ARCH/image.iso, as $iso), filled in here from the server settings. An
 * option whose URL cannot be known yet (no server setting) is left out with a warning.
 *
 * Not here: reading trees, signatures, the copy's mechanics; SQL (inventory/).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "import/import-internal.h"
#include "xenprov/inventory.h"

#ifndef XP_DATADIR
#define XP_DATADIR "/usr/local/share/xenprov"
#endif

static const char *const tree_names[] = {
    [XP_IMPORT_TREE_AUTO] = "auto",	    [XP_IMPORT_TREE_COPY] = "copy",
    [XP_IMPORT_TREE_ISO] = "iso",	    [XP_IMPORT_TREE_NONE] = "none",
    [XP_IMPORT_TREE_EXTERNAL] = "external",
};

const char *xp_import_tree_name(enum xp_import_tree t)
{
	return (unsigned)t < sizeof(tree_names) / sizeof(tree_names[0]) ? tree_names[t] : "?";
}

int xp_import_tree_parse(const char *s, enum xp_import_tree *out)
{
	for (enum xp_import_tree t = XP_IMPORT_TREE_COPY; t <= XP_IMPORT_TREE_NONE; t++)
		if (strcmp(s, tree_names[t]) == 0) {
			*out = t;
			return 0;
		}
	return -EINVAL;
}

const char *xp_import_signatures_default(char *buf, size_t len)
{
	const char *dir = getenv("XENPROV_DATA_DIR");
	snprintf(buf, len, "%s/signatures.json", dir && *dir ? dir : XP_DATADIR);
	return buf;
}

void xp_import_report_release(struct xp_import_report *r)
{
	char **s[] = {&r->distro,	 &r->profile,	     &r->signature, &r->family,
		      &r->summary,	 &r->arch,	     &r->version,   &r->codename,
		      &r->label,	 &r->kernel,	     &r->initrd,    &r->kernel_sha256,
		      &r->initrd_sha256, &r->kernel_options, &r->tree_path, &r->tree_url,
		      &r->tree_dir};
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		free(*s[i]);
	memset(r, 0, sizeof(*r));
}

/* ---- options ------------------------------------------------------------------------ */

/* xenprov's name of an architecture, Debian's accepted too. */
static const char *arch_name(const char *a)
{
	static const char *const names[][2] = {
	    {"x86_64", "x86_64"}, {"amd64", "x86_64"},	  {"i386", "i386"},
	    {"i686", "i386"},	  {"aarch64", "aarch64"}, {"arm64", "aarch64"},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(a, names[i][0]) == 0)
			return names[i][1];
	return NULL;
}

/* A URL an installer can fetch a tree from: http, https or ftp, one word. */
static bool url_ok(const char *u)
{
	if (strncmp(u, "http://", 7) && strncmp(u, "https://", 8) && strncmp(u, "ftp://", 6))
		return false;
	const char *host = strstr(u, "://") + 3;
	if (!*host || *host == '/')
		return false;
	for (const char *p = u; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return false;
	return true;
}

static int check_opts(const struct xp_import_opts *o, const char **arch, struct xp_diags *d)
{
	*arch = NULL;
	if (!o->path || !*o->path)
		return xp_diags_refuse(d, -EINVAL, "path", NULL, NULL, "no tree given (--path)");
	if (!o->name || !xp_distro_name_valid(o->name))
		return xp_diags_refuse(d, -EINVAL, "name", o->name,
				       "1-64 letters, digits, '-', '_', '.' (ARCH is added)",
				       "'%s' is not a valid distro name", o->name ? o->name : "");
	if (o->arch && !(*arch = arch_name(o->arch)))
		return xp_diags_refuse(d, -EINVAL, "arch", o->arch, "x86_64, i386 or aarch64",
				       "unknown architecture '%s'", o->arch);
	if (o->available_as) {
		if (!url_ok(o->available_as))
			return xp_diags_refuse(
			    d, -EINVAL, "available-as", o->available_as,
			    "http://, https:// or ftp://, then a host",
			    "'%s' is not a URL an installer can fetch a tree from",
			    o->available_as);
		if (o->tree != XP_IMPORT_TREE_AUTO)
			return xp_diags_refuse(d, -EINVAL, "tree", NULL,
					       "the tree is left where --available-as says",
					       "--available-as and --tree %s exclude each other",
					       xp_import_tree_name(o->tree));
	}
	return 0;
}

/* ---- where the tree is served --------------------------------------------------------- */

/* "http://SERVER[:PORT]" from the settings, or "" while the server setting is unset. */
static void http_base(const struct xp_settings *st, char *buf, size_t len)
{
	const char *server = xp_settings_get(st, "server");
	const char *port = xp_settings_get(st, "http-port");
	if (!port)
		port = xp_server_setting_default("http-port");
	if (!server)
		snprintf(buf, len, "%s", "");
	else if (!port || strcmp(port, "80") == 0)
		snprintf(buf, len, "http://%s", server);
	else
		snprintf(buf, len, "http://%s:%s", server, port);
}

/* The kernel options of the template, $tree and $iso filled in; a word whose URL is not
 * known is left out with a warning. NULL when none is left. */
static char *fill_options(const char *tmpl, const char *tree, const char *iso, struct xp_diags *d)
{
	if (!tmpl)
		return NULL;
	struct xp_buf b = XP_BUF_INIT;
	for (const char *p = tmpl; *p;) {
		while (*p == ' ' || *p == '\t')
			p++;
		size_t n = strcspn(p, " \t");
		if (!n)
			break;
		char *w = strndup(p, n);
		p += n;
		if (!w)
			break;
		bool need_tree = strstr(w, "$tree") != NULL, need_iso = strstr(w, "$iso") != NULL;
		if ((need_tree && !tree) || (need_iso && !iso)) {
			xp_diags_add(d, XP_SEV_WARNING, NULL, 0, 0, "kernel-options", w,
				     need_iso && !iso && !need_tree
					 ? "$iso is the image served by the boot server: import "
					   "an ISO with --tree iso"
					 : "set the server's address (xenprov settings set server "
					   "IPV4) and import again",
				     "kernel option '%s' left out: the %s URL is not known", w,
				     need_iso && !iso ? "image's" : "tree's");
			free(w);
			continue;
		}
		if (b.len)
			xp_buf_addc(&b, ' ');
		for (const char *q = w; *q;) {
			if (!strncmp(q, "$tree", 5)) {
				xp_buf_adds(&b, tree);
				q += 5;
			} else if (!strncmp(q, "$iso", 4)) {
				xp_buf_adds(&b, iso);
				q += 4;
			} else {
				xp_buf_addc(&b, *q++);
			}
		}
		free(w);
	}
	if (b.len == 0) {
		xp_buf_release(&b);
		return NULL;
	}
	return xp_buf_steal(&b);
}

/* ---- the copy ----------------------------------------------------------------------------- */

/* TFTP-ROOT/trees, opened and locked (flock: one import writes there at a time). The
 * root is the tftp-root setting, else STATE/tftp (made, as the server makes it). */
static int open_trees(struct xp_inv *inv, const struct xp_settings *st, char **root_out,
		      struct xp_diags *d)
{
	const char *set = xp_settings_get(st, "tftp-root");
	char *root = NULL;
	if (set)
		root = strdup(set);
	else if (asprintf(&root, "%s/tftp", xp_inv_state_dir(inv)) < 0)
		root = NULL;
	if (!root)
		return -ENOMEM;
	*root_out = root;
	if (!set)
		xp_mkdir_p(root, 0755);
	if (xp_inv_root_check(inv, root) < 0)
		return xp_diags_fail(d, -EACCES, NULL, "tftp-root",
				     "set tftp-root to a directory of its own",
				     "the TFTP root '%s' is or holds the state directory: nothing "
				     "is copied there",
				     root);
	int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return xp_diags_fail(d, -errno, NULL, "tftp-root", NULL,
				     "cannot use the TFTP root '%s': %s", root, strerror(errno));
	if (mkdirat(rfd, "trees", 0755) < 0 && errno != EEXIST) {
		int r = -errno;
		close(rfd);
		return xp_diags_fail(d, r, NULL, "tftp-root", NULL, "cannot make '%s/trees': %s",
				     root, strerror(-r));
	}
	int tfd = xp_open_beneath(rfd, "trees", O_RDONLY | O_DIRECTORY, true);
	close(rfd);
	if (tfd < 0)
		return xp_diags_fail(d, tfd, NULL, "tftp-root", NULL, "cannot open '%s/trees': %s",
				     root, strerror(-tfd));
	while (flock(tfd, LOCK_EX) < 0)
		if (errno != EINTR) {
			int r = -errno;
			close(tfd);
			return r;
		}
	return tfd;
}

/* ---- the inventory's part ---------------------------------------------------------------- */

struct job {
	const struct xp_import_opts *o;
	const struct xp_tree *t;
	const struct xp_found *f;
	struct xp_import_report *rep;
	struct xp_diags *d;
	struct xp_distro_tree_file *files;
	size_t nfiles;
	bool copy_changed; /* the copy in the root was made or changed */
};

/* An image's files as the record keeps them: each regular file, and each symlink that
 * leads to one, where its bytes are. Paths borrowed from the tree. */
static int iso_files(struct job *j)
{
	const struct xp_tree *t = j->t;
	j->files = calloc(t->n + 1, sizeof(*j->files));
	if (!j->files)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++) {
		const struct tree_entry *e = &t->v[i];
		if (e->type == TREE_DIR)
			continue;
		const struct tree_entry *to = e->type == TREE_LNK ? xp__tree_find(t, e->path) : e;
		if (!to || to->type != TREE_REG || !to->whole)
			continue;
		j->files[j->nfiles++] = (struct xp_distro_tree_file){e->path, to->off, to->size};
	}
	return 0;
}

/* Inside the distro's transaction: the tree's record and the profile. */
static int also(struct xp_inv *inv, void *ud)
{
	struct job *j = ud;
	struct xp_import_report *rep = j->rep;
	bool changed = false;
	struct xp_distro_tree old;
	int r = xp_distro_tree_get(inv, rep->distro, &old);
	if (r < 0 && r != -ENOENT)
		return r;
	bool existed = r == 0;
	if (existed)
		xp_distro_tree_release(&old);
	if (rep->tree == XP_IMPORT_TREE_NONE) {
		r = xp_distro_tree_drop(inv, rep->distro, &changed);
	} else {
		struct xp_distro_tree rec = {
		    .distro = rep->distro,
		    .mode = (char *)(rep->tree == XP_IMPORT_TREE_ISO	? "iso"
				     : rep->tree == XP_IMPORT_TREE_COPY ? "copy"
									: "external"),
		    .source = j->t->path,
		    .url = rep->tree == XP_IMPORT_TREE_EXTERNAL ? rep->tree_url : NULL,
		    .signature = j->f->signature,
		    .family = j->f->family,
		    .version = j->f->version,
		};
		if (rep->tree == XP_IMPORT_TREE_ISO) {
			rec.iso_size = (uint64_t)j->t->st.st_size;
			rec.iso_ino = (uint64_t)j->t->st.st_ino;
			rec.iso_mtime_ns = (int64_t)j->t->st.st_mtim.tv_sec * 1000000000 +
					   j->t->st.st_mtim.tv_nsec;
		}
		r = xp_distro_tree_put(inv, &rec, j->files, j->nfiles, &changed);
	}
	if (r < 0)
		return xp_diags_fail(j->d, r, NULL, "inventory", NULL,
				     "cannot record the tree of '%s': %s", rep->distro,
				     xp_inv_errmsg(inv));
	if (changed || j->copy_changed)
		rep->tree_change = existed ? XP_IMPORT_UPDATED : XP_IMPORT_ADDED;

	struct xp_profile p;
	r = xp_profile_get(inv, rep->distro, &p);
	if (r == 0) {
		const char *has = xp_settings_get(&p.set, "distro");
		if (!has || strcmp(has, rep->distro) != 0)
			xp_diags_add(j->d, XP_SEV_WARNING, NULL, 0, 0, "profile", NULL,
				     "xenprov profile edit NAME --distro DISTRO",
				     "profile '%s' exists and boots %s%s%s: left as it is",
				     rep->distro, has ? "distro '" : "no distro", has ? has : "",
				     has ? "'" : "");
		xp_profile_release(&p);
		return 0;
	}
	if (r != -ENOENT)
		return r;
	struct xp_profile np = {.name = rep->distro};
	if ((r = xp_settings_set(&np.set, "distro", rep->distro)) == 0)
		r = xp_profile_add(inv, &np);
	xp_settings_release(&np.set);
	if (r < 0)
		return xp_diags_fail(j->d, r, NULL, "inventory", NULL,
				     "cannot add the profile '%s': %s", rep->distro,
				     xp_inv_errmsg(inv));
	rep->profile_added = true;
	return 0;
}

/* Where the distro's files are said to come from: the file's path, or IMAGE:PATH. */
static char *source_of(const struct xp_tree *t, const char *path)
{
	char *s;
	return asprintf(&s, t->iso ? "%s:%s" : "%s/%s", t->path, path) < 0 ? NULL : s;
}

static int write_all(struct xp_inv *inv, struct job *j, const struct xp_settings *st)
{
	struct xp_import_report *rep = j->rep;
	const struct xp_found *f = j->f;
	const struct xp_tree *t = j->t;
	int r = 0, tfd = -1, kfd = -1, ifd = -1;
	bool made = false;
	char *root = NULL;
	if (rep->tree == XP_IMPORT_TREE_COPY) {
		if ((tfd = open_trees(inv, st, &root, j->d)) < 0) {
			r = tfd;
			goto out;
		}
		struct xp_tree_sync sync;
		if ((r = xp__tree_sync(t, tfd, rep->distro, &made, &sync, j->d)) < 0)
			goto out;
		rep->linked = sync.linked;
		rep->copied = sync.copied;
		rep->kept = sync.kept;
		rep->removed = sync.removed;
		rep->left_out = sync.left_out;
		if (asprintf(&rep->tree_dir, "%s/trees/%s", root, rep->distro) < 0)
			rep->tree_dir = NULL;
		j->copy_changed = made || sync.linked + sync.copied + sync.removed + sync.symlinks;
	} else if (rep->tree == XP_IMPORT_TREE_ISO && (r = iso_files(j)) < 0) {
		goto out;
	}

	struct xp_distro_region kr, ir;
	if ((r = xp__tree_region(t, f->kernel, &kfd, &kr.off, &kr.len)) < 0 ||
	    (f->initrd && (r = xp__tree_region(t, f->initrd, &ifd, &ir.off, &ir.len)) < 0)) {
		xp_diags_fail(j->d, r, NULL, "read", NULL, "cannot read '%s' of '%s': %s",
			      kfd < 0 ? f->kernel : f->initrd, t->path, strerror(-r));
		goto out;
	}
	kr.fd = kfd;
	ir.fd = ifd;
	struct xp_distro dist = {
	    .name = rep->distro,
	    .kernel = source_of(t, f->kernel),
	    .initrd = f->initrd ? source_of(t, f->initrd) : NULL,
	    .arch = f->arch,
	    .kernel_options = rep->kernel_options,
	};
	if (!dist.kernel || (f->initrd && !dist.initrd)) {
		r = -ENOMEM;
	} else {
		enum xp_distro_put_result res;
		r = xp_distro_put(inv, &dist, &kr, f->initrd ? &ir : NULL, also, j, &res, j->d);
		if (r >= 0)
			rep->distro_change = (enum xp_import_change)res;
		else if (xp_diags_count(j->d, XP_SEV_ERROR) == 0)
			xp_diags_fail(j->d, r, NULL, "inventory", NULL,
				      "cannot write the distro '%s': %s", rep->distro,
				      xp_inv_errmsg(inv));
	}
	free(dist.kernel);
	free(dist.initrd);
	if (r >= 0) {
		struct xp_distro got;
		if (xp_distro_get(inv, rep->distro, &got) == 0) {
			rep->kernel_sha256 = got.kernel_sha256;
			rep->initrd_sha256 = got.initrd_sha256;
			got.kernel_sha256 = got.initrd_sha256 = NULL;
			xp_distro_release(&got);
		}
	}
out:
	if (r < 0 && made && tfd >= 0) /* a copy begun for nothing: gone again */
		xp__tree_remove(tfd, rep->distro);
	if (tfd >= 0)
		close(tfd); /* and its lock */
	if (kfd >= 0)
		close(kfd);
	if (ifd >= 0)
		close(ifd);
	free(root);
	return r;
}

int xp_import(struct xp_inv *inv, const struct xp_import_opts *o, struct xp_import_report *rep,
	      struct xp_diags *d)
{
	memset(rep, 0, sizeof(*rep));
	const char *arch;
	int r = check_opts(o, &arch, d);
	if (r < 0)
		return r;
	char sigpath[4200];
	const char *sp =
	    o->signatures ? o->signatures : xp_import_signatures_default(sigpath, sizeof(sigpath));
	struct xp_sigs *sigs = NULL;
	struct xp_tree *t = NULL;
	struct xp_found f = {0};
	struct xp_settings st = {0};
	struct job j = {.o = o, .f = &f, .rep = rep, .d = d};
	if ((r = xp__sigs_load(sp, &sigs, d)) < 0 || (r = xp__tree_open(o->path, &t, d)) < 0)
		goto out;
	j.t = t;
	if (!t->iso && xp_inv_root_check(inv, t->path) < 0) {
		r = xp_diags_fail(d, -EACCES, NULL, "path", NULL,
				  "'%s' is or holds the state directory: not a tree to import",
				  o->path);
		goto out;
	}
	if ((r = xp__sigs_detect(sigs, t, arch, o->generic, &f, d)) < 0)
		goto out;

	enum xp_import_tree mode = o->available_as		    ? XP_IMPORT_TREE_EXTERNAL
				   : o->tree != XP_IMPORT_TREE_AUTO ? o->tree
				   : t->iso			    ? XP_IMPORT_TREE_ISO
								    : XP_IMPORT_TREE_COPY;
	if (mode == XP_IMPORT_TREE_ISO && !t->iso) {
		r = xp_diags_refuse(d, -EINVAL, "tree", NULL, "--tree copy copies a directory",
				    "--tree iso serves a tree from inside an ISO image; '%s' is a "
				    "directory",
				    o->path);
		goto out;
	}
	rep->tree = mode;
	rep->iso = t->iso;
	if (asprintf(&rep->distro, "%s-%s", o->name, f.arch) < 0) {
		rep->distro = NULL;
		r = -ENOMEM;
		goto out;
	}
	if (!xp_distro_name_valid(rep->distro)) {
		r = xp_diags_refuse(d, -EINVAL, "name", o->name, "at most 64 characters with -ARCH",
				    "'%s' is not a valid distro name", rep->distro);
		goto out;
	}
	rep->profile = strdup(rep->distro);
	/* what was found, for the report (moved, not copied) */
	rep->signature = f.signature;
	rep->family = f.family;
	rep->summary = f.summary;
	rep->arch = f.arch;
	rep->version = f.version;
	rep->codename = f.codename;
	rep->label = f.label;
	rep->kernel = f.kernel;
	rep->initrd = f.initrd;
	rep->xen = f.xen;
	for (size_t i = 0; i < t->n; i++)
		rep->files += t->v[i].type == TREE_REG;

	if ((r = xp_server_settings_get(inv, &st)) < 0)
		goto moved;
	char base[160];
	http_base(&st, base, sizeof(base));
	char *iso_url = NULL;
	if (mode == XP_IMPORT_TREE_COPY || mode == XP_IMPORT_TREE_ISO) {
		if (asprintf(&rep->tree_path, "/distros/%s/tree/", rep->distro) < 0)
			rep->tree_path = NULL;
		if (*base && asprintf(&rep->tree_url, "%s%s", base, rep->tree_path) < 0)
			rep->tree_url = NULL;
		if (mode == XP_IMPORT_TREE_ISO && *base &&
		    asprintf(&iso_url, "%s/distros/%s/image.iso", base, rep->distro) < 0)
			iso_url = NULL;
	} else if (mode == XP_IMPORT_TREE_EXTERNAL) {
		size_t n = strlen(o->available_as);
		if (asprintf(&rep->tree_url, "%s%s", o->available_as,
			     n && o->available_as[n - 1] == '/' ? "" : "/") < 0)
			rep->tree_url = NULL;
	}
	rep->kernel_options = fill_options(f.kernel_options, rep->tree_url, iso_url, d);
	free(iso_url);
	if (!o->dry_run)
		r = write_all(inv, &j, &st);
moved:
	/* the report owns them now */
	f.signature = f.family = f.summary = f.arch = f.version = f.codename = f.label = NULL;
	f.kernel = f.initrd = NULL;
out:
	free(j.files);
	xp_settings_release(&st);
	xp__found_release(&f);
	xp__tree_free(t);
	xp__sigs_free(sigs);
	return r;
}
