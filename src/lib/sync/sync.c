/*
 * sync.c - `xenprov sync` (xenprov/sync.h): for each target, what changed since its
 * last sync (xenprov/sync-state.h), the files it should hold now, rendered, compared by
 * digest with what it holds, and only the differences written, checked and recorded.
 *
 * Not here: the state's SQL (inventory/sync-state.c), the include files' text
 * (dhcp-include.c), the checkers (dhcp-check.c), putting files in place
 * (sync-files.c), the boot files' text (boot/render-*.c).
 *
 * A target is synced under a lock of its directory (flock, waited for), in three
 * steps: decide in one read snapshot of the inventory (no write lock: the boot server's
 * lease writes never wait), write outside any transaction, record in one short write
 * transaction. The change count recorded is the snapshot's, so a change committed
 * meanwhile is seen by the next sync. A sync killed between writing and recording
 * finds its files in place next time with the bytes it wants: they are adopted, not
 * written again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "sync/sync-internal.h"
#include "xenprov/sync-state.h"

/* Part of every target's options digest: a change of what sync writes for the same
 * inventory (a renderer's output) makes the next sync render everything again. */
#define SYNC_FORMAT "xenprov-sync-2"

static const char *const kind_names[] = {
    [XP_SYNC_TFTP] = "tftp",
    [XP_SYNC_DNSMASQ] = "dnsmasq",
    [XP_SYNC_ISC_DHCPD] = "isc-dhcpd",
    [XP_SYNC_KEA] = "kea",
};

const char *xp_sync_kind_name(enum xp_sync_kind k)
{
	return (unsigned)k < sizeof(kind_names) / sizeof(kind_names[0]) ? kind_names[k] : "?";
}

int xp_sync_kind_parse(const char *name, enum xp_sync_kind *k)
{
	for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
		if (strcmp(kind_names[i], name) == 0) {
			*k = (enum xp_sync_kind)i;
			return 0;
		}
	return -EINVAL;
}

void xp__sync_end_read(struct xp__sync_run *R, int *r)
{
	if (!R->reading)
		return;
	R->reading = false;
	int c = xp_inv_commit(R->inv);
	if (*r == 0)
		*r = c;
}

void xp__sync_want_release(struct xp__sync_want *w)
{
	free(w->path);
	free(w->owner);
	xp_buf_release(&w->data);
	free(w->src);
}

void xp__sync_wants_release(struct xp__sync_wants *W)
{
	for (size_t i = 0; i < W->n; i++)
		xp__sync_want_release(&W->v[i]);
	free(W->v);
	memset(W, 0, sizeof(*W));
}

struct xp__sync_want *xp__sync_want_add(struct xp__sync_wants *W, const char *owner)
{
	if (xp_grow(&W->v, &W->cap, W->n, sizeof(*W->v), 64) < 0)
		return NULL;
	struct xp__sync_want *w = &W->v[W->n];
	memset(w, 0, sizeof(*w));
	if (!(w->owner = strdup(owner)))
		return NULL;
	W->n++;
	return w;
}

int xp__sync_want_digest(struct xp__sync_want *w)
{
	unsigned char dg[32];
	int r = xp_buf_error(&w->data);
	if (r == 0 && (r = xp_sha256(w->data.s ? w->data.s : "", w->data.len, dg)) == 0)
		xp_sha256_hex(dg, w->sha);
	return r;
}

void xp__sync_event(struct xp__sync_run *R, const char *path, enum xp_sync_action a)
{
	if (R->o->event) {
		struct xp_sync_event e = {.target = R->t, .path = path, .action = a};
		R->o->event(R->o->ctx, &e);
	}
}

int xp__sync_fail(struct xp__sync_run *R, int r, const char *hint, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	xp_diags_addv(R->d, XP_SEV_ERROR, R->t->path, 0, 0, kind_names[R->t->kind], NULL, hint, fmt,
		      ap);
	va_end(ap);
	return r;
}

int xp__sync_warn(struct xp__sync_run *R, const char *hint, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = xp_diags_addv(R->d, XP_SEV_WARNING, R->t->path, 0, 0, kind_names[R->t->kind], NULL,
			      hint, fmt, ap);
	va_end(ap);
	return r;
}

int xp__sync_options_digest(const struct xp_sync_target *t, const char *subnet,
			    const char *http_base, char out[65])
{
	struct xp_buf b = XP_BUF_INIT;
	xp_buf_addf(&b, "%s%c%s%c%s%c%s", SYNC_FORMAT, 0, kind_names[t->kind], 0,
		    subnet ? subnet : "", 0, t->path2 ? t->path2 : "");
	if (http_base) /* only then: the digests of targets without one stay as they were */
		xp_buf_addf(&b, "%c%s", 0, http_base);
	unsigned char dg[32];
	int r = xp_buf_error(&b);
	if (r == 0 && (r = xp_sha256(b.s, b.len, dg)) == 0)
		xp_sha256_hex(dg, out);
	xp_buf_release(&b);
	return r;
}

int xp__sync_record(struct xp__sync_run *R, struct xp_sync_file_rec *put, size_t n_put,
		    char **removed, size_t n_removed, const char *subnet, const char *options)
{
	if (R->o->dry_run)
		return 0;
	free(R->rec.subnet);
	free(R->rec.options);
	free(R->rec.path2);
	free(R->rec.http_base);
	R->rec.subnet = subnet ? strdup(subnet) : NULL;
	R->rec.options = strdup(options);
	R->rec.path2 = R->t->path2 ? strdup(R->t->path2) : NULL;
	R->rec.http_base = R->t->http_base ? strdup(R->t->http_base) : NULL;
	if (!R->rec.options || (subnet && !R->rec.subnet) || (R->t->path2 && !R->rec.path2) ||
	    (R->t->http_base && !R->rec.http_base))
		return -ENOMEM;
	R->rec.seq = R->clock.seq;
	int r = xp_sync_record(R->inv, &R->rec, put, n_put, removed, n_removed);
	if (r < 0)
		return xp__sync_fail(R, r, NULL, "cannot record the sync: %s",
				     xp_inv_reason(R->inv, r, (char[256]){0}, 256));
	return 0;
}

/* ---- the run --------------------------------------------------------------------------- */

/* The lock of a target: its TFTP root, or its include file's directory (flock,
 * waited for: a concurrent sync of the same target queues). */
static int lock(const struct xp_sync_target *t)
{
	if (t->kind != XP_SYNC_TFTP)
		return xp_lock_dir_of(t->path, true);
	int fd = open(t->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			int r = -errno;
			close(fd);
			return r;
		}
	return fd;
}

/* Whether s reads as an HTTP base URL that can be one kernel command-line word:
 * http:// or https://, a host, no space or control character. */
static bool http_base_valid(const char *s)
{
	size_t scheme = strncmp(s, "http://", 7) == 0 ? 7 : strncmp(s, "https://", 8) == 0 ? 8 : 0;
	if (!scheme || !s[scheme] || s[scheme] == '/' || strlen(s) > 255)
		return false;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		if (*c <= ' ' || *c == 0x7f)
			return false;
	return true;
}

static int check_target(struct xp__sync_run *R)
{
	const struct xp_sync_target *t = R->t;
	if ((unsigned)t->kind > XP_SYNC_KEA || !t->path || t->path[0] != '/')
		return xp__sync_fail(R, -EINVAL, "give an absolute path",
				     "a target's path must be absolute");
	if (t->path2 && (t->kind != XP_SYNC_KEA || t->path2[0] != '/'))
		return xp__sync_fail(
		    R, -EINVAL, NULL,
		    "only a Kea target has a second file, and its path must be absolute");
	if (t->path2 && strcmp(t->path, t->path2) == 0)
		return xp__sync_fail(R, -EINVAL, NULL,
				     "Kea's reservations and client classes need a file each");
	if (t->http_base && t->kind != XP_SYNC_TFTP)
		return xp__sync_fail(R, -EINVAL, NULL,
				     "only a TFTP root's boot files carry the HTTP base");
	if (t->http_base && *t->http_base && !http_base_valid(t->http_base))
		return xp__sync_fail(R, -EINVAL,
				     "http://HOST[:PORT][/PATH], e.g. http://10.0.0.1:8080",
				     "'%s' is not an HTTP base URL (it goes on a kernel command "
				     "line: no spaces or control characters)",
				     t->http_base);
	uint32_t net, mask;
	if (t->subnet && !xp__sync_cidr_parse(t->subnet, &net, &mask))
		return xp__sync_fail(R, -EINVAL,
				     "A.B.C.D/N with no host bits set, e.g. 10.0.0.0/24",
				     "'%s' is not a subnet", t->subnet);
	return 0;
}

static int sync_one(struct xp__sync_run *R)
{
	int r = check_target(R);
	if (r < 0)
		return r;
	int lk = lock(R->t);
	if (lk < 0)
		return xp__sync_fail(R, lk, NULL, "cannot open %s: %s",
				     R->t->kind == XP_SYNC_TFTP ? "the TFTP root"
								: "the file's directory",
				     strerror(-lk));
	if ((r = xp_inv_begin_read(R->inv)) < 0) {
		xp__sync_fail(R, r, NULL, "cannot read the inventory: %s",
			      xp_inv_reason(R->inv, r, (char[256]){0}, 256));
		goto out;
	}
	R->reading = true;
	r = xp_sync_clock_get(R->inv, &R->clock);
	if (r == 0) {
		r = xp_sync_target_get(R->inv, kind_names[R->t->kind], R->t->path, &R->rec);
		if (r == -ENOENT) {
			r = 0;
			R->rec.kind = strdup(kind_names[R->t->kind]);
			R->rec.path = strdup(R->t->path);
			if (!R->rec.kind || !R->rec.path)
				r = -ENOMEM;
		}
	}
	if (r == 0)
		r = xp_server_settings_effective(R->inv, &R->set, NULL);
	if (r == 0 && R->rec.id)
		r = xp_sync_changed_since(R->inv, R->rec.seq, &R->changed, &R->n_changed);
	if (r < 0) {
		xp__sync_fail(R, r, NULL, "cannot read the inventory: %s",
			      xp_inv_reason(R->inv, r, (char[256]){0}, 256));
		goto out;
	}
	/* each ends the read snapshot once it has decided */
	r = R->t->kind == XP_SYNC_TFTP ? xp__sync_tftp(R) : xp__sync_dhcp(R);
out:
	xp__sync_end_read(R, &(int){0}); /* after a failure before deciding */
	xp_unlock(lk);
	return r;
}

int xp_sync_run(struct xp_inv *inv, const struct xp_sync_target *t, size_t n,
		const struct xp_sync_opts *o, struct xp_sync_result *res, struct xp_diags *d)
{
	static const struct xp_sync_opts none;
	int first = 0;
	for (size_t i = 0; i < n; i++) {
		memset(&res[i], 0, sizeof(res[i]));
		struct xp__sync_run R = {
		    .inv = inv, .o = o ? o : &none, .t = &t[i], .res = &res[i], .d = d};
		size_t d0 = d ? d->n : 0;
		int r = sync_one(&R);
		/* the writers' warnings name systems, not files: give them the target's */
		for (size_t k = d0; d && k < d->n; k++)
			if (!d->v[k].file)
				d->v[k].file = strdup(t[i].path);
		res[i].status = r;
		if (r < 0 && first == 0)
			first = r;
		xp_sync_target_rec_release(&R.rec);
		xp_settings_release(&R.set);
		xp_strv_free(R.changed, R.n_changed);
	}
	return first;
}
