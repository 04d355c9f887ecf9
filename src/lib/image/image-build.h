/*
 * image-build.h - the steps of the image build pipeline (image-build.c) that the two
 * ways of feeding it share: a tarball read from a file (xp_image_build) and a
 * distribution streamed from mmdebstrap (image-dist.c, xp_image_build_dist).
 *
 * Not here: anything public (xenprov/image.h).
 */
#ifndef XP_IMAGE_BUILD_H
#define XP_IMAGE_BUILD_H

#include "xenprov/image.h"

/* Options that contradict each other: -EINVAL with a diagnostic. */
int xp__image_check_opts(const struct xp_image_opts *o, struct xp_diags *diags);

/* The cache key (into res->key) of an image whose content is named by `content` (a hex
 * digest of the archive's bytes, or of a distribution's identity) built with o's
 * options, and o->output served from o->cache_dir's image of that key: 0 done
 * (res->from_cache), 1 not there (a cache that cannot be read is a warning), -errno
 * with a diagnostic if the copy failed. */
int xp__image_lookup(const struct xp_image_opts *o, const char *content,
		     struct xp_image_result *res, struct xp_diags *diags);

/* The disk's layout: o->size, or a filesystem of fs_bytes plus the table's and swap's
 * room. -errno with a diagnostic if the partitions do not fit. */
int xp__image_layout(const struct xp_image_opts *o, uint64_t fs_bytes, struct xp_layout *l,
		     struct xp_diags *diags);

/* -ENOSPC with the "too-small" diagnostic when a filesystem of `need` bytes does not fit
 * l's root partition (what: "the archive", ...), else 0. */
int xp__image_too_small(const struct xp_image_opts *o, const struct xp_layout *l, uint64_t need,
			const char *what, struct xp_diags *diags);

/* Writes the image of res->layout from `archive` (a path xp_fs_build opens; its name
 * in messages archive_name, NULL: the path) into an unnamed temporary, then puts it at
 * o->output and, with o->cache_dir and res->key set, into the cache. `ready` (may be
 * NULL) is asked once the archive is read to its end and before anything is put in
 * place: a negative answer fails the build (it adds its own diagnostic). On failure
 * nothing is left behind. */
int xp__image_write(const struct xp_image_opts *o, const char *archive, const char *archive_name,
		    int (*ready)(void *rud, struct xp_diags *diags), void *rud,
		    xp_progress_fn progress, void *ud, struct xp_image_result *res,
		    struct xp_diags *diags);

#endif
