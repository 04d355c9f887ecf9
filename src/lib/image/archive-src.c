/*
 * archive-src.c - opens a root archive for libarchive, with gzip decompressed by ISA-L.
 *
 * Decompression is the floor of an image build: every byte of a tar.gz passes through
 * inflate before anything can be written. ISA-L's inflate (igzip) decodes the same
 * deflate streams two to three times faster than zlib, which libarchive's own gzip
 * filter uses, and checks the CRC-32 with carry-less multiplication. So the first bytes
 * of the archive are looked at here: gzip (1f 8b 08) is inflated by ISA-L and libarchive
 * reads plain tar from us; anything else (xz, zstd, bzip2, plain tar) is passed through
 * unchanged to libarchive's own filters. Without ISA-L at build time, gzip goes to
 * libarchive too.
 *
 * Gzip as gzip(1) reads it: members one after another (pigz -i, cat a.gz b.gz), each
 * with its CRC-32 checked; zero bytes after the last member are padding; anything else
 * after it, a truncated member or a bad checksum is an error naming the archive.
 *
 * A directory is read as if it were the tar of its content (`tar -C DIR -c .`):
 * libarchive's disk reader (archive_read_disk(3)) walks it without following symlinks
 * and gives each entry as a tar entry, with owners, modes, times, xattrs, ACLs, file
 * capabilities (security.capability) and devices; paths become "./PATH", and a file's
 * second name a hard link to its first (archive_entry_linkify(3), tar's strategy).
 * The callers go through xp_archive_next and xp_archive_close, which know both.
 *
 * Not here: the tar format and its entries (libarchive, extfs-stream.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef XP_HAVE_ISAL
#include <isa-l/igzip_lib.h>
#endif

#include "image/extfs-internal.h"
#include "util/dlib.h"

#define XP_SRC_IN  (256u << 10) /* compressed bytes read at once */
#define XP_SRC_OUT (1u << 20)	/* plain bytes handed to libarchive at once */

struct xp_src {
	/* a directory tree (archive_read_disk): its path as opened, and the hard-link
	 * resolver that makes a file's second name a tar hard link to its first */
	bool dir;
	char *dir_path;
	struct archive_entry *entry;
	struct archive_entry_linkresolver *lr;
	int fd;
	bool own_fd;
	const char *name; /* for messages */
	unsigned char *in;
	size_t in_pos, in_len; /* unread input is in[in_pos, in_len) */
	bool in_eof;
	bool gzip;
	bool given;	  /* passthrough: the peeked bytes were handed over */
	int err;	  /* the source's own failure, kept because libarchive may */
	char errmsg[256]; /* overwrite its message while skipping on */
#ifdef XP_HAVE_ISAL
	struct inflate_state st;
	unsigned char *out;
	bool member_end; /* a member finished: look for the next one */
	bool done;
	uint64_t members;
#endif
};

static void src_free(struct xp_src *s)
{
	if (!s)
		return;
	if (s->own_fd && s->fd >= 0)
		close(s->fd);
	free(s->dir_path);
	archive_entry_free(s->entry);
	if (s->lr)
		archive_entry_linkresolver_free(s->lr);
	free(s->in);
#ifdef XP_HAVE_ISAL
	free(s->out);
#endif
	free(s);
}

/* Reads more input after what is unread (moved to the front). 0 at end of input, the
 * byte count, or -errno. */
static ssize_t src_fill(struct xp_src *s)
{
	if (s->in_pos > 0) {
		memmove(s->in, s->in + s->in_pos, s->in_len - s->in_pos);
		s->in_len -= s->in_pos;
		s->in_pos = 0;
	}
	if (s->in_eof || s->in_len == XP_SRC_IN)
		return 0;
	for (;;) {
		ssize_t n = read(s->fd, s->in + s->in_len, XP_SRC_IN - s->in_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			s->in_eof = true;
		s->in_len += (size_t)n;
		return n;
	}
}

static int src_close(struct archive *a, void *data)
{
	(void)a;
	src_free(data);
	return ARCHIVE_OK;
}

static void src_error(struct archive *a, struct xp_src *s, int err, const char *what)
{
	if (!s->err) {
		s->err = err;
		snprintf(s->errmsg, sizeof(s->errmsg), "%s: %s", s->name, what);
	}
	archive_set_error(a, s->err, "%s", s->errmsg);
}

int xp_archive_errno(struct archive *a, const struct xp_src *s)
{
	int e = s && s->err ? s->err : archive_errno(a);
	switch (e) {
	case EIO:
	case ENOENT:
	case EACCES:
	case EISDIR:
	case ENOMEM:
	case EPERM:
	case ENOTDIR:
	case ELOOP:
	case ENAMETOOLONG:
	case EFBIG:
		return -e;
	default:
		return -EBADMSG;
	}
}

const char *xp_archive_error(struct archive *a, const struct xp_src *s)
{
	return s && s->err ? s->errmsg : archive_error_string(a);
}

static la_ssize_t pass_read(struct archive *a, void *data, const void **buf)
{
	struct xp_src *s = data;
	if (!s->given) {
		s->given = true;
		if (s->in_len > s->in_pos) {
			*buf = s->in + s->in_pos;
			la_ssize_t n = (la_ssize_t)(s->in_len - s->in_pos);
			s->in_pos = s->in_len;
			return n;
		}
	}
	s->in_pos = s->in_len = 0;
	ssize_t n = src_fill(s);
	if (n < 0) {
		src_error(a, s, (int)-n, strerror((int)-n));
		return -1;
	}
	s->in_pos = s->in_len;
	*buf = s->in;
	return n;
}

#ifdef XP_HAVE_ISAL
static la_ssize_t gz_fail(struct archive *a, struct xp_src *s, int err, const char *what)
{
	src_error(a, s, err, what);
	return -1;
}

static const char *isal_text(int r)
{
	switch (r) {
	case ISAL_INVALID_BLOCK:
	case ISAL_INVALID_SYMBOL:
	case ISAL_INVALID_LOOKBACK:
		return "corrupt gzip data";
	case ISAL_INVALID_WRAPPER:
		return "bad gzip header";
	case ISAL_UNSUPPORTED_METHOD:
		return "gzip member not compressed with deflate";
	case ISAL_INCORRECT_CHECKSUM:
		return "gzip checksum mismatch (corrupt archive)";
	case ISAL_NEED_DICT:
		return "gzip data needs a preset dictionary";
	default:
		return "gzip decompression failed";
	}
}

/* After a member: another member, zero padding to the end, or an error. 1 to go on,
 * 0 at the clean end, -1 (archive error set). */
static int gz_next_member(struct archive *a, struct xp_src *s)
{
	s->member_end = false;
	for (;;) {
		/* the bytes after the member, at least two of them if there are two */
		while (s->in_len - s->in_pos < 2 && !s->in_eof) {
			ssize_t n = src_fill(s);
			if (n < 0)
				return (int)gz_fail(a, s, (int)-n, strerror((int)-n));
		}
		size_t left = s->in_len - s->in_pos;
		if (left == 0)
			return 0;
		const unsigned char *p = s->in + s->in_pos;
		if (left >= 2 && p[0] == 0x1f && p[1] == 0x8b) {
			isal_inflate_reset(&s->st);
			s->st.crc_flag = ISAL_GZIP;
			s->st.next_in = s->in + s->in_pos;
			s->st.avail_in = (uint32_t)left;
			s->members++;
			return 1;
		}
		for (size_t i = 0; i < left; i++)
			if (p[i] != 0)
				return (int)gz_fail(a, s, EBADMSG,
						    "data after the end of the gzip stream");
		s->in_pos = s->in_len;
		if (s->in_eof)
			return 0;
	}
}

static la_ssize_t gz_read(struct archive *a, void *data, const void **buf)
{
	struct xp_src *s = data;
	for (;;) {
		if (s->member_end) {
			int r = gz_next_member(a, s);
			if (r < 0)
				return -1;
			if (r == 0)
				s->done = true;
		}
		if (s->done)
			return 0;
		if (s->st.avail_in == 0 && !s->in_eof) {
			s->in_pos = s->in_len = 0;
			ssize_t n = src_fill(s);
			if (n < 0)
				return gz_fail(a, s, (int)-n, strerror((int)-n));
			s->st.next_in = s->in;
			s->st.avail_in = (uint32_t)s->in_len;
		}
		s->st.next_out = s->out;
		s->st.avail_out = XP_SRC_OUT;
		uint32_t in_before = s->st.avail_in;
		int r = isal_inflate(&s->st);
		/* what inflate consumed, so that the input after a member can be found */
		s->in_pos = (size_t)(s->st.next_in - s->in);
		if (r < 0)
			return gz_fail(a, s, EBADMSG, isal_text(r));
		size_t produced = XP_SRC_OUT - s->st.avail_out;
		if (s->st.block_state == ISAL_BLOCK_FINISH)
			s->member_end = true;
		else if (produced == 0 && s->st.avail_in == 0 && s->in_eof)
			return gz_fail(a, s, EBADMSG, "truncated gzip data");
		else if (r == ISAL_NEED_DICT)
			return gz_fail(a, s, EBADMSG, isal_text(r));
		else if (produced == 0 && s->st.avail_in == in_before && in_before > 0)
			/* never expected of inflate; a guard against looping forever */
			return gz_fail(a, s, EBADMSG, "gzip decompression stalled");
		if (produced) {
			*buf = s->out;
			return (la_ssize_t)produced;
		}
	}
}
#endif

int xp_archive_drain(struct archive *a, struct xp_src *s)
{
#ifdef XP_HAVE_ISAL
	if (s && s->gzip) {
		const void *buf;
		la_ssize_t n;
		while ((n = gz_read(a, s, &buf)) > 0)
			;
		return n < 0 ? -1 : 0;
	}
#endif
	(void)a;
	(void)s;
	return 0;
}

/* A directory: archive_read_disk over it. */
static int open_dir(const char *path, struct archive **ret, struct xp_src **src,
		   struct xp_diags *diags)
{
	struct archive *a = archive_read_disk_new();
	struct xp_src *s = calloc(1, sizeof(*s));
	int err = -ENOMEM;
	if (!a || !s || !(s->dir_path = strdup(path)) || !(s->entry = archive_entry_new()) ||
	    !(s->lr = archive_entry_linkresolver_new()))
		goto fail;
	s->dir = true;
	s->fd = -1;
	s->name = s->dir_path;
	size_t l = strlen(s->dir_path);
	while (l > 1 && s->dir_path[l - 1] == '/')
		s->dir_path[--l] = 0;
	archive_entry_linkresolver_set_strategy(s->lr, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	/* owners as numbers only (no name lookups), symlinks as themselves, xattrs and
	 * ACLs read */
	if (archive_read_disk_set_symlink_physical(a) != ARCHIVE_OK ||
	    archive_read_disk_set_behavior(a, 0) != ARCHIVE_OK)
		goto fail;
	if (archive_read_disk_open(a, s->dir_path) != ARCHIVE_OK) {
		err = archive_errno(a) > 0 ? -archive_errno(a) : -EIO;
		if (diags)
			xp_diags_add(diags, XP_SEV_ERROR, path, 0, 0, "archive", NULL, NULL,
				     "cannot open the directory: %s", archive_error_string(a));
		goto fail_quiet;
	}
	*ret = a;
	*src = s;
	return 0;
fail:
	if (diags)
		xp_diags_add(diags, XP_SEV_ERROR, path, 0, 0, "archive", NULL, NULL,
			     "cannot open the directory: %s", strerror(-err));
fail_quiet:
	src_free(s);
	if (a)
		archive_read_free(a);
	return err;
}

int xp_archive_next(struct archive *a, struct xp_src *s, struct archive_entry **entry)
{
	if (!s || !s->dir)
		return archive_read_next_header(a, entry);
	for (;;) {
		int r = archive_read_next_header2(a, s->entry);
		if (r == ARCHIVE_EOF)
			return r;
		/* a warning of the disk reader is something of the file it could not read
		 * (an xattr, an ACL): the copy would not be exact */
		if (r != ARCHIVE_OK) {
			src_error(a, s, archive_errno(a) > 0 ? archive_errno(a) : EIO,
				  archive_error_string(a) ? archive_error_string(a) : "read error");
			return ARCHIVE_FATAL;
		}
		if (archive_entry_filetype(s->entry) == AE_IFDIR)
			archive_read_disk_descend(a);
		const char *full = archive_entry_pathname(s->entry);
		size_t pl = strlen(s->dir_path);
		if (!full || strncmp(full, s->dir_path, pl) || (full[pl] && full[pl] != '/')) {
			src_error(a, s, EIO, "the disk reader gave a path outside the directory");
			return ARCHIVE_FATAL;
		}
		char *rel;
		if (asprintf(&rel, ".%s", full[pl] ? full + pl : "/") < 0) {
			src_error(a, s, ENOMEM, "out of memory");
			return ARCHIVE_FATAL;
		}
		archive_entry_copy_pathname(s->entry, rel);
		free(rel);
		struct archive_entry *spare = NULL;
		archive_entry_linkify(s->lr, &s->entry, &spare);
		if (!s->entry) /* not with tar's strategy, but be safe */
			continue;
		*entry = s->entry;
		return ARCHIVE_OK;
	}
}

void xp_archive_close(struct archive *a, struct xp_src *s)
{
	bool dir = s && s->dir; /* a tar source is freed by its close callback */
	archive_read_free(a);
	if (dir)
		src_free(s);
}

int xp_archive_open(const char *archive, struct archive **ret, struct xp_src **src,
		    struct xp_diags *diags)
{
	struct stat st;
	if (strcmp(archive, "-") && stat(archive, &st) == 0 && S_ISDIR(st.st_mode)) {
		struct xp_src *dummy;
		return open_dir(archive, ret, src ? src : &dummy, diags);
	}
	struct archive *a = archive_read_new();
	struct xp_src *s = calloc(1, sizeof(*s));
	int err = -ENOMEM;
	if (!a || !s)
		goto fail;
	s->in = malloc(XP_SRC_IN);
	if (!s->in)
		goto fail;
	bool stdin_ = strcmp(archive, "-") == 0;
	s->name = stdin_ ? "standard input" : archive;
	if (stdin_) {
		s->fd = STDIN_FILENO;
	} else {
		s->fd = open(archive, O_RDONLY | O_CLOEXEC);
		if (s->fd < 0) {
			err = -errno;
			goto fail_open;
		}
		s->own_fd = true;
	}
	/* the first bytes say what it is */
	while (s->in_len < 3 && !s->in_eof) {
		ssize_t n = src_fill(s);
		if (n < 0) {
			err = (int)n;
			goto fail_open;
		}
	}
#ifdef XP_HAVE_ISAL
	s->gzip = s->in_len >= 3 && s->in[0] == 0x1f && s->in[1] == 0x8b && s->in[2] == 8 &&
		  xp_isal_available(); /* else libarchive's gzip filter */
#endif
	bool ok = archive_read_support_format_tar(a) == ARCHIVE_OK &&
		  archive_read_support_format_empty(a) == ARCHIVE_OK;
	if (!s->gzip)
		ok = ok && archive_read_support_filter_all(a) >= ARCHIVE_WARN;
#ifdef XP_HAVE_ISAL
	else {
		s->out = malloc(XP_SRC_OUT);
		ok = ok && s->out;
		isal_inflate_init(&s->st);
		s->st.crc_flag = ISAL_GZIP;
		s->st.next_in = s->in;
		s->st.avail_in = (uint32_t)s->in_len;
		s->members = 1;
	}
#endif
	if (!ok)
		goto fail;
	archive_read_callback *rd = pass_read;
#ifdef XP_HAVE_ISAL
	if (s->gzip)
		rd = gz_read;
#endif
	/* from here on the close callback owns s, also when opening fails */
	if (archive_read_open(a, s, NULL, rd, src_close) != ARCHIVE_OK) {
		err = xp_archive_errno(a, NULL);
		if (diags)
			xp_diags_add(diags, XP_SEV_ERROR, archive, 0, 0, "archive", NULL, NULL,
				     "cannot open archive: %s", archive_error_string(a));
		archive_read_free(a);
		return err;
	}
	*ret = a;
	if (src)
		*src = s;
	return 0;
fail_open:
	if (diags)
		xp_diags_add(diags, XP_SEV_ERROR, archive, 0, 0, "archive", NULL, NULL,
			     "cannot open archive: %s", strerror(-err));
fail:
	src_free(s);
	archive_read_free(a);
	return err;
}

bool xp_archive_no_data(struct archive *a, const struct xp_src *s, bool *compressed)
{
	if (s && s->dir) {
		*compressed = false;
		return false;
	}
	/* libarchive's "empty" format is what it calls an input of no bytes at all */
	*compressed = (s && s->gzip) || archive_filter_count(a) > 1;
	return archive_format(a) == ARCHIVE_FORMAT_EMPTY;
}

int xp_archive_no_entries(const char *archive, bool no_data, bool compressed, bool allow_empty,
			  struct xp_diags *diags)
{
	const char *name = strcmp(archive, "-") == 0 ? "standard input" : archive;
	if (no_data) {
		/* GNU tar: "This does not look like a tar archive"; most often a download or
		 * a pipe that failed, so never taken as an archive without entries */
		if (diags)
			xp_diags_add(diags, XP_SEV_ERROR, name, 0, 0, "empty-input", NULL,
				     "was it written or downloaded completely?",
				     "%s 0 bytes: not a tar archive",
				     compressed ? "decompresses to" : "is");
		return -EBADMSG;
	}
	if (allow_empty)
		return 0;
	if (diags)
		xp_diags_add(diags, XP_SEV_ERROR, name, 0, 0, "no-entries", NULL,
			     "use --allow-empty to build an empty filesystem from it",
			     "the archive has no entries");
	return -ENODATA;
}
