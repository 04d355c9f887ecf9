/*
 * rsync-filter.h - which paths of a local tree `rsync --exclude=PATTERN ... SRC/ DST/`
 * leaves out, decided without rsync (rsync-filter.c): the matcher a copier of local
 * trees calls for each entry, so that it excludes exactly what rsync would.
 *
 * What is implemented is rsync's own rule (rsync(1) "PATTERN MATCHING RULES", exclude.c
 * add_rule/rule_matches, lib/wildmatch.c) for plain exclude patterns: a leading '/'
 * anchors at the transfer's root; a trailing '/' matches directories only; '*' matches
 * within one name, '**' across '/', '?' one character but '/', '[...]' a class (never
 * '/'; '!' or '^' negates; ranges; [:alpha:] and the other POSIX classes as the C
 * locale has them); a pattern with an inner '/' or a "**" is matched against the
 * path, else against the last name; a pattern ending in '/' and "***" is the directory
 * before them and everything below it; '\' escapes in a pattern with a wildcard and is literal in
 * one without. An optional "- " prefix is an exclude, as --exclude takes it. An empty pattern is no
 * rule at all (rsync adds none).
 *
 * Refused with -ENOTSUP, so that the caller runs rsync itself: "+ PATTERN" (an include,
 * which changes what later patterns mean), "!" (clears the list), "- " with nothing
 * after it (rsync's "unexpected end of filter rule"), and a pattern of 4096 bytes or
 * more (rsync discards it with an error).
 *
 * Not here: walking the tree, copying, rsync's other filter rules (--filter, merge
 * files, -C), and what rsync does for reasons other than the patterns (-x, devices).
 */
#ifndef XP_IMAGE_RSYNC_FILTER_H
#define XP_IMAGE_RSYNC_FILTER_H

#include <stdbool.h>
#include <stddef.h>

struct xp_rsync_filter;

/* Compiles patterns[0..n), each as one `rsync --exclude=PATTERN` takes it, in order,
 * into *out (the caller's, freed with xp_rsync_filter_free). 0; -EINVAL when patterns
 * or one of them is NULL (n > 0); -ENOTSUP when any pattern is outside what this
 * matcher implements exactly (above: the caller then runs rsync itself); -ENOMEM. */
int xp_rsync_filter_new(const char *const *patterns, size_t n, struct xp_rsync_filter **out);

/* Whether rsync would exclude the entry at path: relative to the transfer's root with
 * a leading '/' ("/etc/passwd"; the root itself is never asked, and a path without the
 * leading '/' or the root "/" is never excluded); dir: the entry is a directory
 * (lstat's, as rsync -a without -L: a symlink to a directory is not one). Only the
 * entry's own path is judged: the caller does not descend into an excluded directory,
 * as rsync does not. Pure: no I/O, no allocation, safe from several threads. Bounded:
 * polynomial in the path's and the patterns' lengths, whatever the stars
 * (rsync-filter.c says why). */
bool xp_rsync_filter_excluded(const struct xp_rsync_filter *f, const char *path, bool dir);

/* Frees f (NULL is fine). */
void xp_rsync_filter_free(struct xp_rsync_filter *f);

#endif
