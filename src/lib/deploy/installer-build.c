/*
 * installer-build.c - `xenprov installer build`: the autoinstall installer's kernel and
 * initramfs (installer-build.h). The initramfs is a newc cpio compressed with gzip,
 * written by libarchive (as the kernel's initramfs-buffer-format.rst reads it: every
 * directory before what it holds, since the kernel makes no parents). Modules come
 * from the kernel's own modules.dep, dependencies first; the libraries xenprov needs
 * are the ones ldd(1) names, copied at the paths it names (the loader's too), so that
 * the copy runs under the initramfs's root exactly as on the host.
 *
 * Not here: the /init script (installer-init.c), serving the files (boot/).
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "deploy/installer-init.h"
#include "util/dlib.h"
#include "xenprov/http-client.h"
#include "xenprov/installer-build.h"
#include "xenprov/util.h"

struct mod {
	char *path; /* relative to /lib/modules/RELEASE */
	char *deps; /* modules.dep's list, space separated */
	bool added;
};

struct build {
	const struct xp_installer_opts *o;
	struct xp_diags *d;
	char release[128];
	char moddir[4096];
	struct mod *mods;
	size_t n_mods;
	struct xp_buf order; /* the modules to load, one path a line, dependencies first */
	size_t n_order;
	struct archive *a;
	char **dirs; /* directories already in the archive */
	size_t n_dirs;
	char **libs; /* libraries already in it */
	size_t n_libs;
	bool sanitized; /* libasan or libubsan among them */
	/* key mode (xp_installer_key): what would go into the archive goes into this hash
	 * instead, a host file by its identity (key_add), nothing written */
	struct xp_sha256 *key;
};

static int key_add(struct xp_sha256 *h, const char *what, const char *path, struct xp_diags *d);

static void build_release(struct build *b)
{
	for (size_t i = 0; i < b->n_mods; i++) {
		free(b->mods[i].path);
		free(b->mods[i].deps);
	}
	free(b->mods);
	for (size_t i = 0; i < b->n_dirs; i++)
		free(b->dirs[i]);
	free(b->dirs);
	for (size_t i = 0; i < b->n_libs; i++)
		free(b->libs[i]);
	free(b->libs);
	xp_buf_release(&b->order);
}

/* The newest /boot/vmlinuz-* by version order, into path. */
static int newest_kernel(struct build *b, char *path, size_t size)
{
	DIR *dir = opendir("/boot");
	char best[256] = "";
	struct dirent *e;
	while (dir && (e = readdir(dir)))
		if (strncmp(e->d_name, "vmlinuz-", 8) == 0 && strlen(e->d_name) < sizeof(best) &&
		    (!best[0] || strverscmp(e->d_name, best) > 0))
			strcpy(best, e->d_name);
	if (dir)
		closedir(dir);
	if (!best[0])
		return xp_diags_fail(b->d, -ENOENT, "/boot", NULL, "name one with --kernel PATH",
				     "no kernel /boot/vmlinuz-* on this host");
	snprintf(path, size, "/boot/%s", best);
	return 0;
}

/* "virtio-net" and "virtio_net" are one module; the name of a path is its last
 * component without ".ko" and any compression suffix. */
static void mod_name(const char *path, char *out, size_t size)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t n = strcspn(base, ".");
	snprintf(out, size, "%.*s", (int)n, base);
	for (char *p = out; *p; p++)
		if (*p == '-')
			*p = '_';
}

static int read_dep(struct build *b)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/modules.dep", b->moddir);
	FILE *f = fopen(path, "re");
	if (!f)
		return xp_diags_fail(b->d, -errno, path, NULL, "install the kernel's modules",
				     "cannot read the modules of kernel %s", b->release);
	char *line = NULL;
	size_t cap = 0, room = 0;
	int r = 0;
	while (r == 0 && getline(&line, &cap, f) > 0) {
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		line[strcspn(colon + 1, "\n") + (size_t)(colon + 1 - line)] = '\0';
		if (xp_grow(&b->mods, &room, b->n_mods, sizeof(*b->mods), 1024) < 0) {
			r = -ENOMEM;
			break;
		}
		struct mod *m = &b->mods[b->n_mods];
		*m = (struct mod){strdup(line), strdup(colon + 1), false};
		if (!m->path || !m->deps) {
			free(m->path);
			free(m->deps);
			r = -ENOMEM;
			break;
		}
		b->n_mods++;
	}
	free(line);
	fclose(f);
	return r;
}

static struct mod *find_mod(struct build *b, const char *name_or_path, bool by_path)
{
	char want[256], got[256];
	mod_name(name_or_path, want, sizeof(want));
	for (size_t i = 0; i < b->n_mods; i++) {
		if (by_path) {
			if (strcmp(b->mods[i].path, name_or_path) == 0)
				return &b->mods[i];
			continue;
		}
		mod_name(b->mods[i].path, got, sizeof(got));
		if (strcmp(want, got) == 0)
			return &b->mods[i];
	}
	return NULL;
}

/* Whether modules.builtin names it: built into the kernel, nothing to load. */
static bool builtin(struct build *b, const char *name)
{
	char path[4200], want[256], got[256];
	snprintf(path, sizeof(path), "%s/modules.builtin", b->moddir);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	mod_name(name, want, sizeof(want));
	char line[512];
	bool found = false;
	while (!found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		mod_name(line, got, sizeof(got));
		found = strcmp(want, got) == 0;
	}
	fclose(f);
	return found;
}

/* m and its dependencies, these first, into the load order (depth bounded: modules.dep
 * lists every dependency, transitively, on each line, so one level suffices; the
 * recursion only orders them). */
static int add_mod(struct build *b, struct mod *m, int depth)
{
	if (m->added)
		return 0;
	if (depth > 64)
		return xp_diags_fail(b->d, -ELOOP, NULL, NULL, NULL,
				     "modules.dep: a dependency loop at %s", m->path);
	m->added = true;
	char *deps = strdup(m->deps), *save = NULL;
	if (!deps)
		return -ENOMEM;
	int r = 0;
	for (char *t = strtok_r(deps, " \t", &save); r == 0 && t;
	     t = strtok_r(NULL, " \t", &save)) {
		struct mod *dm = find_mod(b, t, true);
		if (!dm)
			r = xp_diags_fail(b->d, -ENOENT, NULL, NULL, NULL,
					  "modules.dep: %s needs %s, which it does not list",
					  m->path, t);
		else
			r = add_mod(b, dm, depth + 1);
	}
	free(deps);
	if (r == 0) {
		xp_buf_addf(&b->order, "%s/%s\n", b->release, m->path);
		b->n_order++;
		r = xp_buf_error(&b->order);
	}
	return r;
}

static int want_mod(struct build *b, const char *name, bool required)
{
	struct mod *m = find_mod(b, name, false);
	if (m)
		return add_mod(b, m, 0);
	if (builtin(b, name) || !required)
		return 0;
	return xp_diags_fail(b->d, -ENOENT, NULL, NULL,
			     "names as in modules.dep, without .ko ('-' and '_' alike)",
			     "kernel %s has no module '%s'", b->release, name);
}

static int ar_error(struct build *b, const char *what)
{
	return xp_diags_fail(b->d, -EIO, NULL, NULL, NULL, "cannot write the initramfs (%s): %s",
			     what, archive_error_string(b->a));
}

/* Every directory above path (no leading '/'), once each. */
static int parents(struct build *b, const char *path)
{
	char dir[4096];
	for (const char *s = strchr(path, '/'); s; s = strchr(s + 1, '/')) {
		size_t n = (size_t)(s - path);
		if (n >= sizeof(dir))
			return -ENAMETOOLONG;
		memcpy(dir, path, n);
		dir[n] = '\0';
		bool seen = false;
		for (size_t i = 0; !seen && i < b->n_dirs; i++)
			seen = strcmp(b->dirs[i], dir) == 0;
		if (seen)
			continue;
		char **nv = realloc(b->dirs, (b->n_dirs + 1) * sizeof(*nv));
		if (!nv || !(nv[b->n_dirs] = strdup(dir))) {
			if (nv)
				b->dirs = nv;
			return -ENOMEM;
		}
		b->dirs = nv;
		b->n_dirs++;
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, dir);
		archive_entry_set_filetype(e, AE_IFDIR);
		archive_entry_set_perm(e, 0755);
		archive_entry_set_size(e, 0);
		int r = archive_write_header(b->a, e) == ARCHIVE_OK ? 0 : ar_error(b, dir);
		archive_entry_free(e);
		if (r < 0)
			return r;
	}
	return 0;
}

/* A regular file at path (no leading '/') with data, or the contents of host file src. */
static int put_file(struct build *b, const char *path, const char *src, const void *data,
		    size_t len, mode_t perm)
{
	if (b->key && src)
		return key_add(b->key, path, src, b->d);
	if (b->key) { /* our own text (/init, the module list): its bytes */
		char head[4200];
		int n = snprintf(head, sizeof(head), "%s %zu %o\n", path, len, (unsigned)perm);
		int r = xp_sha256_add(b->key, head,
				      (size_t)n < sizeof(head) ? (size_t)n : sizeof(head) - 1);
		return r < 0 ? r : xp_sha256_add(b->key, data, len);
	}
	int r = parents(b, path);
	if (r < 0)
		return r;
	int fd = -1;
	struct stat st = {0};
	if (src) {
		if ((fd = open(src, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
			r = -errno;
			if (fd >= 0)
				close(fd);
			return xp_diags_fail(b->d, r, src, NULL, NULL, "cannot read it: %s",
					     strerror(-r));
		}
		len = (size_t)st.st_size;
		perm = st.st_mode & 0755;
	}
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, perm);
	archive_entry_set_size(e, (la_int64_t)len);
	if (archive_write_header(b->a, e) != ARCHIVE_OK)
		r = ar_error(b, path);
	archive_entry_free(e);
	if (r == 0 && !src && len && archive_write_data(b->a, data, len) < 0)
		r = ar_error(b, path);
	char buf[65536];
	size_t done = 0;
	while (r == 0 && src && done < len) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0) {
			r = xp_diags_fail(b->d, n < 0 ? -errno : -EIO, src, NULL, NULL,
					  "cannot read it (or it shrank)");
			break;
		}
		if (archive_write_data(b->a, buf, (size_t)n) < 0)
			r = ar_error(b, path);
		done += (size_t)n;
	}
	if (fd >= 0)
		close(fd);
	return r;
}

/* Whether the ELF file at path has no PT_INTERP (static). 1, 0 or -errno. */
static int elf_static(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	Elf64_Ehdr eh;
	int r = -EINVAL;
	if (pread(fd, &eh, sizeof(eh), 0) == (ssize_t)sizeof(eh) &&
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 && eh.e_ident[EI_CLASS] == ELFCLASS64 &&
	    eh.e_phentsize == sizeof(Elf64_Phdr) && eh.e_phnum < 256) {
		r = 1;
		for (unsigned i = 0; i < eh.e_phnum; i++) {
			Elf64_Phdr ph;
			if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) !=
			    (ssize_t)sizeof(ph)) {
				r = -EINVAL;
				break;
			}
			if (ph.p_type == PT_INTERP)
				r = 0;
		}
	}
	close(fd);
	return r;
}

/* The libraries ldd(1) names for the program or library src, at their own paths (each
 * once: b->libs). */
static int put_libs(struct build *b, const char *src, size_t *n_libs)
{
	struct xp_buf out = XP_BUF_INIT, err = XP_BUF_INIT;
	char *argv[] = {"ldd", (char *)src, NULL};
	int r = xp_spawn_capture(argv, &out, 1 << 20, &err);
	if (r != 0) {
		r = xp_diags_fail(b->d, r < 0 ? r : -EIO, src, NULL, NULL,
				  "ldd cannot list its libraries%s%s", err.len ? ": " : "",
				  err.len ? xp_buf_str(&err) : "");
		goto out;
	}
	/* "\tlibz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x...)", "\t/lib64/ld-linux...
	 * (0x...)", "\tlinux-vdso.so.1 (0x...)" (the kernel's: nothing to copy) */
	char *save = NULL;
	for (char *l = strtok_r((char *)xp_buf_str(&out), "\n", &save); r == 0 && l;
	     l = strtok_r(NULL, "\n", &save)) {
		char *arrow = strstr(l, "=> "), *p = arrow ? arrow + 3 : l;
		p += strspn(p, " \t");
		if (*p != '/')
			continue;
		p[strcspn(p, " (")] = '\0';
		bool have = false;
		for (size_t i = 0; i < b->n_libs && !have; i++)
			have = strcmp(b->libs[i], p) == 0;
		if (have)
			continue;
		char **v = realloc(b->libs, (b->n_libs + 1) * sizeof(*v));
		if (!v || !(v[b->n_libs] = strdup(p))) {
			if (v)
				b->libs = v;
			r = -ENOMEM;
			break;
		}
		b->libs = v;
		b->n_libs++;
		b->sanitized |= strstr(p, "/libasan.") || strstr(p, "/libubsan.");
		r = put_file(b, p + 1, p, NULL, 0, 0);
		if (r == 0)
			(*n_libs)++;
	}
out:
	xp_buf_release(&out);
	xp_buf_release(&err);
	return r;
}

/* The libraries xenprov loads at first use (dlopen: ldd does not name them) that
 * `installer run` needs: libcurl for its talk with the server, libext2fs and libfdisk
 * for the disk it writes (util/shim-*.c). Not libarchive (it writes an image the
 * server built, no archive), SQLite (no inventory), libpq or libmicrohttpd. */
static const struct {
	const char *soname, *package;
} installer_dlopened[] = {
    {XP_LIBCURL_SONAME, "libcurl4"},
    {XP_LIBEXT2FS_SONAME, "libext2fs2"},
    {XP_LIBFDISK_SONAME, "libfdisk1"},
};

/* One of installer_dlopened at the path the loader finds it by (its soname's link),
 * with what ldd names for it; file: where it is (NULL: where the dynamic loader finds
 * soname). */
static int put_dlopened(struct build *b, const char *soname, const char *package, const char *file,
			size_t *n_libs)
{
	void *so = !file ? dlopen(soname, RTLD_NOW | RTLD_LOCAL) : NULL;
	struct link_map *lm = NULL;
	if (!file && (!so || dlinfo(so, RTLD_DI_LINKMAP, &lm) < 0 || !lm || !lm->l_name ||
		      lm->l_name[0] != '/')) {
		if (so)
			dlclose(so);
		char hint[64];
		snprintf(hint, sizeof(hint), "install %s", package);
		return xp_diags_fail(b->d, -ENOENT, soname, NULL, hint,
				     "cannot find %s, which the installer needs", soname);
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s", file ? file : lm->l_name);
	char *canon = realpath(path, NULL);
	int r = put_libs(b, path, n_libs);
	/* ldd names the library's dependencies, not the library: it goes in at the path
	 * the loader finds it by (its soname's link) */
	bool have = false;
	for (size_t i = 0; r == 0 && i < b->n_libs && !have; i++)
		have = strcmp(b->libs[i], path) == 0;
	if (r == 0 && !have) {
		r = put_file(b, path + 1, canon ? canon : path, NULL, 0, 0);
		if (r == 0)
			(*n_libs)++;
	}
	free(canon);
	if (so)
		dlclose(so);
	return r;
}

/* xenprov at bin/xenprov, the libraries ldd(1) names at their own paths, and those it
 * loads at first use that `installer run` needs (installer_dlopened). */
static int put_self(struct build *b, size_t *n_libs)
{
	char self[4096];
	const char *src = b->o->self;
	if (!src) {
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n < 0)
			return xp_diags_fail(b->d, -errno, "/proc/self/exe", NULL, NULL,
					     "cannot tell which program this is");
		self[n] = '\0';
		src = self;
	}
	int r = put_file(b, "bin/xenprov", src, NULL, 0, 0);
	if (r == 0)
		r = put_libs(b, src, n_libs);
	for (size_t i = 0; r == 0 && i < sizeof(installer_dlopened) / sizeof(*installer_dlopened);
	     i++)
		r = put_dlopened(b, installer_dlopened[i].soname, installer_dlopened[i].package,
				 i == 0 ? b->o->libcurl : NULL, n_libs);
	return r;
}

/* e2fsck and resize2fs at sbin/, with what ldd names: `installer run` grows the root
 * filesystem with them, as image-grow.c grows a guest's (busybox has neither). */
static int put_e2fsprogs(struct build *b, size_t *n_libs)
{
	static const char *const tools[] = {"e2fsck", "resize2fs"};
	int r = 0;
	for (size_t i = 0; r == 0 && i < sizeof(tools) / sizeof(*tools); i++) {
		char src[4200] = "", dst[32];
		const char *dirs[] = {b->o->sbin ? b->o->sbin : "/usr/sbin", "/sbin"};
		for (size_t k = 0; !src[0] && k < (b->o->sbin ? 1u : 2u); k++) {
			snprintf(src, sizeof(src), "%s/%s", dirs[k], tools[i]);
			if (access(src, X_OK) < 0)
				src[0] = '\0';
		}
		if (!src[0])
			return xp_diags_fail(b->d, -ENOENT, tools[i], NULL, "install e2fsprogs",
					     "%s, which the installer grows the root with, is not "
					     "on this machine",
					     tools[i]);
		snprintf(dst, sizeof(dst), "sbin/%s", tools[i]);
		r = put_file(b, dst, src, NULL, 0, 0);
		if (r == 0)
			r = put_libs(b, src, n_libs);
	}
	return r;
}

static int put_console(struct build *b)
{
	if (b->key)
		return 0; /* the same node in every build */
	int r = parents(b, "dev/console");
	if (r < 0)
		return r;
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, "dev/console");
	archive_entry_set_filetype(e, AE_IFCHR);
	archive_entry_set_perm(e, 0600);
	archive_entry_set_rdev(e, makedev(5, 1));
	archive_entry_set_size(e, 0);
	r = archive_write_header(b->a, e) == ARCHIVE_OK ? 0 : ar_error(b, "dev/console");
	archive_entry_free(e);
	return r;
}

/* Everything the initramfs holds, in its order: into the archive, or in key mode into
 * the key (the same calls, so that the key covers exactly what a build copies). */
static int put_all(struct build *b, struct xp_installer_result *res)
{
	int r = put_console(b);
	if (r == 0)
		r = put_file(b, "init", NULL, xp__installer_init, strlen(xp__installer_init), 0755);
	if (r == 0)
		r = put_file(b, "etc/xenprov/udhcpc.sh", NULL, xp__installer_udhcpc,
			     strlen(xp__installer_udhcpc), 0755);
	if (r == 0)
		r = put_file(b, "etc/xenprov/modules", NULL, xp_buf_str(&b->order), b->order.len,
			     0644);
	if (r == 0)
		r = put_file(b, "bin/busybox", b->o->busybox ? b->o->busybox : "/bin/busybox", NULL,
			     0, 0);
	if (r == 0)
		r = put_self(b, &res->n_libs);
	if (r == 0)
		r = put_e2fsprogs(b, &res->n_libs);
	/* the modules, at lib/modules/RELEASE/PATH as the order names them */
	char *list = strdup(xp_buf_str(&b->order)), *save = NULL;
	if (!list && r == 0)
		r = -ENOMEM;
	for (char *l = list ? strtok_r(list, "\n", &save) : NULL; r == 0 && l;
	     l = strtok_r(NULL, "\n", &save)) {
		char src[8400], dst[4400];
		snprintf(src, sizeof(src), "%s/%s", b->moddir, strchr(l, '/') + 1);
		snprintf(dst, sizeof(dst), "lib/modules/%s", l);
		r = put_file(b, dst, src, NULL, 0, 0);
	}
	free(list);
	return r;
}

static int write_initrd(struct build *b, int fd, struct xp_installer_result *res)
{
	b->a = archive_write_new();
	if (!b->a)
		return -ENOMEM;
	int r = 0;
	if (archive_write_set_format_cpio_newc(b->a) != ARCHIVE_OK ||
	    archive_write_add_filter_gzip(b->a) != ARCHIVE_OK ||
	    archive_write_open_fd(b->a, fd) != ARCHIVE_OK)
		r = ar_error(b, "open");
	if (r == 0)
		r = put_all(b, res);
	if (r == 0 && archive_write_close(b->a) != ARCHIVE_OK)
		r = ar_error(b, "close");
	archive_write_free(b->a);
	b->a = NULL;
	return r;
}

/* The kernel, copied to outdir/kernel atomically. */
static int put_kernel(struct build *b, const char *kernel, const char *outdir)
{
	char *k = NULL;
	size_t len = 0;
	int r = xp_read_file(kernel, 256u << 20, &k, &len);
	if (r < 0)
		return xp_diags_fail(b->d, r, kernel, NULL, NULL, "cannot read the kernel: %s",
				     strerror(-r));
	char path[4200];
	snprintf(path, sizeof(path), "%s/kernel", outdir);
	r = xp_write_atomic(path, k, len, 0644);
	free(k);
	if (r < 0)
		return xp_diags_fail(b->d, r, path, NULL, NULL, "cannot write it: %s",
				     strerror(-r));
	return 0;
}

/* What a build and its key both start from: the kernel (into kernel), its release and
 * modules directory, busybox checked, and the modules to load in their order. */
static int plan(struct build *b, char *kernel, size_t size)
{
	const struct xp_installer_opts *o = b->o;
	struct xp_diags *d = b->d;
	int r = 0;
	if (o->kernel)
		snprintf(kernel, size, "%s", o->kernel);
	else if ((r = newest_kernel(b, kernel, size)) < 0)
		return r;
	const char *base = strrchr(kernel, '/');
	base = base ? base + 1 : kernel;
	if (strncmp(base, "vmlinuz-", 8) != 0 || !base[8] || strlen(base + 8) >= sizeof(b->release))
		return xp_diags_fail(d, -EINVAL, kernel, NULL,
				     "give a kernel named vmlinuz-RELEASE, its modules in "
				     "/lib/modules/RELEASE",
				     "cannot tell the kernel's release from its name");
	snprintf(b->release, sizeof(b->release), "%s", base + 8);
	snprintf(b->moddir, sizeof(b->moddir), "%s/%s",
		 o->modules_root ? o->modules_root : "/lib/modules", b->release);
	const char *bb = o->busybox ? o->busybox : "/bin/busybox";
	int st = elf_static(bb);
	if (st < 0)
		return xp_diags_fail(d, st, bb, NULL, "install busybox-static",
				     "no usable busybox: %s", strerror(-st));
	if (st == 0)
		return xp_diags_fail(d, -EINVAL, bb, NULL, "install busybox-static",
				     "busybox is not a static program");
	static const char *const standard[] = {XP_INSTALLER_MODULES};
	if ((r = read_dep(b)) < 0)
		return r;
	for (size_t i = 0; r == 0 && i < sizeof(standard) / sizeof(*standard); i++)
		r = want_mod(b, standard[i], false);
	for (size_t i = 0; r == 0 && i < o->n_extra; i++)
		r = want_mod(b, o->extra[i], true);
	return r;
}

int xp_installer_build(const struct xp_installer_opts *o, const char *outdir,
		       struct xp_installer_result *res, struct xp_diags *d)
{
	memset(res, 0, sizeof(*res));
	struct build b = {.o = o, .d = d, .order = XP_BUF_INIT};
	char kernel[4096];
	int r = plan(&b, kernel, sizeof(kernel));
	if (r < 0)
		goto out;
	if (mkdir(outdir, 0755) < 0 && errno != EEXIST) {
		r = xp_diags_fail(d, -errno, outdir, NULL, NULL, "cannot make the directory: %s",
				  strerror(errno));
		goto out;
	}
	if ((r = put_kernel(&b, kernel, outdir)) < 0)
		goto out;
	char tmp[4200], final[4200];
	snprintf(tmp, sizeof(tmp), "%s/.initrd.XXXXXX", outdir);
	snprintf(final, sizeof(final), "%s/initrd", outdir);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		r = xp_diags_fail(d, -errno, outdir, NULL, NULL, "cannot write in it: %s",
				  strerror(errno));
		goto out;
	}
	r = write_initrd(&b, fd, res);
	res->sanitized = b.sanitized;
	struct stat sb;
	if (r == 0 && (fchmod(fd, 0644) < 0 || fsync(fd) < 0 || fstat(fd, &sb) < 0))
		r = xp_diags_fail(d, -errno, tmp, NULL, NULL, "cannot write it: %s",
				  strerror(errno));
	close(fd);
	if (r == 0 && rename(tmp, final) < 0)
		r = xp_diags_fail(d, -errno, final, NULL, NULL, "cannot write it: %s",
				  strerror(errno));
	if (r < 0) {
		unlink(tmp);
		goto out;
	}
	snprintf(res->release, sizeof(res->release), "%s", b.release);
	res->n_modules = b.n_order;
	res->initrd_size = (unsigned long long)sb.st_size;
out:
	build_release(&b);
	return r;
}

/* ---- the key of a cache of built installers ------------------------------------------- */

/* A host file's identity, for the key: the name it has in the build (what), its path,
 * device, inode, size, and modification and change times (a package's update replaces
 * the file or rewrites it: either moves one of them). */
static int key_add(struct xp_sha256 *h, const char *what, const char *path, struct xp_diags *d)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return xp_diags_fail(d, -errno, path, NULL, NULL, "cannot read it (%s): %s", what,
				     strerror(errno));
	char line[8400];
	int n = snprintf(line, sizeof(line), "%s %s %llu %llu %lld %lld.%09ld %lld.%09ld\n", what,
			 path, (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
			 (long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
			 (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
	return xp_sha256_add(h, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

int xp_installer_key(const struct xp_installer_opts *o, char key[17], char *kernel,
		     size_t kernel_size, struct xp_diags *d)
{
	struct build b = {.o = o, .d = d, .order = XP_BUF_INIT};
	struct xp_installer_result res = {0};
	char dep[4200];
	unsigned char dg[32];
	char hex[65];
	int r = xp_sha256_new(&b.key);
	if (r < 0)
		return r;
	if ((r = plan(&b, kernel, kernel_size)) < 0)
		goto out;
	snprintf(dep, sizeof(dep), "%s/modules.dep", b.moddir);
	/* the kernel copied beside the initramfs, modules.dep (the module order, hashed
	 * below with the rest, follows from it), then the initramfs's files */
	if ((r = key_add(b.key, "kernel", kernel, d)) == 0 &&
	    (r = key_add(b.key, "modules", dep, d)) == 0 && (r = put_all(&b, &res)) == 0 &&
	    (r = xp_sha256_final(b.key, dg)) == 0) {
		xp_sha256_hex(dg, hex);
		memcpy(key, hex, 16);
		key[16] = '\0';
	}
out:
	xp_sha256_free(b.key);
	build_release(&b);
	return r;
}
