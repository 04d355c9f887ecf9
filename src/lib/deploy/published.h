/*
 * published.h - what golden-publish.c (the server's published golden images) and
 * install.c (the dom0's cache of fetched ones) share: a file's identity, and the small
 * JSON record of a file hashed with its identity then, so that a file whose identity
 * is unchanged needs no new hash.
 *
 * Not here: the public side (xenprov/install.h).
 */
#ifndef XP_DEPLOY_PUBLISHED_H
#define XP_DEPLOY_PUBLISHED_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

struct xp__ident {
	uint64_t dev, ino, size;
	int64_t mtime_ns, ctime_ns; /* ctime: no tool can set it back after a change */
};

void xp__ident_of(const struct stat *st, struct xp__ident *id);
bool xp__ident_eq(const struct xp__ident *a, const struct xp__ident *b);
/* The record name in dirfd (never a symlink): the file it names (heap) and its identity.
 * -ENOENT, -EBADMSG. */
int xp__record_read(int dirfd, const char *name, char **path, struct xp__ident *id);
/* Writes the record file (atomically, mode 0644): path and id. */
int xp__record_write(const char *file, const char *path, const struct xp__ident *id);

#endif
