/*
 * xenprov/toolstack.h - running guests: what Xen's toolstack says of them and what it is
 * asked to do, through the `xl` program (toolstack.c), and what xenprov adds on the host
 * side (lifecycle.c, domain-disks.c): the autostart link xendomains reads, stopping a
 * guest before its disk is removed, a guest's storage as `xl block-list` shows it plus
 * what only xenprov knows.
 *
 * Why `xl` and not libxl: `xl list -l` prints every domain's libxl configuration as JSON
 * (the same generator libxl's own *_to_json uses), which jansson reads; the program
 * keeps no link to libxl, so one xenprov binary runs on hosts with any Xen version (or
 * none), and a missing or failing toolstack is an answer ("unknown"), not a load error.
 * The cost is a process per question, which is small beside what xl does for each.
 *
 * The state of a guest is XP_POWER_RUNNING when the toolstack has a domain of its name
 * (running, blocked, paused or shutting down: xl lists it), XP_POWER_STOPPED when the
 * toolstack answered without it, XP_POWER_UNKNOWN when there is no toolstack to ask
 * (no xl, or xl failed: not in dom0, xenstored down). Unknown is never an error.
 *
 * Conventions (shared/DESIGN.md section 6): >= 0 success, -errno failure; messages go
 * into the struct xp_diags out-parameter.
 */
#ifndef XENPROV_TOOLSTACK_H
#define XENPROV_TOOLSTACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xenprov/blockdev.h"
#include "xenprov/inventory.h"
#include "xenprov/util.h"
#include "xenprov/xl-disk.h"

/* The environment variable naming the xl program to run instead of `xl` on PATH. */
#define XP_XL_ENV "XENPROV_XL"

/* ---- the toolstack (toolstack.c) ------------------------------------------------------ */

struct xp_xl;

/* A handle on the toolstack. program: the xl program; NULL: $XENPROV_XL when set and
 * not empty, else `xl` found on PATH (xp_program_path). A program that is not there is
 * no error: every state is then unknown (xp_xl_why says so). -ENOMEM. */
int xp_xl_open(const char *program, struct xp_xl **ret);
void xp_xl_free(struct xp_xl *xl);
/* The program's path, NULL when none was found. */
const char *xp_xl_program(const struct xp_xl *xl);

/* Asks the toolstack for its domains (`xl list -l`, its JSON read with jansson). 0 when
 * it answered; -ENOENT (no xl), -EIO (xl failed), -EBADMSG (not the JSON of xl's
 * default output format) otherwise, the reason kept for xp_xl_why. Until the first
 * refresh every state is unknown. */
int xp_xl_refresh(struct xp_xl *xl);
/* Why states are unknown ("xl not found", xl's own first line of error...); NULL when
 * the last refresh succeeded. */
const char *xp_xl_why(const struct xp_xl *xl);

enum xp_power {
	XP_POWER_UNKNOWN,
	XP_POWER_STOPPED,
	XP_POWER_RUNNING,
};
/* "unknown", "stopped", "running" */
const char *xp_power_name(enum xp_power p);

/* What the last refresh said of the domain named name; *domid (may be NULL) its id
 * when running, else -1. */
enum xp_power xp_xl_power(const struct xp_xl *xl, const char *name, long *domid);
/* The backend libxl chose for the running domain's disk vdev ("phy", "qdisk", "tap";
 * borrowed), NULL when not known. */
const char *xp_xl_disk_backend(const struct xp_xl *xl, const char *name, const char *vdev);

/* Runs `xl VERB [OPTION] ARG` (create CONFIG, shutdown NAME, reboot NAME, destroy
 * NAME; option may be NULL), its output captured: 0, or -EIO with a diagnostic holding
 * xl's own message (-ENOENT: no xl). */
int xp_xl_do(struct xp_xl *xl, const char *verb, const char *option, const char *arg,
	     struct xp_diags *d);

/* Refreshes every half second until none of names[] is running, or `seconds` have
 * passed (0: no bound). gone[i] (may be NULL) says whether names[i] is no longer
 * listed. Returns how many are still running, or the refresh's error (the toolstack
 * went away: every state unknown). */
int xp_xl_wait_gone(struct xp_xl *xl, const char *const *names, size_t n, unsigned seconds,
		    bool *gone);

/* One line of `xl block-list NAME`: a virtual block device as the toolstack sees it. */
struct xp_xl_vbd {
	long devid;	/* the vdev as a number (xp_vdev_devid) */
	long backend_id; /* the backend's domain */
	long handle;	/* xl prints the frontend's domain id here */
	long state;	/* XenbusState (xen/include/public/io/xenbus.h) */
	long evtch, ring_ref;
	char *be_path; /* xenstore path of the backend */
};
/* `xl block-list NAME`, parsed (its fixed columns: xl has no JSON form of it). -EIO
 * with xl's message when it fails, -EBADMSG for a line that is not one of its rows. */
int xp_xl_block_list(struct xp_xl *xl, const char *name, struct xp_xl_vbd **v, size_t *n,
		     struct xp_diags *d);
void xp_xl_vbds_free(struct xp_xl_vbd *v, size_t n);
/* XenbusState's name ("connected", "closed", ...), "unknown" beyond them. */
const char *xp_xenbus_state_name(long state);
/* The device number Xen gives a vdev (docs/misc/vbd-interface.txt): xvdX[N], hdX[N],
 * sdX[N] and dN[pM]; -EINVAL for anything else. */
long xp_vdev_devid(const char *vdev);

/* ---- autostart (lifecycle.c) ---------------------------------------------------------- */

/* The link xendomains(8) starts at boot: CONFIG-DIR/auto/NAME.cfg -> the guest's config
 * (config_path, absolute), in the auto directory next to the config's. */
int xp_autostart_link_path(const char *config_path, char **out);
/* 1 if the link is there and leads to config_path, 0 if not. */
int xp_autostart_get(const char *config_path);
/* Makes (on) or removes (off) the link, atomically (a new link renamed over the name;
 * the directory synced): the auto directory is made when missing. What is at the
 * link's name and is not a link to this config is never replaced or removed
 * (-EEXIST with a diagnostic). Already as asked: 0. */
int xp_autostart_set(const char *config_path, bool on, struct xp_diags *d);

/* ---- stopping guests before removal (lifecycle.c) ------------------------------------- */

#define XP_STOP_TIMEOUT_DEFAULT 60 /* seconds */

struct xp_stop_opts {
	const char *xl; /* the xl program; NULL: as xp_xl_open finds it */
	bool force;	/* stop running guests instead of refusing them */
	unsigned timeout; /* seconds the shutdown may take before a destroy */
};

/* Before guests' disks are removed (domain delete, deploy --rollback): names[] that the
 * toolstack runs are refused (res[i] = -EBUSY, a diagnostic each) or, with o->force,
 * shut down together (`xl shutdown`), waited for up to o->timeout seconds, and the ones
 * still there destroyed (`xl destroy`). res[i] is 0 for a guest that is not running
 * (or stopped now, or unknown: no toolstack here runs it), else its error. o NULL:
 * refuse, xl as xp_xl_open finds it. Returns 0 when every res[i] is 0, -EBUSY when
 * some guest runs and o->force is not set, else the first error. */
int xp_domains_stop_for_removal(const struct xp_stop_opts *o, const char *const *names,
				size_t n, int *res, struct xp_diags *d);

/* ---- a guest's storage (domain-disks.c) ----------------------------------------------- */

/* One disk of a guest's config, with what the host and the toolstack know of it. */
struct xp_domain_disk {
	char *spec;	     /* as the config writes it */
	struct xp_disk disk; /* parsed (xl-disk.h); zeroed when the spec is invalid */
	long devid;	     /* xp_vdev_devid of its vdev, -1 if none */
	const char *backend; /* the spec's backendtype; else libxl's choice for the running
			      * guest; else NULL (libxl chooses at start) */
	bool xenprov;	     /* the disk `domain create` made (the inventory's) */
	/* the image at the target, read through its headers (raw, qcow2) */
	bool image;	     /* read */
	enum xp_image_format image_format;
	uint64_t virtual_size;
	bool block_device;   /* the target is a block device (phy, lvm) */
	int64_t used;	     /* bytes allocated on the host, -1 unknown (a block device) */
	char *backing;	     /* a qcow2 image's backing file as recorded, or NULL */
	char *backing_path;  /* resolved against the image's directory */
	bool backing_read;
	enum xp_image_format backing_format;
	uint64_t backing_size;
	int64_t backing_used;
	char *error;	     /* why the spec or image could not be read, or NULL */
	/* the toolstack's view, when the guest runs */
	bool vbd_known;
	struct xp_xl_vbd vbd; /* be_path owned */
};

/* The disks of dom's config (read with xenprov's xl parser), each image read, and
 * when xl (may be NULL) says the guest runs, `xl block-list`'s rows matched by device
 * number. A disk that cannot be read is reported in its error, not as a failure.
 * -ENOENT (config missing), -EBADMSG (the config does not parse), with a diagnostic. */
int xp_domain_disks(const struct xp_domain *dom, struct xp_xl *xl, struct xp_domain_disk **v,
		    size_t *n, struct xp_diags *d);
void xp_domain_disks_free(struct xp_domain_disk *v, size_t n);

#endif
