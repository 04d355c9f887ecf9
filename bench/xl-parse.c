/*
 * bench/xl-parse.c - bench-xl-parse: reading xl domain configs, xenprov's
 * xp_cfg_parse() next to Xen's own xlu_cfg_readdata() (libxlutil), in one run.
 *
 * Generates 10,000 varied, realistic configs in memory (PV with a kernel, pygrub,
 * PVH, HVM, xm-era files; 15-40 settings each, 1-8 disks, 1-4 vifs, comments, aligned
 * and packed layouts, multi-line lists, the odd `;` and `+=`) from a fixed seed, checks
 * that both parsers accept every one of them, then parses the whole set with each
 * parser three times (rounds interleaved) and keeps the best round of each
 * (CLOCK_MONOTONIC). Prints configs/s, MiB/s and the ratio xenprov/libxlutil
 * (above 1: xenprov is faster).
 *
 * Each parse is the full life of a config as xl and xenprov use it: create, read,
 * free. libxlutil reports to /dev/null; xenprov gets no diagnostics collector.
 *
 * Not a test: it never judges the timing and exits 0 unless the generated input is
 * rejected by a parser (a bug in this generator or in a parser, not a slow run).
 * Usage: bench-xl-parse [count]     (bench-xl-parse --show N prints config N and exits)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxlutil.h>

#include "xenprov/xl-config.h"

#define DEFAULT_COUNT 10000
#define ROUNDS 3
#define SEED 0x62656e6368ULL /* "bench" */

/* ---- deterministic generator ------------------------------------------------------ */

struct rng {
	uint64_t s;
};

/* splitmix64 */
static uint64_t rnd(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned below(struct rng *r, unsigned n)
{
	return (unsigned)(rnd(r) % n);
}

static int chance(struct rng *r, unsigned percent)
{
	return below(r, 100) < percent;
}

#define PICK(r, arr) ((arr)[below((r), sizeof(arr) / sizeof((arr)[0]))])

enum kind { K_PV_KERNEL, K_PYGRUB, K_PVH, K_HVM, K_XM_ERA, K_NKINDS };

/* Layout habits of one file, so that each file is self-consistent like real ones. */
struct style {
	int align;	/* "memory      = 512" */
	int packed;	/* "memory=512" */
	int dquote;	/* "..." rather than '...' */
	int multiline;	/* lists one item per line */
	int comments;	/* percent chance of a comment line before a setting */
};

struct gen {
	struct rng r;
	struct xp_buf *b;
	struct style st;
	char host[48];
	enum kind kind;
};

/* Writes the start of a statement: the name and the operator ("=" or "+="). */
static void key_op(struct gen *g, const char *name, const char *op)
{
	if (g->st.packed)
		xp_buf_addf(g->b, "%s%s", name, op);
	else if (g->st.align)
		xp_buf_addf(g->b, "%-12s%s ", name, op);
	else
		xp_buf_addf(g->b, "%s %s ", name, op);
}

static void key(struct gen *g, const char *name)
{
	key_op(g, name, "=");
}

static void quoted(struct gen *g, const char *s)
{
	char q = g->st.dquote ? '"' : '\'';
	xp_buf_addc(g->b, q);
	xp_buf_adds(g->b, s);
	xp_buf_addc(g->b, q);
}

static const char *const trailing_comments[] = {
	"# see xl.cfg(5)", "# FIXME", "# was 256", "# do not change", "#TODO: raise",
	"# set by ops", "# ticket 4711",
};

static void end_stmt(struct gen *g)
{
	if (chance(&g->r, 10)) {
		xp_buf_addf(g->b, "  %s\n", PICK(&g->r, trailing_comments));
	} else if (chance(&g->r, 5)) {
		xp_buf_adds(g->b, "; "); /* next statement on the same line */
	} else {
		xp_buf_addc(g->b, '\n');
	}
}

static void set_str(struct gen *g, const char *name, const char *value)
{
	key(g, name);
	quoted(g, value);
	end_stmt(g);
}

static void set_num(struct gen *g, const char *name, long value)
{
	key(g, name);
	if (chance(&g->r, 5) && value > 0)
		xp_buf_addf(g->b, "0x%lx", value);
	else
		xp_buf_addf(g->b, "%ld", value);
	end_stmt(g);
}

/* A list of already-spelt items (without quotes). */
static void set_list(struct gen *g, const char *name, char items[][160], unsigned n)
{
	key(g, name);
	int ml = g->st.multiline && n > 1;
	xp_buf_adds(g->b, ml ? "[\n" : "[ ");
	for (unsigned i = 0; i < n; i++) {
		if (ml) {
			if (chance(&g->r, 10))
				xp_buf_addf(g->b, "    # item %u\n", i + 1);
			xp_buf_adds(g->b, "    ");
		}
		quoted(g, items[i]);
		if (ml)
			xp_buf_adds(g->b, ",\n");
		else if (i + 1 < n)
			xp_buf_adds(g->b, ", ");
		else if (chance(&g->r, 20))
			xp_buf_adds(g->b, ",");
	}
	xp_buf_adds(g->b, ml ? "]" : " ]");
	xp_buf_addc(g->b, '\n');
}

static const char *const comment_lines[] = {
	"#", "# Networking", "# Disk device(s).", "#  Behaviour", "# Kernel + memory size",
	"# vif = [ 'bridge=xenbr1' ]", "#memory = 256", "# Managed by xenprov; edits are kept.",
	"#----------------------------------------------------------------------------",
	"# Hostname", "# Console: use 'xl console' to attach",
};

static void maybe_comment(struct gen *g)
{
	if (chance(&g->r, (unsigned)g->st.comments))
		xp_buf_addf(g->b, "%s\n", PICK(&g->r, comment_lines));
	if (chance(&g->r, 8))
		xp_buf_addc(g->b, '\n');
}

static void gen_disks(struct gen *g)
{
	char items[8][160];
	unsigned n = 1 + below(&g->r, chance(&g->r, 20) ? 8 : 3);
	unsigned style = below(&g->r, 4);
	int hvm = g->kind == K_HVM;
	for (unsigned i = 0; i < n; i++) {
		char dev = (char)('a' + i);
		const char *pfx = hvm && !chance(&g->r, 50) ? "hd" : "xvd";
		switch (style) {
		case 0:
			snprintf(items[i], sizeof(items[i]), "phy:/dev/vg%u/%s-disk%u,%s%c,w",
				 below(&g->r, 3), g->host, i, pfx, dev);
			break;
		case 1:
			snprintf(items[i], sizeof(items[i]),
				 "file:/srv/xen/domains/%s/disk%u.img,%s%c,w", g->host, i, pfx, dev);
			break;
		case 2:
			snprintf(items[i], sizeof(items[i]),
				 "format=%s, vdev=%s%c, access=rw, target=/dev/vg0/%s-%u",
				 chance(&g->r, 70) ? "raw" : "qcow2", pfx, dev, g->host, i);
			break;
		default:
			snprintf(items[i], sizeof(items[i]),
				 "tap:qcow2:/var/lib/xen/images/%s-%u.qcow2,%s%c,w", g->host, i, pfx,
				 dev);
			break;
		}
	}
	if (hvm && n < 8 && chance(&g->r, 40))
		snprintf(items[n++], sizeof(items[0]),
			 "file:/srv/iso/debian-12.%u.0-amd64-netinst.iso,hdc:cdrom,r",
			 below(&g->r, 9));
	maybe_comment(g);
	set_list(g, "disk", items, n);
}

static void gen_vifs(struct gen *g)
{
	char items[4][160];
	unsigned n = 1 + below(&g->r, chance(&g->r, 25) ? 4 : 2);
	for (unsigned i = 0; i < n; i++) {
		int len = snprintf(items[i], sizeof(items[i]),
				   "mac=00:16:3e:%02x:%02x:%02x,bridge=xenbr%u", below(&g->r, 256),
				   below(&g->r, 256), below(&g->r, 256), i);
		size_t room = sizeof(items[i]) - (size_t)len;
		if (chance(&g->r, 30))
			snprintf(items[i] + len, room, ",ip=10.%u.%u.%u", below(&g->r, 256),
				 below(&g->r, 256), 1 + below(&g->r, 254));
		else if (chance(&g->r, 20))
			snprintf(items[i] + len, room, ",vifname=%s-eth%u", g->host, i);
		else if (chance(&g->r, 10))
			snprintf(items[i] + len, room, ",rate=%uMb/s", 10 * (1 + below(&g->r, 100)));
		else if (g->kind == K_HVM && chance(&g->r, 40))
			snprintf(items[i] + len, room, ",model=e1000,type=ioemu");
	}
	maybe_comment(g);
	set_list(g, "vif", items, n);
}

/* Optional settings: a name and a few spellings of a realistic value. A value made
 * of digits only, or a list, is written as is; anything else is quoted. */
struct opt {
	const char *name;
	const char *values[4];
};

static const struct opt opts[] = {
	{"on_poweroff", {"destroy"}},
	{"on_reboot", {"restart", "destroy"}},
	{"on_crash", {"restart", "destroy", "preserve", "coredump-restart"}},
	{"maxvcpus", {"4", "8", "16"}},
	{"cpus", {"2-7", "all,^0", "node:1", "0-3,5"}},
	{"cpu_weight", {"256", "512", "128"}},
	{"cpu_cap", {"0", "100", "200"}},
	{"localtime", {"0", "1"}},
	{"serial", {"pty", "file:/var/log/xen/serial.log"}},
	{"vfb", {"[ 'type=vnc,vncunused=1' ]", "[ 'vnc=1,vnclisten=127.0.0.1,vncdisplay=3' ]"}},
	{"vkb", {"[ 'backend-type=linux' ]"}},
	{"dhcp", {"dhcp"}},
	{"max_grant_frames", {"64", "32"}},
	{"max_event_channels", {"1023", "4096"}},
	{"tsc_mode", {"default", "native", "always_emulate"}},
	{"description", {"web frontend, rack 4", "db replica \\\"b\\\"", "build farm\\tnode"}},
	{"pci", {"[ '0000:03:00.0' ]", "[ '0000:05:00.0,permissive=1', '0000:05:00.1' ]"}},
	{"channel", {"[ 'connection=pty, name=org.xenproject.console.1' ]"}},
	{"p9", {"[ 'tag=share, security_model=none, path=/srv/share' ]"}},
	{"vtpm", {"[ 'backend=vtpmmgr, uuid=a2a73a6f-6b7c-4f6e-9d7f-3f5a2e1c0b9d' ]"}},
	{"e820_host", {"0", "1"}},
	{"nomigrate", {"0", "1"}},
	{"claim_mode", {"1"}},
	{"cpupool", {"Pool-0", "pool-web"}},
	{"seclabel", {"system_u:system_r:domU_t"}},
	{"driver_domain", {"0"}},
	{"max_maptrack_frames", {"1024"}},
	{"rtc_timeoffset", {"0", "3600"}},
	{"vcpu_soft_affinity", {"[ '0-3', '4-7' ]"}},
	{"shadow_memory", {"8", "16"}},
	{"altp2m", {"disabled", "mixed"}},
	{"xenstore_domain", {"0"}},
	{"uuid", {"06ed00fe-1162-4fc4-b5d8-11993ee4a8b9", "4c0b6c5e-8f0d-4c2f-9a4b-1d2e3f405162"}},
};

static const struct opt hvm_opts[] = {
	{"acpi", {"1"}},
	{"apic", {"1"}},
	{"pae", {"1"}},
	{"hap", {"1"}},
	{"hpet", {"1"}},
	{"nestedhvm", {"0"}},
	{"vnc", {"1"}},
	{"vnclisten", {"0.0.0.0", "127.0.0.1"}},
	{"vncdisplay", {"1", "7", "12"}},
	{"vncpasswd", {"s3cret"}},
	{"keymap", {"en-us", "de", "fr"}},
	{"usb", {"1"}},
	{"usbdevice", {"tablet", "[ 'tablet' ]"}},
	{"stdvga", {"0", "1"}},
	{"videoram", {"16", "32"}},
	{"viridian", {"[ 'base', 'freq', 'time_ref_count', 'apic_assist' ]", "1"}},
	{"soundhw", {"hda", "ac97"}},
	{"device_model_version", {"qemu-xen"}},
	{"xen_platform_pci", {"1"}},
	{"firmware", {"bios", "uefi"}},
	{"boot", {"cd", "c", "dc"}},
	{"sdl", {"0"}},
};

static void emit_opt(struct gen *g, const struct opt *o)
{
	unsigned nv = 0;
	while (nv < 4 && o->values[nv])
		nv++;
	const char *v = o->values[below(&g->r, nv)];
	maybe_comment(g);
	key(g, o->name);
	if (v[0] == '[' || strspn(v, "0123456789") == strlen(v))
		xp_buf_adds(g->b, v);
	else
		quoted(g, v);
	end_stmt(g);
}

static const char *const hosts[] = {"web", "db", "mail", "ci", "cache", "lb", "mon", "dns",
				    "build", "vpn", "git", "proxy"};
static const char *const distros[] = {"debian12", "ubuntu2204", "rocky9", "alpine319",
				      "fedora39", "centos7"};

static void gen_config(struct gen *g, unsigned idx)
{
	struct rng *r = &g->r;
	g->kind = (enum kind)below(r, K_NKINDS);
	g->st.align = chance(r, 30);
	g->st.packed = !g->st.align && chance(r, 15);
	g->st.dquote = chance(r, 55);
	g->st.multiline = chance(r, 50);
	g->st.comments = (int)below(r, 40);
	snprintf(g->host, sizeof(g->host), "%s%02u-%s", PICK(r, hosts), idx % 100,
		 PICK(r, distros));

	unsigned target = 15 + below(r, 26); /* 15..40 settings */
	unsigned nset = 0;

	if (g->kind == K_XM_ERA || chance(r, 30))
		xp_buf_addf(g->b,
			    "#\n# Configuration file for the Xen instance %s, created\n"
			    "# by xen-tools 4.9.2 on Mon Mar  4 10:%02u:01 2024.\n#\n\n",
			    g->host, below(r, 60));
	if (g->kind == K_XM_ERA)
		xp_buf_adds(g->b, "#  -*- mode: python; -*-\n");

	long mem = 128L << below(r, 7);
	set_str(g, "name", g->host);
	set_num(g, "memory", mem);
	set_num(g, "vcpus", 1 + below(r, 8));
	nset += 3;
	if (chance(r, 50)) {
		set_num(g, "maxmem", mem * 2);
		nset++;
	}

	switch (g->kind) {
	case K_PV_KERNEL:
	case K_XM_ERA:
		maybe_comment(g);
		set_str(g, "kernel", "/boot/vmlinuz-6.1.0-18-amd64");
		set_str(g, "ramdisk", "/boot/initrd.img-6.1.0-18-amd64");
		set_str(g, "root", "/dev/xvda2 ro");
		set_str(g, "extra", "console=hvc0 elevator=noop");
		nset += 4;
		if (chance(r, 30)) {
			key_op(g, "extra", "+=");
			quoted(g, " net.ifnames=0");
			end_stmt(g);
		}
		break;
	case K_PYGRUB:
		set_str(g, "bootloader", chance(r, 50) ? "pygrub" : "/usr/lib/xen-4.17/bin/pygrub");
		nset++;
		if (chance(r, 30)) {
			char items[2][160] = {"--kernel=/vmlinuz", "--ramdisk=/initrd.img"};
			set_list(g, "bootloader_args", items, 2);
			nset++;
		}
		break;
	case K_PVH:
		set_str(g, "type", "pvh");
		set_str(g, "kernel", chance(r, 50) ? "/usr/lib/grub-xen/grub-i386-xen_pvh.bin"
						  : "/srv/xen/kernels/vmlinuz-pvh");
		set_str(g, "cmdline", "root=/dev/xvda1 console=hvc0");
		nset += 3;
		break;
	case K_HVM:
	default:
		if (chance(r, 50))
			set_str(g, "builder", "hvm");
		else
			set_str(g, "type", "hvm");
		nset++;
		break;
	}

	gen_disks(g);
	gen_vifs(g);
	nset += 2;

	/* Fill up to the target with distinct optional settings: a partial shuffle. */
	enum { NOPT = sizeof(opts) / sizeof(opts[0]), NHVM = sizeof(hvm_opts) / sizeof(hvm_opts[0]) };
	unsigned order[NOPT + NHVM];
	unsigned avail = g->kind == K_HVM ? NOPT + NHVM : NOPT;
	for (unsigned i = 0; i < avail; i++)
		order[i] = i;
	for (unsigned k = 0; k < avail && nset < target; k++, nset++) {
		unsigned j = k + below(r, avail - k), t = order[k];
		order[k] = order[j];
		order[j] = t;
		emit_opt(g, order[k] < NOPT ? &opts[order[k]] : &hvm_opts[order[k] - NOPT]);
	}
	if (chance(r, 10)) /* the file was edited later: the last assignment wins */
		set_num(g, "memory", mem * 2);
	if (chance(r, 70))
		xp_buf_addc(g->b, '\n');
}

/* ---- timing ------------------------------------------------------------------------ */

struct cfgtext {
	char *data;
	size_t len;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Returns the seconds taken, or a negative value if a parse failed. */
static double run_xenprov(const struct cfgtext *v, size_t n, size_t *settings)
{
	size_t sum = 0;
	double t0 = now();
	for (size_t i = 0; i < n; i++) {
		struct xp_cfg *c = NULL;
		int r = xp_cfg_parse(v[i].data, v[i].len, NULL, NULL, &c);
		if (r < 0) {
			xp_cfg_free(c);
			return -1;
		}
		sum += xp_cfg_count(c);
		xp_cfg_free(c);
	}
	double t = now() - t0;
	*settings = sum;
	return t;
}

static double run_libxlutil(const struct cfgtext *v, size_t n, FILE *devnull)
{
	double t0 = now();
	for (size_t i = 0; i < n; i++) {
		XLU_Config *x = xlu_cfg_init(devnull, "bench");
		if (!x)
			return -1;
		int r = xlu_cfg_readdata(x, v[i].data, (int)v[i].len);
		xlu_cfg_destroy(x);
		if (r)
			return -1;
	}
	return now() - t0;
}

/* Finds the first config a parser rejects, to say which one. */
static void explain_rejection(const struct cfgtext *v, size_t n, FILE *devnull)
{
	for (size_t i = 0; i < n; i++) {
		struct xp_cfg *c = NULL;
		int pr = xp_cfg_parse(v[i].data, v[i].len, NULL, NULL, &c);
		xp_cfg_free(c);
		XLU_Config *x = xlu_cfg_init(stderr, "generated");
		int xr = x ? xlu_cfg_readdata(x, v[i].data, (int)v[i].len) : ENOMEM;
		xlu_cfg_destroy(x);
		if (pr || xr) {
			fprintf(stderr,
				"bench-xl-parse: generated config #%zu rejected "
				"(xenprov %d, libxlutil %d):\n%.*s\n",
				i, pr, xr, (int)v[i].len, v[i].data);
			return;
		}
	}
	(void)devnull;
}

int main(int argc, char **argv)
{
	size_t count = DEFAULT_COUNT, show = SIZE_MAX;
	if (argc == 3 && strcmp(argv[1], "--show") == 0) {
		show = strtoul(argv[2], NULL, 10);
		count = show + 1;
	} else if (argc > 2 || (argc == 2 && (strcmp(argv[1], "-h") == 0 ||
						strcmp(argv[1], "--help") == 0))) {
		printf("usage: bench-xl-parse [count]\n       bench-xl-parse --show N\n");
		return argc == 2 ? 0 : 2;
	} else if (argc == 2) {
		char *end;
		errno = 0;
		unsigned long c = strtoul(argv[1], &end, 10);
		if (errno || *end || c == 0) {
			fprintf(stderr, "bench-xl-parse: '%s': not a count\n", argv[1]);
			return 2;
		}
		count = c;
	}

	FILE *devnull = fopen("/dev/null", "w");
	if (!devnull) {
		fprintf(stderr, "bench-xl-parse: cannot open '/dev/null': %s\n", strerror(errno));
		return 1;
	}

	struct cfgtext *v = calloc(count, sizeof(*v));
	if (!v) {
		fprintf(stderr, "bench-xl-parse: out of memory\n");
		return 1;
	}
	struct gen g = {.r = {SEED}};
	size_t bytes = 0, minlen = SIZE_MAX, maxlen = 0;
	for (size_t i = 0; i < count; i++) {
		struct xp_buf b = XP_BUF_INIT;
		g.b = &b;
		gen_config(&g, (unsigned)i);
		v[i].len = b.len;
		v[i].data = xp_buf_steal(&b);
		if (!v[i].data) {
			fprintf(stderr, "bench-xl-parse: out of memory\n");
			return 1;
		}
		bytes += v[i].len;
		minlen = v[i].len < minlen ? v[i].len : minlen;
		maxlen = v[i].len > maxlen ? v[i].len : maxlen;
	}

	if (show != SIZE_MAX) {
		fwrite(v[show].data, 1, v[show].len, stdout);
		goto out;
	}

	/* Warm up, and make sure both parsers accept everything generated. */
	size_t settings = 0;
	if (run_xenprov(v, count, &settings) < 0 || run_libxlutil(v, count, devnull) < 0) {
		explain_rejection(v, count, devnull);
		return 1;
	}

	double best_xp = 1e300, best_xlu = 1e300;
	for (int round = 0; round < ROUNDS; round++) {
		size_t s = 0;
		double t = run_xenprov(v, count, &s);
		if (t >= 0 && t < best_xp)
			best_xp = t;
		t = run_libxlutil(v, count, devnull);
		if (t >= 0 && t < best_xlu)
			best_xlu = t;
	}

	double mib = (double)bytes / (1024.0 * 1024.0);
	printf("bench-xl-parse: %zu generated configs, %.2f MiB (%zu..%zu bytes, %.1f settings "
	       "each on average), best of %d rounds\n",
	       count, mib, minlen, maxlen, (double)settings / (double)count, ROUNDS);
	printf("  xenprov   xp_cfg_parse      %10.0f configs/s  %8.1f MiB/s  (%.3f s)\n",
	       (double)count / best_xp, mib / best_xp, best_xp);
	printf("  libxlutil xlu_cfg_readdata  %10.0f configs/s  %8.1f MiB/s  (%.3f s)\n",
	       (double)count / best_xlu, mib / best_xlu, best_xlu);
	printf("  ratio xenprov/libxlutil     %10.2f  (above 1: xenprov is faster)\n",
	       best_xlu / best_xp);

out:
	for (size_t i = 0; i < count; i++)
		free(v[i].data);
	free(v);
	fclose(devnull);
	return 0;
}
