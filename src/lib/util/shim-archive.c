/*
 * shim-archive.c - libarchive loaded at the first call of one of its functions, not at
 * every start of xenprov (util/dlib.h, struct xp_dlshim): xenprov's own definitions of
 * the libarchive functions it calls, by the same names and types (archive.h declares
 * them: the compiler checks each against it), which load libarchive once a process and
 * forward to it. Linked, libarchive brings libxml2 (for its XAR reader), ICU and
 * libstdc++ with it: ~20 ms of every start with the page cache cold, ~45% of `xenprov
 * --version`'s, though most commands (a lazy capture among them) never read or write an
 * archive.
 *
 * A function used for the first time is added to XP_ARCHIVE_FUNCS (a call to one not
 * listed is a link error: the program does not link libarchive). archive_set_error is
 * variadic: defined by hand below.
 *
 * Not here: anything about archives (image/archive-src.c and the other callers).
 */
#include <archive.h>
#include <archive_entry.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#include "util/dlib.h"

/* X(return type, name, (parameters), (arguments)); XV: the same for a void function */
#define XP_ARCHIVE_FUNCS(X, XV)                                                                    \
	X(int, archive_entry_acl_count, (struct archive_entry * a, int b), (a, b))                 \
	X(int, archive_entry_acl_next,                                                             \
	  (struct archive_entry * a, int b, int *c, int *d, int *e, int *f, const char **g),       \
	  (a, b, c, d, e, f, g))                                                                   \
	X(int, archive_entry_acl_reset, (struct archive_entry * a, int b), (a, b))                 \
	X(time_t, archive_entry_atime, (struct archive_entry * a), (a))                            \
	X(int, archive_entry_atime_is_set, (struct archive_entry * a), (a))                        \
	X(long, archive_entry_atime_nsec, (struct archive_entry * a), (a))                         \
	X(time_t, archive_entry_birthtime, (struct archive_entry * a), (a))                        \
	X(int, archive_entry_birthtime_is_set, (struct archive_entry * a), (a))                    \
	X(long, archive_entry_birthtime_nsec, (struct archive_entry * a), (a))                     \
	X(struct archive_entry *, archive_entry_clear, (struct archive_entry * a), (a))            \
	X(struct archive_entry *, archive_entry_clone, (struct archive_entry * a), (a))            \
	XV(void, archive_entry_copy_pathname, (struct archive_entry * a, const char *b), (a, b))   \
	X(time_t, archive_entry_ctime, (struct archive_entry * a), (a))                            \
	X(int, archive_entry_ctime_is_set, (struct archive_entry * a), (a))                        \
	X(long, archive_entry_ctime_nsec, (struct archive_entry * a), (a))                         \
	X(mode_t, archive_entry_filetype, (struct archive_entry * a), (a))                         \
	X(la_int64_t, archive_entry_gid, (struct archive_entry * a), (a))                          \
	X(const char *, archive_entry_hardlink, (struct archive_entry * a), (a))                   \
	X(const char *, archive_entry_hardlink_utf8, (struct archive_entry * a), (a))              \
	XV(void, archive_entry_linkify,                                                            \
	   (struct archive_entry_linkresolver * a, struct archive_entry * *b,                      \
	    struct archive_entry * *c),                                                            \
	   (a, b, c))                                                                              \
	X(struct archive_entry_linkresolver *, archive_entry_linkresolver_new, (void), ())         \
	XV(void, archive_entry_linkresolver_set_strategy,                                          \
	   (struct archive_entry_linkresolver * a, int b), (a, b))                                 \
	X(time_t, archive_entry_mtime, (struct archive_entry * a), (a))                            \
	X(int, archive_entry_mtime_is_set, (struct archive_entry * a), (a))                        \
	X(long, archive_entry_mtime_nsec, (struct archive_entry * a), (a))                         \
	X(struct archive_entry *, archive_entry_new, (void), ())                                   \
	X(const char *, archive_entry_pathname, (struct archive_entry * a), (a))                   \
	X(const char *, archive_entry_pathname_utf8, (struct archive_entry * a), (a))              \
	X(mode_t, archive_entry_perm, (struct archive_entry * a), (a))                             \
	X(dev_t, archive_entry_rdevmajor, (struct archive_entry * a), (a))                         \
	X(dev_t, archive_entry_rdevminor, (struct archive_entry * a), (a))                         \
	XV(void, archive_entry_set_filetype, (struct archive_entry * a, unsigned int b), (a, b))   \
	XV(void, archive_entry_set_hardlink, (struct archive_entry * a, const char *b), (a, b))    \
	XV(void, archive_entry_set_mtime, (struct archive_entry * a, time_t b, long c), (a, b, c)) \
	XV(void, archive_entry_set_pathname, (struct archive_entry * a, const char *b), (a, b))    \
	XV(void, archive_entry_set_perm, (struct archive_entry * a, mode_t b), (a, b))             \
	XV(void, archive_entry_set_rdev, (struct archive_entry * a, dev_t b), (a, b))              \
	XV(void, archive_entry_set_size, (struct archive_entry * a, la_int64_t b), (a, b))         \
	XV(void, archive_entry_set_symlink, (struct archive_entry * a, const char *b), (a, b))     \
	X(la_int64_t, archive_entry_size, (struct archive_entry * a), (a))                         \
	X(const char *, archive_entry_symlink, (struct archive_entry * a), (a))                    \
	X(const char *, archive_entry_symlink_utf8, (struct archive_entry * a), (a))               \
	X(la_int64_t, archive_entry_uid, (struct archive_entry * a), (a))                          \
	X(int, archive_entry_xattr_next,                                                           \
	  (struct archive_entry * a, const char **b, const void **c, size_t *d), (a, b, c, d))     \
	X(int, archive_entry_xattr_reset, (struct archive_entry * a), (a))                         \
	X(int, archive_errno, (struct archive * a), (a))                                           \
	X(const char *, archive_error_string, (struct archive * a), (a))                           \
	X(la_int64_t, archive_filter_bytes, (struct archive * a, int b), (a, b))                   \
	X(int, archive_filter_count, (struct archive * a), (a))                                    \
	X(int, archive_format, (struct archive * a), (a))                                          \
	X(int, archive_read_data_block,                                                            \
	  (struct archive * a, const void **b, size_t *c, la_int64_t *d), (a, b, c, d))            \
	X(int, archive_read_disk_descend, (struct archive * a), (a))                               \
	X(struct archive *, archive_read_disk_new, (void), ())                                     \
	X(int, archive_read_disk_open, (struct archive * a, const char *b), (a, b))                \
	X(int, archive_read_disk_set_behavior, (struct archive * a, int b), (a, b))                \
	X(int, archive_read_disk_set_symlink_physical, (struct archive * a), (a))                  \
	X(struct archive *, archive_read_new, (void), ())                                          \
	X(int, archive_read_next_header, (struct archive * a, struct archive_entry * *b), (a, b))  \
	X(int, archive_read_next_header2, (struct archive * a, struct archive_entry * b), (a, b))  \
	X(int, archive_read_open,                                                                  \
	  (struct archive * a, void *b, archive_open_callback *c, archive_read_callback *d,        \
	   archive_close_callback *e),                                                             \
	  (a, b, c, d, e))                                                                         \
	X(int, archive_read_open_fd, (struct archive * a, int b, size_t c), (a, b, c))             \
	X(int, archive_read_support_filter_all, (struct archive * a), (a))                         \
	X(int, archive_read_support_format_empty, (struct archive * a), (a))                       \
	X(int, archive_read_support_format_iso9660, (struct archive * a), (a))                     \
	X(int, archive_read_support_format_tar, (struct archive * a), (a))                         \
	X(int, archive_write_add_filter_gzip, (struct archive * a), (a))                           \
	X(int, archive_write_close, (struct archive * a), (a))                                     \
	X(la_ssize_t, archive_write_data, (struct archive * a, const void *b, size_t c),           \
	  (a, b, c))                                                                               \
	X(int, archive_write_header, (struct archive * a, struct archive_entry * b), (a, b))       \
	X(struct archive *, archive_write_new, (void), ())                                         \
	X(int, archive_write_open_fd, (struct archive * a, int b), (a, b))                         \
	X(int, archive_write_set_bytes_in_last_block, (struct archive * a, int b), (a, b))         \
	X(int, archive_write_set_format_cpio_newc, (struct archive * a), (a))                      \
	X(int, archive_write_set_format_iso9660, (struct archive * a), (a))                        \
	X(int, archive_write_set_option,                                                           \
	  (struct archive * a, const char *b, const char *c, const char *d), (a, b, c, d))

/* The functions that free: NULL frees nothing without loading libarchive (defined
 * below by hand) */
#define XP_ARCHIVE_FREES(X)                                                                        \
	X(void, archive_entry_free, (struct archive_entry * a), (a))                               \
	X(int, archive_read_free, (struct archive * a), (a))                                       \
	X(int, archive_write_free, (struct archive * a), (a))                                      \
	X(void, archive_entry_linkresolver_free, (struct archive_entry_linkresolver * a), (a))

static struct {
	XP_ARCHIVE_FUNCS(XP_DLSHIM_PTR, XP_DLSHIM_PTR)
	XP_ARCHIVE_FREES(XP_DLSHIM_PTR)
	__typeof__(archive_set_error) *archive_set_error;
} fn;

static const struct xp_dlsym syms[] = {
    XP_ARCHIVE_FUNCS(XP_DLSHIM_SYM, XP_DLSHIM_SYM) XP_ARCHIVE_FREES(XP_DLSHIM_SYM)
	XP_DLSYM(archive_set_error, fn.archive_set_error),
};

XP_DLSHIM_LIBRARY(XP_LIBARCHIVE_SONAME, "libarchive13")

XP_ARCHIVE_FUNCS(XP_DLSHIM_RET, XP_DLSHIM_VOID)

__attribute__((weak)) void archive_entry_free(struct archive_entry *e)
{
	if (!e)
		return;
	XP_DLSHIM_LOAD();
	fn.archive_entry_free(e);
}

__attribute__((weak)) int archive_read_free(struct archive *a)
{
	if (!a)
		return ARCHIVE_OK;
	XP_DLSHIM_LOAD();
	return fn.archive_read_free(a);
}

__attribute__((weak)) int archive_write_free(struct archive *a)
{
	if (!a)
		return ARCHIVE_OK;
	XP_DLSHIM_LOAD();
	return fn.archive_write_free(a);
}

__attribute__((weak)) void archive_entry_linkresolver_free(struct archive_entry_linkresolver *r)
{
	if (!r)
		return;
	XP_DLSHIM_LOAD();
	fn.archive_entry_linkresolver_free(r);
}

/* The message formatted here, given to libarchive as "%s" (it has no va_list form); a
 * NULL format clears the message, as libarchive's own. */
__attribute__((weak)) void archive_set_error(struct archive *a, int err, const char *fmt, ...)
{
	XP_DLSHIM_LOAD();
	if (!fmt) {
		fn.archive_set_error(a, err, NULL);
		return;
	}
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fn.archive_set_error(a, err, "%s", msg);
}
