/*
 * installer-run.c - the autoinstall installer's disk work (installer-run.h): `xenprov
 * installer run`, inside the installer's initramfs, once /init has the network.
 *
 *   record      GET /api/systems/NAME and its profile (the same client and requests as
 *               `xenprov install --server`: install.c)
 *   disk        the target: --disk, xenprov.target-disk=, the profile's target-disk, else
 *               the first whole disk of /sys/block; a disk whose first sector carries
 *               the MBR signature (msdos, or GPT's protective MBR) or whose second
 *               holds "EFI PART" is refused unless wipe
 *   partition   only for a bare filesystem image (profile label none), once the image
 *               is in place: an msdos table by libfdisk (partition.c) with the root
 *               partition (a profile with swap has a partitioned image, its swap
 *               partition made by the builder);
 *               on a UEFI machine or for a profile with label gpt, a GPT (below)
 *   image       the golden image (GET /api/profiles/P/image: its SHA-256, size, URL)
 *               streamed straight onto the device (whole, a partitioned image keeping
 *               the table the image builder made; a bare one into the root partition),
 *               as a sparse stream (xenprov/sparse-stream.h: its data extents only;
 *               its holes made zeros on the disk, BLKZEROOUT on a device), checked
 *               as it arrives (on a thread of its own) against the server's sparse
 *               digest (its data and extent list only; on a mismatch the disk read
 *               back against the SHA-256), or from an older server its SHA-256 (the
 *               holes hashed as zeros); a transfer cut short resumed from the
 *               byte it reached (an older server's whole image: with a range, then
 *               read back and hashed); a whole image's first 64 KiB (its table)
 *               written last, and a bare image's table made after it, so that a
 *               machine stopped half way leaves no table to refuse on its next boot
 *   firmware    a UEFI machine (/sys/firmware/efi in the installer) or a profile with
 *               label gpt: the disk's table made a GPT keeping the image's partitions
 *               (their types; a GPT image's UUIDs too), with an EFI system partition
 *               (FAT32, xp_fat_format) at the end of the disk (and on a BIOS machine a
 *               BIOS boot partition for GRUB's core)
 *   grow        the root partition to the end of the disk (a swap partition after it
 *               moved to the end and formatted again) and its filesystem to fill it:
 *               e2fsck and resize2fs, as image-grow.c grows a guest's (profile grow off:
 *               the image's size kept); on the firmware step's GPT up to the ESP
 *               (and BIOS boot partition) it put at the disk's end
 *   data        the profile's data-disk items onto the machine's other disks, in the
 *               order of /sys/block (or --data-disk): a table as the profile's label, an
 *               ext4 filesystem by libext2fs filling it, in the fstab by UUID
 *   customize   xp_guest_customize, as `domain create` edits a guest's disk: host name,
 *               network by MAC, machine-id, new UUIDs, fstab by UUID (the data disks'
 *               too), SSH keys
 *   bootloader  GRUB from the image: the root mounted on o->target with /dev, /proc and
 *               /sys bound in, `chroot TARGET grub-install --target=i386-pc DISK`, then
 *               the image's update-grub if it has one (else the grub.cfg the edits wrote);
 *               UEFI: the ESP mounted on TARGET/boot/efi, in fstab by its UUID, and
 *               `grub-install --target=x86_64-efi --removable` (EFI/BOOT/BOOTX64.EFI,
 *               which firmware with empty boot variables finds: no efibootmgr)
 *
 * then "success". The server learns each step (progress) and a failure with its reason.
 * Not here: rebooting or powering off (the /init script).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "deploy/install-internal.h"
#include "xenprov/blockdev.h"
#include "xenprov/domain.h"
#include "xenprov/extfs.h"
#include "xenprov/http-client.h"
#include "xenprov/image.h"
#include "xenprov/installer-run.h"
#include "xenprov/inventory.h"
#include "xenprov/partition.h"
#include "xenprov/sparse-stream.h"

/* A data disk: the machine's disk, the profile's item for it. */
struct data_disk {
	char dev[512];
	uint64_t size;
	struct xp_data_disk dd; /* points into its item */
	char uuid[37];		/* of its filesystem, once made */
};

struct run {
	const struct xp_installer_run_opts *o;
	struct xp_installer_run_result *res;
	struct xp_diags *d;
	struct xp_install_opts io; /* the server, for install.c's requests */
	char *words;		   /* the kernel command line, its words NUL-separated */
	const char *system, *mac, *token, *disk, *wipe;
	const char *step;
	json_t *sys, *prof, *eff, *image;
	char dev[512]; /* /dev/NAME */
	char part_prefix[520];
	char **items; /* the profile's data-disk items */
	size_t nitems;
	struct data_disk *data; /* nitems of them */
	struct xp_domain_volume *vols;
	bool uefi;	       /* the machine's firmware (xp_installer_firmware) */
	bool gpt;	       /* a GPT with an ESP: UEFI, or the profile's label gpt */
	struct xp_gpt_esp esp; /* where firmware_table put the ESP */
	uint32_t esp_id;       /* its FAT volume ID: UUID=XXXX-XXXX in fstab */
	char sparse_sha256[65]; /* the image's sparse digest, "" from an older server */
};

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void step(struct run *x, const char *name, const char *what)
{
	x->step = name;
	if (x->o->step)
		x->o->step(x->o->ud, name, what);
}

/* POST /api/systems/NAME/events (http-install.c: token, kind, step, message of at most
 * 1024 printable bytes). A refused or lost event does not stop the install. */
static void event(struct run *x, const char *kind, const char *stp, const char *msg)
{
	char m[1001] = "", path[300];
	size_t n = 0;
	for (const char *p = msg; p && *p && n < sizeof(m) - 1; p++)
		m[n++] = *p >= 0x20 && *p < 0x7f ? *p : ' ';
	m[n] = '\0';
	json_t *b = json_pack("{s:s, s:s, s:s}", "token", x->token, "kind", kind, "step", stp);
	if (b && n)
		json_object_set_new(b, "message", json_string(m));
	char *body = b ? json_dumps(b, JSON_COMPACT) : NULL;
	json_decref(b);
	snprintf(path, sizeof(path), "/api/systems/%s/events", x->system);
	char *url = NULL;
	if (body && xp__install_url(x->io.server, path, &url) == 0) {
		struct xp_http_req q = {.url = url,
					.method = "POST",
					.body = body,
					.body_len = strlen(body),
					.ca_file = x->io.ca_file,
					.max = 4096};
		struct xp_http_resp resp;
		struct xp_diags scratch; /* the install's own diagnostics stay its own */
		xp_diags_init(&scratch);
		if (xp_http_request(&q, &resp, &scratch) < 0 && x->o->step)
			x->o->step(x->o->ud, "event", scratch.n ? scratch.v[0].msg : "lost");
		xp_http_resp_release(&resp);
		xp_diags_release(&scratch);
	}
	free(url);
	free(body);
}

/* The words of the kernel command line that name what this install needs. */
static int read_cmdline(struct run *x)
{
	const struct xp_installer_run_opts *o = x->o;
	const char *path = o->cmdline ? o->cmdline : "/proc/cmdline";
	size_t len = 0;
	int r = xp_read_file(path, 64 * 1024, &x->words, &len);
	if (r < 0)
		return xp_diags_fail(x->d, r, path, "cmdline", NULL, "cannot read it: %s",
				     strerror(-r));
	static const char *const keys[] = {
	    "xenprov.server=", "xenprov.system=",      "xenprov.mac=",
	    "xenprov.token=",  "xenprov.target-disk=", "xenprov.wipe="};
	const char **to[] = {&x->io.server, &x->system, &x->mac, &x->token, &x->disk, &x->wipe};
	char *save = NULL;
	for (char *w = strtok_r(x->words, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save))
		for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
			if (strncmp(w, keys[i], strlen(keys[i])) == 0)
				*to[i] = w + strlen(keys[i]);
	if (o->server)
		x->io.server = o->server;
	if (o->system)
		x->system = o->system;
	if (o->mac)
		x->mac = o->mac;
	if (o->token)
		x->token = o->token;
	if (!x->io.server || !x->system || !x->mac || !x->token)
		return xp_diags_fail(x->d, -EINVAL, path, "cmdline",
				     "the boot server puts them there for a system marked "
				     "--install on",
				     "no xenprov.server=, xenprov.system=, xenprov.mac= or "
				     "xenprov.token= on the kernel command line");
	if (!xp_system_name_valid(x->system))
		return xp_diags_fail(x->d, -EINVAL, path, "cmdline", NULL,
				     "'%s' is not a system name", x->system);
	return 0;
}

/* ---- the record ---------------------------------------------------------------------- */

static int fetch_record(struct run *x)
{
	char path[300];
	snprintf(path, sizeof(path), "/api/systems/%s", x->system);
	int r = xp__install_request(&x->io, NULL, path, NULL, &x->sys, x->d);
	if (r < 0)
		return r;
	const char *pn = jstr(x->sys, "profile");
	if (!pn || !xp_profile_name_valid(pn))
		return xp_diags_fail(x->d, -EINVAL, x->system, "record",
				     "give it one: xenprov system edit NAME --profile P",
				     "system '%s' has no profile, so no image to install",
				     x->system);
	snprintf(x->res->profile, sizeof(x->res->profile), "%s", pn);
	snprintf(path, sizeof(path), "/api/profiles/%s", pn);
	if ((r = xp__install_request(&x->io, NULL, path, NULL, &x->prof, x->d)) < 0)
		return r;
	x->eff = json_object_get(x->prof, "effective");
	if (!json_is_object(x->eff))
		return xp_diags_fail(x->d, -EBADMSG, NULL, "server", NULL,
				     "the server sent profile '%s' without its values", pn);
	return 0;
}

/* ---- the disk ------------------------------------------------------------------------- */

static int sys_value(const char *dir, const char *name, const char *file, unsigned long long *v)
{
	char path[600], *s = NULL;
	size_t len;
	snprintf(path, sizeof(path), "%s/%s/%s", dir, name, file);
	int r = xp_read_file(path, 64, &s, &len);
	if (r == 0 && sscanf(s, "%llu", v) != 1)
		r = -EBADMSG;
	free(s);
	return r;
}

/* The n-th (0-based) disk an installer may write among the whole disks of sys_block. */
static int nth_disk(const char *sys_block, size_t nth, char *name, size_t size)
{
	static const char *const skip[] = {"loop", "ram", "zram", "sr", "fd", "md", "dm-", "nbd"};
	const char *dir = sys_block ? sys_block : "/sys/block";
	struct dirent **v = NULL;
	int n = scandir(dir, &v, NULL, alphasort);
	if (n < 0)
		return -errno;
	int r = -ENODEV;
	for (int i = 0; i < n; i++) {
		const char *e = v[i]->d_name;
		bool bad = e[0] == '.' || strlen(e) >= size;
		for (size_t k = 0; !bad && k < sizeof(skip) / sizeof(*skip); k++)
			bad = strncmp(e, skip[k], strlen(skip[k])) == 0;
		unsigned long long removable = 0, ro = 0, sectors = 0;
		if (!bad && (sys_value(dir, e, "removable", &removable) < 0 ||
			     sys_value(dir, e, "size", &sectors) < 0))
			bad = true;
		(void)sys_value(dir, e, "ro", &ro);
		if (!bad && !removable && !ro && sectors && r < 0 && nth-- == 0) {
			snprintf(name, size, "%s", e);
			r = 0;
		}
	}
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return r;
}

int xp_installer_pick_disk(const char *sys_block, char *name, size_t size)
{
	return nth_disk(sys_block, 0, name, size);
}

static bool setting_on(const char *v)
{
	return v && (strcmp(v, "on") == 0 || strcmp(v, "1") == 0 || strcmp(v, "yes") == 0 ||
		     strcmp(v, "true") == 0);
}

static int disk_size(struct run *x, const char *dev, int fd, const struct stat *st, uint64_t *size)
{
	*size = (uint64_t)st->st_size;
	if (S_ISBLK(st->st_mode) && ioctl(fd, BLKGETSIZE64, size) < 0)
		return xp_diags_fail(x->d, -errno, dev, "disk", NULL, "cannot read its size: %s",
				     strerror(errno));
	return 0;
}

/* -EEXIST, with the reason, when the disk dev (fd, size bytes) holds a partition table
 * and nothing says wipe. */
static int refuse_table(struct run *x, const char *dev, int fd, uint64_t size)
{
	const struct xp_installer_run_opts *o = x->o;
	unsigned char sec[1024] = {0};
	int r = size >= sizeof(sec) ? xp_pread_full(fd, sec, sizeof(sec), 0) : 0;
	if (r < 0)
		return xp_diags_fail(x->d, r, dev, "disk", NULL, "cannot read it: %s",
				     strerror(-r));
	/* an MBR (or GPT's protective one) ends its sector with 55 AA; GPT's header is
	 * "EFI PART" at LBA 1 (UEFI 2.10, 5.2 and 5.3) */
	bool table =
	    (sec[510] == 0x55 && sec[511] == 0xaa) || memcmp(sec + 512, "EFI PART", 8) == 0;
	bool wipe = o->wipe || setting_on(x->wipe) || setting_on(jstr(x->eff, "wipe"));
	if (table && !wipe)
		return xp_diags_fail(x->d, -EEXIST, dev, "disk",
				     "to write over it: the profile's wipe on, or xenprov.wipe=1 "
				     "in the system's --kernel-options",
				     "%s already holds a partition table: not written over without "
				     "wipe",
				     dev);
	return 0;
}

static int open_disk(struct run *x, int *fdp)
{
	const struct xp_installer_run_opts *o = x->o;
	const char *name = o->disk ? o->disk : x->disk ? x->disk : jstr(x->eff, "target-disk");
	char picked[64];
	if (!name) {
		int r = xp_installer_pick_disk(o->sys_block, picked, sizeof(picked));
		if (r < 0)
			return xp_diags_fail(x->d, r == -ENOENT ? -ENODEV : r,
					     o->sys_block ? o->sys_block : "/sys/block", "disk",
					     "the installer's kernel may lack the disk's driver: "
					     "xenprov installer build --modules NAME",
					     "no disk to install onto");
		name = picked;
	}
	if (strncmp(name, "/dev/", 5) == 0)
		name += 5;
	if (name[0] == '/') { /* --disk or xenprov.target-disk= PATH: taken as it is */
		if (strlen(name) >= sizeof(x->dev))
			return xp_diags_fail(x->d, -ENAMETOOLONG, NULL, "disk", NULL,
					     "the disk's path is too long");
		snprintf(x->dev, sizeof(x->dev), "%s", name);
	} else if (!*name || strchr(name, '/') || strlen(name) > 40) {
		return xp_diags_fail(x->d, -EINVAL, name, "disk", NULL, "'%s' is not a disk's name",
				     name);
	} else {
		snprintf(x->dev, sizeof(x->dev), "%.400s/%s", o->dev_dir ? o->dev_dir : "/dev",
			 name);
	}
	snprintf(x->res->disk, sizeof(x->res->disk), "%s", x->dev);
	/* the partitions of nvme0n1, mmcblk0: nvme0n1p1; of vda: vda1 */
	size_t l = strlen(x->dev);
	snprintf(x->part_prefix, sizeof(x->part_prefix), "%s%s", x->dev,
		 x->dev[l - 1] >= '0' && x->dev[l - 1] <= '9' ? "p" : "");
	int fd = open(x->dev, O_RDWR | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		int r = -errno;
		if (fd >= 0)
			close(fd);
		return xp_diags_fail(x->d, r, x->dev, "disk", NULL, "cannot open the disk: %s",
				     strerror(-r));
	}
	uint64_t size;
	int r = disk_size(x, x->dev, fd, &st, &size);
	if (r < 0) {
		close(fd);
		return r;
	}
	x->res->disk_size = size;
	if ((r = refuse_table(x, x->dev, fd, size)) < 0) {
		close(fd);
		return r;
	}
	*fdp = fd;
	return 0;
}

/* ---- the image ------------------------------------------------------------------------ */

static int fetch_description(struct run *x, uint64_t *size, char **url)
{
	char path[300];
	snprintf(path, sizeof(path), "/api/profiles/%s/image", x->res->profile);
	/* the golden image goes to the install token of this system, from its own address
	 * (http-images.c), as well as to the API token's holders */
	x->io.token = x->token;
	x->io.grant_system = x->system;
	int r = xp__install_image_request(&x->io, path, &x->image, x->d);
	if (r < 0)
		return r == -ENOENT ? -ENODATA : r;
	const char *hex = jstr(x->image, "sha256"), *iurl = jstr(x->image, "url"),
		   *fmt = jstr(x->image, "format");
	json_t *sz = json_object_get(x->image, "size");
	if (!hex || !xp_sha256_hex_valid(hex) || !iurl || iurl[0] != '/' || !json_is_integer(sz) ||
	    json_integer_value(sz) <= 0)
		return xp_diags_fail(x->d, -EBADMSG, NULL, "server", NULL,
				     "%s: the image's description is not understood", x->io.server);
	if (fmt && strcmp(fmt, "raw") != 0)
		return xp_diags_fail(x->d, -ENOTSUP, x->res->profile, "image",
				     "the installer writes raw images", "the image is %s", fmt);
	/* the sparse digest (a server with it): from the same record as the SHA-256 */
	const char *sp = jstr(x->image, "sparse_sha256");
	if (sp && !xp_sha256_hex_valid(sp))
		return xp_diags_fail(x->d, -EBADMSG, NULL, "server", NULL,
				     "%s: the image's sparse digest is not a SHA-256",
				     x->io.server);
	snprintf(x->res->sha256, sizeof(x->res->sha256), "%s", hex);
	snprintf(x->sparse_sha256, sizeof(x->sparse_sha256), "%s", sp ? sp : "");
	*size = (uint64_t)json_integer_value(sz);
	return xp__install_url(x->io.server, iurl, url);
}

/* The first HEAD_HELD bytes of a whole (partitioned) image, its partition table (MBR,
 * or GPT's protective MBR, header and 128 entries: 34 sectors), are written last, once
 * the rest is on the disk: a machine stopped half way leaves a disk with no table, which
 * the next attempt writes without wipe (the disk check reads the first two sectors). */
#define HEAD_HELD 65536
/* Where the GPT firmware_table makes for a bare image puts its root partition: 1 MiB
 * (partition.c) */
#define MIB	    (UINT64_C(1) << 20)
#define GPT_ROOT_AT MIB

struct head_sink {
	unsigned char *buf;
	size_t got;
};

static int on_head(void *ctx, uint64_t off, const void *data, size_t len)
{
	struct head_sink *h = ctx;
	if (off != h->got)
		return -EPROTO;
	size_t n = len < HEAD_HELD - h->got ? len : HEAD_HELD - h->got;
	memcpy(h->buf + h->got, data, n);
	h->got += n;
	return h->got == HEAD_HELD ? -ECANCELED : 0; /* the rest comes with the stream */
}

/* A GET of the image at url with the install token, its body to write(ctx, ...). */
static struct xp_http_req image_get(const struct run *x, const char *url,
				    int (*write)(void *, uint64_t, const void *, size_t), void *ctx)
{
	return (struct xp_http_req){.url = url,
				    .token = x->io.token,
				    .grant_system = x->io.grant_system,
				    .ca_file = x->io.ca_file,
				    .write = write,
				    .ctx = ctx};
}

/* The image's first HEAD_HELD bytes into buf (the start of a GET, stopped there). */
static int fetch_head(struct run *x, const char *url, unsigned char *buf)
{
	struct head_sink h = {.buf = buf};
	struct xp_http_req q = image_get(x, url, on_head, &h);
	struct xp_http_resp resp;
	struct xp_diags dd;
	xp_diags_init(&dd);
	int r = xp_http_request(&q, &resp, &dd);
	xp_http_resp_release(&resp);
	if (h.got == HEAD_HELD)
		r = 0;
	else if (r >= 0)
		r = -EIO;
	if (r < 0)
		xp_diags_fail(x->d, r, url, "image", NULL, "cannot fetch the image's table: %s",
			      dd.n ? dd.v[0].msg : strerror(-r));
	xp_diags_release(&dd);
	return r;
}

/* The image, size bytes, onto fd at offset at; a transfer cut short goes on where it
 * stopped (three tries); then the bytes written are read back and hashed. head (NULL:
 * none): the image's first HEAD_HELD bytes, already fetched: the stream starts after
 * them and they are written once it has ended. */
static int write_image(struct run *x, int fd, uint64_t at, uint64_t size, const char *url,
		       const unsigned char *head)
{
	double t0 = xp__install_now();
	uint64_t have = head ? HEAD_HELD : 0;
	int r = -EIO;
	struct xp_diags tries; /* a transfer cut short is tried again from where it stopped */
	xp_diags_init(&tries);
	for (int i = 0; i < 3 && have < size; i++) {
		uint64_t reached = have;
		xp_diags_release(&tries);
		xp_diags_init(&tries);
		r = xp__install_download(&x->io, url, fd, at, have, size, &reached, &tries);
		have = reached;
		if (r == -ENOENT || r == -EACCES || r == -EFBIG)
			break;
	}
	x->res->fetch_seconds = xp__install_now() - t0;
	if (r < 0 || have != size)
		r = xp_diags_fail(x->d, r < 0 ? r : -EIO, url, "image", NULL,
				  "the image came short: %llu of %llu bytes%s%s",
				  (unsigned long long)have, (unsigned long long)size,
				  tries.n ? ": " : "", tries.n ? tries.v[0].msg : "");
	xp_diags_release(&tries);
	if (r < 0)
		return r;
	if (head && (r = xp_pwrite_full(fd, head, HEAD_HELD, at)) < 0)
		return xp_diags_fail(x->d, r, x->dev, "image", NULL,
				     "cannot write the partition table: %s", strerror(-r));
	unsigned char dg[32];
	char got[65];
	if (fdatasync(fd) < 0 || lseek(fd, (off_t)at, SEEK_SET) < 0 ||
	    (r = xp_sha256_fd_n(fd, size, dg)) < 0)
		return xp_diags_fail(x->d, r < 0 ? r : -errno, x->dev, "image", NULL,
				     "cannot read the image back: %s",
				     strerror(r < 0 ? -r : errno));
	xp_sha256_hex(dg, got);
	snprintf(x->res->digest, sizeof(x->res->digest), "raw");
	if (strcmp(got, x->res->sha256) != 0)
		return xp_diags_fail(x->d, -EBADMSG, x->dev, "sha256", NULL,
				     "the image written does not match its SHA-256 %s (it hashes "
				     "to %s)",
				     x->res->sha256, got);
	return 0;
}

static bool is_blk(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && S_ISBLK(st.st_mode);
}

/* ---- the image as a sparse stream -------------------------------------------------------- */

/* [off, off + len) of the disk fd made to read as zeros: a block device with
 * BLKZEROOUT (which the kernel guarantees reads back as zeros, writing them itself where
 * the device cannot), a file by punching a hole (fallocate(2)), else by writing zeros. A
 * disk that is not known to be blank may hold anything where the image has holes, and
 * the image's filesystem relies on them reading as zeros. */
static int zero_range(int fd, bool blk, uint64_t off, uint64_t len)
{
	static const unsigned char zeros[65536];
	if (blk) {
		/* BLKZEROOUT takes whole sectors: the unaligned ends are written */
		uint64_t a = (off + 511) / 512 * 512, b = (off + len) / 512 * 512;
		uint64_t rg[2] = {a, b > a ? b - a : 0};
		if (b > a && ioctl(fd, BLKZEROOUT, rg) == 0) {
			int r = a > off ? zero_range(fd, false, off, a - off) : 0;
			return r < 0 || off + len == b ? r
						       : zero_range(fd, false, b, off + len - b);
		}
	} else if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
			     (off_t)len) == 0) {
		return 0;
	}
	for (uint64_t done = 0; done < len;) {
		size_t n = len - done < sizeof(zeros) ? (size_t)(len - done) : sizeof(zeros);
		int r = xp_pwrite_full(fd, zeros, n, off + done);
		if (r < 0)
			return r;
		done += n;
	}
	return 0;
}

/* The image's digest, on a thread of its own: besides the network, hashing is the
 * install's largest piece of work, done beside the transfer and the writes. With the
 * server's sparse digest (xenprov/sparse-stream.h) only the data received is hashed
 * (a 512 MiB image of 128 MiB of data: 128 MiB of SHA-256); from an older server, the
 * raw SHA-256, holes hashed as zeros (512 MiB). The thread is fed, in order, copies of
 * the data with their offsets and runs of zeros (ignored for the sparse digest); at most
 * HASH_QUEUED bytes of copies wait (the transfer waits beyond). */
#define HASH_QUEUED (16u << 20)

struct hash_piece {
	struct hash_piece *next;
	uint64_t off;	/* the image's offset of the data */
	uint64_t zeros; /* a run of zeros, or len bytes of data */
	size_t len;
	unsigned char data[];
};

struct hasher {
	struct xp_sha256 *sha;	    /* the raw SHA-256; or */
	struct xp_sparse_digest sp; /* the sparse digest (sparse true) */
	bool sparse;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct hash_piece *head, **tail;
	size_t queued; /* bytes of data waiting */
	bool end;
	int r; /* the first error */
};

static void *hash_main(void *arg)
{
	static const unsigned char zeros[65536];
	struct hasher *h = arg;
	pthread_mutex_lock(&h->lock);
	for (;;) {
		while (!h->head && !h->end)
			pthread_cond_wait(&h->cond, &h->lock);
		struct hash_piece *p = h->head;
		if (!p)
			break;
		h->head = p->next;
		if (!h->head)
			h->tail = &h->head;
		int r = h->r;
		pthread_mutex_unlock(&h->lock);
		if (r == 0 && p->len)
			r = h->sparse ? xp_sparse_digest_add(&h->sp, p->off, p->data, p->len)
				      : xp_sha256_add(h->sha, p->data, p->len);
		for (uint64_t done = 0; r == 0 && !h->sparse && done < p->zeros;) {
			size_t n = p->zeros - done < sizeof(zeros) ? (size_t)(p->zeros - done)
								   : sizeof(zeros);
			r = xp_sha256_add(h->sha, zeros, n);
			done += n;
		}
		pthread_mutex_lock(&h->lock);
		h->queued -= p->len;
		if (r < 0 && h->r == 0)
			h->r = r;
		pthread_cond_broadcast(&h->cond);
		free(p);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

/* sparse: the sparse digest of an image of size bytes, else the raw SHA-256. */
static int hash_start(struct hasher *h, bool sparse, uint64_t size)
{
	*h = (struct hasher){.tail = &h->head, .sparse = sparse};
	int r = sparse ? xp_sparse_digest_init(&h->sp, size) : xp_sha256_new(&h->sha);
	if (r < 0)
		return r;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	if ((r = pthread_create(&h->thread, NULL, hash_main, h)) != 0) {
		pthread_cond_destroy(&h->cond);
		pthread_mutex_destroy(&h->lock);
		xp_sha256_free(h->sha);
		xp_sparse_digest_release(&h->sp);
		return -r;
	}
	return 0;
}

/* The next len bytes of data (copied), the image's at off, or a run of zeros bytes. */
static int hash_put(struct hasher *h, uint64_t off, const void *data, size_t len, uint64_t zeros)
{
	if (h->sparse && !len)
		return 0; /* holes are not in the sparse digest: its extent list says where */
	struct hash_piece *p = malloc(sizeof(*p) + len);
	if (!p)
		return -ENOMEM;
	*p = (struct hash_piece){.off = off, .zeros = zeros, .len = len};
	if (len)
		memcpy(p->data, data, len);
	pthread_mutex_lock(&h->lock);
	while (h->queued && h->queued + len > HASH_QUEUED && h->r == 0)
		pthread_cond_wait(&h->cond, &h->lock);
	int r = h->r;
	if (r == 0) {
		*h->tail = p;
		h->tail = &p->next;
		h->queued += len;
		pthread_cond_signal(&h->cond);
	}
	pthread_mutex_unlock(&h->lock);
	if (r < 0)
		free(p);
	return r;
}

/* Waits for the thread to hash what it was given, and ends it; the digest into dg
 * (NULL: none wanted, an install that failed). */
static int hash_finish(struct hasher *h, unsigned char dg[32])
{
	pthread_mutex_lock(&h->lock);
	h->end = true;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
	pthread_join(h->thread, NULL);
	int r = h->r;
	if (r == 0 && dg)
		r = h->sparse ? xp_sparse_digest_final(&h->sp, dg) : xp_sha256_final(h->sha, dg);
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
	xp_sha256_free(h->sha);
	xp_sparse_digest_release(&h->sp);
	return r;
}

struct sparse_sink {
	int fd;
	bool blk;
	uint64_t at;	     /* the image's offset on the disk */
	unsigned char *head; /* the image's first HEAD_HELD bytes, written last (NULL: none) */
	struct hasher hash;
	struct xp_sparse_rd rd;
	struct xp_http_resp *resp;
	bool started, old_server;
	uint64_t received;
	int failed; /* a write, zeroing or hashing that failed: no transfer to resume */
};

/* The part of [off, off + len) of the image below HEAD_HELD, held in s->head: its
 * length (0 without a head). */
static size_t held(const struct sparse_sink *s, uint64_t off, uint64_t len)
{
	if (!s->head || off >= HEAD_HELD)
		return 0;
	return len < HEAD_HELD - off ? (size_t)len : (size_t)(HEAD_HELD - off);
}

static int sparse_data(void *ctx, uint64_t off, const void *p, size_t len)
{
	struct sparse_sink *s = ctx;
	size_t h = held(s, off, len);
	if (h)
		memcpy(s->head + off, p, h);
	int r = hash_put(&s->hash, off, p, len, 0);
	if (r == 0 && len > h)
		r = xp_pwrite_full(s->fd, (const unsigned char *)p + h, len - h, s->at + off + h);
	if (r < 0)
		s->failed = r; /* hashed perhaps, not written: never fed again */
	else
		s->received += len;
	return r;
}

static int sparse_zeros(void *ctx, uint64_t off, uint64_t len)
{
	struct sparse_sink *s = ctx;
	size_t h = held(s, off, len);
	if (h)
		memset(s->head + off, 0, h);
	/* the raw SHA-256 covers the holes (the sparse digest their place only) */
	int r = hash_put(&s->hash, off, NULL, 0, len);
	if (r == 0 && len > h)
		r = zero_range(s->fd, s->blk, s->at + off + h, len - h);
	if (r < 0)
		s->failed = r;
	return r;
}

static int on_sparse(void *ctx, uint64_t off, const void *data, size_t len)
{
	(void)off;
	struct sparse_sink *s = ctx;
	if (!s->started) {
		s->started = true;
		/* a server without sparse streams ignores ?sparse= and sends the image */
		if (strcmp(s->resp->content_type, XP_SPARSE_TYPE) != 0) {
			s->old_server = true;
			return -ENOTSUP;
		}
	}
	return xp_sparse_rd_feed(&s->rd, data, len);
}

/* The raw SHA-256 of the image written, size bytes at offset at of fd, into dg: the disk
 * read back, but for its first HEAD_HELD bytes when head holds them (not yet written). */
static int readback(struct run *x, int fd, uint64_t at, uint64_t size, const unsigned char *head,
		    unsigned char dg[32])
{
	struct xp_sha256 *h = NULL;
	uint64_t skip = head ? HEAD_HELD : 0;
	int r = fdatasync(fd) < 0 ? -errno : xp_sha256_new(&h);
	if (r == 0 && head)
		r = xp_sha256_add(h, head, HEAD_HELD);
	if (r == 0 && lseek(fd, (off_t)(at + skip), SEEK_SET) < 0)
		r = -errno;
	if (r == 0) {
		/* xp_sha256_fd_n's loop, onto a hash already fed */
		unsigned char buf[65536];
		for (uint64_t left = size - skip; r == 0 && left;) {
			ssize_t n = xp_read_some(fd, buf, left < sizeof(buf) ? left : sizeof(buf));
			if (n <= 0)
				r = n < 0 ? (int)n : -EIO;
			else if ((r = xp_sha256_add(h, buf, (size_t)n)) == 0)
				left -= (uint64_t)n;
		}
	}
	if (r == 0)
		r = xp_sha256_final(h, dg);
	xp_sha256_free(h);
	if (r < 0)
		xp_diags_fail(x->d, r, x->dev, "image", NULL, "cannot read the image back: %s",
			      strerror(-r));
	return r;
}

/* The image, size bytes, onto fd at offset at, as a sparse stream (GET url?sparse=FROM):
 * its data extents written, its holes made zeros on the disk, its SHA-256 computed over
 * the bytes as they arrive (holes as zeros) and checked at the end; a transfer cut short
 * goes on from the byte it reached (three tries). head (NULL: none): where the image's
 * first HEAD_HELD bytes are kept, written once the rest is on the disk. -ENOTSUP (no
 * diagnostic) when the server sends the image whole: an older server. */
static int write_sparse(struct run *x, int fd, uint64_t at, uint64_t size, const char *url,
			unsigned char *head)
{
	double t0 = xp__install_now();
	struct xp_http_resp resp = {0};
	struct sparse_sink s = {.fd = fd, .blk = is_blk(fd), .at = at, .head = head, .resp = &resp};
	const struct xp_sparse_cb cb = {.data = sparse_data, .zeros = sparse_zeros, .ctx = &s};
	bool sparse = x->sparse_sha256[0] != '\0';
	int r = hash_start(&s.hash, sparse, size);
	if (r < 0)
		return xp_diags_fail(x->d, r, NULL, "image", NULL, "cannot start hashing: %s",
				     strerror(-r));
	bool hashing = true;
	struct xp_diags tries; /* a transfer cut short is tried again from where it stopped */
	xp_diags_init(&tries);
	char *u = NULL;
	for (int i = 0; i < 3 && !xp_sparse_rd_done(&s.rd); i++) {
		uint64_t from = s.rd.pos;
		xp_sparse_rd_init(&s.rd, size, from, &cb);
		free(u);
		if (asprintf(&u, "%s?sparse=%llu", url, (unsigned long long)from) < 0) {
			u = NULL;
			r = -ENOMEM;
			break;
		}
		xp_diags_release(&tries);
		xp_diags_init(&tries);
		struct xp_http_req q = image_get(x, u, on_sparse, &s);
		s.started = false;
		r = xp_http_request(&q, &resp, &tries);
		xp_http_resp_release(&resp);
		if (s.old_server) {
			r = -ENOTSUP;
			break;
		}
		if (s.failed) /* this side's fault, not the transfer's: not tried again */
			break;
		if (r == 0 && !xp_sparse_rd_done(&s.rd))
			r = -EIO;
		if (r == -ENOENT || r == -EACCES || r == -EBADMSG)
			break;
	}
	free(u);
	x->res->fetch_seconds = xp__install_now() - t0;
	x->res->received = s.received;
	if (r == -ENOTSUP && s.old_server)
		goto out;
	x->res->sparse = true;
	if (s.failed) {
		r = xp_diags_fail(x->d, s.failed, x->dev, "image", NULL,
				  "cannot write or hash the image at byte %llu: %s",
				  (unsigned long long)s.rd.pos, strerror(-s.failed));
		goto out;
	}
	if (r == -ENOENT) {
		r = xp_diags_fail(x->d, r, url, "image", NULL,
				  "the server no longer publishes the image%s%s", tries.n ? ": " : "",
				  tries.n ? tries.v[0].msg : "");
		goto out;
	}
	if (r < 0 || !xp_sparse_rd_done(&s.rd)) {
		r = xp_diags_fail(x->d, r < 0 ? r : -EIO, url, "image", NULL,
				  r == -EBADMSG
				      ? "the image's sparse stream is malformed at byte %llu "
					"of %llu%s%s"
				      : "the image came short: %llu of %llu bytes%s%s",
				  (unsigned long long)s.rd.pos, (unsigned long long)size,
				  tries.n ? ": " : "", tries.n ? tries.v[0].msg : "");
		goto out;
	}
	unsigned char dg[32];
	char got[65];
	hashing = false;
	if ((r = hash_finish(&s.hash, dg)) < 0) {
		r = xp_diags_fail(x->d, r, url, "sha256", NULL, "cannot hash the image: %s",
				  strerror(-r));
		goto out;
	}
	xp_sha256_hex(dg, got);
	snprintf(x->res->digest, sizeof(x->res->digest), "%s", sparse ? "sparse" : "raw");
	const char *want = sparse ? x->sparse_sha256 : x->res->sha256;
	if (sparse && strcmp(got, want) != 0) {
		/* the server's file may have changed its layout (its holes) and not its bytes:
		 * what was written is read back and held to the raw SHA-256 */
		char msg[300];
		snprintf(msg, sizeof(msg),
			 "the image received does not match its sparse digest %.12s (it hashes "
			 "to %.12s): reading the disk back to check its SHA-256",
			 want, got);
		event(x, "progress", "image", msg);
		step(x, "image", msg);
		snprintf(x->res->digest, sizeof(x->res->digest), "readback");
		if ((r = readback(x, fd, at, size, head, dg)) < 0)
			goto out;
		xp_sha256_hex(dg, got);
		want = x->res->sha256;
	}
	if (strcmp(got, want) != 0) {
		r = xp_diags_fail(
		    x->d, -EBADMSG, url, "sha256", NULL,
		    "the image received does not match its SHA-256 %s (%s %s)", x->res->sha256,
		    sparse ? "nor its sparse digest; the disk read back hashes to" : "it hashes to",
		    got);
		goto out;
	}
	/* the rest on the disk before the table that makes it an installed disk */
	if (head && (fdatasync(fd) < 0 || (r = xp_pwrite_full(fd, head, HEAD_HELD, at)) < 0))
		r = xp_diags_fail(x->d, r < 0 ? r : -errno, x->dev, "image", NULL,
				  "cannot write the partition table: %s",
				  strerror(r < 0 ? -r : errno));
out:
	if (hashing)
		hash_finish(&s.hash, NULL);
	xp_diags_release(&tries);
	return r;
}

/* A bare filesystem image: the msdos table with its root partition first that it goes
 * into (a profile with swap has a partitioned image: the golden image's builder refuses
 * swap without a table, and makes it with one), computed and checked, not written. */
static int plan_table(struct run *x, uint64_t image_size, struct xp_layout *l)
{
	*l = (struct xp_layout){.label = XP_LABEL_MSDOS, .disk_size = x->res->disk_size & ~511ull};
	int r = xp_layout_compute(l);
	if (r < 0)
		return xp_diags_fail(x->d, r, x->dev, "partition", NULL,
				     "no msdos layout for this disk: %s", strerror(-r));
	if (l->root_size < image_size)
		return xp_diags_fail(x->d, -ENOSPC, x->dev, "partition", NULL,
				     "its root partition would hold %llu bytes, the image is %llu",
				     (unsigned long long)l->root_size,
				     (unsigned long long)image_size);
	return 0;
}

/* ---- the root grown to the whole disk ---------------------------------------------------- */

/* The kernel reads the disk's new table (its partitions appear under /dev); nothing for
 * an image file. */
static int reread(struct run *x, const char *dev, int fd)
{
	if (fsync(fd) < 0)
		return xp_diags_fail(x->d, -errno, dev, "disk", NULL, "cannot write it: %s",
				     strerror(errno));
	if (is_blk(fd) && ioctl(fd, BLKRRPART) < 0)
		return xp_diags_fail(x->d, -errno, dev, "disk", NULL,
				     "the kernel cannot read the new partition table: %s",
				     strerror(errno));
	return 0;
}

/* The root partition reaching the end of the disk and its ext2/3/4 filesystem grown to
 * fill it, unless the profile says grow off (the image's size kept). The image builder
 * puts a swap partition after the root: it moves to the end of the disk, its size kept,
 * formatted there again (the edits then give it its UUID and fstab line). On a GPT made
 * here, the ESP (and BIOS boot partition) at the disk's end stay: the root and a swap
 * partition grow and move up to them. A bare image's partition, made here, spans the
 * disk already: only its filesystem grows. A table with something else after the root
 * is left as the image made it, which the result says (root_size is then the image's). */
static int grow_root(struct run *x, int fd)
{
	const char *g = jstr(x->eff, "grow");
	if (x->o->no_grow || (g && strcmp(g, "off") == 0))
		return 0;
	struct xp_image_info info;
	const struct xp_image_volume *root = NULL, *next = NULL;
	int r = xp_image_info_root(x->dev, &info, &root, x->d);
	if (r < 0)
		return r;
	/* on the GPT made here, what the firmware step added at the disk's end (the ESP,
	 * a BIOS boot partition) stays there: the root grows up to it */
	uint64_t limit =
	    x->gpt && x->esp.esp_number ? x->esp.esp_offset - (x->esp.bios_boot ? MIB : 0) : 0;
	unsigned after = 0;
	for (size_t i = 0; root && i < info.n; i++)
		if (info.volumes[i].offset > root->offset &&
		    (!limit || info.volumes[i].offset < limit)) {
			after++;
			next = &info.volumes[i];
		}
	if (!root || !root->partition || after > 1 ||
	    (after == 1 && strcmp(next->kind, "swap") != 0)) {
		x->res->root_size = root ? root->fs.block_size * root->fs.blocks_total : 0;
		goto out;
	}
	uint64_t old = root->fs.block_size * root->fs.blocks_total, size = root->size, at = 0;
	if (!x->res->partitioned) {
		r = xp_partition_grow_to(x->dev, root->offset, after == 1, limit, &size, &at, x->d);
		if (r == 0 && after == 1 &&
		    (r = xp_swap_format(x->dev, at, next->size, NULL, NULL)) < 0)
			xp_diags_fail(x->d, r, x->dev, "grow", NULL,
				      "cannot write the swap area at the end: %s", strerror(-r));
		if (r == 0)
			r = reread(x, x->dev, fd);
		if (r < 0)
			goto out;
	}
	x->res->root_size = old;
	if (size > old) {
		char part[600];
		const char *tmp = getenv("TMPDIR");
		snprintf(part, sizeof(part), "%s%u", x->part_prefix, root->partition);
		/* a device's partition has a node of its own; an image file's filesystem is
		 * grown in a copy (tests) */
		r = is_blk(fd) ? xp_image_grow_fs(part, 0, old, size, NULL, x->d)
			       : xp_image_grow_fs(x->dev, root->offset, old, size,
						  tmp ? tmp : "/tmp", x->d);
		if (r == 0)
			x->res->root_size = size;
	}
out:
	xp_image_info_release(&info);
	return r;
}

/* ---- data disks ------------------------------------------------------------------------- */

/* The profile's data-disk items, each matched with a disk of the machine: --data-disk,
 * else the whole disks of /sys/block after the root's, in order. Checked before anything
 * is written: enough disks, each as large as its item's SIZE, no partition table
 * without wipe, no fs=xfs (the installer has no mkfs.xfs). */
static int plan_data(struct run *x)
{
	const struct xp_installer_run_opts *o = x->o;
	const char *value = jstr(x->eff, "data-disk");
	if (!value || !*value)
		return 0;
	int r = xp_profile_list_items("data-disk", value, &x->items, &x->nitems);
	if (r < 0)
		return xp_diags_fail(x->d, r, x->res->profile, "data", NULL,
				     "the profile's data-disk items are not understood");
	if (!x->nitems)
		return 0;
	x->data = calloc(x->nitems, sizeof(*x->data));
	if (!x->data)
		return -ENOMEM;
	const char *root = strrchr(x->dev, '/') ? strrchr(x->dev, '/') + 1 : x->dev;
	size_t have = 0, nth = 0;
	for (size_t i = 0; i < x->nitems; i++) {
		struct data_disk *dk = &x->data[i];
		const char *why = NULL;
		if (xp_data_disk_parse(x->items[i], &dk->dd, &why) < 0)
			return xp_diags_fail(x->d, -EINVAL, x->res->profile, "data", NULL,
					     "data disk %zu: %s", i + 1, why);
		if (dk->dd.fs == XP_DATA_FS_XFS)
			return xp_diags_fail(x->d, -ENOTSUP, x->res->profile, "data",
					     "use fs=ext4 or fs=none for an installed machine",
					     "data disk %zu: fs=xfs: the installer has no mkfs.xfs",
					     i + 1);
		if (o->data_disks) {
			if (i < o->n_data_disks)
				snprintf(dk->dev, sizeof(dk->dev), "%s", o->data_disks[i]);
		} else {
			char name[64];
			while ((r = nth_disk(o->sys_block, nth++, name, sizeof(name))) == 0 &&
			       strcmp(name, root) == 0)
				;
			if (r == 0)
				snprintf(dk->dev, sizeof(dk->dev), "%.400s/%s",
					 o->dev_dir ? o->dev_dir : "/dev", name);
		}
		if (!dk->dev[0])
			return xp_diags_fail(
			    x->d, -ENODEV, x->res->profile, "data",
			    "the installer's kernel may lack the disk's driver",
			    "the profile names %zu data disks, the machine has %zu "
			    "besides its root disk",
			    x->nitems, have);
		have++;
		int fd = open(dk->dev, O_RDWR | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0) {
			r = xp_diags_fail(x->d, -errno, dk->dev, "data", NULL,
					  "cannot open the disk: %s", strerror(errno));
			if (fd >= 0)
				close(fd);
			return r;
		}
		r = disk_size(x, dk->dev, fd, &st, &dk->size);
		if (r == 0)
			r = refuse_table(x, dk->dev, fd, dk->size);
		close(fd);
		if (r < 0)
			return r;
		if (dk->size < dk->dd.size)
			return xp_diags_fail(
			    x->d, -ENOSPC, dk->dev, "data", NULL,
			    "data disk %zu holds %llu bytes, the profile asks for %llu", i + 1,
			    (unsigned long long)dk->size, (unsigned long long)dk->dd.size);
	}
	x->vols = calloc(x->nitems, sizeof(*x->vols));
	return x->vols ? 0 : -ENOMEM;
}

/* One data disk: a table as the profile's label says (msdos unless gpt; none: the
 * filesystem on the whole disk) with one partition filling the disk, and in it an ext4
 * filesystem (libext2fs, as a guest's data disk is made) with a UUID drawn here; fs=none
 * leaves it as it is. */
static int make_data(struct run *x, struct data_disk *dk, struct xp_domain_volume *v)
{
	*v = (struct xp_domain_volume){.role = "data",
				       .storage = "file",
				       .path = dk->dev,
				       .size = dk->size,
				       .fs = (char *)xp_data_fs_name(dk->dd.fs)};
	if (dk->dd.fs != XP_DATA_FS_EXT4)
		return 0;
	const char *label = jstr(x->eff, "label");
	struct xp_layout l = {.label = XP_LABEL_MSDOS, .disk_size = dk->size & ~511ull};
	if (label && strcmp(label, "gpt") == 0)
		l.label = XP_LABEL_GPT;
	else if (label && strcmp(label, "none") == 0)
		l.label = XP_LABEL_NONE;
	int r = xp_layout_compute(&l);
	if (r < 0)
		return xp_diags_fail(x->d, r, dk->dev, "data", NULL, "no %s layout for it: %s",
				     xp_label_name(l.label), strerror(-r));
	if (l.label == XP_LABEL_NONE)
		l.root_offset = 0, l.root_size = l.disk_size;
	else if ((r = xp_partition_write(dk->dev, &l, x->d)) < 0)
		return r;
	uuid_t u;
	uuid_generate_random(u);
	uuid_unparse_lower(u, dk->uuid);
	struct xp_fs_opts fo = {.type = XP_FS_EXT4, .uuid = dk->uuid, .reserved_percent = -1};
	if ((r = xp_fs_make(dk->dev, l.root_offset, l.root_size, &fo, NULL, x->d)) < 0)
		return r;
	int fd = open(dk->dev, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return xp_diags_fail(x->d, -errno, dk->dev, "data", NULL, "cannot open it: %s",
				     strerror(errno));
	r = reread(x, dk->dev, fd);
	close(fd);
	v->uuid = dk->uuid;
	v->mount = (char *)dk->dd.mount;
	return r;
}

static int write_data(struct run *x)
{
	for (size_t i = 0; i < x->nitems; i++) {
		int r = make_data(x, &x->data[i], &x->vols[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- the firmware: GPT and the EFI system partition ----------------------------------- */

int xp_installer_firmware(const char *name, const char *sys_efi, bool *uefi)
{
	if (!name) {
		struct stat st;
		*uefi = stat(sys_efi ? sys_efi : "/sys/firmware/efi", &st) == 0;
		return 0;
	}
	if (strcmp(name, "uefi") != 0 && strcmp(name, "bios") != 0)
		return -EINVAL;
	*uefi = strcmp(name, "uefi") == 0;
	return 0;
}

/* The disk's table made a GPT with an ESP at its end (partition.c), and the ESP
 * formatted FAT32. bare: the disk holds no image yet and gets a root partition of at
 * least image_size bytes (its offset into *root_at); else the image's partitions kept. */
static int firmware_table(struct run *x, bool bare, uint64_t image_size, uint64_t *root_at)
{
	x->esp = (struct xp_gpt_esp){
	    .esp_size = XP_INSTALLER_ESP_SIZE, .bios_boot = !x->uefi, .make_root = bare};
	int r = xp_partition_gpt_esp(x->dev, &x->esp, x->d);
	if (r < 0)
		return xp_diags_fail(x->d, r, x->dev, "partition",
				     r == -ENOSPC ? "the disk needs room for the image and a "
						    "64 MiB EFI system partition"
						  : NULL,
				     "cannot make a GPT with an EFI system partition: %s",
				     strerror(-r));
	if (!x->esp.root_number)
		return xp_diags_fail(x->d, -EINVAL, x->dev, "partition", NULL,
				     "the image has no Linux partition for its root");
	if (bare && x->esp.root_size < image_size)
		return xp_diags_fail(x->d, -ENOSPC, x->dev, "partition", NULL,
				     "its root partition would hold %llu bytes, the image is %llu",
				     (unsigned long long)x->esp.root_size,
				     (unsigned long long)image_size);
	*root_at = x->esp.root_offset;
	if ((r = xp_getrandom(NULL, &x->esp_id, sizeof(x->esp_id))) < 0 ||
	    (r = xp_fat_format(x->dev, x->esp.esp_offset, x->esp.esp_size, x->esp_id)) < 0)
		return xp_diags_fail(x->d, r, x->dev, "partition", NULL,
				     "cannot format the EFI system partition: %s", strerror(-r));
	return 0;
}

/* /etc/fstab of the new root (mounted on target) with the ESP on /boot/efi by its
 * UUID, as Debian's installer writes it; a /boot/efi line the image had is replaced. */
static int fstab_esp(struct run *x, const char *target)
{
	char path[600], dir[600];
	snprintf(path, sizeof(path), "%s/etc/fstab", target);
	snprintf(dir, sizeof(dir), "%s/boot/efi", target);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return xp_diags_fail(x->d, -errno, dir, "bootloader", NULL,
				     "cannot make the ESP's mount point: %s", strerror(errno));
	char *old = NULL;
	size_t len = 0;
	int r = xp_read_file(path, 1 << 20, &old, &len);
	if (r < 0 && r != -ENOENT)
		return xp_diags_fail(x->d, r, path, "bootloader", NULL, "cannot read it: %s",
				     strerror(-r));
	struct xp_buf b = XP_BUF_INIT;
	for (char *line = old, *nl; line && *line; line = nl) {
		nl = strchr(line, '\n');
		nl = nl ? nl + 1 : line + strlen(line);
		char dev[256], mnt[256];
		if (sscanf(line, "%255s %255s", dev, mnt) == 2 && dev[0] != '#' &&
		    strcmp(mnt, "/boot/efi") == 0)
			continue;
		xp_buf_add(&b, line, (size_t)(nl - line));
	}
	if (b.len && xp_buf_str(&b)[b.len - 1] != '\n')
		xp_buf_adds(&b, "\n");
	xp_buf_addf(&b, "UUID=%04X-%04X\t/boot/efi\tvfat\tumask=0077\t0\t1\n",
		    (unsigned)(x->esp_id >> 16), (unsigned)(x->esp_id & 0xffff));
	free(old);
	r = xp_write_atomic(path, xp_buf_str(&b), b.len, 0644);
	xp_buf_release(&b);
	if (r < 0)
		return xp_diags_fail(x->d, r, path, "bootloader", NULL, "cannot write it: %s",
				     strerror(-r));
	return 0;
}

/* ---- the per-guest edits ---------------------------------------------------------------- */

static int customize(struct run *x)
{
	const char *host = jstr(x->sys, "hostname");
	const char *ip = jstr(x->sys, "ip"), *net = jstr(x->eff, "network"),
		   *pool = jstr(x->eff, "ip-pool");
	unsigned prefix = 0;
	const char *slash = pool ? strchr(pool, '/') : NULL;
	/* a reserved address written static where the profile says static, else DHCP (the
	 * server hands the reservation out anyway) */
	bool stat_ip = ip && net && strcmp(net, "static") == 0 && slash &&
		       sscanf(slash + 1, "%u", &prefix) == 1 && prefix > 0 && prefix <= 32;
	const char *mac = jstr(x->sys, "mac");
	struct xp_guest_spec spec = {
	    .name = x->system,
	    .hostname = host ? host : x->system,
	    .domain = jstr(x->eff, "domain"),
	    .mac = mac ? mac : x->mac,
	    .ip = stat_ip ? ip : NULL,
	    .prefix_len = stat_ip ? prefix : 0,
	    .gateway = jstr(x->eff, "gateway"),
	    .dns = jstr(x->eff, "dns"),
	    .ssh_key = jstr(x->eff, "ssh-key"),
	    .timezone = jstr(x->eff, "timezone"),
	    .disk_path = x->dev,
	    .disk_format = XP_IMAGE_RAW,
	    .root_offset = -1,
	    .grub = !x->o->no_bootloader, /* a grub.cfg for the kernels in /boot */
	    .kernel_args = jstr(x->eff, "extra"),
	    .volumes = x->vols,
	    .nvolumes = x->vols ? x->nitems : 0,
	};
	struct xp_guest_report rep = {0};
	int r = xp_guest_customize(&spec, &rep, x->d);
	xp_guest_report_release(&rep);
	return r;
}

/* ---- GRUB ------------------------------------------------------------------------------- */

static int run_in(struct run *x, const char *target, char *const *argv)
{
	char *av[12] = {"chroot", (char *)target};
	size_t n = 2;
	for (size_t i = 0; argv[i] && n < 11; i++)
		av[n++] = argv[i];
	av[n] = NULL;
	struct xp_buf out = XP_BUF_INIT;
	int r = xp_spawn_wait(av, NULL, &out);
	if (r != 0)
		r = xp_diags_fail(x->d, r < 0 ? r : -EIO, argv[0], "bootloader", NULL,
				  "%s failed (%s %d)%s%s", argv[0], r < 0 ? "error" : "status",
				  r < 0 ? -r : r, out.len ? ": " : "",
				  out.len ? xp_buf_str(&out) : "");
	xp_buf_release(&out);
	return r;
}

/* The first of paths that is an executable regular file in the filesystem fs (read
 * through libext2fs, before anything is mounted), into found. */
static bool in_image(struct xp_fs *fs, const char *const *paths, char *found, size_t size)
{
	for (size_t i = 0; paths[i]; i++) {
		struct xp_fs_entry e;
		int r = xp_fs_stat(fs, paths[i], &e);
		bool ok = r == 0 && S_ISREG(e.mode) && (e.mode & 0111);
		xp_fs_entry_release(&e);
		if (ok) {
			snprintf(found, size, "%s", paths[i]);
			return true;
		}
	}
	return false;
}

/* What the new root has for GRUB: grub-install (else -ENOENT with the reason), and
 * update-grub or a grub.cfg. */
static int grub_tools(struct run *x, unsigned partition, char *install, char *update, size_t size)
{
	static const char *const installs[] = {"/usr/sbin/grub-install", "/sbin/grub-install",
					       "/usr/bin/grub-install", NULL};
	static const char *const updates[] = {"/usr/sbin/update-grub", "/sbin/update-grub", NULL};
	struct xp_blockdev *bd = NULL;
	struct xp_fs *fs = NULL;
	int r = xp_image_open_fs(x->dev, partition, &bd, &fs);
	if (r < 0)
		return xp_diags_fail(x->d, r, x->dev, "bootloader", NULL,
				     "cannot read the new root: %s", strerror(-r));
	update[0] = '\0';
	struct xp_fs_entry e = {0}, efi = {0};
	if (!in_image(fs, installs, install, size))
		r = xp_diags_fail(x->d, -ENOENT, x->res->profile, "bootloader",
				  x->uefi
				      ? "build the image with GRUB for UEFI: profile key include "
					"linux-image-amd64,grub-efi-amd64 (debian:SUITE images)"
				      : "build the image with GRUB: profile key include "
					"linux-image-amd64,grub-pc (debian:SUITE images)",
				  "the image has no GRUB (no grub-install): it cannot boot "
				  "this machine");
	/* grub-install --target=x86_64-efi takes its image from there (grub-efi-amd64-bin) */
	else if (x->uefi && (xp_fs_stat(fs, "/usr/lib/grub/x86_64-efi/kernel.img", &efi) < 0 ||
			     !S_ISREG(efi.mode)))
		r = xp_diags_fail(x->d, -ENOENT, x->res->profile, "bootloader",
				  "build the image with GRUB for UEFI: profile key include "
				  "linux-image-amd64,grub-efi-amd64 (debian:SUITE images)",
				  "the image has no GRUB for UEFI (no "
				  "/usr/lib/grub/x86_64-efi): it cannot boot this UEFI machine");
	else if (!in_image(fs, updates, update, size) &&
		 xp_fs_stat(fs, "/boot/grub/grub.cfg", &e) < 0)
		r = xp_diags_fail(x->d, -ENOENT, x->res->profile, "bootloader",
				  "an image with kernels in /boot gets one from the edits",
				  "the image has no /boot/grub/grub.cfg and no update-grub");
	xp_fs_entry_release(&e);
	xp_fs_entry_release(&efi);
	xp_fs_close(fs);
	xp_blockdev_close(bd);
	return r;
}

/* The ESP in the new root's fstab and, for grub-install on a UEFI machine, mounted on
 * TARGET/boot/efi (*mounted). */
static int esp_mount(struct run *x, const char *target, bool *mounted)
{
	int r = fstab_esp(x, target);
	if (r < 0 || !x->uefi)
		return r;
	char part[600], dir[600];
	snprintf(part, sizeof(part), "%s%u", x->part_prefix, x->esp.esp_number);
	snprintf(dir, sizeof(dir), "%s/boot/efi", target);
	if (mount(part, dir, "vfat", 0, NULL) < 0)
		return xp_diags_fail(x->d, -errno, part, "bootloader",
				     errno == ENODEV ? "the installer's kernel needs vfat" : NULL,
				     "cannot mount the EFI system partition on %s: %s", dir,
				     strerror(errno));
	*mounted = true;
	return 0;
}

static int bootloader(struct run *x)
{
	const char *target = x->o->target ? x->o->target : "/target";
	struct xp_image_info info;
	int r = xp_image_info(x->dev, &info);
	if (r < 0)
		return xp_diags_fail(x->d, r, x->dev, "bootloader", NULL,
				     "cannot read back what was written: %s", strerror(-r));
	const struct xp_image_volume *root = NULL;
	for (size_t i = 0; i < info.n && !root; i++)
		if (strncmp(info.volumes[i].kind, "ext", 3) == 0 && info.volumes[i].partition)
			root = &info.volumes[i];
	char part[600], kind[16];
	unsigned partno = 0;
	if (root) {
		partno = root->partition;
		snprintf(part, sizeof(part), "%s%u", x->part_prefix, root->partition);
		snprintf(kind, sizeof(kind), "%s", root->kind);
	}
	xp_image_info_release(&info);
	if (!root)
		return xp_diags_fail(x->d, -EINVAL, x->dev, "bootloader",
				     "a BIOS machine boots GRUB from a partitioned disk",
				     "the disk has no partition with an ext2/3/4 root");
	char install[64], update[64];
	if ((r = grub_tools(x, partno, install, update, sizeof(install))) < 0)
		return r;
	if (mkdir(target, 0755) < 0 && errno != EEXIST)
		return xp_diags_fail(x->d, -errno, target, "bootloader", NULL,
				     "cannot make the mount point: %s", strerror(errno));
	if (mount(part, target, kind, 0, NULL) < 0)
		return xp_diags_fail(x->d, -errno, part, "bootloader", NULL,
				     "cannot mount the new root on %s: %s", target,
				     strerror(errno));
	bool esp_mounted = false;
	if (x->gpt && (r = esp_mount(x, target, &esp_mounted)) < 0)
		goto unmount;
	static const char *const binds[] = {"/dev", "/proc", "/sys"};
	size_t bound = 0;
	for (; r == 0 && bound < 3; bound++) {
		char p[600];
		snprintf(p, sizeof(p), "%s%s", target, binds[bound]);
		if ((mkdir(p, 0755) < 0 && errno != EEXIST) ||
		    mount(binds[bound], p, NULL, MS_BIND | MS_REC, NULL) < 0) {
			r = xp_diags_fail(x->d, -errno, p, "bootloader", NULL,
					  "cannot bind %s there: %s", binds[bound],
					  strerror(errno));
			break;
		}
	}
	if (r == 0 && x->uefi) {
		/* --removable: EFI/BOOT/BOOTX64.EFI, what UEFI boots from a disk without a
		 * boot variable (UEFI 2.10, 3.5.1.1); --no-nvram: the image need not have
		 * efibootmgr, and the firmware's variables stay as they are */
		char *argv[] = {install,       "--target=x86_64-efi", "--efi-directory=/boot/efi",
				"--removable", "--no-nvram",	      NULL};
		r = run_in(x, target, argv);
	} else if (r == 0) {
		char *argv[] = {install, "--target=i386-pc", x->dev, NULL};
		r = run_in(x, target, argv);
	}
	if (r == 0 && update[0]) {
		char *argv[] = {update, NULL};
		r = run_in(x, target, argv);
	}
	sync();
	while (bound--) {
		char p[600];
		snprintf(p, sizeof(p), "%s%s", target, binds[bound]);
		umount2(p, MNT_DETACH);
	}
unmount:
	if (esp_mounted) {
		char p[600];
		snprintf(p, sizeof(p), "%s/boot/efi", target);
		if (umount(p) < 0 && r == 0)
			r = xp_diags_fail(x->d, -errno, p, "bootloader", NULL,
					  "cannot unmount the EFI system partition: %s",
					  strerror(errno));
	}
	if (umount(target) < 0 && r == 0)
		r = xp_diags_fail(x->d, -errno, target, "bootloader", NULL,
				  "cannot unmount the new root: %s", strerror(errno));
	return r;
}

/* ---- the whole install ------------------------------------------------------------------ */

int xp_installer_run(const struct xp_installer_run_opts *o, struct xp_installer_run_result *res,
		     struct xp_diags *d)
{
	memset(res, 0, sizeof(*res));
	double t0 = xp__install_now();
	struct run x = {.o = o, .res = res, .d = d, .step = "cmdline"};
	int fd = -1;
	char *url = NULL;
	int r = xp_installer_firmware(o->firmware, NULL, &x.uefi);
	if (r < 0) {
		r = xp_diags_fail(d, r, o->firmware, "firmware", NULL,
				  "'%s' is not a firmware: bios or uefi", o->firmware);
		goto out;
	}
	if ((r = read_cmdline(&x)) < 0)
		goto out; /* no server to tell */
	step(&x, "record", "the system's record and profile");
	if ((r = fetch_record(&x)) < 0)
		goto fail;
	step(&x, "disk", "the target disk");
	if ((r = open_disk(&x, &fd)) < 0 || (r = plan_data(&x)) < 0)
		goto fail;
	uint64_t size = 0;
	if ((r = fetch_description(&x, &size, &url)) < 0)
		goto fail;
	res->image_size = size;
	const char *label = jstr(x.eff, "label");
	uint64_t at = 0;
	struct xp_layout l = {0};
	char msg[1200];
	x.gpt = x.uefi || (label && strcmp(label, "gpt") == 0);
	res->uefi = x.uefi;
	bool bare = label && strcmp(label, "none") == 0;
	/* a GPT's room (the image, the ESP, on BIOS the BIOS boot partition, the backup
	 * table, alignment) checked before anything is written: refused, the disk stays as
	 * it was, not left with a table its next attempt would be refused for */
	uint64_t gpt_need = size + XP_INSTALLER_ESP_SIZE + (x.uefi ? 0 : UINT64_C(1) << 20) +
			    (UINT64_C(2) << 20) + 33 * 512;
	if (x.gpt && gpt_need > res->disk_size) {
		step(&x, "firmware", "a GPT with an EFI system partition");
		r = xp_diags_fail(d, -ENOSPC, x.dev, "partition",
				  "the disk needs room for the image and a 64 MiB EFI system "
				  "partition",
				  "cannot make a GPT with an EFI system partition: the disk holds "
				  "%llu bytes, the image and the partitions need %llu",
				  (unsigned long long)res->disk_size, (unsigned long long)gpt_need);
		goto fail;
	}
	/* a bare image goes into the root partition of the table made for it, which is
	 * written once the image is on the disk (as a whole image's own table is): a
	 * machine stopped half way leaves no table to refuse on its next boot */
	if (bare && x.gpt) {
		at = GPT_ROOT_AT;
	} else if (bare) {
		if ((r = plan_table(&x, size, &l)) < 0)
			goto fail;
		at = l.root_offset;
	} else if (size > res->disk_size) {
		r = xp_diags_fail(d, -ENOSPC, x.dev, "disk", NULL,
				  "the disk holds %llu bytes, the image is %llu",
				  (unsigned long long)res->disk_size, (unsigned long long)size);
		goto fail;
	}
	snprintf(msg, sizeof(msg), "%s: %llu bytes onto %s", res->sha256, (unsigned long long)size,
		 x.dev);
	event(&x, "progress", "image", msg);
	step(&x, "image", msg);
	unsigned char *head = NULL; /* a whole image's table: written last */
	if (at == 0 && size > HEAD_HELD && !(head = calloc(1, HEAD_HELD))) {
		r = -ENOMEM;
		goto fail;
	}
	r = write_sparse(&x, fd, at, size, url, head);
	if (r == -ENOTSUP && !res->sparse) { /* an older server: the whole image */
		r = head ? fetch_head(&x, url, head) : 0;
		if (r == 0)
			r = write_image(&x, fd, at, size, url, head);
	}
	free(head);
	if (r < 0)
		goto fail;
	if (bare && x.gpt) {
		step(&x, "partition", "a GPT with the root and an EFI system partition");
		if ((r = firmware_table(&x, true, size, &at)) < 0)
			goto fail;
		if (at != GPT_ROOT_AT) {
			r = xp_diags_fail(d, -EIO, x.dev, "partition", NULL,
					  "the GPT's root partition begins at byte %llu, the image "
					  "was written at %llu",
					  (unsigned long long)at, (unsigned long long)GPT_ROOT_AT);
			goto fail;
		}
		res->partitioned = true;
	} else if (bare) {
		step(&x, "partition", "an msdos table with the root partition");
		if ((r = xp_partition_write(x.dev, &l, d)) < 0)
			goto fail;
		res->partitioned = true;
	}
	if (x.gpt && !bare) {
		event(&x, "progress", "firmware", "a GPT with an EFI system partition");
		step(&x, "firmware", "a GPT with an EFI system partition");
		if ((r = firmware_table(&x, false, size, &at)) < 0)
			goto fail;
	}
	/* the kernel reads the new table: its partitions appear under /dev */
	if ((r = reread(&x, x.dev, fd)) < 0)
		goto fail;
	event(&x, "progress", "grow", "the root partition and filesystem to the end of the disk");
	step(&x, "grow", "the root partition and filesystem to the end of the disk");
	if ((r = grow_root(&x, fd)) < 0)
		goto fail;
	close(fd);
	fd = -1;
	if (x.nitems) {
		snprintf(msg, sizeof(msg), "%zu data disks", x.nitems);
		event(&x, "progress", "data", msg);
		step(&x, "data", msg);
		if ((r = write_data(&x)) < 0)
			goto fail;
	}
	event(&x, "progress", "customize", "host name, network, machine-id, fstab, keys");
	step(&x, "customize", "host name, network, machine-id, fstab, keys");
	if ((r = customize(&x)) < 0)
		goto fail;
	if (!o->no_bootloader) {
		event(&x, "progress", "bootloader",
		      x.uefi ? "grub-install --target=x86_64-efi --removable"
			     : "grub-install --target=i386-pc");
		step(&x, "bootloader", "GRUB from the image");
		if ((r = bootloader(&x)) < 0)
			goto fail;
	}
	res->total_seconds = xp__install_now() - t0;
	snprintf(msg, sizeof(msg), "%s installed on %s in %.0f s", res->profile, x.dev,
		 res->total_seconds);
	event(&x, "success", "done", msg);
	step(&x, "done", msg);
	goto out;
fail:
	snprintf(res->failed_step, sizeof(res->failed_step), "%s", x.step);
	event(&x, "failure", x.step, d->n ? d->v[d->n - 1].msg : strerror(-r));
out:
	if (fd >= 0)
		close(fd);
	free(url);
	free(x.words);
	xp_profile_list_free(x.items, x.nitems);
	free(x.data);
	free(x.vols);
	json_decref(x.sys);
	json_decref(x.prof);
	json_decref(x.image);
	return r;
}
