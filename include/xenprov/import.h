/*
 * xenprov/import.h - `xenprov import` (Cobbler's `cobbler import`): a distribution's
 * install tree, a directory or an ISO 9660 image, recognised by signatures kept as data
 * (a JSON file, read at run time, so a new distribution needs no rebuild); its kernel
 * and initrd taken into the distro store; the tree made reachable over the boot
 * server's HTTP (copied into its root, hard-linked where it can be, or served from
 * inside the image) or left where the operator says it is served; the distro
 * NAME-ARCH and a default profile of the same name added. A second import of the same
 * tree changes nothing.
 *
 * The signature file's schema is documented in xenprov-import(1), SIGNATURES.
 *
 * Not here: serving (boot.h serves distros/NAME/tree/ from what import records),
 * autoinstall files.
 */
#ifndef XENPROV_IMPORT_H
#define XENPROV_IMPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "xenprov/util.h"

struct xp_inv;

/* What becomes of the tree. */
enum xp_import_tree {
	XP_IMPORT_TREE_AUTO,	 /* copy for a directory, iso for an image */
	XP_IMPORT_TREE_COPY,	 /* into TFTP-ROOT/trees/NAME-ARCH (hard links where it can) */
	XP_IMPORT_TREE_ISO,	 /* served from inside the image (an ISO only) */
	XP_IMPORT_TREE_NONE,	 /* only the kernel and initrd */
	XP_IMPORT_TREE_EXTERNAL, /* left where it is, served at available_as */
};

struct xp_import_opts {
	const char *path;	  /* the tree: a directory or an ISO 9660 image */
	const char *name;	  /* NAME: the distro and profile are NAME-ARCH */
	const char *arch;	  /* x86_64, i386, aarch64 (amd64, arm64 too); NULL: detected */
	const char *available_as; /* the tree's URL elsewhere: tree EXTERNAL */
	const char *signatures;	  /* the signature file; NULL: xp_import_signatures_default */
	enum xp_import_tree tree;
	bool generic; /* the generic kernel even where the tree has one for Xen PV guests */
	bool dry_run; /* detect and report; write nothing */
};

/* What import did: 0 nothing, 1 added, 2 changed. */
enum xp_import_change { XP_IMPORT_UNCHANGED, XP_IMPORT_ADDED, XP_IMPORT_UPDATED };

struct xp_import_report {
	char *distro, *profile; /* NAME-ARCH */
	/* what the signature found: its name, the family (debian, ubuntu, redhat, suse,
	 * or a signature file's own), a summary, the architecture, version, codename and
	 * the media's label where the tree says them (else NULL) */
	char *signature, *family, *summary, *arch, *version, *codename, *label;
	char *kernel, *initrd;		     /* their paths in the tree (initrd NULL: none) */
	bool xen;			     /* the pair the tree has for Xen PV guests */
	char *kernel_sha256, *initrd_sha256; /* in the distro store (NULL on a dry run) */
	char *kernel_options;		     /* the distro's, $tree and $iso filled in */
	bool iso;			     /* the tree is an image */
	enum xp_import_tree tree;	     /* what was done (never AUTO) */
	char *tree_path; /* where the boot server serves it ("/distros/N/tree/"), or NULL */
	char *tree_url;	 /* the URL installers use: http://SERVER[:PORT]TREE_PATH or
			  * available_as; NULL while the server setting is unset */
	char *tree_dir;	 /* COPY: the directory it was copied into */
	size_t files;	 /* regular files in the tree */
	size_t linked, copied, kept, removed, left_out; /* COPY: what the copy did */
	enum xp_import_change distro_change, tree_change;
	bool profile_added; /* else the profile existed and was left as it was */
};
void xp_import_report_release(struct xp_import_report *r);

/* Imports o->path. Nothing is written until the tree is recognised; a failure after
 * that undoes the inventory's changes and removes a tree copy it began. -ENOENT,
 * -ENOTDIR, -EMEDIUMTYPE (neither a directory nor an ISO image), -EBADMSG (a bad
 * signature file), -ENOENT with code "unknown-tree" (no signature matches), -EMLINK
 * (several architectures: give one), -EINVAL (bad name, arch, URL or combination),
 * each with a diagnostic; warnings (a kernel option that needs the server setting)
 * as diagnostics of lower severity. */
int xp_import(struct xp_inv *inv, const struct xp_import_opts *o, struct xp_import_report *rep,
	      struct xp_diags *d);

/* The signature file used when none is given: $XENPROV_DATA_DIR/signatures.json when
 * that variable is set, else the one installed with xenprov (DATADIR/xenprov). */
const char *xp_import_signatures_default(char *buf, size_t len);

/* "copy", "iso", "none", "external" (AUTO: "auto"). */
const char *xp_import_tree_name(enum xp_import_tree t);
/* The reverse, for copy, iso and none; -EINVAL otherwise. */
int xp_import_tree_parse(const char *s, enum xp_import_tree *out);

#endif
