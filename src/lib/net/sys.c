/*
 * sys.c - the boot server's process plumbing: the pid file, systemd's readiness
 * notification (sd_notify(3)'s datagram protocol, spoken directly so that xenprov needs
 * no libsystemd), the served interfaces and their IPv4 addresses, and the switch to an
 * unprivileged user once every socket is bound.
 *
 * Not here: sockets of the protocols (dhcp-sock.c, tftp-server.c, http.c).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "net/net-internal.h"
#include "xenprov/util.h"

int xp__sys_pid_file_write(const char *path)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	int r = xp_write_atomic(path, line, (size_t)n, 0644);
	if (r < 0)
		return r;
	/* kept open: once privileges are dropped the file may no longer be removable, but
	 * it can still be emptied so that no stale pid is left behind */
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

void xp__sys_pid_file_remove(const char *path, int fd)
{
	if (unlink(path) < 0 && fd >= 0)
		(void)!ftruncate(fd, 0);
	if (fd >= 0)
		close(fd);
}

void xp__sys_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	if (!path || !*path)
		return;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = strlen(path);
	if (len >= sizeof(sa.sun_path) || (path[0] != '/' && path[0] != '@'))
		return;
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract namespace */
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
	       (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
	close(fd);
}

static int add_addr(struct iface *f, const struct ifaddrs *ia)
{
	if (f->n_addr == MAX_IFACE_ADDRS)
		return 0;
	const struct sockaddr_in *a = (const struct sockaddr_in *)ia->ifa_addr;
	const struct sockaddr_in *m = (const struct sockaddr_in *)ia->ifa_netmask;
	f->addr[f->n_addr] = ntohl(a->sin_addr.s_addr);
	f->mask[f->n_addr] = m ? ntohl(m->sin_addr.s_addr) : 0xffffffffu;
	f->n_addr++;
	return 0;
}

static struct iface *find_or_add(struct iface **v, size_t *n, const char *name, int index)
{
	for (size_t i = 0; i < *n; i++)
		if ((*v)[i].index == index)
			return &(*v)[i];
	struct iface *nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (!nv)
		return NULL;
	*v = nv;
	struct iface *f = &nv[(*n)++];
	memset(f, 0, sizeof(*f));
	f->index = index;
	snprintf(f->name, sizeof(f->name), "%s", name);
	return f;
}

int xp__sys_ifaces(const char *const *names, size_t n, struct iface **out, size_t *nout)
{
	*out = NULL;
	*nout = 0;
	struct iface *v = NULL;
	size_t nv = 0;
	for (size_t i = 0; i < n; i++) {
		int idx = (int)if_nametoindex(names[i]);
		if (idx == 0) {
			free(v);
			return -ENODEV;
		}
		if (!find_or_add(&v, &nv, names[i], idx)) {
			free(v);
			return -ENOMEM;
		}
	}
	struct ifaddrs *ifa;
	if (getifaddrs(&ifa) < 0) {
		int r = -errno;
		free(v);
		return r;
	}
	for (struct ifaddrs *ia = ifa; ia; ia = ia->ifa_next) {
		if (!ia->ifa_addr || ia->ifa_addr->sa_family != AF_INET)
			continue;
		int idx = (int)if_nametoindex(ia->ifa_name);
		if (idx == 0)
			continue;
		struct iface *f = NULL;
		if (n == 0)
			f = find_or_add(&v, &nv, ia->ifa_name, idx);
		else
			for (size_t i = 0; i < nv; i++)
				if (v[i].index == idx)
					f = &v[i];
		if (f)
			add_addr(f, ia);
		else if (n == 0) {
			freeifaddrs(ifa);
			free(v);
			return -ENOMEM;
		}
	}
	freeifaddrs(ifa);
	*out = v;
	*nout = nv;
	return 0;
}

/* An interface (or address) may appear after the server started (a tap device coming
 * up under it): re-read them all. Only for a server of every interface. */
int xp__sys_ifaces_refresh(struct serve *s)
{
	struct iface *v;
	size_t n;
	int r = xp__sys_ifaces(NULL, 0, &v, &n);
	if (r < 0)
		return r;
	free(s->ifaces);
	s->ifaces = v;
	s->n_ifaces = n;
	return 0;
}

static int chown_tree_top(const char *dir, uid_t uid, gid_t gid)
{
	/* the files directly in the state directory (inventory.db and its -wal and -shm,
	 * the API token), the distro store, then the directory: the server writes its
	 * leases there. The
	 * directory goes last: once it is not root's, root without CAP_DAC_READ_SEARCH
	 * could no longer list it */
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	struct dirent *e;
	int r = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		struct stat st;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (fchownat(dirfd(d), e->d_name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) {
			r = -errno;
			break;
		}
	}
	closedir(d);
	/* the distro store: the server adds files there (the HTTP API) and removes those no
	 * distro names; the files themselves are 0444 whoever owns them */
	char store[4200];
	snprintf(store, sizeof(store), "%s/distro-files", dir);
	struct stat st;
	if (r == 0 && lstat(store, &st) == 0 && S_ISDIR(st.st_mode) && lchown(store, uid, gid) < 0)
		r = -errno;
	if (r == 0 && chown(dir, uid, gid) < 0)
		r = -errno;
	return r;
}

/* Root without a user to switch to keeps its uid but no capability at all: it can no
 * longer bind low ports, read files it does not own, or change owners, and cannot get
 * any of it back (PR_SET_NO_NEW_PRIVS, bounding set emptied). */
static int drop_capabilities(void)
{
	for (int cap = 0; cap <= 63; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return -errno;
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? -errno : 0;
}

int xp__sys_drop_privileges(const char *user, const char *state_dir)
{
	if (geteuid() != 0)
		return 0;
	if (!user)
		return drop_capabilities();
	struct passwd *pw = getpwnam(user);
	if (!pw)
		return -ESRCH;
	if (pw->pw_uid == 0)
		return 0; /* asked to stay root */
	int r = chown_tree_top(state_dir, pw->pw_uid, pw->pw_gid);
	if (r < 0)
		return r;
	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
		return -errno;
	/* no way back: a later exec cannot regain anything either */
	if (setuid(0) == 0)
		return -EPERM;
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	return 0;
}
