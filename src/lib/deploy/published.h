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
/* The record name in dirfd (never a symlink): the file it names (heap) and its identity;
 * sparse (may be NULL): the image's sparse digest (xenprov/sparse-stream.h) in hex when
 * the record has one, else "" (a record of an older server). -ENOENT, -EBADMSG. */
int xp__record_read(int dirfd, const char *name, char **path, struct xp__ident *id,
		    char sparse[65]);
/* Writes the record file (atomically, mode 0644): path and id, and sparse (NULL or "":
 * none). */
int xp__record_write(const char *file, const char *path, const struct xp__ident *id,
		     const char *sparse);
/* The image fd (size bytes, read from its start) hashed in one pass: its SHA-256 into
 * raw, its sparse digest into sparse. Its extents are walked with SEEK_DATA and
 * SEEK_HOLE as the server's sparse stream walks them (a file system without them: one
 * extent); holes are hashed into raw as zeros, never read. -EIO, -ENOMEM, read errors. */
int xp__image_digests(int fd, uint64_t size, unsigned char raw[32], unsigned char sparse[32]);

#endif
