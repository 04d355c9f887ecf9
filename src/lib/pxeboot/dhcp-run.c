/*
 * dhcp-run.c - the bootloader's DHCP exchange over a plain UDP socket: port 68 bound
 * on one dom0 interface (SO_BINDTODEVICE), DISCOVER and REQUEST broadcast out of it
 * (SO_BROADCAST), answers asked for by broadcast (the engine sets the BOOTP flag), so
 * no raw socket and no patched DHCP client are needed. Everything else is the pure
 * engine's (proto/dhcp-client.c).
 *
 * dom0 may run its own DHCP client on port 68: both sockets share the port
 * (SO_REUSEADDR, SO_REUSEPORT; broadcast datagrams reach every socket bound to it)
 * and the engine drops the other's messages by xid and chaddr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pxeboot/pxeboot-internal.h"
#include "xenprov/dhcp.h"

int64_t xp__pxe_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int xp__pxe_dhcp_socket(const char *ifname, uint16_t port, struct xp_diags *d)
{
	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ)
		return xp_diags_fail(d, -EINVAL, NULL, "interface", NULL,
				     "'%s' is not an interface name", ifname ? ifname : "");
	if (!if_nametoindex(ifname))
		return xp_diags_fail(d, -ENODEV, NULL, "interface",
				     "name the dom0 interface (the guest's bridge) with --interface",
				     "no interface '%s' in dom0", ifname);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return xp_diags_fail(d, -errno, NULL, "socket", NULL, "cannot make a UDP socket: %s",
				     strerror(errno));
	int one = 1, r = 0;
	const char *what = NULL;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) < 0)
		what = "set the socket's options";
	else if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname)) < 0)
		what = "bind the socket to the interface";
	if (what) {
		r = -errno;
		close(fd);
		return xp_diags_fail(d, r, NULL, "socket", NULL, "cannot %s '%s': %s", what, ifname,
				     strerror(-r));
	}
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		r = -errno;
		close(fd);
		if (r == -EACCES || r == -EPERM)
			return xp_diags_fail(d, r, NULL, "privilege", NULL,
					     "binding UDP port %u needs root (CAP_NET_BIND_SERVICE)",
					     port);
		if (r == -EADDRINUSE)
			return xp_diags_fail(d, r, NULL, "port",
					     "a DHCP client of dom0 that does not share the port "
					     "(SO_REUSEADDR) holds it",
					     "UDP port %u on '%s' is taken", port, ifname);
		return xp_diags_fail(d, r, NULL, "socket", NULL, "cannot bind UDP port %u: %s", port,
				     strerror(-r));
	}
	return fd;
}

static int send_to(int fd, const uint8_t *buf, size_t n, uint32_t ip, uint16_t port)
{
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(ip)};
	for (;;) {
		if (sendto(fd, buf, n, 0, (struct sockaddr *)&to, sizeof(to)) >= 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

int xp__pxe_dhcp_run(int fd, struct xp_dhcp_client *c, uint16_t server_port, struct xp_diags *d)
{
	uint8_t buf[XP_DHCP_MAX_PKT + 64];
	for (;;) {
		int64_t now = xp__pxe_now_ms();
		ssize_t n;
		while ((n = xp_dhcp_client_next(c, buf, sizeof(buf), now)) > 0) {
			int r = send_to(fd, buf, (size_t)n, INADDR_BROADCAST, server_port);
			/* a send that fails now (the interface is down a moment) is retried by
			 * the engine's timer; only a lasting problem ends in a timeout */
			if (r < 0 && r != -ENETDOWN && r != -ENETUNREACH && r != -ENOBUFS)
				return xp_diags_fail(d, r, NULL, "socket", NULL,
						     "cannot send a DHCP message: %s", strerror(-r));
		}
		if (n < 0)
			return xp_diags_fail(d, (int)n, NULL, "dhcp", NULL, "cannot build a DHCP message");
		switch (xp_dhcp_client_state(c)) {
		case XP_DHCP_CLIENT_BOUND:
			return 0;
		case XP_DHCP_CLIENT_FAILED:
			return xp_diags_fail(d, -ETIMEDOUT, NULL, "dhcp",
					     "is a DHCP server on the interface's network, and does "
					     "it answer this MAC?",
					     "%s", xp_dhcp_client_error(c));
		default:
			break;
		}
		int64_t wait = xp_dhcp_client_deadline(c) - xp__pxe_now_ms();
		if (wait < 0)
			wait = 0;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int pr = poll(&pfd, 1, wait > 60000 ? 60000 : (int)wait);
		if (pr < 0 && errno != EINTR)
			return xp_diags_fail(d, -errno, NULL, "socket", NULL, "poll: %s", strerror(errno));
		if (pr <= 0)
			continue;
		/* everything waiting, then back to the timers */
		for (;;) {
			ssize_t got = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (got < 0)
				break;
			(void)xp_dhcp_client_input(c, buf, (size_t)got, xp__pxe_now_ms());
		}
	}
}

int xp__pxe_dhcp_release(int fd, const struct xp_dhcp_client *c, uint16_t server_port)
{
	uint8_t buf[600];
	ssize_t n = xp_dhcp_client_release(c, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	const struct xp_dhcp_client_lease *l = xp_dhcp_client_lease(c);
	return send_to(fd, buf, (size_t)n, l->server_id, server_port);
}
