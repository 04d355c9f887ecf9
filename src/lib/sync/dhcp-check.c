/*
 * dhcp-check.c - a candidate include file checked by the DHCP server's own checker
 * before it replaces the old one (Cobbler writes its DHCP template and learns of a
 * mistake when the restart fails: cobbler issues 1581, 3503). The site's main config is
 * never read nor touched: the checker reads a wrapper config of ours that holds only
 * the candidate.
 *
 *   dnsmasq    dnsmasq --test --conf-file=CANDIDATE: dnsmasq then reads that file
 *              alone (no /etc/dnsmasq.conf), so the candidate is its own wrapper;
 *   isc-dhcpd  dhcpd -t -cf WRAPPER, WRAPPER being `include "CANDIDATE";` (host
 *              declarations need no subnet to be parsed: -t only parses);
 *   kea        kea-dhcp4 -t WRAPPER, a Dhcp4 config with no interfaces, an in-memory
 *              lease file and one subnet whose "reservations" are <?include
 *              "CANDIDATE"?> (Kea refuses a reservation outside its subnet), and the
 *              classes file, when there is one, as its "client-classes".
 *
 * Not here: writing the candidates (sync.c), what they say (dhcp-include.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sync/sync-internal.h"
#include "util/cleanup.h"

int xp__sync_tmpdir(char **out)
{
	const char *t = getenv("TMPDIR");
	if (asprintf(out, "%s/xenprov-sync.XXXXXX", t && *t ? t : "/tmp") < 0) {
		*out = NULL;
		return -ENOMEM;
	}
	if (!mkdtemp(*out)) {
		int r = -errno;
		free(*out);
		*out = NULL;
		return r;
	}
	return 0;
}

void xp__sync_tmpdir_remove(char *dir)
{
	if (!dir)
		return;
	DIR *dh = opendir(dir);
	if (dh) {
		struct dirent *e;
		while ((e = readdir(dh)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				unlinkat(dirfd(dh), e->d_name, 0);
		closedir(dh);
	}
	rmdir(dir);
	free(dir);
}

/* A path as a quoted string in the wrapper: dhcpd's strings take '\"' and '\\'; Kea's
 * <?include "..."?> takes the bytes up to the next '"' as they are. */
static bool quotable(const char *path, bool escapes)
{
	for (const char *p = path; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f ||
		    (!escapes && (*p == '"' || *p == '\\')))
			return false;
	return true;
}

static int write_wrapper(const char *dir, const char *text, char **path)
{
	if (asprintf(path, "%s/wrapper.conf", dir) < 0) {
		*path = NULL;
		return -ENOMEM;
	}
	return xp_write_atomic_flags(*path, text, strlen(text), 0600, XP_WRITE_NOSYNC);
}

/* The lines of a checker's output that say what is wrong: its banners and
 * boilerplate left out, nothing from the first line naming the wrapper on (dhcpd
 * reports the include line too); of Kea's log, its final "Error encountered" line
 * (the same error is logged before it with a time stamp). */
static void keep_lines(enum xp_sync_kind kind, const char *text, const char *wrapper,
		       struct xp_buf *why)
{
	static const char *const drop[] = {
	    "Internet Systems Consortium",
	    "Copyright ",
	    "All rights reserved",
	    "For info, please visit",
	    "Config file:",
	    "Database file:",
	    "PID file:",
	    "If you think you have received",
	    "than a configuration issue",
	    "bugs on either our web page",
	    "before submitting a bug",
	    "process and the information",
	    "exiting.",
	    "dnsmasq: syntax check OK",
	};
	bool kea_final = kind == XP_SYNC_KEA && strstr(text, "Error encountered");
	const char *s = text;
	while (*s) {
		size_t n = strcspn(s, "\n");
		bool keep = n > 0;
		for (size_t i = 0; keep && i < sizeof(drop) / sizeof(drop[0]); i++)
			if (n >= strlen(drop[i]) && memmem(s, n, drop[i], strlen(drop[i])))
				keep = false;
		/* dhcpd's report of the wrapper's include line says nothing more */
		if (wrapper && memmem(s, n, wrapper, strlen(wrapper)))
			break;
		if (keep && kind == XP_SYNC_KEA &&
		    !(kea_final ? n >= 17 && !memcmp(s, "Error encountered", 17)
				: memmem(s, n, "ERROR", 5) != NULL))
			keep = false;
		if (keep) {
			if (why->len)
				xp_buf_addc(why, '\n');
			xp_buf_add(why, s, n);
		}
		s += n;
		if (*s)
			s++;
	}
}

/* The line number the checker gave for file, in its own words: dnsmasq "at line N of
 * FILE", dhcpd "FILE line N:", Kea "(FILE:N:C)". 0 if none. */
static unsigned line_of(const char *why, const char *file)
{
	size_t fl = strlen(file);
	for (const char *p = strstr(why, file); p; p = strstr(p + 1, file)) {
		unsigned n;
		const char *after = p + fl;
		if (sscanf(after, ":%u:", &n) == 1 || sscanf(after, " line %u", &n) == 1)
			return n;
		static const char of[] = " of ";
		const char *q = p - (sizeof(of) - 1);
		while (q > why && q[-1] >= '0' && q[-1] <= '9')
			q--;
		if (q - why >= 5 && !memcmp(q - 5, "line ", 5) && sscanf(q, "%u of ", &n) == 1)
			return n;
	}
	return 0;
}

/* Appends the line the checker named, so that the operator sees the offending
 * reservation (the candidate is gone by the time the message is read). */
static void quote_line(const char *file, struct xp_buf *why)
{
	unsigned n = line_of(xp_buf_str(why), file);
	FILE *f = n ? fopen(file, "re") : NULL;
	if (!f)
		return;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len = 0;
	for (unsigned i = 0; i < n && (len = getline(&line, &cap, f)) >= 0; i++)
		;
	if (len > 0) {
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (len > 200)
			len = 200;
		xp_buf_addf(why, "\nline %u: %.*s", n, (int)len, line);
	}
	free(line);
	fclose(f);
}

int xp__sync_check(enum xp_sync_kind kind, const char *file, const char *file2, const char *subnet,
		   const char **checker, struct xp_buf *why)
{
	static const char *const names[] = {[XP_SYNC_DNSMASQ] = "dnsmasq",
					    [XP_SYNC_ISC_DHCPD] = "dhcpd",
					    [XP_SYNC_KEA] = "kea-dhcp4"};
	if (kind == XP_SYNC_TFTP)
		return -EINVAL;
	*checker = names[kind];
	_cleanup_free_ char *prog = NULL;
	if (xp_program_path(names[kind], &prog) < 0)
		return -ENOENT;
	char *dir = NULL;
	int r = xp__sync_tmpdir(&dir);
	if (r < 0)
		return r;
	_cleanup_free_ char *wrapper = NULL, *text = NULL, *conf = NULL;
	char *argv[8] = {prog};
	char *env[4] = {NULL};
	_cleanup_free_ char *env_pid = NULL, *env_lock = NULL;
	switch (kind) {
	case XP_SYNC_DNSMASQ:
		if (asprintf(&conf, "--conf-file=%s", file) < 0)
			conf = NULL;
		argv[1] = "--test";
		argv[2] = conf;
		r = conf ? 0 : -ENOMEM;
		break;
	case XP_SYNC_ISC_DHCPD: {
		if (!quotable(file, true)) {
			r = -EINVAL;
			xp_buf_addf(why, "the file's path cannot be quoted for dhcpd");
			break;
		}
		struct xp_buf b = XP_BUF_INIT;
		xp_buf_adds(&b, "include \"");
		for (const char *p = file; *p; p++) {
			if (*p == '"' || *p == '\\')
				xp_buf_addc(&b, '\\');
			xp_buf_addc(&b, *p);
		}
		xp_buf_adds(&b, "\";\n");
		if (!(text = xp_buf_steal(&b)) || (r = write_wrapper(dir, text, &wrapper)) < 0)
			r = r < 0 ? r : -ENOMEM;
		/* not -q: it silences the errors too */
		argv[1] = "-t";
		argv[2] = "-cf";
		argv[3] = wrapper;
		break;
	}
	default:
		if (!quotable(file, false) || (file2 && !quotable(file2, false))) {
			r = -EINVAL;
			xp_buf_addf(why, "the file's path cannot be written in Kea's <?include?>");
			break;
		}
		/* no interfaces: -t opens no socket; leases in memory; Kea's pid and lock
		 * files, should it make any, in our directory */
		if (asprintf(&text,
			     "{\"Dhcp4\": {\n"
			     "\"interfaces-config\": {\"interfaces\": []},\n"
			     "\"lease-database\": {\"type\": \"memfile\", \"persist\": false},\n"
			     "%s%s%s"
			     "\"subnet4\": [{\"subnet\": \"%s\",\n"
			     "\"reservations\": <?include \"%s\"?>\n"
			     "}]}}\n",
			     file2 ? "\"client-classes\": <?include \"" : "", file2 ? file2 : "",
			     file2 ? "\"?>,\n" : "", subnet, file) < 0)
			text = NULL;
		if (!text || (r = write_wrapper(dir, text, &wrapper)) < 0)
			r = r < 0 ? r : -ENOMEM;
		argv[1] = "-t";
		argv[2] = wrapper;
		if (asprintf(&env_pid, "KEA_PIDFILE_DIR=%s", dir) < 0)
			env_pid = NULL;
		if (asprintf(&env_lock, "KEA_LOCKFILE_DIR=%s", dir) < 0)
			env_lock = NULL;
		if (!env_pid || !env_lock)
			r = r < 0 ? r : -ENOMEM;
		env[0] = env_pid;
		env[1] = env_lock;
		env[2] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
		break;
	}
	if (r == 0) {
		struct xp_buf out = XP_BUF_INIT;
		int st = xp_spawn_wait(argv, kind == XP_SYNC_KEA ? env : NULL, &out);
		if (st < 0) {
			r = st;
		} else if (st != 0) {
			r = -EINVAL;
			keep_lines(kind, xp_buf_str(&out),
				   kind == XP_SYNC_ISC_DHCPD ? wrapper : NULL, why);
			quote_line(file, why);
			if (file2)
				quote_line(file2, why);
			if (!why->len)
				xp_buf_addf(why, "%s exited with status %d", names[kind], st);
		}
		xp_buf_release(&out);
	}
	xp__sync_tmpdir_remove(dir);
	return r;
}
