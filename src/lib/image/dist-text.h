/*
 * dist-text.h - the pure text functions behind images of distributions (image-dist.c):
 * which distributions and package names are accepted, the host's Debian mirror from
 * its apt sources (sources.list(5), one-line and deb822), the `Date:` of a suite's
 * InRelease or Release file, the canonical text that names a distribution image in the
 * cache, and the manifest the customize hook writes (dist-manifest.c). Bytes in,
 * results out: no network, no processes; the apt directory is read by
 * xp_apt_mirror_find only.
 *
 * Not here: running mmdebstrap, fetching files, building (image-dist.c).
 */
#ifndef XP_DIST_TEXT_H
#define XP_DIST_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xenprov/extfs.h"
#include "xenprov/util.h"

/* What a package name or a mirror URI may be at most. */
#define XP_DIST_PKG_MAX	   128
#define XP_DIST_URI_MAX	   1024
/* Larger InRelease files are refused (Debian's are about 150 KiB). */
#define XP_RELEASE_MAX	   (4u << 20)
/* Larger manifests are refused (a million files take about 60 MiB), and so are
 * manifests of more content than this (no distribution's root is near it; it bounds
 * the filesystems the estimator lays out). */
#define XP_MANIFEST_MAX	   (256u << 20)
#define XP_MANIFEST_CONTENT_MAX (1ull << 40)

/* "debian:bookworm" -> "bookworm" (a pointer into spec); NULL for anything else than a
 * distribution xenprov builds (xp_dist_known). */
const char *xp_dist_suite(const char *spec);

/* A Debian binary package name (Debian Policy 5.6.1: lowercase letters, digits, '+',
 * '-', '.', at least two characters, starting with a letter or digit), at most
 * XP_DIST_PKG_MAX bytes. */
bool xp_dist_pkg_valid(const char *name, size_t len);

/* Splits "a,b,c" into names appended to *v (duplicates dropped later by
 * xp_dist_pkgs_sort). -EINVAL with a diagnostic naming `what` (e.g. "include") for an
 * empty item or a name that is not a package name. */
int xp_dist_pkgs_add(const char *list, const char *what, char ***v, size_t *n,
		     struct xp_diags *d);
/* Sorts (bytewise) and removes duplicates in place. */
void xp_dist_pkgs_sort(char **v, size_t *n);
void xp_dist_pkgs_free(char **v, size_t n);

/* A mirror URI as given (http://, https:// or file:/, no whitespace or control bytes,
 * at most XP_DIST_URI_MAX bytes) without its trailing slashes, into *out (malloc'd).
 * -EINVAL if it is not one. */
int xp_dist_mirror_norm(const char *uri, char **out);

/* The Debian archive mirror of one apt sources file's text: the URI of its first
 * enabled `deb` entry (deb-src, security suites and -security/-updates-only URIs of
 * debian-security left out) whose suites include a Debian suite name (a release
 * codename, sid, stable, testing... with or without -updates/-backports/-proposed-
 * updates). deb822 (.sources) when deb822, else the one-line format (.list). *uri is
 * NULL when there is none; -EBADMSG for an entry that cannot be read, -ENOMEM. */
int xp_apt_sources_mirror(const char *text, size_t len, bool deb822, char **uri);

/* The first such mirror in apt's own order: etc_apt/sources.list, then the *.list and
 * *.sources files of etc_apt/sources.list.d in name order. *uri NULL when none (or no
 * files); unreadable or malformed files are skipped with a warning in d. */
int xp_apt_mirror_find(const char *etc_apt, char **uri, struct xp_diags *d);

/* The Date: of a Release file or of an InRelease file (OpenPGP clearsigned, RFC 4880
 * section 7; the signature is not checked: mmdebstrap's apt does that, the date only
 * names a cache entry), which must be the Release of `suite` (its Codename: or Suite:),
 * as "YYYY-MM-DDTHH:MM:SSZ" in iso. The date is read as Debian writes it, RFC 2822
 * without comments ("Sat, 11 Jul 2026 10:16:37 UTC"; UTC, GMT or a +hhmm offset).
 * -EBADMSG with a diagnostic (file `name`) for anything else: no paragraph, a line
 * that is no field, a missing, repeated or malformed Date, another suite, a NUL byte,
 * a clearsigned text without its signature; -EFBIG above XP_RELEASE_MAX. */
int xp_release_date(const char *text, size_t len, const char *suite, const char *name,
		    char iso[21], struct xp_diags *d);

/* The canonical text naming a distribution image: its version line, the spec, the
 * variant, the sorted package set, the mirror and the release date, one per line. */
int xp_dist_identity(struct xp_buf *b, const char *spec, const char *variant,
		     char *const *pkgs, size_t npkgs, const char *mirror, const char *date);

/* ---- the manifest (dist-manifest.c) ------------------------------------------------ */

/* The find(1) -printf format of a manifest record and what it holds: type letter
 * (fdlbcps), size, link count, inode, a space, the path relative to the root ("" for
 * the root), NUL, the symlink target ("" for others), NUL. */
#define XP_MANIFEST_FORMAT "%y %s %n %i %P\\0%l\\0"

/* The smallest filesystem (bytes) holding what the manifest lists, plus
 * headroom_percent of its content, by the estimator xp_fs_estimate uses (extfs-
 * estimate.c), and the content's bytes in *content (may be NULL). Hard links are the
 * later records of an inode with several links. `extra` more entries are counted in
 * /dev (mmdebstrap writes /dev's entries into the tar itself). -EBADMSG with a
 * diagnostic (file `name`) for a malformed record, -EFBIG above XP_MANIFEST_MAX bytes or
 * XP_MANIFEST_CONTENT_MAX bytes of content. */
int xp_manifest_estimate(const char *data, size_t len, const char *name, unsigned extra,
			 const struct xp_fs_opts *opts, unsigned headroom_percent,
			 uint64_t *bytes, uint64_t *content, struct xp_diags *d);

#endif
