/*
 * cmd-serve.c - `xenprov serve`: the boot server (DHCP with PXE/iPXE, TFTP, HTTP) in
 * the foreground, logging for journald. Thin: the work is in src/lib/net/.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cli-inventory.h"
#include "cli.h"
#include "xenprov/inventory.h"
#include "xenprov/serve.h"

static const char serve_usage[] =
    "Usage: xenprov serve [--dhcp] [--tftp] [--http] [--interface IF]... [OPTIONS]\n"
    "\n"
    "Runs the boot server in the foreground: DHCP (addresses from the settings' pools\n"
    "and the systems' reservations; PXE and iPXE boot files), TFTP and HTTP (boot\n"
    "configs rendered from the inventory on request, distro kernels and initrds, files\n"
    "of the TFTP root) and a JSON API of the inventory over HTTP. All three services run\n"
    "unless some are named. Changes to the inventory take effect within a second; SIGHUP\n"
    "reloads at once; SIGTERM lets transfers in flight finish, then exits.\n"
    "\n"
    "  --dhcp, --tftp, --http  run only the services named\n"
    "  -i, --interface IF   serve requests arriving on IF only (repeatable; default: all)\n"
    "  --pid-file FILE      write the process id there once the sockets are bound\n"
    "  --address ADDR       this server's address, in place of the 'server' setting\n"
    "                       (servers sharing a PostgreSQL inventory: each its own)\n"
    "  --user USER          when started as root, switch to USER once the sockets are\n"
    "                       bound (the state directory is given to USER); default: the\n"
    "                       'xenprov' user if it exists, else root without any capability;\n"
    "                       'root' keeps every privilege\n"
    "  --dhcp-port N        UDP port for DHCP (default 67; clients are then on N+1)\n"
    "  --tftp-port N        UDP port for TFTP (default 69)\n"
    "  --http-port N        TCP port for HTTP (default: the http-port setting, 80)\n"
    "  --max-tftp N         concurrent TFTP transfers (default 512)\n"
    "  --tftp-spin USEC     while transfers run, poll this long for the next packet\n"
    "                       before sleeping (default 200; 0: never; lock-step\n"
    "                       transfers are faster, at the price of busy CPU)\n"
    "  --state-dir DIR      the inventory (default $XENPROV_STATE_DIR, /var/lib/xenprov\n"
    "                       for root, else $XDG_STATE_HOME/xenprov)\n"
    "  -v, --verbose        also log debug detail (each refused or malformed request,\n"
    "                       libmicrohttpd's messages)\n"
    "  -h, --help           this help\n"
    "\n"
    "Example:\n"
    "  xenprov settings set server 10.0.0.1\n"
    "  xenprov settings set pool.lan.range 10.0.0.100-10.0.0.199\n"
    "  xenprov settings set pool.lan.netmask 255.255.255.0\n"
    "  xenprov serve --interface br0 --pid-file /run/xenprov.pid\n";

struct log_ctx {
	bool journal; /* stderr goes to journald: "<N>" prefixes, no timestamps */
	int max_priority;
};

static void log_line(void *ctx, int priority, const char *fmt, va_list ap)
{
	struct log_ctx *lc = ctx;
	if (priority > lc->max_priority)
		return;
	char msg[1024];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	char line[1200];
	int n;
	if (lc->journal) {
		n = snprintf(line, sizeof(line), "<%d>%s\n", priority, msg);
	} else {
		static const char *const names[] = {"emerg",   "alert",	 "crit", "error",
						    "warning", "notice", "info", "debug"};
		char ts[32];
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		n = snprintf(line, sizeof(line), "%s %s: %s\n", ts, names[priority & 7], msg);
	}
	if (n > 0) /* one write a line: lines of the two threads never interleave */
		(void)!write(STDERR_FILENO, line,
			     (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* systemd sets JOURNAL_STREAM to "DEV:INODE" of the stream it connected; a stderr
 * redirected elsewhere since is not the journal (systemd.exec(5)). */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* A whole number in [lo, hi]. */
static int parse_count(const char *s, long lo, long hi, unsigned *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end || errno || v < lo || v > hi)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static int parse_port(const char *s, uint16_t *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end || v < 1 || v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

enum {
	O_DHCP = 256,
	O_TFTP,
	O_HTTP,
	O_PID,
	O_ADDR,
	O_USER,
	O_DPORT,
	O_TPORT,
	O_HPORT,
	O_MAXT,
	O_SPIN
};

static int run_serve(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"dhcp", no_argument, NULL, O_DHCP},
	    {"tftp", no_argument, NULL, O_TFTP},
	    {"http", no_argument, NULL, O_HTTP},
	    {"interface", required_argument, NULL, 'i'},
	    {"pid-file", required_argument, NULL, O_PID},
	    {"address", required_argument, NULL, O_ADDR},
	    {"user", required_argument, NULL, O_USER},
	    {"dhcp-port", required_argument, NULL, O_DPORT},
	    {"tftp-port", required_argument, NULL, O_TPORT},
	    {"http-port", required_argument, NULL, O_HPORT},
	    {"max-tftp", required_argument, NULL, O_MAXT},
	    {"tftp-spin", required_argument, NULL, O_SPIN},
	    {"verbose", no_argument, NULL, 'v'},
	    {NULL, 0, NULL, 0},
	};
	struct xp_serve_opts o = {.tftp_spin_us = XP_SERVE_TFTP_SPIN_US};
	const char **ifs = calloc((size_t)argc, sizeof(*ifs));
	if (!ifs)
		return cli_error("out of memory");
	struct cli_opts co = {.takes = CLI_STATE_DIR, .operand = ""};
	const char *user = NULL;
	bool user_set = false, verbose = false;
	int c, rc = XP_EXIT_OK;
	optind = 1;
	while ((c = cli_getopt(argc, argv, "i:v", longopts, &co)) != -1) {
		switch (c) {
		case O_DHCP:
			o.dhcp = true;
			break;
		case O_TFTP:
			o.tftp = true;
			break;
		case O_HTTP:
			o.http = true;
			break;
		case 'i':
			ifs[o.n_interfaces++] = optarg;
			break;
		case O_PID:
			o.pid_file = optarg;
			break;
		case O_ADDR: {
			struct in_addr a;
			if (inet_pton(AF_INET, optarg, &a) != 1) {
				free(ifs);
				return cli_usage_error("serve", "'%s' is not an IPv4 address",
						       optarg);
			}
			o.server = optarg;
			break;
		}
		case O_USER:
			user = optarg;
			user_set = true;
			break;
		case O_DPORT:
		case O_TPORT:
		case O_HPORT: {
			uint16_t *p = c == O_DPORT   ? &o.dhcp_port
				      : c == O_TPORT ? &o.tftp_port
						     : &o.http_port;
			if (parse_port(optarg, p) < 0) {
				free(ifs);
				return cli_usage_error("serve", "'%s' is not a port (1-65535)",
						       optarg);
			}
			break;
		}
		case O_SPIN:
		case O_MAXT: {
			bool spin = c == O_SPIN;
			unsigned *v = spin ? &o.tftp_spin_us : &o.tftp_max_sessions;
			if (parse_count(optarg, spin ? 0 : 1, spin ? 100000 : 65536, v) < 0) {
				free(ifs);
				return cli_usage_error(
				    "serve", "%s takes %s, not '%s'",
				    spin ? "--tftp-spin" : "--max-tftp",
				    spin ? "0 to 100000 microseconds" : "1 to 65536", optarg);
			}
			break;
		}
		case 'v':
			verbose = true;
			break;
		default:
			free(ifs);
			return cli_bad_option("serve", argv);
		}
	}
	if ((rc = cli_operands(argc, argv, "serve", &co))) {
		free(ifs);
		return rc;
	}
	if (!o.dhcp && !o.tftp && !o.http)
		o.dhcp = o.tftp = o.http = true;
	o.interfaces = ifs;
	char *dflt = NULL;
	int src = cli_state_dir(co.state_dir, &dflt);
	if (src) {
		free(ifs);
		return src;
	}
	o.state_dir = dflt;
	if (!user_set && getpwnam("xenprov"))
		user = "xenprov";
	o.user = user;
	struct log_ctx lc = {
	    .journal = stderr_is_journal(),
	    .max_priority = verbose ? LOG_DEBUG : LOG_INFO,
	};
	o.log = log_line;
	o.log_ctx = &lc;
	if (!user_set && !user && geteuid() == 0)
		fprintf(stderr, "xenprov: no 'xenprov' user: staying root without capabilities "
				"(create the user, or use --user)\n");
	int r = xp_serve_run(&o);
	if (r < 0)
		rc = XP_EXIT_FAIL;
	free(dflt);
	free(ifs);
	return rc;
}

const struct xp_command cmd_serve = {
    .name = "serve",
    .summary = "run the boot server: DHCP (PXE/iPXE), TFTP, HTTP and the API",
    .usage = serve_usage,
    .run = run_serve,
};
