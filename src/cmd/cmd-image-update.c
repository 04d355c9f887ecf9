/*
 * cmd-image-update.c - `xenprov image diff` (two versions of a captured image, or two
 * directories) and `image update` (guests brought to another version: stopped ones
 * offline through libext2fs, running ones with rsync over ssh). Thin: the difference is
 * src/lib/image/tree-diff.c's, the offline update guest-update.c's (xenprov/imgdiff.h).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli-inventory.h"
#include "cli.h"
#include "xenprov/drift.h"
#include "xenprov/guest.h"
#include "xenprov/imgdiff.h"
#include "xenprov/imgstore.h"
#include "xenprov/inventory.h"
#include "xenprov/toolstack.h"

/* ---- a tree named on the command line ------------------------------------------------- */

/* NAME@V / NAME in the image store, or a directory (an operand with '/' or one that is
 * a directory). */
struct tree {
	char *label; /* as given, or NAME@V */
	char *root;
	struct xp_imgver ref; /* version 0 for a directory */
};

static void tree_release(struct tree *t)
{
	free(t->label);
	free(t->root);
	xp_imgver_release(&t->ref);
	memset(t, 0, sizeof(*t));
}

/* t from spec: 0, or the exit code of a failure (said), t then empty. */
static int tree_open(const char *cmd, const char *state_dir, const char *spec, struct tree *t)
{
	memset(t, 0, sizeof(*t));
	struct stat st;
	if (strchr(spec, '/') || (stat(spec, &st) == 0 && S_ISDIR(st.st_mode))) {
		if (stat(spec, &st) < 0)
			return cli_error("cannot open '%s': %s", spec, strerror(errno));
		if (!S_ISDIR(st.st_mode))
			return cli_error("'%s' is not a directory", spec);
		t->label = strdup(spec);
		t->root = strdup(spec);
		if (t->label && t->root)
			return 0;
		tree_release(t);
		return cli_error("out of memory");
	}
	/* only an operand that is no reference is a usage error: a reference that fails
	 * to resolve, or a lazy version whose checkout fails, says why in its own words */
	char name[XP_IMGVER_NAME_MAX + 1];
	unsigned version;
	if (xp_imgver_parse_ref(spec, name, &version, NULL) < 0)
		return cli_usage_error(cmd, "'%s' is neither NAME, NAME@V nor a directory", spec);
	struct xp_diags d;
	xp_diags_init(&d);
	int r = xp_imgver_resolve(state_dir, spec, &t->ref, &d);
	const char *root = NULL;
	/* a lazy version is checked out here, its first reader */
	if (r == 0)
		r = xp_imgver_root(state_dir, &t->ref, &root, &d);
	int rc = 0;
	if (r < 0 && d.n) {
		cli_print_messages(&d);
		rc = XP_EXIT_FAIL;
	} else if (r < 0) {
		rc = cli_error("%s: %s", spec, strerror(-r));
	}
	xp_diags_release(&d);
	if (!rc && (asprintf(&t->label, "%s@%u", t->ref.name, t->ref.version) < 0 ||
		    !(t->root = strdup(root)))) {
		t->label = NULL;
		rc = cli_error("out of memory");
	}
	if (rc)
		tree_release(t); /* the caller has nothing to release */
	return rc;
}

/* ---- diff ----------------------------------------------------------------------------- */

static json_t *side_json(const struct xp_tstat *s)
{
	if (!s->mode)
		return json_null();
	char type[2] = {xp_tdiff_type_char(s->mode), 0}, mode[8];
	snprintf(mode, sizeof(mode), "%04o", (unsigned)(s->mode & 07777));
	json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "type", type, "mode", mode, "uid",
			      (json_int_t)s->uid, "gid", (json_int_t)s->gid, "size",
			      (json_int_t)s->size, "mtime", (json_int_t)s->mtime);
	if (o && s->target)
		json_object_set_new(o, "target", json_string(s->target));
	if (o && (S_ISCHR(s->mode) || S_ISBLK(s->mode)))
		json_object_set_new(o, "rdev", json_integer((json_int_t)s->rdev));
	return o;
}

static json_t *what_json(unsigned what)
{
	json_t *a = json_array();
	for (unsigned b = 1; b && b <= XP_TDIFF_LINK; b <<= 1)
		if (what & b)
			json_array_append_new(a, json_string(xp_tdiff_what_name(b)));
	return a;
}

static json_t *entry_json(const struct xp_tdiff_entry *e)
{
	json_t *o = json_pack("{s:s, s:s}", "path", e->path, "change", xp_tdiff_kind_name(e->kind));
	if (!o)
		return NULL;
	if (e->kind == XP_TDIFF_CHANGED)
		json_object_set_new(o, "what", what_json(e->what));
	json_object_set_new(o, "old", side_json(&e->old));
	json_object_set_new(o, "new", side_json(&e->new));
	if (e->link)
		json_object_set_new(o, "link", json_string(e->link));
	return o;
}

/* "f 0644 0:0 1234" */
static void side_text(const struct xp_tstat *s, char *out, size_t len)
{
	snprintf(out, len, "%c %04o %" PRIu32 ":%" PRIu32 " %" PRIu64, xp_tdiff_type_char(s->mode),
		 (unsigned)(s->mode & 07777), s->uid, s->gid, s->size);
}

static void print_entry(const struct xp_tdiff_entry *e)
{
	char a[96], b[96];
	if (e->kind != XP_TDIFF_CHANGED) {
		const struct xp_tstat *s = e->kind == XP_TDIFF_ADDED ? &e->new : &e->old;
		side_text(s, a, sizeof(a));
		printf("%-8s %s %s", xp_tdiff_kind_name(e->kind), a, e->path);
		if (s->target)
			printf(" -> %s", s->target);
		if (e->link)
			printf(" (hard link of %s)", e->link);
		printf("\n");
		return;
	}
	side_text(&e->new, b, sizeof(b));
	printf("changed  %s %s (", b, e->path);
	const char *sep = "";
	for (unsigned bit = 1; bit <= XP_TDIFF_LINK; bit <<= 1) {
		if (!(e->what & bit))
			continue;
		printf("%s%s", sep, xp_tdiff_what_name(bit));
		sep = ", ";
		if (bit == XP_TDIFF_TYPE)
			printf(" %c -> %c", xp_tdiff_type_char(e->old.mode),
			       xp_tdiff_type_char(e->new.mode));
		else if (bit == XP_TDIFF_MODE)
			printf(" %04o -> %04o", (unsigned)(e->old.mode & 07777),
			       (unsigned)(e->new.mode & 07777));
		else if (bit == XP_TDIFF_OWNER)
			printf(" %" PRIu32 ":%" PRIu32 " -> %" PRIu32 ":%" PRIu32, e->old.uid,
			       e->old.gid, e->new.uid, e->new.gid);
		else if (bit == XP_TDIFF_SIZE)
			printf(" %" PRIu64 " -> %" PRIu64, e->old.size, e->new.size);
		else if (bit == XP_TDIFF_TARGET)
			printf(" %s -> %s", e->old.target, e->new.target);
		else if (bit == XP_TDIFF_LINK)
			printf(" of %s", e->link);
	}
	printf(")\n");
	(void)a;
}

static const char diff_usage[] =
    "Usage: xenprov image diff [--json] NAME@A NAME@B\n"
    "       xenprov image diff [--json] DIR-A DIR-B\n"
    "\n"
    "Lists what differs between two versions of a captured image (NAME alone is its\n"
    "latest version), or between two directory trees: each path added, removed or\n"
    "changed, with its type (f d l c b p s), mode, owner, size and link target, and\n"
    "for a changed one what changed (type, mode, owner, size, content, mtime, target,\n"
    "rdev, xattr, link). Paths in pre-order, names sorted; a directory's modification\n"
    "time is not a change. Files the two versions share (one inode, as the store\n"
    "links them) are not read.\n"
    "\n"
    "  --json            JSON output: an array of {path, change, what, old, new, link}\n"
    "  --state-dir DIR   the state directory holding the image store\n"
    "  -h, --help        this help\n";

static int run_diff(int argc, char **argv)
{
	struct cli_opts co = {.takes = CLI_JSON | CLI_STATE_DIR};
	int rc = cli_parse_flags(argc, argv, "image diff", "", NULL, &co);
	if (rc)
		return rc;
	if (argc - optind != 2)
		return cli_usage_error("image diff", "expected two versions (NAME@A NAME@B)");
	char *sd = NULL;
	if ((rc = cli_state_dir(co.state_dir, &sd)))
		return rc;
	struct tree a, b;
	rc = tree_open("image diff", sd, argv[optind], &a);
	if (!rc && (rc = tree_open("image diff", sd, argv[optind + 1], &b)))
		tree_release(&a);
	free(sd);
	if (rc)
		return rc;
	struct xp_diags d;
	xp_diags_init(&d);
	struct xp_tdiff t;
	int r = xp_tdiff_trees(a.root, b.root, &t, &d);
	if (r < 0) {
		rc = d.n ? cli_error("%s", d.v[0].msg) : cli_error("cannot compare: %s", strerror(-r));
	} else if (co.json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < t.n; i++)
			json_array_append_new(arr, entry_json(&t.v[i]));
		rc = cli_print_json(arr);
	} else {
		for (size_t i = 0; i < t.n; i++)
			print_entry(&t.v[i]);
		rc = cli_flush();
	}
	xp_tdiff_release(&t);
	xp_diags_release(&d);
	tree_release(&a);
	tree_release(&b);
	return rc;
}

/* ---- update --------------------------------------------------------------------------- */

/* One guest's update. */
struct job {
	struct xp_domain dom;
	struct tree from;
	const struct xp_tdiff *diff; /* shared by the guests of one from-version */
	enum xp_power power;
	struct xp_gupd_plan plan;
	struct xp_diags d;
	int result; /* 0 done, -errno */
	bool online;
	char *rsync_out; /* a running guest's conflicts / what rsync said */
};

/* The differences, one per distinct from-version. */
struct diffs {
	char **roots;
	struct xp_tdiff *v;
	size_t n;
};

struct run {
	struct job *jobs;
	size_t n, next, done;
	const struct tree *to;
	bool dry_run, override;
	const char *ssh_user, *ssh_key, *ssh_command;
	pthread_mutex_t lock;
	struct cli_progress progress;
};

/* What rsync is given for a running guest, each a temporary file of NUL-terminated
 * items (--from0: a file name may hold a newline):
 *  - checked, pushed: every path of the diff but the guest's own, for --files-from of
 *    the check from the old version and of the push from the new;
 *  - rules: the filter rules of the push: "R /PATH" (risk: may be deleted) for each
 *    path the update removes or replaces, then "P *": nothing else is deleted, so a
 *    directory the new version drops keeps the guest's own files and what the guest
 *    made in it (rsync --force deletes a directory's content only as far as the
 *    filter rules allow, and leaves a directory that is not empty);
 *  - dropped: the directories the new version drops (the topmost), for the check of
 *    what the guest made in them. */
struct lists {
	char checked[64], pushed[64], rules[64], dropped[64];
	size_t ndropped;
};

static void lists_remove(struct lists *l)
{
	const char *v[] = {l->checked, l->pushed, l->rules, l->dropped};
	for (size_t i = 0; i < 4; i++)
		if (*v[i])
			unlink(v[i]);
}

static int write_tmp(const struct xp_buf *b, char *path_out, size_t len)
{
	snprintf(path_out, len, "/tmp/xenprov-update.XXXXXX");
	int fd = mkstemp(path_out);
	if (fd < 0) {
		*path_out = 0;
		return -errno;
	}
	int r = xp_buf_error(b);
	if (r == 0)
		r = xp_write_full(fd, b->s ? b->s : "", b->len);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

/* path as an rsync filter pattern anchored at the transfer's top: literal, unless it
 * holds a wildcard character, then with each of "*?[\" escaped (rsync(1), PATTERN
 * MATCHING RULES: a backslash escapes only in a pattern with wildcards). */
static void add_rule(struct xp_buf *b, char kind, const char *path)
{
	xp_buf_addf(b, "%c ", kind);
	bool wild = strpbrk(path, "*?[") != NULL;
	for (const char *p = path; *p; p++) {
		if (wild && strchr("*?[\\", *p))
			xp_buf_addc(b, '\\');
		xp_buf_addc(b, *p);
	}
	xp_buf_addc(b, 0);
}

static bool is_below(const char *path, const char *dir, size_t dir_len)
{
	return dir && strncmp(path, dir, dir_len) == 0 && path[dir_len] == '/';
}

static int write_lists(const struct xp_tdiff *diff, struct lists *l)
{
	memset(l, 0, sizeof(*l));
	struct xp_buf checked, pushed, rules, dropped;
	xp_buf_init(&checked);
	xp_buf_init(&pushed);
	xp_buf_init(&rules);
	xp_buf_init(&dropped);
	/* a path below a directory one side lacks is not listed for that side: rsync
	 * would take the directory rsync -R implies for it as a file that vanished */
	const char *gone = NULL, *added = NULL;
	size_t gone_len = 0, added_len = 0;
	for (size_t i = 0; i < diff->n; i++) {
		const struct xp_tdiff_entry *e = &diff->v[i];
		if (xp_guest_own_path(e->path))
			continue;
		bool below_gone = is_below(e->path, gone, gone_len);
		bool below_added = is_below(e->path, added, added_len);
		if (!below_added)
			xp_buf_add(&checked, e->path + 1, strlen(e->path));
		if (!below_gone)
			xp_buf_add(&pushed, e->path + 1, strlen(e->path));
		bool replaced = e->kind == XP_TDIFF_REMOVED || (e->what & XP_TDIFF_TYPE);
		if (replaced)
			add_rule(&rules, 'R', e->path);
		if (replaced && S_ISDIR(e->old.mode) && !below_gone) {
			gone = e->path;
			gone_len = strlen(gone);
			xp_buf_add(&dropped, e->path + 1, strlen(e->path));
			l->ndropped++;
		}
		if ((e->kind == XP_TDIFF_ADDED || (e->what & XP_TDIFF_TYPE)) &&
		    S_ISDIR(e->new.mode) && !below_added) {
			added = e->path;
			added_len = strlen(added);
		}
	}
	xp_buf_adds(&rules, "P *");
	xp_buf_addc(&rules, 0);
	int r = write_tmp(&checked, l->checked, sizeof(l->checked));
	if (r == 0)
		r = write_tmp(&pushed, l->pushed, sizeof(l->pushed));
	if (r == 0)
		r = write_tmp(&rules, l->rules, sizeof(l->rules));
	if (r == 0 && l->ndropped)
		r = write_tmp(&dropped, l->dropped, sizeof(l->dropped));
	xp_buf_release(&checked);
	xp_buf_release(&pushed);
	xp_buf_release(&rules);
	xp_buf_release(&dropped);
	if (r < 0)
		lists_remove(l);
	return r;
}

/* rsync ssh --from0 FLAGS... --files-from=LIST ROOT/ DEST: the paths of list, from
 * the version at root, to the guest. */
static void guest_rsync(struct xp_argv *a, const char *ssh, const char *const *flags,
			const char *list, const char *root, const char *dest)
{
	xp_argv_release(a);
	xp_argv_rsync(a, ssh, false);
	/* first: rsync reads a merge file (--filter) as it parses its option */
	xp_argv_add(a, "--from0");
	for (; *flags; flags++)
		xp_argv_add(a, "%s", *flags);
	xp_argv_add(a, "--files-from=%s", list);
	xp_argv_add(a, "%s/", root);
	xp_argv_add(a, "%s", dest);
}

/* Runs rsync argv (a dry run) for the conflict check: its standard output read as data,
 * its standard error (ssh's warnings among it) kept apart for the diagnostic. */
static int check_run(struct job *j, struct xp_argv *a, struct xp_buf *out)
{
	if (a->err)
		return -ENOMEM;
	struct xp_buf err;
	xp_buf_init(&err);
	xp_buf_truncate(out, 0);
	int st = xp_spawn_capture(a->v, out, 64u << 20, &err);
	int r = 0;
	if (st != 0)
		r = xp_diags_fail(&j->d, -EIO, NULL, "rsync", NULL, "%s: rsync failed (%d): %s",
				  j->dom.name, st,
				  xp_buf_str(&err)[0] ? xp_buf_str(&err) : xp_buf_str(out));
	xp_buf_release(&err);
	return r;
}

/* The next line of *p (without its newline) in *line, *len; false at the end. */
static bool next_line(const char **p, const char **line, size_t *len)
{
	if (!**p)
		return false;
	const char *nl = strchr(*p, '\n');
	*line = *p;
	*len = nl ? (size_t)(nl - *p) : strlen(*p);
	*p += *len + (nl != NULL);
	return true;
}

/* rsync over ssh to the running guest: first, with --checksum and --dry-run from the
 * old version, which of the paths the guest has otherwise than the old version, and
 * what the guest made itself in the directories the new version drops (conflicts);
 * then the delta from the new version, --delete-missing-args removing what it no
 * longer has but the guest's own files. */
static int update_online(struct run *run, struct job *j)
{
	if (!j->dom.ip)
		return xp_diags_fail(&j->d, -EINVAL, NULL, "no-address", NULL,
				     "%s: no recorded address to reach it by ssh", j->dom.name);
	/* rsync's remote shell: ssh without prompts (guests are updated in parallel) */
	char *ssh = NULL;
	if (asprintf(&ssh, "%s%s%s", run->ssh_command ? run->ssh_command : "ssh -o BatchMode=yes",
		     run->ssh_key ? " -i " : "", run->ssh_key ? run->ssh_key : "") < 0)
		return -ENOMEM;
	char dest[300];
	snprintf(dest, sizeof(dest), "%s@%s:/", run->ssh_user, j->dom.ip);
	struct lists l;
	int r = write_lists(j->diff, &l);
	if (r < 0) {
		free(ssh);
		return xp_diags_fail(&j->d, r, NULL, "tmp", NULL, "cannot write a file list: %s",
				     strerror(-r));
	}
	struct xp_buf out, conflicts;
	xp_buf_init(&out);
	xp_buf_init(&conflicts);
	struct xp_argv a = {0};
	const char *line;
	size_t len;
	/* the paths whose content the guest has otherwise than the old version */
	static const char *const changed[] = {"--checksum", "--dry-run", "--out-format=%n",
					      "--delete-missing-args", NULL};
	guest_rsync(&a, ssh, changed, l.checked, j->from.root, dest);
	if ((r = check_run(j, &a, &out)) < 0)
		goto done;
	for (const char *p = xp_buf_str(&out); next_line(&p, &line, &len);)
		if (len && !(len == 2 && strncmp(line, "./", 2) == 0) && line[len - 1] != '/')
			xp_buf_addf(&conflicts, "%.*s\n", (int)len, line);
	/* what the guest made in the directories the new version drops: what rsync would
	 * delete there to make them the old version's (not the guest's own files) */
	static const char *const made[] = {"--recursive", "--delete", "--existing",
					   "--ignore-existing", "--dry-run", "--out-format=%i %n",
					   NULL};
	static const char del[] = "*deleting ";
	if (l.ndropped) {
		guest_rsync(&a, ssh, made, l.dropped, j->from.root, dest);
		if ((r = check_run(j, &a, &out)) < 0)
			goto done;
	}
	for (const char *p = l.ndropped ? xp_buf_str(&out) : ""; next_line(&p, &line, &len);) {
		if (len <= sizeof(del) || strncmp(line, del, sizeof(del) - 1) != 0 ||
		    line[len - 1] == '/')
			continue;
		size_t k = sizeof(del) - 1;
		while (k < len && line[k] == ' ')
			k++;
		char *abs = NULL;
		if (asprintf(&abs, "/%.*s", (int)(len - k), line + k) < 0) {
			r = -ENOMEM;
			goto done;
		}
		if (!xp_guest_own_path(abs))
			xp_buf_addf(&conflicts, "%s\n", abs + 1);
		free(abs);
	}
	if ((r = xp_buf_error(&conflicts)) < 0)
		goto done;
	if (conflicts.len) {
		j->rsync_out = strdup(xp_buf_str(&conflicts));
		if (!run->override) {
			r = xp_diags_fail(&j->d, -EEXIST, NULL, "conflict", "--override replaces them",
					  "%s: files the guest changed itself would be overwritten",
					  j->dom.name);
			goto done;
		}
	}
	if (run->dry_run)
		goto done;
	/* rsync sends the receiver its filter rules only when it deletes (--delete-*):
	 * without, the guest's side would know no "P *". Nothing else is deleted: no
	 * directory is sent with its content (--files-from without -r) and "P *" covers
	 * what the rules do not name. */
	char filter[96];
	snprintf(filter, sizeof(filter), "--filter=merge %s", l.rules);
	const char *const push[] = {"--delete-missing-args", "--delete-during", "--force", filter,
				    NULL};
	guest_rsync(&a, ssh, push, l.pushed, run->to->root, dest);
	xp_buf_truncate(&out, 0);
	int st = a.err ? a.err : xp_spawn_wait(a.v, NULL, &out);
	if (st != 0)
		r = xp_diags_fail(&j->d, st < 0 ? st : -EIO, NULL, "rsync", NULL,
				  "%s: rsync failed (%d): %s", j->dom.name, st, xp_buf_str(&out));
done:
	xp_argv_release(&a);
	xp_buf_release(&out);
	xp_buf_release(&conflicts);
	lists_remove(&l);
	free(ssh);
	return r;
}

static void do_job(struct run *run, struct job *j)
{
	if (j->online) {
		j->result = update_online(run, j);
		return;
	}
	const char *storage = j->dom.storage ? j->dom.storage : "";
	if (strcmp(storage, "file") && strcmp(storage, "reflink") && strcmp(storage, "qcow2")) {
		j->result = xp_diags_fail(&j->d, -ENOTSUP, NULL, "storage", NULL,
					  "%s: storage '%s' is not updated offline (file, reflink "
					  "and qcow2 are)",
					  j->dom.name, storage);
		return;
	}
	j->result = xp_guest_update_plan(j->dom.disk_path, j->from.root, run->to->root, j->diff,
					 &j->plan, &j->d);
	if (j->result == 0 && !run->dry_run)
		j->result = xp_guest_update_apply(j->dom.disk_path, run->to->root, j->diff, &j->plan,
						  run->override, 0, &j->d);
}

static void *worker(void *arg)
{
	struct run *run = arg;
	for (;;) {
		pthread_mutex_lock(&run->lock);
		size_t i = run->next < run->n ? run->next++ : run->n;
		pthread_mutex_unlock(&run->lock);
		if (i == run->n)
			return NULL;
		do_job(run, &run->jobs[i]);
		pthread_mutex_lock(&run->lock);
		run->done++;
		cli_progress_draw(&run->progress, false, "xenprov: updating guests: %zu/%zu",
				  run->done, run->n);
		pthread_mutex_unlock(&run->lock);
	}
}

static json_t *plan_json(const struct job *j)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "name", j->dom.name, "from", j->from.label,
			      "power", xp_power_name(j->power), "result",
			      j->result == 0 ? "ok" : "failed");
	if (!o)
		return NULL;
	json_t *items = json_array();
	for (size_t k = 0; k < j->plan.n; k++) {
		const struct xp_gupd_item *it = &j->plan.v[k];
		if (it->action == XP_GUPD_SAME)
			continue;
		json_t *x = json_pack("{s:s, s:s}", "path", j->diff->v[it->entry].path, "action",
				      xp_gupd_action_name(it->action));
		if (x && it->why)
			json_object_set_new(x, "why", json_string(it->why));
		json_array_append_new(items, x);
	}
	json_object_set_new(o, "changes", items);
	json_object_set_new(o, "counts",
			    json_pack("{s:I, s:I, s:I, s:I, s:I}", "add", (json_int_t)j->plan.add,
				      "change", (json_int_t)j->plan.change, "remove",
				      (json_int_t)j->plan.remove, "keep", (json_int_t)j->plan.keep,
				      "conflict", (json_int_t)j->plan.conflict));
	if (j->rsync_out)
		json_object_set_new(o, "rsync", json_string(j->rsync_out));
	if (j->d.n)
		json_object_set_new(o, "diagnostics", cli_diags_json(&j->d));
	return o;
}

static void plan_text(const struct job *j, bool dry_run)
{
	printf("%s: %s -> ", j->dom.name, j->from.label);
	if (j->online)
		printf("(running: rsync over ssh)\n");
	else
		printf("%zu to add, %zu to change, %zu to remove, %zu kept (its own), %zu "
		       "conflict(s)\n",
		       j->plan.add, j->plan.change, j->plan.remove, j->plan.keep, j->plan.conflict);
	for (size_t k = 0; k < j->plan.n; k++) {
		const struct xp_gupd_item *it = &j->plan.v[k];
		if (it->action == XP_GUPD_SAME || (!dry_run && it->action != XP_GUPD_CONFLICT))
			continue;
		printf("  %-8s %s%s%s\n", xp_gupd_action_name(it->action),
		       j->diff->v[it->entry].path, it->why ? ": " : "", it->why ? it->why : "");
	}
	if (j->rsync_out && *j->rsync_out) {
		printf("  changed by the guest (rsync --checksum):\n");
		for (const char *p = j->rsync_out; *p;) {
			const char *nl = strchr(p, '\n');
			size_t len = nl ? (size_t)(nl - p) : strlen(p);
			if (len && p[len - 1] != '/')
				printf("    /%.*s\n", (int)len, p);
			p = nl ? nl + 1 : p + len;
		}
	}
}

static const char update_usage[] =
    "Usage: xenprov image update GUEST... --to NAME@V [--from NAME@V] [--dry-run]\n"
    "                            [--override] [--offline] [-j N] [--ssh-user USER]\n"
    "                            [--ssh-key FILE] [--ssh-command CMD] [--json]\n"
    "\n"
    "Brings guests made from a captured image to another version of it (si_updateclient):\n"
    "the difference between the version each guest's record names (`domain list`'s\n"
    "IMAGE) and NAME@V is applied, keeping the guest's own files (hostname, hosts,\n"
    "network configuration, fstab, machine-id, SSH host keys, shadow, resolv.conf, boot\n"
    "loader files naming its UUIDs, xenprov's units, random seeds, DHCP leases).\n"
    "A stopped guest's disk (file, reflink or qcow2 storage) is updated offline with\n"
    "libext2fs, on a copy that replaces the disk only when complete (a qcow2 overlay\n"
    "stays an overlay; its backing file is never written). A running guest gets the\n"
    "same delta with rsync over ssh to its recorded address. A file the guest changed\n"
    "itself (its content is not the old version's) is a conflict: the guest is refused,\n"
    "its conflicts listed, unless --override. The record names NAME@V after success.\n"
    "\n"
    "  --to NAME@V       the version to bring the guests to (NAME: the latest)\n"
    "  --from NAME@V     the version a guest with no recorded version was made from\n"
    "  --dry-run         print each guest's plan (what is added, changed, removed, kept,\n"
    "                    and the conflicts); change nothing\n"
    "  --override        overwrite files the guest changed itself\n"
    "  --offline         update offline even where no toolstack answers (the guest's\n"
    "                    power unknown): the operator's word that it is stopped\n"
    "  -j, --jobs N      guests updated at once, 1 to 64 (default: the number of CPUs)\n"
    "  --ssh-user USER   running guests: log in as USER (default root)\n"
    "  --ssh-key FILE    running guests: the private key (default: ssh's own)\n"
    "  --ssh-command CMD running guests: the remote shell rsync runs (default:\n"
    "                    ssh -o BatchMode=yes)\n"
    "  -q, --quiet       no progress line, no line per updated guest\n"
    "  --json            JSON output: per guest its plan, result and diagnostics\n"
    "  --state-dir DIR   the inventory and image store\n"
    "  -h, --help        this help\n";

static int find_diff(struct diffs *ds, const char *from, const char *to, const struct xp_tdiff **out,
		     struct xp_diags *d)
{
	for (size_t i = 0; i < ds->n; i++)
		if (strcmp(ds->roots[i], from) == 0) {
			*out = &ds->v[i];
			return 0;
		}
	char **nr = realloc(ds->roots, (ds->n + 1) * sizeof(*nr));
	if (!nr)
		return -ENOMEM;
	ds->roots = nr;
	struct xp_tdiff *nv = realloc(ds->v, (ds->n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	ds->v = nv;
	int r = xp_tdiff_trees(from, to, &ds->v[ds->n], d);
	if (r < 0)
		return r;
	if (!(ds->roots[ds->n] = strdup(from))) {
		xp_tdiff_release(&ds->v[ds->n]);
		return -ENOMEM;
	}
	ds->n++;
	/* pointers into ds->v move with realloc: the caller looks them up again */
	*out = NULL;
	return 0;
}

/* After an update to NAME@V: where the guest's profile's image names that version now
 * (NAME@V, or NAME whose latest it is), the record's image value becomes the profile's,
 * so that `domain diff` sees the guest as its profile wants it. */
static int record_image_setting(struct xp_inv *inv, struct xp_domain *dom, const struct tree *to)
{
	char *img;
	struct xp_imgver v;
	int r = xp_drift_wanted_image(inv, dom, &img, &v);
	if (r <= 0)
		return r;
	r = 0;
	const char *cur = xp_settings_get(&dom->settings, "image");
	if (strcmp(v.name, to->ref.name) == 0 && v.version == to->ref.version &&
	    (!cur || strcmp(cur, img) != 0)) {
		r = xp_settings_set(&dom->settings, "image", img);
		if (r == 0)
			r = xp_domain_set_settings(inv, dom->name, &dom->settings);
	}
	free(img);
	xp_imgver_release(&v);
	return r;
}

enum { O_TO = 0x100, O_FROM, O_DRY, O_OVERRIDE, O_OFFLINE, O_SSH_USER, O_SSH_KEY, O_SSH_COMMAND };

static int run_update(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"to", required_argument, NULL, O_TO},
	    {"from", required_argument, NULL, O_FROM},
	    {"dry-run", no_argument, NULL, O_DRY},
	    {"override", no_argument, NULL, O_OVERRIDE},
	    {"offline", no_argument, NULL, O_OFFLINE},
	    {"jobs", required_argument, NULL, 'j'},
	    {"ssh-user", required_argument, NULL, O_SSH_USER},
	    {"ssh-key", required_argument, NULL, O_SSH_KEY},
	    {"ssh-command", required_argument, NULL, O_SSH_COMMAND},
	    {NULL, 0, NULL, 0}};
	struct cli_opts co = {.takes = CLI_JSON | CLI_STATE_DIR | CLI_QUIET};
	const char *to_spec = NULL, *from_spec = NULL;
	struct run run = {.ssh_user = "root"};
	bool offline = false;
	long jobs = sysconf(_SC_NPROCESSORS_ONLN);
	int c;
	while ((c = cli_getopt(argc, argv, "j:", opts, &co)) != -1) {
		switch (c) {
		case O_TO:
			to_spec = optarg;
			break;
		case O_FROM:
			from_spec = optarg;
			break;
		case O_DRY:
			run.dry_run = true;
			break;
		case O_OVERRIDE:
			run.override = true;
			break;
		case O_OFFLINE:
			offline = true;
			break;
		case 'j': {
			char *end;
			jobs = strtol(optarg, &end, 10);
			if (*end || jobs < 1 || jobs > 64)
				return cli_usage_error("image update", "-j takes 1 to 64, not '%s'",
						       optarg);
			break;
		}
		case O_SSH_USER:
			run.ssh_user = optarg;
			break;
		case O_SSH_KEY:
			run.ssh_key = optarg;
			break;
		case O_SSH_COMMAND:
			run.ssh_command = optarg;
			break;
		default:
			return cli_bad_option("image update", argv);
		}
	}
	if (!to_spec)
		return cli_usage_error("image update", "--to NAME@V is required");
	if (optind >= argc)
		return cli_usage_error("image update", "no GUEST given");
	if (jobs < 1)
		jobs = 1;
	struct xp_inv *inv;
	int rc = cli_inv_open(co.state_dir, &inv);
	if (rc)
		return rc;
	const char *sd = xp_inv_state_dir(inv);
	struct tree to;
	if ((rc = tree_open("image update", sd, to_spec, &to))) {
		xp_inv_close(inv);
		return rc;
	}
	if (!to.ref.version) {
		tree_release(&to);
		xp_inv_close(inv);
		return cli_usage_error("image update", "--to takes NAME@V, not a directory");
	}
	run.to = &to;
	size_t n = (size_t)(argc - optind);
	run.jobs = calloc(n, sizeof(*run.jobs));
	struct diffs ds = {0};
	struct xp_xl *xl = NULL;
	if (!run.jobs || xp_xl_open(NULL, &xl) < 0) {
		rc = cli_error("out of memory");
		goto out;
	}
	xp_xl_refresh(xl);
	/* every guest checked before any is touched */
	for (size_t i = 0; i < n; i++) {
		struct job *j = &run.jobs[i];
		xp_diags_init(&j->d);
		const char *name = argv[optind + (int)i];
		int r = xp_domain_get(inv, name, &j->dom);
		run.n++;
		if (r < 0) {
			rc = cli_inv_result(inv, "domain", "read", name, r);
			goto out;
		}
		if (!j->dom.state || strcmp(j->dom.state, "ready") != 0) {
			rc = cli_error("%s: the guest is not ready (state %s)", name,
				       j->dom.state ? j->dom.state : "?");
			goto out;
		}
		const char *from = j->dom.image_version ? j->dom.image_version : from_spec;
		if (!from) {
			rc = cli_error("%s: its record names no image version: give --from NAME@V",
				       name);
			goto out;
		}
		if ((rc = tree_open("image update", sd, from, &j->from)))
			goto out;
		j->power = xp_xl_power(xl, name, NULL);
		if (j->power == XP_POWER_RUNNING) {
			j->online = true;
		} else if (j->power == XP_POWER_UNKNOWN && !offline) {
			rc = cli_error("%s: cannot tell whether it runs (%s): give --offline if it is "
				       "stopped",
				       name, xp_xl_why(xl) ? xp_xl_why(xl) : "no toolstack");
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct xp_diags d;
		xp_diags_init(&d);
		const struct xp_tdiff *t;
		int r = find_diff(&ds, run.jobs[i].from.root, to.root, &t, &d);
		if (r < 0) {
			rc = d.n ? cli_error("%s", d.v[0].msg) : cli_error("cannot compare: %s", strerror(-r));
			xp_diags_release(&d);
			goto out;
		}
		xp_diags_release(&d);
	}
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < ds.n; k++)
			if (strcmp(ds.roots[k], run.jobs[i].from.root) == 0)
				run.jobs[i].diff = &ds.v[k];

	cli_progress_init(&run.progress, !co.quiet && !co.json);
	pthread_mutex_init(&run.lock, NULL);
	pthread_t th[64];
	size_t started = 0;
	for (long k = 0; k < jobs && (size_t)k < n; k++)
		if (pthread_create(&th[started], NULL, worker, &run) == 0)
			started++;
	if (!started)
		worker(&run);
	for (size_t k = 0; k < started; k++)
		pthread_join(th[k], NULL);
	pthread_mutex_destroy(&run.lock);
	cli_progress_clear(&run.progress, false);

	/* the record follows what was done, in this thread's connection */
	size_t failed = 0;
	json_t *all = co.json ? json_array() : NULL;
	for (size_t i = 0; i < n; i++) {
		struct job *j = &run.jobs[i];
		if (j->result == 0 && !run.dry_run) {
			int r = xp_domain_set_image_version(inv, j->dom.name, to.ref.name,
							    to.ref.version);
			if (r == 0)
				r = record_image_setting(inv, &j->dom, &to);
			if (r < 0)
				j->result = xp_diags_fail(&j->d, r, NULL, "inventory", NULL,
							  "cannot record the version: %s",
							  xp_inv_errmsg(inv));
		}
		if (j->result < 0)
			failed++;
		if (all) {
			json_array_append_new(all, plan_json(j));
			continue;
		}
		if (run.dry_run || j->result < 0 || !co.quiet)
			plan_text(j, run.dry_run);
		if (j->result < 0)
			cli_print_messages(&j->d);
		else if (!run.dry_run && !co.quiet)
			printf("%s: updated to %s\n", j->dom.name, to.label);
	}
	rc = all ? cli_print_json(all) : cli_flush();
	if (failed && !rc)
		rc = XP_EXIT_FAIL;
out:
	for (size_t i = 0; i < run.n; i++) {
		xp_domain_release(&run.jobs[i].dom);
		tree_release(&run.jobs[i].from);
		xp_gupd_plan_release(&run.jobs[i].plan);
		xp_diags_release(&run.jobs[i].d);
		free(run.jobs[i].rsync_out);
	}
	free(run.jobs);
	for (size_t k = 0; k < ds.n; k++) {
		xp_tdiff_release(&ds.v[k]);
		free(ds.roots[k]);
	}
	free(ds.v);
	free(ds.roots);
	xp_xl_free(xl);
	tree_release(&to);
	xp_inv_close(inv);
	return rc;
}

const struct xp_verb image_diff_verb = {"diff", "what differs between two image versions",
					diff_usage, run_diff};
const struct xp_verb image_update_verb = {
    "update", "bring guests to another version of their captured image", update_usage,
    run_update};
