/*
 * extfs-errors.c - libext2fs's error codes as -errno and in words (extfs-internal.h:
 * xp_ext2_errno, xp_ext2_read_errno, xp_ext2_strerror), for the builder, the editor and
 * the reader alike.
 *
 * A file of its own so that a program that only reads filesystems (xenprov-pxeboot)
 * links none of the builder's libraries (libarchive and what it needs).
 *
 * Not here: anything that touches a filesystem.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <ext2fs/ext2_err.h>

#include "image/extfs-internal.h"

/* The libext2fs errors xenprov tells apart: what each is as -errno when a filesystem
 * is built or edited and when one is read, and in words. */
static const struct ext2_error {
	errcode_t code;
	int write;	  /* 0: -EIO */
	int read;	  /* 0: -EBADMSG, corrupt metadata of one kind or another */
	const char *text; /* NULL: "libext2fs error" */
} ext2_errors[] = {
    {EXT2_ET_BLOCK_ALLOC_FAIL, -ENOSPC, 0, "no free blocks"},
    {EXT2_ET_INODE_ALLOC_FAIL, -ENOSPC, 0, "no free inodes"},
    {EXT2_ET_DIR_NO_SPACE, -ENOSPC, 0, NULL},
    {EXT2_ET_TOOSMALL, -ENOSPC, 0, "filesystem too small"},
    {EXT2_ET_RES_GDT_BLOCKS, -ENOSPC, 0, NULL},
    {EXT2_ET_NO_MEMORY, -ENOMEM, -ENOMEM, "out of memory"},
    {EXT2_ET_EA_NO_SPACE, -E2BIG, 0, "extended attributes do not fit in one block"},
    {EXT2_ET_EA_KEY_NOT_FOUND, -E2BIG, 0, NULL},
    {EXT2_ET_INVALID_ARGUMENT, -EINVAL, 0, "invalid argument"},
    {EXT2_ET_SHORT_READ, 0, -EIO, "short read"},
    {EXT2_ET_SHORT_WRITE, 0, 0, "short write"},
    {EXT2_ET_LLSEEK_FAILED, 0, -EIO, NULL},
    {EXT2_ET_FILE_NOT_FOUND, 0, -ENOENT, NULL},
    {EXT2_ET_NO_DIRECTORY, 0, -ENOTDIR, NULL},
    {EXT2_ET_SYMLINK_LOOP, 0, -ELOOP, NULL},
    {EXT2_ET_RO_FILSYS, 0, -EROFS, NULL},
    {EXT2_ET_UNSUPP_FEATURE, 0, -ENOTSUP, NULL},
    {EXT2_ET_RO_UNSUPP_FEATURE, 0, -ENOTSUP, NULL},
    {EXT2_ET_FILE_TOO_BIG, 0, -EFBIG, NULL},
};

/* An errno value the io_manager passed through as it is. */
static bool is_errno(errcode_t err)
{
	return err > 0 && err < 4096;
}

static const struct ext2_error *known(errcode_t err)
{
	for (size_t i = 0; i < sizeof(ext2_errors) / sizeof(ext2_errors[0]); i++)
		if (ext2_errors[i].code == err)
			return &ext2_errors[i];
	return NULL;
}

static int to_errno(errcode_t err, bool reading)
{
	if (err == 0)
		return 0;
	if (is_errno(err))
		return -(int)err;
	const struct ext2_error *k = known(err);
	int r = !k ? 0 : reading ? k->read : k->write;
	return r ? r : reading ? -EBADMSG : -EIO;
}

int xp_ext2_errno(errcode_t err)
{
	return to_errno(err, false);
}

int xp_ext2_read_errno(errcode_t err)
{
	return to_errno(err, true);
}

const char *xp_ext2_strerror(errcode_t err)
{
	if (is_errno(err))
		return strerror((int)err);
	const struct ext2_error *k = known(err);
	return k && k->text ? k->text : "libext2fs error";
}
