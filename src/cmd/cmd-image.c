/*
 * cmd-image.c - `xenprov image`: build guest disk images from a root tarball (or from a
 * Debian release made by mmdebstrap, --dist) without root, loop devices or mounts, and
 * look inside images (info, ls, cat) likewise.
 * Thin: the work is in src/lib/image (image.h, extfs.h, blockdev.h, partition.h).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli-inventory.h"
#include "xenprov/image.h"
#include "xenprov/imgstore.h"
#include "xenprov/inventory.h"

#define MIB (1024.0 * 1024.0)

/* ---- build ------------------------------------------------------------------------- */

static const char build_usage[] =
	"Usage: xenprov image build --from ROOTFS.tar[.gz|.xz|.zst|.bz2] -o OUT [OPTIONS]\n"
	"       xenprov image build --from NAME[@V]|DIR -o OUT [OPTIONS]\n"
	"       xenprov image build --dist debian:bookworm|debian:trixie -o OUT [OPTIONS]\n"
	"\n"
	"Builds a guest disk image from a root filesystem tarball: a partition table, an\n"
	"ext2/3/4 filesystem written straight from the archive (no extraction, no mount,\n"
	"no root), an optional swap partition, as a sparse raw file or a qcow2 image.\n"
	"Owners, modes, devices, hard links, xattrs and ACLs come from the archive.\n"
	"The image appears at OUT only when complete. The same archive and options are\n"
	"served from the image cache at once; so is the same --dist image (suite, variant,\n"
	"packages, mirror and the suite's release date), without running mmdebstrap.\n"
	"\n"
	"  --from FILE            the root tarball, a regular file (it is read more than\n"
	"                         once: not '-', a FIFO or a device); or a directory tree\n"
	"                         (read as the tar of its content, just as exactly); or\n"
	"                         NAME@V / NAME (the latest) of a captured image (see\n"
	"                         'xenprov image capture'), cached by its manifest hash\n"
	"  --dist debian:SUITE    the root made by mmdebstrap (bookworm or trixie), its tar\n"
	"                         output built into the image as it comes; as root\n"
	"                         --mode=root, else --mode=unshare (user namespaces)\n"
	"  --include PKG,...      with --dist: packages installed besides the variant's\n"
	"  --variant minbase|standard  with --dist: mmdebstrap's variant (default minbase)\n"
	"  --mirror URI           with --dist: the Debian mirror (default: the host's apt\n"
	"                         sources' Debian mirror, else http://deb.debian.org/debian)\n"
	"  --allow-empty          accept an archive without entries (an empty filesystem)\n"
	"  -o, --output FILE      the image to write (replaced atomically)\n"
	"  --size SIZE|auto       disk size, e.g. 1G, 512M (default auto: content + headroom)\n"
	"  --headroom PCT         free space added with --size auto (default 30)\n"
	"  --fs ext2|ext3|ext4    filesystem (default ext4)\n"
	"  --label msdos|gpt|none partition table (default msdos); none: a bare filesystem\n"
	"  --swap SIZE            add a swap partition of SIZE (after the root partition)\n"
	"  --format raw|qcow2     image format (default raw, or qcow2 when OUT ends in .qcow2)\n"
	"  --fs-label LABEL       filesystem label (at most 16 bytes)\n"
	"  --uuid UUID            filesystem UUID (default random)\n"
	"  --inodes N             number of inodes (default from the size and the archive)\n"
	"  --reserved-percent N   blocks reserved for root, 0-50 (default 5)\n"
	"  --no-cache             build anew, and do not store the result\n"
	"  --cache-dir DIR        image cache (default $XDG_CACHE_HOME/xenprov/images,\n"
	"                         /var/cache/xenprov/images for root)\n"
	"  --json                 print the result as JSON\n"
	"  -q, --quiet            no progress display\n" CLI_STATE_DIR_HELP
	"  -h, --help             this help\n"
	"\n"
	"Examples:\n"
	"  xenprov image build --from bookworm.tar.gz --size 4G --fs ext3 --swap 512M -o web.img\n"
	"  xenprov image build --dist debian:bookworm --include openssh-server -o deb12.img\n";

struct progress {
	struct cli_progress line;
	const char *name;
};

static void show_progress(void *ud, uint64_t bytes, uint64_t entries)
{
	struct progress *p = ud;
	double t = cli_progress_elapsed(&p->line);
	cli_progress_draw(&p->line, false, "xenprov: building %s: %.1f MiB, %" PRIu64 " entries, %.0f MiB/s",
			  p->name, (double)bytes / MIB, entries, t > 0 ? (double)bytes / MIB / t : 0.0);
}

/* mmdebstrap's progress, until the tar begins */
static void show_phase(void *ud, const char *line)
{
	struct progress *p = ud;
	cli_progress_draw(&p->line, true, "xenprov: building %s: mmdebstrap: %s (%.0f s)", p->name,
			  strncmp(line, "I: ", 3) == 0 ? line + 3 : line,
			  cli_progress_elapsed(&p->line));
}

static int uuid_valid(const char *u)
{
	if (strlen(u) != 36)
		return 0;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (u[i] != '-')
				return 0;
		} else if (!strchr("0123456789abcdefABCDEF", u[i])) {
			return 0;
		}
	}
	return 1;
}

/* What --json says of a --dist build: the distribution, and mmdebstrap's time and
 * ours on top of it (they overlap: the image is built while its tar is written). */
static void dist_json(json_t *j, const struct xp_dist *dist, const struct xp_image_result *res,
		      double secs)
{
	json_t *pk = json_array();
	for (size_t i = 0; i < dist->npackages; i++)
		json_array_append_new(pk, json_string(dist->packages[i]));
	json_object_set_new(j, "dist", json_string(dist->spec));
	json_object_set_new(j, "suite", json_string(dist->suite));
	json_object_set_new(j, "variant", json_string(dist->variant));
	json_object_set_new(j, "packages", pk);
	json_object_set_new(j, "mirror", xp_json_text(dist->mirror));
	json_object_set_new(j, "release_date", dist->release_date[0]
							? json_string(dist->release_date)
							: json_null());
	json_object_set_new(j, "mmdebstrap_ran", json_boolean(res->mmdebstrap_ran));
	json_object_set_new(j, "mmdebstrap_seconds", json_real(res->mmdebstrap_seconds));
	json_object_set_new(j, "xenprov_seconds",
			    json_real(res->mmdebstrap_ran ? secs - res->mmdebstrap_seconds : secs));
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v > max)
		return -1;
	*out = v;
	return 0;
}

static int run_build(int argc, char **argv)
{
	enum { O_FROM = 256, O_SIZE, O_HEADROOM, O_FS, O_LABEL, O_SWAP, O_FORMAT, O_FSLABEL,
	       O_UUID, O_INODES, O_RESERVED, O_NOCACHE, O_CACHEDIR, O_ALLOW_EMPTY, O_DIST,
	       O_INCLUDE, O_VARIANT, O_MIRROR };
	static const struct option opts[] = {
		{"from", required_argument, NULL, O_FROM},
		{"output", required_argument, NULL, 'o'},
		{"size", required_argument, NULL, O_SIZE},
		{"headroom", required_argument, NULL, O_HEADROOM},
		{"fs", required_argument, NULL, O_FS},
		{"label", required_argument, NULL, O_LABEL},
		{"swap", required_argument, NULL, O_SWAP},
		{"format", required_argument, NULL, O_FORMAT},
		{"fs-label", required_argument, NULL, O_FSLABEL},
		{"uuid", required_argument, NULL, O_UUID},
		{"inodes", required_argument, NULL, O_INODES},
		{"reserved-percent", required_argument, NULL, O_RESERVED},
		{"no-cache", no_argument, NULL, O_NOCACHE},
		{"cache-dir", required_argument, NULL, O_CACHEDIR},
		{"allow-empty", no_argument, NULL, O_ALLOW_EMPTY},
		{"dist", required_argument, NULL, O_DIST},
		{"include", required_argument, NULL, O_INCLUDE},
		{"variant", required_argument, NULL, O_VARIANT},
		{"mirror", required_argument, NULL, O_MIRROR},
		{NULL, 0, NULL, 0}};
	struct xp_image_opts o = {.fs = {.type = XP_FS_EXT4, .reserved_percent = -1},
				  .headroom_percent = 30,
				  .label = XP_LABEL_MSDOS,
				  .format = XP_IMAGE_RAW};
	struct cli_opts co = {.takes = CLI_JSON | CLI_QUIET | CLI_STATE_DIR, .operand = ""};
	struct xp_dist_opts dopts = {0};
	bool no_cache = false, format_set = false;
	const char *cache_dir = NULL;
	unsigned long long u;
	int c;
	const char *cmd = "image build";
	while ((c = cli_getopt(argc, argv, "+o:", opts, &co)) != -1) {
		switch (c) {
		case O_FROM:
			o.archive = optarg;
			break;
		case 'o':
			o.output = optarg;
			break;
		case O_SIZE:
			if (strcmp(optarg, "auto") == 0)
				o.size = 0;
			else if (xp_parse_size(optarg, &o.size) < 0 || o.size == 0)
				return cli_usage_error(cmd, "invalid --size '%s' (e.g. 1G, 512M, auto)",
						       optarg);
			else if (o.size % 512)
				return cli_usage_error(cmd, "--size must be a whole number of 512-byte "
						       "sectors ('%s' is not)", optarg);
			break;
		case O_HEADROOM:
			if (parse_uint(optarg, 1000, &u) < 0)
				return cli_usage_error(cmd, "invalid --headroom '%s' (0-1000)", optarg);
			o.headroom_percent = (unsigned)u;
			break;
		case O_FS:
			if (strcmp(optarg, "ext2") == 0)
				o.fs.type = XP_FS_EXT2;
			else if (strcmp(optarg, "ext3") == 0)
				o.fs.type = XP_FS_EXT3;
			else if (strcmp(optarg, "ext4") == 0)
				o.fs.type = XP_FS_EXT4;
			else
				return cli_usage_error(cmd, "invalid --fs '%s' (ext2, ext3, ext4)", optarg);
			break;
		case O_LABEL:
			if (strcmp(optarg, "msdos") == 0 || strcmp(optarg, "dos") == 0 ||
			    strcmp(optarg, "mbr") == 0)
				o.label = XP_LABEL_MSDOS;
			else if (strcmp(optarg, "gpt") == 0)
				o.label = XP_LABEL_GPT;
			else if (strcmp(optarg, "none") == 0)
				o.label = XP_LABEL_NONE;
			else
				return cli_usage_error(cmd, "invalid --label '%s' (msdos, gpt, none)",
						       optarg);
			break;
		case O_SWAP:
			if (xp_parse_size(optarg, &o.swap_size) < 0)
				return cli_usage_error(cmd, "invalid --swap '%s'", optarg);
			break;
		case O_FORMAT:
			format_set = true;
			if (strcmp(optarg, "raw") == 0)
				o.format = XP_IMAGE_RAW;
			else if (strcmp(optarg, "qcow2") == 0)
				o.format = XP_IMAGE_QCOW2;
			else
				return cli_usage_error(cmd, "invalid --format '%s' (raw, qcow2)", optarg);
			break;
		case O_FSLABEL:
			if (strlen(optarg) > 16)
				return cli_usage_error(cmd, "--fs-label is at most 16 bytes");
			o.fs.label = optarg;
			break;
		case O_UUID:
			if (!uuid_valid(optarg))
				return cli_usage_error(cmd, "invalid --uuid '%s'", optarg);
			o.fs.uuid = optarg;
			break;
		case O_INODES:
			if (parse_uint(optarg, UINT32_MAX, &u) < 0 || u < 16)
				return cli_usage_error(cmd, "invalid --inodes '%s'", optarg);
			o.fs.inodes = u;
			break;
		case O_RESERVED:
			if (parse_uint(optarg, 50, &u) < 0)
				return cli_usage_error(cmd, "invalid --reserved-percent '%s' (0-50)",
						       optarg);
			o.fs.reserved_percent = (int)u;
			break;
		case O_NOCACHE:
			no_cache = true;
			break;
		case O_CACHEDIR:
			cache_dir = optarg;
			break;
		case O_ALLOW_EMPTY:
			o.fs.allow_empty = true;
			break;
		case O_DIST:
			if (!xp_dist_valid(optarg))
				return cli_usage_error(cmd, "invalid --dist '%s' (debian:bookworm, "
						       "debian:trixie)", optarg);
			dopts.dist = optarg;
			break;
		case O_INCLUDE:
			dopts.include = optarg;
			break;
		case O_VARIANT:
			if (strcmp(optarg, "minbase") != 0 && strcmp(optarg, "standard") != 0)
				return cli_usage_error(cmd, "invalid --variant '%s' (minbase, standard)",
						       optarg);
			dopts.variant = optarg;
			break;
		case O_MIRROR:
			dopts.mirror = optarg;
			break;
		default:
			return cli_bad_option(cmd, argv);
		}
	}
	if ((c = cli_operands(argc, argv, cmd, &co)))
		return c;
	if (!o.archive && !dopts.dist)
		return cli_usage_error(cmd, "--from ROOTFS or --dist DIST is required");
	if (o.archive && dopts.dist)
		return cli_usage_error(cmd, "--from and --dist exclude each other");
	if (!dopts.dist && (dopts.include || dopts.variant || dopts.mirror))
		return cli_usage_error(cmd, "--include, --variant and --mirror go with --dist");
	if (dopts.dist && o.fs.allow_empty)
		return cli_usage_error(cmd, "--allow-empty goes with --from");
	if (!o.output)
		return cli_usage_error(cmd, "-o OUT is required");
	if (o.archive && strcmp(o.archive, "-") == 0)
		return cli_usage_error(cmd, "--from needs a file, not standard input");
	/* NAME or NAME@V: a captured version's tree, cached by its manifest hash */
	struct xp_imgver captured = {0};
	if (o.archive) {
		char *state = NULL;
		struct xp_diags ld = {0};
		int lr = 0;
		if (co.state_dir)
			state = strdup(co.state_dir);
		else
			(void)xp_state_dir_default(&state);
		const char *root = NULL;
		if (state)
			lr = xp_imgver_lookup(state, o.archive, &captured, &ld);
		/* a lazy version is checked out here, its first reader */
		if (lr == 1 && (lr = xp_imgver_root(state, &captured, &root, &ld)) == 0)
			lr = 1;
		free(state);
		if (lr < 0) {
			cli_print_messages(&ld);
			xp_diags_release(&ld);
			xp_imgver_release(&captured); /* resolved, its checkout failed */
			return XP_EXIT_FAIL;
		}
		xp_diags_release(&ld);
		if (lr == 1) {
			o.archive = root;
			o.content = captured.manifest_sha256;
		}
	}
	size_t ol = strlen(o.output);
	if (!format_set && ol > 6 && strcmp(o.output + ol - 6, ".qcow2") == 0)
		o.format = XP_IMAGE_QCOW2;
	char *cdir = NULL;
	if (!no_cache) {
		if (cache_dir)
			cdir = strdup(cache_dir);
		else
			xp_image_cache_dir_default(&cdir);
		o.cache_dir = cdir;
	}

	struct progress p = {.name = o.output};
	cli_progress_init(&p.line, !co.quiet && !co.json);
	struct xp_diags d;
	xp_diags_init(&d);
	d.limit = 50;
	struct xp_image_result res;
	struct xp_dist dist = {0};
	int r;
	if (dopts.dist) {
		r = xp_dist_resolve(&dopts, &dist, &d);
		if (r == 0)
			r = xp_image_build_dist(&o, &dist, show_progress, show_phase, &p, &res, &d);
	} else {
		r = xp_image_build(&o, show_progress, &p, &res, &d);
	}
	double secs = cli_progress_elapsed(&p.line);
	cli_progress_clear(&p.line, false);
	cli_print_diags(stderr, &d);
	/* a write to OUT failed (the host's disk is full): say so of OUT, not of the build;
	 * mmdebstrap's failure was said in its own words */
	bool write_failed = false, tool_failed = false;
	for (size_t i = 0; i < d.n; i++) {
		write_failed |= d.v[i].code && strcmp(d.v[i].code, "write") == 0;
		tool_failed |= d.v[i].severity == XP_SEV_ERROR && d.v[i].code &&
			       strcmp(d.v[i].code, "mmdebstrap") == 0;
	}
	xp_diags_release(&d);
	free(cdir);
	xp_imgver_release(&captured);
	if (r < 0)
		xp_dist_release(&dist);
	if (r < 0 && write_failed)
		return cli_error("cannot write '%s': %s", o.output, strerror(-r));
	if (r < 0 && tool_failed)
		return cli_error("cannot build '%s'", o.output);
	if (r < 0)
		return cli_error("cannot build '%s': %s", o.output, strerror(-r));
	if (co.json) {
		json_t *j = json_object();
		json_object_set_new(j, "output", json_string(o.output));
		json_object_set_new(j, "format", json_string(xp_image_format_name(o.format)));
		json_object_set_new(j, "cached", json_boolean(res.from_cache));
		if (res.key[0])
			json_object_set_new(j, "key", json_string(res.key));
		json_object_set_new(j, "seconds", json_real(secs));
		if (dopts.dist)
			dist_json(j, &dist, &res, secs);
		if (!res.from_cache) {
			json_object_set_new(j, "disk_size", json_integer((json_int_t)res.layout.disk_size));
			json_object_set_new(j, "table", json_string(xp_label_name(res.layout.label)));
			json_object_set_new(j, "root_offset", json_integer((json_int_t)res.layout.root_offset));
			json_object_set_new(j, "root_size", json_integer((json_int_t)res.layout.root_size));
			if (res.layout.swap_size)
				json_object_set_new(j, "swap_offset",
						    json_integer((json_int_t)res.layout.swap_offset));
			json_object_set_new(j, "uuid", json_string(res.fs.uuid));
			json_object_set_new(j, "entries", json_integer((json_int_t)res.fs.entries));
			json_object_set_new(j, "content_bytes",
					    json_integer((json_int_t)res.fs.content_bytes));
		}
		xp_dist_release(&dist);
		return cli_print_json(j);
	}
	if (res.from_cache)
		printf("%s: from the image cache (%.2f s)\n", o.output, secs);
	else
		printf("%s: %.0f MiB %s, %s table, filesystem UUID %s, %" PRIu64
		       " entries, %.1f MiB of files, %.2f s\n",
		       o.output, (double)res.layout.disk_size / MIB, xp_image_format_name(o.format),
		       xp_label_name(res.layout.label), res.fs.uuid, res.fs.entries,
		       (double)res.fs.content_bytes / MIB, secs);
	if (res.mmdebstrap_ran)
		printf("%s: mmdebstrap %.2f s, xenprov %.2f s more\n", o.output,
		       res.mmdebstrap_seconds, secs - res.mmdebstrap_seconds);
	xp_dist_release(&dist);
	return XP_EXIT_OK;
}

/* ---- info -------------------------------------------------------------------------- */

static const char info_usage[] =
	"Usage: xenprov image info [--json] IMAGE\n"
	"\n"
	"Describes a raw or qcow2 image without mounting it: format, virtual size, space\n"
	"used on disk, backing file, partition table, and for each partition its\n"
	"filesystem type, UUID, label, and used and free space.\n"
	"\n"
	"  --json      JSON output\n"
	"  -h, --help  this help\n";

static int image_error(const char *path, int r)
{
	if (r == -EINVAL)
		return cli_error("'%s' holds no ext2/3/4 filesystem there", path);
	if (r == -ENOENT)
		return cli_error("cannot open '%s': No such file or partition", path);
	return cli_error("cannot read '%s': %s", path, strerror(-r));
}

static int run_info(int argc, char **argv)
{
	struct cli_opts co = {.takes = CLI_JSON, .operand = "IMAGE"};
	int c;
	while ((c = cli_getopt(argc, argv, "+j", NULL, &co)) != -1) {
		if (c != 'j')
			return cli_bad_option("image info", argv);
		co.json = true; /* -j: info has always taken it */
	}
	if ((c = cli_operands(argc, argv, "image info", &co)))
		return c;
	const char *path = argv[optind];
	struct xp_image_info info;
	int r = xp_image_info(path, &info);
	if (r < 0)
		return image_error(path, r);
	if (co.json) {
		json_t *j = json_object();
		json_object_set_new(j, "image", json_string(path));
		json_object_set_new(j, "format", json_string(xp_image_format_name(info.format)));
		json_object_set_new(j, "virtual_size", json_integer((json_int_t)info.virtual_size));
		json_object_set_new(j, "disk_usage", json_integer((json_int_t)info.file_size));
		json_object_set_new(j, "backing", info.backing ? json_string(info.backing) : json_null());
		json_object_set_new(j, "table", json_string(xp_label_name(info.label)));
		json_t *vols = json_array();
		for (size_t i = 0; i < info.n; i++) {
			const struct xp_image_volume *v = &info.volumes[i];
			json_t *o = json_object();
			json_object_set_new(o, "partition", json_integer(v->partition));
			json_object_set_new(o, "offset", json_integer((json_int_t)v->offset));
			json_object_set_new(o, "size", json_integer((json_int_t)v->size));
			if (v->type[0])
				json_object_set_new(o, "type", json_string(v->type));
			json_object_set_new(o, "filesystem", v->kind[0] ? json_string(v->kind) : json_null());
			if (v->uuid[0])
				json_object_set_new(o, "uuid", json_string(v->uuid));
			if (v->kind[0])
				json_object_set_new(o, "label", xp_json_text(v->label));
			if (v->kind[0] == 'e') {
				uint64_t bs = v->fs.block_size;
				json_object_set_new(o, "block_size", json_integer((json_int_t)bs));
				json_object_set_new(o, "used", json_integer((json_int_t)((v->fs.blocks_total - v->fs.blocks_free) * bs)));
				json_object_set_new(o, "free", json_integer((json_int_t)(v->fs.blocks_free * bs)));
				json_object_set_new(o, "inodes", json_integer((json_int_t)v->fs.inodes_total));
				json_object_set_new(o, "inodes_free", json_integer((json_int_t)v->fs.inodes_free));
			}
			json_array_append_new(vols, o);
		}
		json_object_set_new(j, "partitions", vols);
		xp_image_info_release(&info);
		return cli_print_json(j);
	}
	printf("image:    %s\n", path);
	printf("format:   %s, %.1f MiB virtual, %.1f MiB on disk\n", xp_image_format_name(info.format),
	       (double)info.virtual_size / MIB, (double)info.file_size / MIB);
	if (info.backing)
		printf("backing:  %s\n", info.backing);
	printf("table:    %s\n", xp_label_name(info.label));
	printf("%-4s %10s %10s  %-5s %-36s %-16s %10s %10s\n", "part", "start", "size", "fs", "uuid",
	       "label", "used", "free");
	for (size_t i = 0; i < info.n; i++) {
		const struct xp_image_volume *v = &info.volumes[i];
		char used[32] = "-", freeb[32] = "-";
		if (v->kind[0] == 'e') {
			uint64_t bs = v->fs.block_size;
			snprintf(used, sizeof(used), "%.1fM",
				 (double)((v->fs.blocks_total - v->fs.blocks_free) * bs) / MIB);
			snprintf(freeb, sizeof(freeb), "%.1fM", (double)(v->fs.blocks_free * bs) / MIB);
		}
		printf("%-4u %9.1fM %9.1fM  %-5s %-36s %-16s %10s %10s\n", v->partition,
		       (double)v->offset / MIB, (double)v->size / MIB, v->kind[0] ? v->kind : "?",
		       v->uuid[0] ? v->uuid : "-", v->label[0] ? v->label : "-", used, freeb);
	}
	xp_image_info_release(&info);
	return XP_EXIT_OK;
}

/* ---- ls / cat ---------------------------------------------------------------------- */

static const char ls_usage[] =
	"Usage: xenprov image ls [-l] [--json] [--partition N] IMAGE [PATH]\n"
	"\n"
	"Lists a directory (default /) of the filesystem inside IMAGE (raw or qcow2,\n"
	"through its backing files), without mounting it. A PATH that is not a directory\n"
	"lists that entry alone.\n"
	"\n"
	"  -l, --long        mode, links, owner, group, size, mtime, name -> target\n"
	"  --json            JSON array of entries with every field\n"
	"  --partition N     the partition to read (default: the first ext2/3/4 one)\n"
	"  -h, --help        this help\n";

static const char cat_usage[] =
	"Usage: xenprov image cat [--partition N] IMAGE PATH\n"
	"\n"
	"Writes the content of the file PATH inside IMAGE (raw or qcow2) to standard\n"
	"output, without mounting the image.\n"
	"\n"
	"  --partition N  the partition to read (default: the first ext2/3/4 one)\n"
	"  -h, --help     this help\n";

static int parse_partition(const char *cmd, const char *s, unsigned *out)
{
	unsigned long long v;
	if (parse_uint(s, 128, &v) < 0 || v == 0)
		return cli_usage_error(cmd, "invalid --partition '%s' (1-128)", s);
	*out = (unsigned)v;
	return 0;
}

static void mode_string(mode_t m, char out[11])
{
	const char *types = "?pc?d?b?-?l?s???";
	out[0] = types[(m >> 12) & 15];
	const char *rwx = "rwxrwxrwx";
	for (int i = 0; i < 9; i++)
		out[1 + i] = (m & (0400 >> i)) ? rwx[i] : '-';
	if (m & 04000)
		out[3] = (m & 0100) ? 's' : 'S';
	if (m & 02000)
		out[6] = (m & 010) ? 's' : 'S';
	if (m & 01000)
		out[9] = (m & 01) ? 't' : 'T';
	out[10] = 0;
}

static json_t *entry_json(const struct xp_fs_entry *e)
{
	json_t *o = json_object();
	char ms[11];
	mode_string(e->mode, ms);
	json_object_set_new(o, "name", xp_json_text(e->name));
	json_object_set_new(o, "inode", json_integer(e->ino));
	json_object_set_new(o, "mode", json_integer(e->mode & 07777));
	json_object_set_new(o, "type", json_string(S_ISDIR(e->mode)    ? "directory"
						   : S_ISREG(e->mode)  ? "file"
						   : S_ISLNK(e->mode)  ? "symlink"
						   : S_ISCHR(e->mode)  ? "char"
						   : S_ISBLK(e->mode)  ? "block"
						   : S_ISFIFO(e->mode) ? "fifo"
						   : S_ISSOCK(e->mode) ? "socket"
								       : "unknown"));
	json_object_set_new(o, "permissions", json_string(ms));
	json_object_set_new(o, "uid", json_integer(e->uid));
	json_object_set_new(o, "gid", json_integer(e->gid));
	json_object_set_new(o, "size", json_integer((json_int_t)e->size));
	json_object_set_new(o, "mtime", json_integer(e->mtime));
	json_object_set_new(o, "nlink", json_integer(e->nlink));
	if (S_ISCHR(e->mode) || S_ISBLK(e->mode)) {
		json_object_set_new(o, "major", json_integer(e->rdev_major));
		json_object_set_new(o, "minor", json_integer(e->rdev_minor));
	}
	if (e->link)
		json_object_set_new(o, "target", xp_json_text(e->link));
	return o;
}

static void print_entry(const struct xp_fs_entry *e, bool lng)
{
	if (!lng) {
		printf("%s\n", e->name);
		return;
	}
	char ms[11], when[32];
	mode_string(e->mode, ms);
	time_t t = (time_t)e->mtime;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
	if (S_ISCHR(e->mode) || S_ISBLK(e->mode))
		printf("%s %3u %5u %5u %5u, %5u %s %s\n", ms, e->nlink, e->uid, e->gid,
		       e->rdev_major, e->rdev_minor, when, e->name);
	else
		printf("%s %3u %5u %5u %12" PRIu64 " %s %s%s%s\n", ms, e->nlink, e->uid, e->gid,
		       e->size, when, e->name, e->link ? " -> " : "", e->link ? e->link : "");
}

/* The filesystem of partition part (0: the first ext2/3/4 one) of image img, where
 * verb reads path (which must be absolute). 0 or the exit code. */
static int open_fs(const char *verb, const char *img, unsigned part, const char *path,
		   struct xp_blockdev **bd, struct xp_fs **fs)
{
	if (path[0] != '/')
		return cli_usage_error(verb, "PATH must be absolute: '%s'", path);
	int r = xp_image_open_fs(img, part, bd, fs);
	return r < 0 ? image_error(img, r) : 0;
}

static int run_ls(int argc, char **argv)
{
	static const struct option opts[] = {{"long", no_argument, NULL, 'l'},
					     {"partition", required_argument, NULL, 'p'},
					     {NULL, 0, NULL, 0}};
	struct cli_opts co = {.takes = CLI_JSON};
	bool lng = false;
	unsigned part = 0;
	int c;
	while ((c = cli_getopt(argc, argv, "+l", opts, &co)) != -1) {
		if (c == 'l')
			lng = true;
		else if (c == 'p') {
			if (parse_partition("image ls", optarg, &part))
				return XP_EXIT_USAGE;
		} else
			return cli_bad_option("image ls", argv);
	}
	if (argc - optind < 1 || argc - optind > 2)
		return cli_usage_error("image ls", "expected IMAGE [PATH]");
	const char *img = argv[optind], *path = argc - optind == 2 ? argv[optind + 1] : "/";
	struct xp_blockdev *bd;
	struct xp_fs *fs;
	int rc = open_fs("image ls", img, part, path, &bd, &fs);
	if (rc)
		return rc;
	struct xp_fs_entry st;
	int r = xp_fs_stat(fs, path, &st);
	if (r < 0) {
		rc = cli_error("cannot access '%s' in '%s': %s", path, img, strerror(-r));
	} else if (!S_ISDIR(st.mode)) {
		if (co.json) {
			json_t *a = json_array();
			json_array_append_new(a, entry_json(&st));
			rc = cli_print_json(a);
		} else {
			print_entry(&st, lng);
		}
	} else {
		struct xp_fs_entry *es;
		size_t n;
		r = xp_fs_list(fs, path, &es, &n);
		if (r < 0) {
			rc = cli_error("cannot list '%s' in '%s': %s", path, img, strerror(-r));
		} else {
			json_t *a = co.json ? json_array() : NULL;
			for (size_t i = 0; i < n; i++) {
				if (co.json)
					json_array_append_new(a, entry_json(&es[i]));
				else
					print_entry(&es[i], lng);
			}
			xp_fs_list_free(es, n);
			if (co.json)
				rc = cli_print_json(a);
		}
	}
	/* st is empty when the stat failed; it must be released also when the listing
	 * failed (a corrupt directory), which once leaked it */
	xp_fs_entry_release(&st);
	xp_fs_close(fs);
	xp_blockdev_close(bd);
	return rc;
}

static int write_stdout(void *ud, const void *data, size_t len)
{
	(void)ud;
	return fwrite(data, 1, len, stdout) == len ? 0 : -EIO;
}

static int run_cat(int argc, char **argv)
{
	static const struct option opts[] = {{"partition", required_argument, NULL, 'p'},
					     {NULL, 0, NULL, 0}};
	unsigned part = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c != 'p')
			return cli_bad_option("image cat", argv);
		if (parse_partition("image cat", optarg, &part))
			return XP_EXIT_USAGE;
	}
	if (argc - optind != 2)
		return cli_usage_error("image cat", "expected IMAGE and PATH");
	const char *img = argv[optind], *path = argv[optind + 1];
	struct xp_blockdev *bd;
	struct xp_fs *fs;
	int rc = open_fs("image cat", img, part, path, &bd, &fs);
	if (rc)
		return rc;
	int r = xp_fs_read(fs, path, write_stdout, NULL);
	if (r == 0 && fflush(stdout) != 0)
		r = -errno;
	if (r < 0)
		rc = cli_error("cannot read '%s' in '%s': %s", path, img, strerror(-r));
	xp_fs_close(fs);
	xp_blockdev_close(bd);
	return rc;
}

static const struct xp_verb build_verb = {"build", "build a guest disk image from a tarball",
					  build_usage, run_build};
static const struct xp_verb info_verb = {"info", "describe an image: format, partitions, filesystems",
					 info_usage, run_info};
static const struct xp_verb ls_verb = {"ls", "list files inside an image", ls_usage, run_ls};
static const struct xp_verb cat_verb = {"cat", "print a file inside an image", cat_usage, run_cat};

static const struct xp_verb *const image_verbs[] = {
	&build_verb,	     &info_verb,	   &ls_verb,	  &cat_verb,	   &image_capture_verb,
	&image_versions_verb, &image_diff_verb, &image_update_verb, &image_rm_verb, NULL};

const struct xp_command cmd_image = {
	.name = "image",
	.summary = "build guest disk images; look inside them; capture golden images",
	.usage = "Usage: xenprov image VERB [OPTIONS] ARGS...\n"
		 "\n"
		 "Builds partitioned, formatted, populated guest disks from a root tarball as an\n"
		 "ordinary user (no root, loop device or mount), raw or qcow2, and reads them\n"
		 "back without mounting. Captures golden clients into versioned images\n"
		 "(NAME@1, NAME@2, ...) that builds, profiles and deploys take as sources.\n",
	.verbs = image_verbs,
};
