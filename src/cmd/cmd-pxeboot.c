/*
 * cmd-pxeboot.c - `xenprov pxeboot`, also run as `xenprov-pxeboot` by libxl as a PV/PVH
 * guest's bootloader: libxl's arguments (libxl_bootloader.c of Xen 4.17), the guest's
 * MAC found, the files fetched through the library (src/lib/pxeboot/), the answer
 * written in the format asked for. --dry-run prints the plan instead.
 *
 * Not here: DHCP, TFTP, HTTP, configs (the library).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "xenprov/bootloader.h"
#include "xenprov/pxeboot.h"

#define DEFAULT_OUTDIR	  "/var/run/xen/pxeboot"
#define DEFAULT_CONFIGDIR "/etc/xen"

static const char pxeboot_usage[] =
    "Usage: xenprov-pxeboot [LIBXL'S ARGUMENTS] [--mac=MAC | VIF-SPEC | --config=FILE]\n"
    "                       [OPTIONS] DISK\n"
    "       xenprov pxeboot --dry-run --mac MAC [--interface IF] [OPTIONS]\n"
    "\n"
    "The network bootloader of a PV/PVH guest (xl.cfg: bootloader = \"xenprov-pxeboot\"):\n"
    "DHCP on a dom0 interface with the guest's MAC, the pxelinux config the boot server\n"
    "has for it (pxelinux.cfg/01-MAC, the address in hex, default) over TFTP or HTTP,\n"
    "then its kernel and initrd, handed to libxl. LOCALBOOT, and --local, boot what the\n"
    "guest's own disk boots (its GRUB, BLS, menu.lst or extlinux config).\n"
    "\n"
    "What libxl passes:\n"
    "  --kernel=FILE        fetch FILE instead of the label's kernel\n"
    "  --ramdisk=FILE       fetch FILE instead of the label's initrds\n"
    "  --args=TEXT          added to the label's command line (xl's extra=)\n"
    "  --output=FILE        where the answer goes (default: standard output)\n"
    "  --output-format=FMT  simple0 (libxl), simple, or sxp (the default, xend's)\n"
    "  --output-directory=DIR  where the kernel and ramdisk files go\n"
    "                       (default " DEFAULT_OUTDIR ")\n"
    "  --runas=UID          do the network work as UID (libxl's bootloader_restrict)\n"
    "  -q, --quiet          no progress lines on standard error\n"
    "  DISK                 the guest's disk (LOCALBOOT, --local, finding its config)\n"
    "\n"
    "The guest (bootloader_args; the first that is given counts):\n"
    "  --mac=MAC            the guest's MAC\n"
    "  VIF-SPEC, --vif=SPEC its vif, as in vif= ('mac=00:16:3e:..., bridge=xenbr0')\n"
    "  --config=FILE        its xl config: the first vif\n"
    "  --domain=NAME        its xl config is CONFIG-DIR/NAME.cfg (or NAME)\n"
    "  (none of these)      the config in CONFIG-DIR whose disk= names DISK\n"
    "  --config-dir=DIR     where guests' configs are (default " DEFAULT_CONFIGDIR ")\n"
    "\n"
    "Options:\n"
    "  -i, --interface=IF   dom0's interface for DHCP (default: the vif's bridge, else\n"
    "                       xenbr0)\n"
    "  --server=HOST        the boot server, instead of the DHCP answer's\n"
    "  --http[=URL]         fetch over HTTP: from the boot server, or from URL (the\n"
    "                       directory holding pxelinux.cfg/)\n"
    "  --pxe-config=NAME    this config file instead of pxelinux's search\n"
    "  --label=NAME         boot this label instead of the config's default\n"
    "  --local              boot what DISK's own boot config boots; no network\n"
    "  --entry=ENTRY        with --local or LOCALBOOT: the disk's menu entry (index,\n"
    "                       title or SUBMENU>TITLE)\n"
    "  --keep-lease         do not release the address after the files are fetched\n"
    "  --timeout=SECONDS    for the DHCP exchange (default 30)\n"
    "  --blksize=N          TFTP block size to ask for (default 1468)\n"
    "  --windowsize=N       TFTP window size to ask for (default 64)\n"
    "  --dhcp-port=N        the DHCP servers' port (default 67; ours is N+1)\n"
    "  --dry-run            print what would be booted; fetch no kernel, write nothing\n"
    "  --json               with --dry-run: the plan as JSON\n"
    "  -h, --help           this help\n"
    "\n"
    "Examples (xl.cfg):\n"
    "  bootloader = \"xenprov-pxeboot\"\n"
    "  vif = ['mac=00:16:3e:11:11:11, bridge=xenbr0']\n"
    "  bootloader_args = ['--config=/etc/xen/web1.cfg']\n"
    "\n"
    "  xenprov pxeboot --dry-run --mac 00:16:3e:11:11:11 --interface xenbr0\n";

enum {
	O_KERNEL = 256,
	O_RAMDISK,
	O_ARGS,
	O_OUTPUT,
	O_FORMAT,
	O_OUTDIR,
	O_RUNAS,
	O_MAC,
	O_VIF,
	O_CONFIG,
	O_DOMAIN,
	O_CONFIGDIR,
	O_SERVER,
	O_HTTP,
	O_PXECONFIG,
	O_LABEL,
	O_LOCAL,
	O_ENTRY,
	O_KEEP,
	O_TIMEOUT,
	O_BLKSIZE,
	O_WINDOW,
	O_DPORT,
	O_DRYRUN,
};

static bool quiet;

static void log_line(void *ctx, const char *fmt, va_list ap)
{
	(void)ctx;
	if (quiet)
		return;
	char msg[1024];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "%s: %s\n", cli_prog, msg);
}

static int parse_num(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

/* The library's diagnostics as the program's error lines. */
static int fail_diags(const struct xp_diags *d, int r, const char *what)
{
	if (d->n)
		cli_print_messages(d);
	else
		cli_error("%s: %s", what, strerror(-r));
	return XP_EXIT_FAIL;
}

struct args {
	const char *kernel, *ramdisk, *extra, *output, *outdir, *disk;
	enum xp_bootloader_format format;
	long runas;
	const char *mac, *config, *domain, *configdir, *interface, *server, *http, *pxe_config;
	const char *label, *entry;
	struct xp_buf vif; /* the vif specs given, joined by ',' */
	bool local, keep, dry_run, json;
	long timeout, blksize, windowsize, dhcp_port;
};

/* The guest's NIC: the first source that is given (see the usage). */
static int find_nic(const struct args *a, struct xp_pxeboot_nic *nic, struct xp_diags *d)
{
	memset(nic, 0, sizeof(*nic));
	if (a->mac) {
		if (xp_mac_parse(a->mac, &nic->mac) < 0)
			return xp_diags_fail(d, -EINVAL, NULL, "mac", "write it as xx:xx:xx:xx:xx:xx",
					     "'%s' is not a MAC address", a->mac);
		return 0;
	}
	if (a->vif.len)
		return xp_pxeboot_nic_from_spec(xp_buf_str(&a->vif), nic, d);
	if (a->config)
		return xp_pxeboot_nic_from_config(a->config, nic, d);
	const char *dir = a->configdir ? a->configdir : DEFAULT_CONFIGDIR;
	if (a->domain) {
		char *p = NULL;
		struct stat st;
		if (strchr(a->domain, '/') || !*a->domain)
			return xp_diags_fail(d, -EINVAL, NULL, "domain", NULL,
					     "'%s' is not a domain name", a->domain);
		if (asprintf(&p, "%s/%s.cfg", dir, a->domain) < 0)
			return -ENOMEM;
		if (stat(p, &st) < 0) {
			free(p);
			if (asprintf(&p, "%s/%s", dir, a->domain) < 0)
				return -ENOMEM;
		}
		int r = xp_pxeboot_nic_from_config(p, nic, d);
		free(p);
		return r;
	}
	if (a->disk) {
		char *p = NULL;
		int r = xp_pxeboot_find_config(dir, a->disk, &p, d);
		if (r == 0)
			r = xp_pxeboot_nic_from_config(p, nic, d);
		free(p);
		return r;
	}
	return xp_diags_fail(d, -EINVAL, NULL, "mac",
			     "add --mac=xx:xx:xx:xx:xx:xx, a vif spec or --config=FILE to "
			     "bootloader_args",
			     "the guest's MAC is not known");
}

static void ip_out(char *buf, uint32_t ip)
{
	snprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
}

static int prefix_len(uint32_t mask)
{
	int n = 0;
	while (mask & 0x80000000u)
		n++, mask <<= 1;
	return n;
}

static int print_plan(const struct xp_pxeboot_plan *pl, bool json)
{
	char ip[16], sid[16], gw[16], ns[16];
	const struct xp_dhcp_client_lease *l = pl->lease;
	if (l) {
		ip_out(ip, l->ip);
		ip_out(sid, l->server_id);
		ip_out(gw, l->router);
		ip_out(ns, l->next_server);
	}
	if (json) {
		json_t *o = json_object(), *in = json_array();
		if (l) {
			json_t *lj = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:i}", "ip", ip, "prefix",
					       prefix_len(l->netmask), "server", sid, "router",
					       l->router ? gw : "", "next_server",
					       l->next_server ? ns : "", "file", l->file, "lease_time",
					       (json_int_t)l->lease_time);
			if (l->relay) {
				char rl[16];
				ip_out(rl, l->relay);
				json_object_set_new(lj, "relay", json_string(rl));
			}
			json_object_set_new(o, "lease", lj);
		}
		for (size_t i = 0; i < pl->n_initrds; i++)
			json_array_append_new(in, json_string(pl->initrds[i]));
		json_object_set_new(o, "config", json_string(pl->config ? pl->config : ""));
		json_object_set_new(o, "label", json_string(pl->label));
		if (pl->menu_label)
			json_object_set_new(o, "menu_label", json_string(pl->menu_label));
		json_object_set_new(o, "local", json_boolean(pl->local));
		if (pl->disk_config) {
			json_object_set_new(o, "disk_config", json_string(pl->disk_config));
			json_object_set_new(o, "disk_config_kind", json_string(pl->disk_kind));
		}
		json_object_set_new(o, "kernel", json_string(pl->kernel ? pl->kernel : ""));
		json_object_set_new(o, "initrd", in);
		json_object_set_new(o, "args", json_string(pl->args));
		json_object_set_new(o, "keeps_lease", json_boolean(pl->keeps_lease));
		return cli_print_json(o);
	}
	if (l) {
		printf("lease:   %s/%d from %s", ip, prefix_len(l->netmask), sid);
		if (l->relay) {
			char rl[16];
			ip_out(rl, l->relay);
			printf(" via relay %s", rl);
		}
		if (l->router)
			printf(", router %s", gw);
		if (l->next_server)
			printf(", next server %s", ns);
		if (l->file[0])
			printf(", file %s", l->file);
		printf("\n");
	}
	if (pl->config)
		printf("config:  %s\n", pl->config);
	printf("label:   %s%s%s%s\n", *pl->label ? pl->label : "(DEFAULT's kernel)",
	       pl->menu_label ? " (" : "", pl->menu_label ? pl->menu_label : "",
	       pl->menu_label ? ")" : "");
	if (pl->local)
		printf("disk:    %s config %s\n", pl->disk_kind, pl->disk_config);
	printf("kernel:  %s\n", pl->kernel ? pl->kernel : "");
	for (size_t i = 0; i < pl->n_initrds; i++)
		printf("initrd:  %s\n", pl->initrds[i]);
	if (!pl->n_initrds)
		printf("initrd:  (none)\n");
	printf("args:    %s\n", pl->args);
	return cli_flush();
}

/* Writes the answer: to standard output, or to FILE, which libxl made (and xend made a
 * FIFO): opened as it is, never replaced. */
static int write_answer(const char *path, const struct xp_buf *b)
{
	int fd = STDOUT_FILENO;
	if (path && strcmp(path, "-")) {
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0)
			return cli_error("cannot open '%s': %s", path, strerror(errno));
	}
	int r = xp_write_full(fd, b->s, b->len);
	if (fd != STDOUT_FILENO && close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		return cli_error("cannot write '%s': %s", path ? path : "standard output", strerror(-r));
	return 0;
}

/* Lease, plan and fetch: the work done with the network (as --runas's user). The
 * ramdisk's presence and the command line come back in *has_ramdisk and *args. */
static int network_work(struct xp_pxeboot *p, const struct args *a, struct xp_pxeboot_out *out,
			bool *has_ramdisk, char **args)
{
	struct xp_diags d = {0};
	int r = a->local ? 0 : xp_pxeboot_lease(p, &d);
	if (r == 0)
		r = xp_pxeboot_plan(p, &d);
	const struct xp_pxeboot_plan *pl = xp_pxeboot_get_plan(p);
	if (r == 0)
		r = xp_pxeboot_fetch(p, out->kernel_fd, out->ramdisk_fd, &d);
	if (r < 0) {
		fail_diags(&d, r, "cannot boot the guest");
		xp_diags_release(&d);
		return r;
	}
	xp_diags_release(&d);
	*has_ramdisk = pl->n_initrds > 0;
	*args = strdup(pl->args);
	return *args ? 0 : -ENOMEM;
}

/* --runas: the work in a child that has only uid's privileges (and the socket and
 * unnamed files made before); the parent keeps root to name the files in libxl's
 * directory, which only root may write. */
static int work_as(uid_t uid, struct xp_pxeboot *p, const struct args *a,
		   struct xp_pxeboot_out *out, bool *has_ramdisk, char **args)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		int e = -errno;
		close(pfd[0]), close(pfd[1]);
		return e;
	}
	if (pid == 0) {
		close(pfd[0]);
		struct passwd *pw = getpwuid(uid);
		gid_t gid = pw ? pw->pw_gid : (gid_t)uid;
		if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
		    setresuid(uid, uid, uid) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
			cli_error("cannot become uid %u: %s", (unsigned)uid, strerror(errno));
			_exit(XP_EXIT_FAIL);
		}
		bool rd = false;
		char *s = NULL;
		if (network_work(p, a, out, &rd, &s) < 0)
			_exit(XP_EXIT_FAIL);
		char flag = rd ? '1' : '0';
		int r = xp_write_full(pfd[1], &flag, 1);
		if (r == 0)
			r = xp_write_full(pfd[1], s, strlen(s));
		/* the lease is released here, where it was taken */
		xp_pxeboot_free(p);
		_exit(r < 0 ? XP_EXIT_FAIL : XP_EXIT_OK);
	}
	close(pfd[1]);
	struct xp_buf b = XP_BUF_INIT;
	char buf[4096];
	ssize_t n;
	while ((n = xp_read_some(pfd[0], buf, sizeof(buf))) > 0)
		xp_buf_add(&b, buf, (size_t)n);
	close(pfd[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(st))
		cli_error("the unprivileged part was killed by signal %d", WTERMSIG(st));
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || b.len < 1 || xp_buf_error(&b)) {
		xp_buf_release(&b);
		return -ECHILD;
	}
	*has_ramdisk = b.s[0] == '1';
	*args = strdup(b.s + 1);
	xp_buf_release(&b);
	return *args ? 0 : -ENOMEM;
}

static int run_boot(struct args *a)
{
	struct xp_diags d = {0};
	struct xp_pxeboot_nic nic = {0};
	struct xp_pxeboot *p = NULL;
	struct xp_pxeboot_out out = {.kernel_fd = -1, .ramdisk_fd = -1};
	char *args = NULL, *kpath = NULL, *rpath = NULL;
	int rc = XP_EXIT_FAIL, r;
	struct xp_pxeboot_opts o = {
	    .dhcp_port = (uint16_t)a->dhcp_port,
	    .dhcp_timeout_ms = (uint32_t)a->timeout * 1000,
	    .server = a->server,
	    .http = a->http,
	    .config = a->pxe_config,
	    .label = a->label,
	    .blksize = (uint32_t)a->blksize,
	    .windowsize = (uint32_t)a->windowsize,
	    .kernel = a->kernel,
	    .ramdisk = a->ramdisk,
	    .extra_args = a->extra,
	    .keep_lease = a->keep,
	    .disk = a->disk,
	    .local_entry = a->entry,
	    .log = log_line,
	};
	if (a->local) {
		if (!a->disk) {
			rc = cli_usage_error("pxeboot", "--local needs the guest's DISK");
			goto out;
		}
		r = xp_pxeboot_new_local(&o, &p, &d);
	} else {
		if ((r = find_nic(a, &nic, &d)) < 0)
			goto fail;
		o.mac = nic.mac;
		o.interface = a->interface ? a->interface : nic.bridge ? nic.bridge : "xenbr0";
		r = xp_pxeboot_new(&o, &p, &d);
	}
	if (r < 0)
		goto fail;
	if (a->dry_run) {
		r = a->local ? 0 : xp_pxeboot_lease(p, &d);
		if (r == 0)
			r = xp_pxeboot_plan(p, &d);
		if (r < 0)
			goto fail;
		rc = print_plan(xp_pxeboot_get_plan(p), a->json);
		goto out;
	}
	if ((r = xp_pxeboot_out_open(a->outdir ? a->outdir : DEFAULT_OUTDIR, &out, &d)) < 0)
		goto fail;
	bool has_ramdisk = false;
	if (a->runas >= 0) {
		r = work_as((uid_t)a->runas, p, a, &out, &has_ramdisk, &args);
		if (r == -ECHILD)
			goto out; /* the child said why */
	} else {
		r = network_work(p, a, &out, &has_ramdisk, &args);
		if (r < 0)
			goto out; /* said */
	}
	if (r < 0) {
		cli_error("cannot run the bootloader as uid %ld: %s", a->runas, strerror(-r));
		goto out;
	}
	if ((r = xp_pxeboot_out_commit(&out, has_ramdisk, &kpath, &rpath, &d)) < 0)
		goto fail;
	struct xp_bootloader_result res = {.kernel = kpath, .ramdisk = rpath, .args = args};
	struct xp_buf b = XP_BUF_INIT;
	if ((r = xp_bootloader_format(a->format, &res, &b)) < 0) {
		cli_error("the command line '%s' cannot be written in the %s format", args,
			  a->format == XP_BOOTLOADER_SXP ? "sxp" : "simple");
	} else if (write_answer(a->output, &b) == 0) {
		rc = XP_EXIT_OK;
	}
	xp_buf_release(&b);
	if (rc != XP_EXIT_OK) { /* nothing left behind */
		unlink(kpath);
		if (rpath)
			unlink(rpath);
	}
	goto out;
fail:
	fail_diags(&d, r, "cannot boot the guest");
out:
	xp_pxeboot_free(p);
	xp_pxeboot_out_close(&out);
	xp_pxeboot_nic_release(&nic);
	xp_diags_release(&d);
	free(args), free(kpath), free(rpath);
	return rc;
}

static int run_pxeboot(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"kernel", required_argument, NULL, O_KERNEL},
	    {"ramdisk", required_argument, NULL, O_RAMDISK},
	    {"args", required_argument, NULL, O_ARGS},
	    {"output", required_argument, NULL, O_OUTPUT},
	    {"output-format", required_argument, NULL, O_FORMAT},
	    {"output-directory", required_argument, NULL, O_OUTDIR},
	    {"runas", required_argument, NULL, O_RUNAS},
	    {"mac", required_argument, NULL, O_MAC},
	    {"vif", required_argument, NULL, O_VIF},
	    {"config", required_argument, NULL, O_CONFIG},
	    {"domain", required_argument, NULL, O_DOMAIN},
	    {"config-dir", required_argument, NULL, O_CONFIGDIR},
	    {"interface", required_argument, NULL, 'i'},
	    {"server", required_argument, NULL, O_SERVER},
	    {"http", optional_argument, NULL, O_HTTP},
	    {"pxe-config", required_argument, NULL, O_PXECONFIG},
	    {"label", required_argument, NULL, O_LABEL},
	    {"local", no_argument, NULL, O_LOCAL},
	    {"entry", required_argument, NULL, O_ENTRY},
	    {"keep-lease", no_argument, NULL, O_KEEP},
	    {"timeout", required_argument, NULL, O_TIMEOUT},
	    {"blksize", required_argument, NULL, O_BLKSIZE},
	    {"windowsize", required_argument, NULL, O_WINDOW},
	    {"dhcp-port", required_argument, NULL, O_DPORT},
	    {"dry-run", no_argument, NULL, O_DRYRUN},
	    {NULL, 0, NULL, 0},
	};
	struct args a = {.format = XP_BOOTLOADER_SXP, .runas = -1, .timeout = 30};
	struct cli_opts co = {.takes = CLI_JSON | CLI_QUIET};
	int c, rc;
	optind = 1;
	while ((c = cli_getopt(argc, argv, "i:", longopts, &co)) != -1) {
		long *num = NULL, lo = 0, hi = 0;
		const char *numname = NULL;
		switch (c) {
		case O_KERNEL: a.kernel = optarg; break;
		case O_RAMDISK: a.ramdisk = optarg; break;
		case O_ARGS: a.extra = optarg; break;
		case O_OUTPUT: a.output = optarg; break;
		case O_OUTDIR: a.outdir = optarg; break;
		case O_FORMAT:
			if (xp_bootloader_format_parse(optarg, &a.format) < 0) {
				xp_buf_release(&a.vif);
				return cli_usage_error("pxeboot",
						       "--output-format takes simple0, simple or sxp, "
						       "not '%s'",
						       optarg);
			}
			break;
		case O_RUNAS: num = &a.runas, lo = 1, hi = 0x7fffffff, numname = "--runas"; break;
		case O_MAC: a.mac = optarg; break;
		case O_VIF:
			xp_buf_addf(&a.vif, "%s%s", a.vif.len ? "," : "", optarg);
			break;
		case O_CONFIG: a.config = optarg; break;
		case O_DOMAIN: a.domain = optarg; break;
		case O_CONFIGDIR: a.configdir = optarg; break;
		case 'i': a.interface = optarg; break;
		case O_SERVER: a.server = optarg; break;
		case O_HTTP: a.http = optarg ? optarg : ""; break;
		case O_PXECONFIG: a.pxe_config = optarg; break;
		case O_LABEL: a.label = optarg; break;
		case O_LOCAL: a.local = true; break;
		case O_ENTRY: a.entry = optarg; break;
		case O_KEEP: a.keep = true; break;
		case O_DRYRUN: a.dry_run = true; break;
		case O_TIMEOUT: num = &a.timeout, lo = 1, hi = 3600, numname = "--timeout"; break;
		case O_BLKSIZE: num = &a.blksize, lo = 8, hi = 65464, numname = "--blksize"; break;
		case O_WINDOW: num = &a.windowsize, lo = 1, hi = 65535, numname = "--windowsize"; break;
		case O_DPORT: num = &a.dhcp_port, lo = 1, hi = 65534, numname = "--dhcp-port"; break;
		default:
			xp_buf_release(&a.vif);
			return cli_bad_option("pxeboot", argv);
		}
		if (num && parse_num(optarg, lo, hi, num) < 0) {
			xp_buf_release(&a.vif);
			return cli_usage_error("pxeboot", "%s takes %ld to %ld, not '%s'", numname, lo, hi,
					       optarg);
		}
	}
	/* the operands: vif specs (bootloader_args without "--"), then the disk, which
	 * libxl always passes last */
	for (int i = optind; i < argc; i++) {
		const char *s = argv[i];
		if (i == argc - 1 && (s[0] == '/' || !strchr(s, '=')))
			a.disk = s;
		else if (strchr(s, '='))
			xp_buf_addf(&a.vif, "%s%s", a.vif.len ? "," : "", s);
		else {
			xp_buf_release(&a.vif);
			return cli_usage_error("pxeboot", "unexpected argument '%s' (a disk comes last)",
					       s);
		}
	}
	if (xp_buf_error(&a.vif))
		return cli_error("out of memory");
	a.json = co.json;
	if (a.json && !a.dry_run) {
		xp_buf_release(&a.vif);
		return cli_usage_error("pxeboot", "--json goes with --dry-run");
	}
	if (co.quiet)
		quiet = true;
	rc = run_boot(&a);
	xp_buf_release(&a.vif);
	return rc;
}

const struct xp_command cmd_pxeboot = {
    .name = "pxeboot",
    .summary = "boot a PV/PVH guest from the network (bootloader = \"xenprov-pxeboot\")",
    .usage = pxeboot_usage,
    .run = run_pxeboot,
};
