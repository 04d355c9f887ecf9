/*
 * xenprov/pxeboot.h - the domU network bootloader (`xenprov pxeboot`, installed as
 * `xenprov-pxeboot` for xl's `bootloader=`): DHCP on a dom0 interface with the guest's
 * MAC, the pxelinux config found as pxelinux finds it (over TFTP or HTTP), the label
 * chosen, its kernel and initrds fetched into files the caller gives; LOCALBOOT (and
 * --local) boot what the guest's own disk boots (localboot.h).
 *
 * Steps, each its own call so that a dry run stops before fetching and the caller can
 * drop privileges after the first: xp_pxeboot_new (binds the DHCP socket: port 68 on
 * the interface), xp_pxeboot_lease (DHCP), xp_pxeboot_plan (the config and the label),
 * xp_pxeboot_fetch (the files), xp_pxeboot_free (RELEASE unless kept). Or
 * xp_pxeboot_new_local + xp_pxeboot_plan + xp_pxeboot_fetch for the disk alone.
 *
 * The library prints nothing: progress lines go to the log callback (one line a
 * call, no newline), errors into the diagnostics.
 */
#ifndef XENPROV_PXEBOOT_H
#define XENPROV_PXEBOOT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "xenprov/dhcp-client.h"
#include "xenprov/mac.h"
#include "xenprov/util.h"

/* Kernels and initrds larger than this are refused (as localboot.h's extract). */
#define XP_PXEBOOT_MAX_FILE (1ull << 30)

struct xp_pxeboot_opts {
	struct xp_mac mac;	   /* the guest's */
	const char *interface;	   /* dom0's interface the DHCP exchange goes out of */
	uint16_t dhcp_port;	   /* the servers' port; the client's is one more; 0 = 67 */
	uint32_t dhcp_timeout_ms;  /* the whole exchange; 0 = 30000 */
	const char *server;	   /* the boot server instead of the lease's (address or name) */
	const char *http;	   /* NULL: as the lease says; "": HTTP from the boot server;
				    * a URL: the directory holding pxelinux.cfg/ */
	const char *config;	   /* a config file name (or URL) instead of the search */
	const char *label;	   /* the label to boot; NULL: the config's unattended choice */
	uint32_t blksize;	   /* TFTP blksize asked for; 0 = 1468 */
	uint32_t windowsize;	   /* TFTP windowsize asked for; 0 = 64 */
	const char *kernel;	   /* libxl's --kernel=: this file instead of the label's */
	const char *ramdisk;	   /* libxl's --ramdisk=: this one instead of its initrds */
	const char *extra_args;	   /* libxl's --args= (xl's extra=): after the label's */
	bool keep_lease;	   /* no RELEASE */
	const char *disk;	   /* the guest's disk, for LOCALBOOT and --local; may be NULL */
	const char *local_entry;   /* the disk's menu entry (localboot.h); NULL: its default */
	void (*log)(void *ctx, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
	void *log_ctx;
};

/* What will be booted, once planned. Strings are owned by the handle. */
struct xp_pxeboot_plan {
	const struct xp_dhcp_client_lease *lease; /* NULL for --local */
	const char *base;	 /* where relative names are fetched from (a URL) */
	const char *config;	 /* the config read: its URL (a path on the disk for local) */
	const char *label;	 /* the label or entry chosen ("" when DEFAULT names a kernel) */
	const char *menu_label;	 /* its MENU LABEL or NULL */
	bool local;		 /* from the guest's disk (LOCALBOOT or --local) */
	const char *kernel;	 /* a URL, or a path in the disk's boot filesystem */
	const char *const *initrds; /* the same, in order (joined into one ramdisk) */
	size_t n_initrds;
	const char *args; /* the command line: APPEND, IPAPPEND expanded, initrd= taken out */
	unsigned configs_tried;	  /* names asked for before the one found */
	const char *disk_config;  /* local: the disk's boot config (a path in it) and its */
	const char *disk_kind;	  /* kind ("grub2", ...); NULL otherwise */
	bool keeps_lease;	  /* IPAPPEND 1 gave the guest the lease's address */
};

struct xp_pxeboot;

/* Checks the options and binds the DHCP socket on the interface (root, or
 * CAP_NET_BIND_SERVICE; SO_REUSEADDR/SO_REUSEPORT so that dom0's own DHCP client may
 * hold port 68 too). -ENODEV no such interface, -EACCES, -EADDRINUSE, -EINVAL. */
int xp_pxeboot_new(const struct xp_pxeboot_opts *o, struct xp_pxeboot **ret, struct xp_diags *d);
/* For the guest's disk alone (no network): only disk and local_entry are used. */
int xp_pxeboot_new_local(const struct xp_pxeboot_opts *o, struct xp_pxeboot **ret,
			 struct xp_diags *d);
/* Sends RELEASE (unless keep_lease, or the plan gave the guest the lease's address
 * with IPAPPEND 1), closes everything. NULL is fine. */
void xp_pxeboot_free(struct xp_pxeboot *p);

/* The DHCP exchange. -ETIMEDOUT (no offer or no ACK in time), -errno of the socket. */
int xp_pxeboot_lease(struct xp_pxeboot *p, struct xp_diags *d);
/* Finds and reads the config, chooses the label, resolves its files (for LOCALBOOT:
 * reads the disk). -ENOENT no config found or no such label, -EBADMSG a config that
 * does not parse, -EINVAL a label that boots no Linux kernel (COM32, PXE, ...) or
 * nothing to boot, -EHOSTUNREACH no boot server known, or the fetch's -errno. */
int xp_pxeboot_plan(struct xp_pxeboot *p, struct xp_diags *d);
const struct xp_pxeboot_plan *xp_pxeboot_get_plan(const struct xp_pxeboot *p);
/* Fetches the kernel into kernel_fd and the initrds, one after the other, into
 * ramdisk_fd (when the plan has any), each from its start. */
int xp_pxeboot_fetch(struct xp_pxeboot *p, int kernel_fd, int ramdisk_fd, struct xp_diags *d);

/* ---- the guest's NIC (pxeboot-nic.c) --------------------------------------------- */

struct xp_pxeboot_nic {
	struct xp_mac mac;
	char *bridge; /* the vif's bridge=, NULL when not given */
};
void xp_pxeboot_nic_release(struct xp_pxeboot_nic *n);

/* A vif spec (xl-network-configuration(5)) as a bootloader argument: spaces around
 * ',' and '=' are allowed; read by the project's vif parser. -EINVAL (in d: "no mac= in
 * the vif spec '...'"), -EBADMSG a spec the parser refuses. */
int xp_pxeboot_nic_from_spec(const char *spec, struct xp_pxeboot_nic *n, struct xp_diags *d);
/* The first vif of an xl config file. -ENOENT no vif, -EINVAL no mac= in it. */
int xp_pxeboot_nic_from_config(const char *path, struct xp_pxeboot_nic *n, struct xp_diags *d);
/* The config in dir (regular files, *.cfg and names without a dot) one of whose
 * disk= targets is the file or device disk names (same device and inode), as a heap
 * path in *path. -ENOENT none, -EEXIST more than one (both named in d). */
int xp_pxeboot_find_config(const char *dir, const char *disk, char **path, struct xp_diags *d);

/* ---- output files (pxeboot-out.c) -------------------------------------------------- */

/* The kernel and ramdisk files of one boot: unnamed until xp_pxeboot_out_commit gives
 * them unique names in dir, so a failure at any point leaves nothing behind. */
struct xp_pxeboot_out {
	char *dir;
	int kernel_fd, ramdisk_fd;
};
/* Makes dir (0700) if missing and the two unnamed files in it. */
int xp_pxeboot_out_open(const char *dir, struct xp_pxeboot_out *o, struct xp_diags *d);
/* Names them "DIR/boot_kernel.XXXXXX" and, with ramdisk, "DIR/boot_ramdisk.XXXXXX"
 * (heap paths). */
int xp_pxeboot_out_commit(struct xp_pxeboot_out *o, bool ramdisk, char **kernel, char **ramdisk_path,
			  struct xp_diags *d);
void xp_pxeboot_out_close(struct xp_pxeboot_out *o);

#endif
