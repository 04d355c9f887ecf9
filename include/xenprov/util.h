/*
 * xenprov/util.h - the small shared toolbox of libxenprov: diagnostics, a growable
 * string buffer, bounded file reading, atomic file replacement and advisory locks.
 *
 * Not here: anything that prints or exits (that is the command layer's job).
 *
 * Conventions (shared/DESIGN.md section 6): fallible functions return an int, >= 0 on
 * success and -errno on failure.
 */
#ifndef XENPROV_UTIL_H
#define XENPROV_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- diagnostics ---------------------------------------------------------------- */

enum xp_severity {
	XP_SEV_NOTE,
	XP_SEV_WARNING,
	XP_SEV_ERROR,
};

/* One message about a place in an input. line and col are 1-based; 0 means unknown.
 * text is the offending input, quoted in messages (may be NULL). code is a short,
 * stable identifier for scripts ("lexical", "python", "unknown-key", ...). */
struct xp_diag {
	enum xp_severity severity;
	char *file;
	unsigned line;
	unsigned col;
	char *code;
	char *text;
	char *msg;
	char *hint; /* optional "did you mean" / "run fmt --fix" advice */
};

/* An owned, ordered collection of diagnostics. Zero-initialise, or xp_diags_init.
 * With a limit, at most that many messages are kept: errors first, then warnings, then
 * notes, each in the order they came (an error arriving when the collection is full
 * takes the place of the last warning or note kept). The others are only counted, in
 * dropped and by severity, so that xp_diags_count() stays the true count. */
struct xp_diags {
	struct xp_diag *v;
	size_t n;
	size_t cap;
	size_t limit; /* 0: unlimited */
	size_t dropped;
	size_t dropped_sev[3]; /* dropped, by enum xp_severity */
	size_t kept_low[2];    /* private: notes and warnings kept, for the limit */
};

void xp_diags_init(struct xp_diags *d);
void xp_diags_release(struct xp_diags *d);
/* Adds a message. file, text and hint may be NULL. Returns -ENOMEM if it could not be
 * recorded. msg is a printf format. */
int xp_diags_add(struct xp_diags *d, enum xp_severity sev, const char *file,
		 unsigned line, unsigned col, const char *code, const char *text,
		 const char *hint, const char *fmt, ...) __attribute__((format(printf, 9, 10)));
/* The same with a va_list, for the error helpers of each module. */
int xp_diags_addv(struct xp_diags *d, enum xp_severity sev, const char *file,
		  unsigned line, unsigned col, const char *code, const char *text,
		  const char *hint, const char *fmt, va_list ap)
	__attribute__((format(printf, 9, 0)));
/* Adds an error (file, code and hint may be NULL; no offending text) if d is not NULL,
 * and returns r: a function's failure and its message in one statement, for modules
 * that need no helper of their own. */
int xp_diags_fail(struct xp_diags *d, int r, const char *file, const char *code,
		  const char *hint, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* The same for an error about a value rather than a file: its code, the offending
 * text and a hint (each may be NULL). */
int xp_diags_refuse(struct xp_diags *d, int r, const char *code, const char *text, const char *hint,
		    const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* How many messages of severity sev were added, kept or dropped. */
size_t xp_diags_count(const struct xp_diags *d, enum xp_severity sev);
/* Sort by file, line, column (stable; O(n log n), O(n) when already sorted). */
void xp_diags_sort(struct xp_diags *d);
const char *xp_severity_name(enum xp_severity sev);

/* ---- string buffer ---------------------------------------------------------------- */

/* A NUL-terminated growable byte buffer. After an allocation failure the buffer keeps
 * its content, ignores further appends and xp_buf_error() returns -ENOMEM, so callers
 * may append freely and check once at the end. */
struct xp_buf {
	char *s;
	size_t len;
	size_t cap;
	int err;
};

#define XP_BUF_INIT {NULL, 0, 0, 0}

void xp_buf_init(struct xp_buf *b);
void xp_buf_release(struct xp_buf *b);
int xp_buf_reserve(struct xp_buf *b, size_t extra);
void xp_buf_add(struct xp_buf *b, const void *data, size_t len);
void xp_buf_adds(struct xp_buf *b, const char *s);
void xp_buf_addc(struct xp_buf *b, char c);
void xp_buf_addf(struct xp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void xp_buf_vaddf(struct xp_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
void xp_buf_truncate(struct xp_buf *b, size_t len);
/* Appends s in single quotes, each quote in it as '\'' : one word to sh(1) and to
 * GRUB's script reader alike, whatever it holds. */
void xp_buf_add_squoted(struct xp_buf *b, const char *s);
/* Appends s in double quotes, each '"' and '\' in it escaped with '\': a string to ISC
 * dhcpd's lexer and an element of PostgreSQL's array literals alike. */
void xp_buf_add_dquoted(struct xp_buf *b, const char *s);
/* Returns the buffer's string (never NULL: "" when empty) and hands ownership to the
 * caller; the buffer is left empty. NULL if the buffer is in error. */
char *xp_buf_steal(struct xp_buf *b);
/* The buffer's string, "" when empty. Borrowed. */
const char *xp_buf_str(const struct xp_buf *b);
int xp_buf_error(const struct xp_buf *b);

/* ---- files ---------------------------------------------------------------------- */

/* Reads a whole file (or "-" for standard input) into a NUL-terminated heap buffer.
 * Refuses files over max bytes with -EFBIG. */
int xp_read_file(const char *path, size_t max, char **data, size_t *len);

/* Replaces path with data atomically (following a symlink to the file it names): a
 * temporary file in the same directory, written,
 * fsync'ed, renamed over path, then the directory fsync'ed. An existing file's mode
 * (and, as root, owner) is kept; a new file gets `mode`. On failure nothing at path
 * changes and the temporary file is removed. */
int xp_write_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* The same with flags: XP_WRITE_NOSYNC, nothing is fsync'ed (the rename is still
 * atomic for readers; durability is the caller's, e.g. one syncfs(2) later). */
#define XP_WRITE_NOSYNC 1u
/* XP_WRITE_NOREPLACE: path is only made, never replaced: -EEXIST when it is there
 * (before or by the time the temporary is renamed: two writers racing, one wins). */
#define XP_WRITE_NOREPLACE 2u
int xp_write_atomic_flags(const char *path, const void *data, size_t len, mode_t mode,
			  unsigned flags);

/* fsync(2) of the file or directory at path (opened read-only); 0 or -errno. */
int xp_fsync_path(const char *path);

/* Removes the temporaries xp_write_atomic may leave beside path when it is killed on a
 * filesystem without O_TMPFILE (".NAME.*" regular files in path's directory). */
void xp_write_atomic_cleanup(const char *path);

/* Creates dir and its missing parents (parents 0755, dir itself `mode`). An existing
 * directory is fine; an existing non-directory is -ENOTDIR; "" is -EINVAL. */
int xp_mkdir_p(const char *dir, mode_t mode);

/* openat2(2) of path below the directory dfd, refusing any resolution that leaves it
 * (RESOLVE_BENEATH: "..", absolute paths and symlinks out) and magic links, and with
 * no_symlinks every symlink (RESOLVE_NO_SYMLINKS). flags as open(2)'s (O_CLOEXEC is
 * added). The descriptor, or -errno (-EXDEV: it would leave dfd; -ELOOP: a symlink). */
int xp_open_beneath(int dfd, const char *path, int flags, bool no_symlinks);

/* Takes an advisory exclusive lock (flock) serialising writers of files in path's
 * directory. Returns a file descriptor >= 0 to pass to xp_unlock, or -errno. With
 * wait=false, -EWOULDBLOCK when another process holds it. */
int xp_lock_dir_of(const char *path, bool wait);
void xp_unlock(int fd);

/* ---- strings --------------------------------------------------------------------- */

/* Levenshtein distance, capped at cap+1 (for "did you mean"). */
unsigned xp_edit_distance(const char *a, const char *b, unsigned cap);

/* Bytes enough for any escape of n bytes: 4 a byte, and the NUL. */
#define XP_ESCAPED_SIZE(n) (4 * (n) + 1)

/* in[0..len) as one line of printable ASCII that reads back unambiguously, into out
 * (size bytes, NUL-terminated): bytes below 0x20, 0x7f and above become \xHH, a
 * backslash \\ and a single quote \' (names are logged between single quotes); a NUL
 * is a byte like any other (\x00). When the result does not fit, it is cut at a whole
 * escape and ends in "..." (if size >= 4). Returns out. For what a client sent (file
 * names, host names, vendor classes, paths) on its way into a log line: the boot
 * server's one escaping helper. */
char *xp_escape(char *out, size_t size, const void *in, size_t len);

/* ---- diff ------------------------------------------------------------------------ */

/* Appends a unified diff (3 lines of context) turning a into b; nothing if equal.
 * Large inputs fall back to one hunk replacing everything. */
int xp_diff_unified(const char *a, size_t alen, const char *b, size_t blen, const char *name_a,
		    const char *name_b, struct xp_buf *out);
/* ---- SHA-256 (FIPS 180-4; sha256.c) ------------------------------------------------- */
/* Computed by the CPU's SHA extensions (x86-64), else by libcrypto's EVP (loaded at the
 * first hash, not linked), else by xenprov's portable code: the same digests. */

/* Which of them this process uses: "sha-ni", "libcrypto" or "portable" (a static
 * string), for diagnostics. The first call may make the choice, loading libcrypto. */
const char *xp_sha256_path(void);

/* Hashes len bytes of data (NULL when len is 0). 0. */
int xp_sha256(const void *data, size_t len, unsigned char out[32]);
/* HMAC-SHA256 (RFC 2104) of len bytes of data under key (any length). 0. (Where
 * libcrypto fails, these two compute the same with the portable code.) */
int xp_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
		   unsigned char out[32]);
/* Whether the len bytes at a and b are equal, in a time that depends on len only, not
 * on where they differ (a MAC checked against the one expected). */
bool xp_mem_equal_ct(const void *a, const void *b, size_t len);
/* 64 hex digits and a NUL. */
void xp_sha256_hex(const unsigned char digest[32], char out[65]);
/* Hashes a whole file. 0, -errno (-EIO: libcrypto failed, as xp_sha256_add). */
int xp_sha256_file(const char *path, unsigned char out[32]);
/* Hashes what is left to read of fd, from its position to its end. */
int xp_sha256_fd(int fd, unsigned char out[32]);
/* The same, up to max bytes (a block device's first max bytes: an image written on it). */
int xp_sha256_fd_n(int fd, uint64_t max, unsigned char out[32]);
/* Whether the len bytes at hex are 64 lowercase hex digits, as xp_sha256_hex writes a
 * digest (the one check of a digest read back: manifests, meta.json, publish names). */
bool xp_sha256_hex_valid_n(const char *hex, size_t len);
/* The same of a NUL-terminated string (NULL: false). */
bool xp_sha256_hex_valid(const char *hex);

/* A hash fed piece by piece: xp_sha256_new (-ENOMEM), xp_sha256_add the bytes in order
 * (xp_sha256_add_fd: what is left to read of fd, -errno if a read fails),
 * xp_sha256_final (which leaves it as new); xp_sha256_restart forgets what was added;
 * xp_sha256_free (NULL: nothing). The others return 0; on the libcrypto path add and
 * final may return -EIO if libcrypto fails (final then writes no digest; it does not
 * happen for SHA-256 in practice). */
struct xp_sha256;
int xp_sha256_new(struct xp_sha256 **ret);
int xp_sha256_restart(struct xp_sha256 *h);
int xp_sha256_add(struct xp_sha256 *h, const void *data, size_t len);
int xp_sha256_add_fd(struct xp_sha256 *h, int fd);
int xp_sha256_final(struct xp_sha256 *h, unsigned char out[32]);
void xp_sha256_free(struct xp_sha256 *h);

/* ---- base64 (RFC 4648 section 4; base64.c) ------------------------------------------ */

/* The most bytes len characters of base64 decode to. */
#define XP_BASE64_DECODED_MAX(len) ((len) / 4 * 3)
/* Decodes the len characters at in into out (XP_BASE64_DECODED_MAX(len) bytes): how many
 * bytes, or -EBADMSG unless in is base64 strictly: the standard alphabet, in groups of
 * four, '=' padding only to complete the last group (so len is a multiple of 4), the
 * bits that padding leaves over zero (section 3.5), nothing else (no line breaks,
 * blanks or NUL). "" decodes to 0 bytes. */
ssize_t xp_base64_decode(const char *in, size_t len, unsigned char *out);

/* ---- extended attributes (xattr.c) ---------------------------------------------- */

/* The kernel's own bounds (XATTR_LIST_MAX, XATTR_SIZE_MAX in linux/limits.h): a name
 * list or a value beyond is refused (-E2BIG), never cut. */
#define XP_XATTR_LIST_MAX 65536
#define XP_XATTR_VALUE_MAX 65536

struct xp_xattr {
	const char *name; /* into xp_xattrs.names */
	void *value;
	size_t len;
};
struct xp_xattrs {
	struct xp_xattr *v;
	size_t n;
	char *names;
};
/* Every extended attribute of path that this user may read (not followed: llistxattr,
 * lgetxattr), sorted by name (strcmp). A filesystem without them gives none; one removed
 * between the list and its read is left out; a list or value that grew meanwhile is read
 * again. 0, -E2BIG (a list or value beyond the bounds above), -ENOMEM, -errno. */
int xp_xattrs_read(const char *path, struct xp_xattrs *out);
void xp_xattrs_release(struct xp_xattrs *x);

/* ---- whole reads and writes (io.c) ---------------------------------------------- */

/* len bytes at off, retried over short reads and EINTR; what lies past the end of the
 * file reads as zeros (as a disk image's unwritten tail does). 0 or -errno. */
int xp_pread_full(int fd, void *buf, size_t len, uint64_t off);
/* len bytes at off (or, for xp_write_full, at the file position), retried over short
 * writes and EINTR. 0 or -errno; -EIO for a write that makes no progress. */
int xp_pwrite_full(int fd, const void *buf, size_t len, uint64_t off);
int xp_write_full(int fd, const void *buf, size_t len);
/* One read(2) of at most len bytes, retried on EINTR: the count (0 at the end), or
 * -errno. */
ssize_t xp_read_some(int fd, void *buf, size_t len);
/* Whether len bytes are all zero (data a sparse file or image leaves as a hole). */
bool xp_all_zero(const void *buf, size_t len);

/* ---- running programs (spawn.c) ------------------------------------------------ */

/* What xp_spawn_wait adds to a signal's number when the program was killed by it. */
#define XP_SPAWN_SIGNALED 256

/* Where program name is: name itself if it holds a '/', else the first executable
 * regular file of that name in PATH, then /usr/sbin, /sbin (root's tools, outside many
 * users' PATH). Heap string. -ENOENT if there is none. */
int xp_program_path(const char *name, char **out);

/* Runs argv[0] (found by xp_program_path) with argv, no shell, standard
 * input from /dev/null, the environment envp (NULL: ours), and waits for it. out NULL:
 * its output goes where ours goes; else its standard output and error are captured into
 * out (the first 8 KiB, trailing blanks and newlines cut), for a diagnostic. Returns its
 * exit status (0-255), XP_SPAWN_SIGNALED + the signal's number if a signal killed it, or
 * -errno if it could not be run (-ENOENT: no such program). */
int xp_spawn_wait(char *const argv[], char *const envp[], struct xp_buf *out);

/* Runs argv like xp_spawn_wait, its standard output captured whole into out (up to
 * max bytes: -EFBIG beyond, the program then stopped) and its standard error apart
 * into err (may be NULL; the first 8 KiB, trailing blanks cut), for a program whose
 * output is data (`xl list -l`). Its exit status, as xp_spawn_wait's, or -errno. */
int xp_spawn_capture(char *const argv[], struct xp_buf *out, size_t max, struct xp_buf *err);

/* Starts argv[0] (found as xp_spawn_wait finds it) with standard input from /dev/null,
 * its standard output and error on two new pipes whose read ends (close-on-exec) are
 * *out and *err, in a process group of its own, with SIGPIPE, SIGINT, SIGTERM and SIGHUP
 * at their defaults and no signal blocked. The caller reads both pipes (a full one
 * stalls the program) and ends with xp_spawn_reap or xp_spawn_stop. -errno if it could
 * not be started (-ENOENT: no such program). */
int xp_spawn_piped(char *const argv[], char *const envp[], pid_t *pid, int *out, int *err);
/* Waits for a program started by xp_spawn_piped: its exit status as xp_spawn_wait's. */
int xp_spawn_reap(pid_t pid);
/* Waits up to `seconds` for it to end by itself while what it writes to drain_fd (-1:
 * none) is read and dropped: 1 and its exit status in *status, 0 if it still runs,
 * -errno. */
int xp_spawn_wait_draining(pid_t pid, int drain_fd, unsigned seconds, int *status);
/* Stops a program started by xp_spawn_piped and everything it started: SIGTERM to its
 * process group (as a terminal's ^C), grace_seconds for it to end while what it writes
 * to drain_fd (-1: none) is read and dropped, so that it ends by the signal and not by
 * a broken pipe, then SIGKILL to what is left of the group; reaps it. Its exit status
 * as xp_spawn_wait's, or -errno. */
int xp_spawn_stop(pid_t pid, int drain_fd, unsigned grace_seconds);

/* An argument vector being built for the functions above: v NULL-terminated, n
 * arguments; the first failure sticks in err (-ENOMEM) and later additions do nothing,
 * so a caller checks once. Zero-initialised; released by xp_argv_release. */
struct xp_argv {
	char **v;
	size_t n, cap;
	int err;
};
void xp_argv_add(struct xp_argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void xp_argv_release(struct xp_argv *a);
/* rsync(1) as xenprov copies a system tree, the one place its flags are chosen (image
 * capture, image update of a running guest): "rsync -aHAX --numeric-ids" (recursive,
 * links, perms, times, group, owner, devices, specials; hard links, ACLs, xattrs;
 * owners by number), "-S" unless dense (runs of zeros written as holes), then
 * "--rsh=RSH" when rsh is given. */
void xp_argv_rsync(struct xp_argv *a, const char *rsh, bool dense);

/* ---- growable arrays (buf.c) ---------------------------------------------------- */

/* Makes room for element n of the array *vp (a pointer to the array pointer; *cap
 * elements of size bytes allocated): when n == *cap the capacity doubles (first: the
 * first capacity). 0, or -ENOMEM with the array untouched. */
int xp_grow(void *vp, size_t *cap, size_t n, size_t size, size_t first);

/* ---- sizes (size.c) ------------------------------------------------------------ */

/* A size as operators write it: decimal digits, an optional fraction, then an optional
 * binary unit K, M, G or T (either case, optionally followed by B or iB) or B: "4096",
 * "512M", "1.5GiB", "4k". No signs, blanks, hexadecimal or exponents; a fraction needs
 * a unit (no fraction of a byte) and is rounded down to a byte. -EINVAL if malformed,
 * -ERANGE above 2^63 - 1 bytes. */
int xp_parse_size(const char *s, uint64_t *out);

/* ---- random bytes (random.c) --------------------------------------------------- */

/* Fills buf with len bytes from getrandom(2) (retried on EINTR and short reads);
 * userdata is unused, so it fits xp_random_fn (mac.h). 0 or -errno. */
int xp_getrandom(void *userdata, void *buf, size_t len);

#endif
