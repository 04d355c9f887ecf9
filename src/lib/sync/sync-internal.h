/*
 * sync-internal.h - what the files of `xenprov sync` share: the include-file writers
 * for dnsmasq, ISC dhcpd and Kea (dhcp-include.c: pure, hosts in, text out), the
 * servers' own checkers (dhcp-check.c) and the writing of a set of files in place
 * (sync-files.c). sync.c runs them for each target.
 */
#ifndef XP_SYNC_INTERNAL_H
#define XP_SYNC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "xenprov/inventory.h"
#include "xenprov/mac.h"
#include "xenprov/sync-state.h"
#include "xenprov/sync.h"
#include "xenprov/util.h"

/* ---- the include files (dhcp-include.c) ------------------------------------------------ */

/* One host reservation, as the writers take it. */
struct xp__sync_host {
	const char *name;	     /* the system's name (borrowed) */
	char mac[XP_MAC_STRLEN + 1]; /* canonical: lower case, ':' */
	char ip[16];		     /* dotted quad, "" for none (a dynamic address) */
	const char *hostname;	     /* the host name to hand out (borrowed), or NULL */
	bool netboot;		     /* false: no boot file */
};

/* The boot files netboot hosts get, as `xenprov serve` decides them (proto/dhcp-server.c
 * boot_file): iPXE (user class "iPXE", or its option 175) the script of its own MAC;
 * else PXE clients (vendor class "PXEClient") by their architecture (RFC 4578 option
 * 93): none or 0 the BIOS file, 7 or 9 the x86-64 UEFI file, any other nothing. */
struct xp__sync_boot {
	char next_server[16]; /* the TFTP server (siaddr): dotted quad */
	const char *bios;     /* bios-boot-file */
	const char *efi64;    /* efi64-boot-file */
};

/* The iPXE script's name: iPXE expands ${...} in the file name a DHCP server gives
 * (src/usr/autoboot.c, fetch_next_server_and_filename), netX being the interface it
 * boots from; hexhyp is "52-54-00-12-34-56", the name the TFTP root has. A relative
 * name is fetched over TFTP from the next server. */
#define XP__SYNC_IPXE_FILE "ipxe/01-${netX/mac:hexhyp}"

/* The DHCP client class the Kea reservations of netboot hosts name; the classes file
 * (xp__sync_kea_classes) gives them their boot files. */
#define XP__SYNC_KEA_CLASS "xenprov-netboot"

/* The host of system s: its MAC canonical, its address strict, its host name (its
 * hostname, else its name). 0; 1 when s cannot be a reservation (a MAC or address that
 * does not read: a row written behind the inventory's back), with a warning in d;
 * -ENOMEM. h borrows from s. */
int xp__sync_host_from(const struct xp_system *s, struct xp__sync_host *h, struct xp_diags *d);

/* The include files. Deterministic: the same hosts and boot files give the same bytes
 * (no date in them), so an unchanged inventory writes nothing. A value the format
 * cannot carry is never written as syntax: host names are left out with a warning in
 * d (the reservation stays), boot file names refuse the file (-EINVAL with a
 * diagnostic). What the server itself refuses (a host name dnsmasq finds bad, an
 * address outside Kea's subnet) is its checker's to say (dhcp-check.c). */
int xp__sync_dnsmasq(const struct xp__sync_host *h, size_t n, const struct xp__sync_boot *b,
		     struct xp_buf *out, struct xp_diags *d);
int xp__sync_isc(const struct xp__sync_host *h, size_t n, const struct xp__sync_boot *b,
		 struct xp_buf *out, struct xp_diags *d);
/* Kea: a JSON array of reservations for one subnet's "reservations" (the site includes
 * it with <?include "FILE"?>); netboot hosts are in class XP__SYNC_KEA_CLASS. */
int xp__sync_kea_hosts(const struct xp__sync_host *h, size_t n, struct xp_buf *out,
		       struct xp_diags *d);
/* Kea: a JSON array of client classes for Dhcp4's "client-classes": the boot files. */
int xp__sync_kea_classes(const struct xp__sync_boot *b, struct xp_buf *out, struct xp_diags *d);

/* "A.B.C.D/N" (0 <= N <= 32) into its network address and mask (host order); the host
 * bits of A.B.C.D must be zero. */
bool xp__sync_cidr_parse(const char *s, uint32_t *net, uint32_t *mask);

/* ---- the servers' own checkers (dhcp-check.c) ------------------------------------------ */

/* Checks files with the DHCP server's own checker, without its main config: a wrapper
 * config of ours (in a private temporary directory) that includes them:
 *   dnsmasq    dnsmasq --test --conf-file=WRAPPER (WRAPPER: conf-file=FILE)
 *   isc-dhcpd  dhcpd -t -cf WRAPPER (WRAPPER: include "FILE";)
 *   kea        kea-dhcp4 -t WRAPPER (a Dhcp4 config whose subnet `subnet` has
 *              "reservations": <?include "FILE"?> and, when file2 is given,
 *              "client-classes": <?include "FILE2"?>)
 * 0: passed. -ENOENT: the checker is not installed (its name in *checker). -EINVAL:
 * refused, the checker's own words in why. -errno: it could not be run. *checker (a
 * static string) names the command either way. */
int xp__sync_check(enum xp_sync_kind kind, const char *file, const char *file2, const char *subnet,
		   const char **checker, struct xp_buf *why);

/* A private temporary directory (mode 0700) under $TMPDIR or /tmp: *dir a heap path. */
int xp__sync_tmpdir(char **dir);
/* Removes that directory with the files in it, and frees dir (may be NULL). */
void xp__sync_tmpdir_remove(char *dir);

/* ---- putting files in place (sync-files.c) --------------------------------------------- */

struct stat;

/* The directories beneath a root (a TFTP root, or an include file's directory), opened
 * once each. */
struct xp__sync_dirs;
/* Opens root (a directory that must exist). -errno. */
int xp__sync_dirs_open(const char *root, struct xp__sync_dirs **D);
void xp__sync_dirs_free(struct xp__sync_dirs *D);
/* The root's descriptor. */
int xp__sync_dirs_root(const struct xp__sync_dirs *D);
/* The directory of path (relative to the root: "grub/grub.cfg" -> grub/) and its last
 * component; the directory and its parents made (0755) when create says so. Resolved
 * beneath the root: a symlink leading out is refused (-EXDEV). */
int xp__sync_dir_of(struct xp__sync_dirs *D, const char *path, bool create, int *dirfd,
		    const char **base);
/* Marks dirfd (one of D's) as a directory to sync. */
void xp__sync_dirs_mark(struct xp__sync_dirs *D, int dirfd);
/* fsyncs every directory in which an entry was made, renamed or removed. */
int xp__sync_dirs_sync(struct xp__sync_dirs *D);

/* Writes what is to become base in dirfd (mode given): data, or the whole of src when
 * src >= 0; fsync'ed when durable. fresh (nothing is at base): an unnamed O_TMPFILE,
 * its descriptor in *unnamed; otherwise (or where the filesystem has no O_TMPFILE) the
 * temporary ".BASE.xenprov-sync" beside it, *unnamed -1. Nothing is left on failure. */
int xp__sync_stage(const struct xp__sync_dirs *D, int dirfd, const char *base, const void *data,
		   size_t len, int src, mode_t mode, bool fresh, bool durable, int *unnamed);
/* Drops a staged file (a candidate refused, a failure after staging). */
void xp__sync_unstage(int dirfd, const char *base, int unnamed);
/* A read-only descriptor of the named temporary staged for base in dirfd (to fsync
 * it). -errno. */
int xp__sync_tmp_open(int dirfd, const char *base);
/* The named temporary's path of path (same directory). Heap string. */
int xp__sync_tmp_path(const char *path, char **out);
/* Gives the staged file its name base: the unnamed one linked (-EEXIST if something
 * appeared there meanwhile; its descriptor closed either way), the named one renamed
 * over base; its directory is to be synced. */
int xp__sync_install(struct xp__sync_dirs *D, int dirfd, const char *base, int unnamed);
/* The same without marking the directory (safe in threads that do not share D's
 * state: the caller marks it after). */
int xp__sync_name(int dirfd, const char *base, int unnamed);
/* Removes base (gone already: fine). */
int xp__sync_unlink(struct xp__sync_dirs *D, int dirfd, const char *base);
/* Whether base in dirfd is a regular file whose bytes have the digest sha (64 hex
 * digits): 1 yes, 0 no, -ENOENT none, -EISDIR not a regular file (a directory, a
 * symlink: never followed), -errno. st (may be NULL) gets its status. */
int xp__sync_same(int dirfd, const char *base, const char *sha, struct stat *st);

/* ---- one target's run (sync.c; sync-dhcp.c and sync-tftp.c sync each kind) ----------- */

struct xp__sync_run {
	struct xp_inv *inv;
	const struct xp_sync_opts *o;
	const struct xp_sync_target *t;
	struct xp_sync_result *res;
	struct xp_diags *d;
	struct xp_sync_target_rec rec; /* as recorded, or new (id 0) */
	struct xp_sync_clock clock;    /* read in the snapshot */
	struct xp_settings set;	       /* the server settings in force */
	char **changed;		       /* systems changed since the last sync */
	size_t n_changed;
	bool full;    /* every file rendered (not only the changed systems') */
	bool reading; /* in the read snapshot */
};

/* Ends the read snapshot (once; later calls do nothing): its failure into *r when *r
 * is 0. Each kind ends it as soon as it has decided, before writing anything. */
void xp__sync_end_read(struct xp__sync_run *R, int *r);

/* A file the target should hold. */
struct xp__sync_want {
	char *path;	    /* relative to the TFTP root, or absolute (include files) */
	char *owner;	    /* the system's name, or "" */
	struct xp_buf data; /* the bytes, or */
	char *src;	    /* the distro store's digest of the bytes to copy */
	char sha[65];	    /* of the bytes */
	enum xp_sync_action act;
	bool keep;  /* the recorded file is right: nothing to do */
	bool fresh; /* nothing is at its path: written as a new file */
};
struct xp__sync_wants {
	struct xp__sync_want *v;
	size_t n, cap;
};
void xp__sync_want_release(struct xp__sync_want *w);
void xp__sync_wants_release(struct xp__sync_wants *W);
/* A new want of owner at the end of W (zeroed but for owner), or NULL. */
struct xp__sync_want *xp__sync_want_add(struct xp__sync_wants *W, const char *owner);
/* Its sha from its data (and the buffer's error, if any). */
int xp__sync_want_digest(struct xp__sync_want *w);

/* A file's fate, to the caller's event callback. */
void xp__sync_event(struct xp__sync_run *R, const char *path, enum xp_sync_action a);
/* An error (returns r) or a warning (returns 0 or -ENOMEM) about the target, its path
 * as the diagnostic's file. */
int xp__sync_fail(struct xp__sync_run *R, int r, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int xp__sync_warn(struct xp__sync_run *R, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The digest of what decides the files' bytes besides the inventory: sync's format,
 * the kind, the subnet, Kea's classes file, the HTTP base in force (may be NULL). */
int xp__sync_options_digest(const struct xp_sync_target *t, const char *subnet,
			    const char *http_base, char out[65]);
/* Records the sync (nothing in a dry run): the snapshot's count, subnet (as the target
 * gave it), options, the files put and removed. */
int xp__sync_record(struct xp__sync_run *R, struct xp_sync_file_rec *put, size_t n_put,
		    char **removed, size_t n_removed, const char *subnet, const char *options);

/* Each kind's sync, in the read snapshot sync.c began. */
int xp__sync_dhcp(struct xp__sync_run *R);
int xp__sync_tftp(struct xp__sync_run *R);

#endif
