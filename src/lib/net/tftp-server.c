/*
 * tftp-server.c - the TFTP service's I/O around the pure session engine
 * (proto/tftp-session.c): requests arrive on port 69; each transfer gets a socket of
 * its own (a new TID, RFC 1350 section 4) connected to the client, in the same epoll
 * loop as everything else; a window of DATA packets leaves in one sendmmsg. Files come
 * from the boot-file resolver (boot.h: rendered configs, distro kernels, or plain files
 * confined beneath the TFTP root) and are mapped into memory, so a DATA packet costs
 * one copy and no read system call. Read-only: write requests are refused.
 *
 * A packet from another port than the transfer's client never reaches the session
 * (its socket is connected), which is what RFC 1350's "unknown transfer ID" rule asks.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "net/net-internal.h"
#include "xenprov/tftp.h"

#define BATCH 64
#define NETASCII_MAX (16u << 20)

struct tftp_srv;

struct tsess {
	struct watch w;
	struct tftp_srv *t;
	struct tsess *prev, *next;
	struct xp_tftp_session *sess;
	struct xp_bootfile file;
	const uint8_t *data; /* the mapping, the rendered bytes or the netascii copy */
	size_t len;
	void *map;
	struct xp_buf ascii;
	uint32_t peer;
	uint16_t peer_port;
	char name[256];
	int64_t started;
	bool finished;
};

struct tftp_srv {
	struct serve *s;
	struct watch w;
	uint16_t port;
	unsigned max;
	size_t n;
	struct tsess *head;
	int64_t new_deadline; /* earliest deadline of transfers started since asked */
	uint8_t rbuf[65536];
	uint8_t *sbuf; /* BATCH packets of up to 65468 bytes */
	size_t slot;
	struct iovec iov[BATCH];
	struct mmsghdr msg[BATCH];
};

#define SLOT (65464 + 4)

static ssize_t source_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	struct tsess *x = ctx;
	if (off >= x->len)
		return 0;
	size_t n = x->len - off < len ? (size_t)(x->len - off) : len;
	memcpy(buf, x->data + off, n);
	return (ssize_t)n;
}

static void send_error(struct tftp_srv *t, const struct sockaddr_in *to, uint16_t code,
		       const char *msg)
{
	uint8_t buf[600];
	size_t n = xp_tftp_build_error(buf, sizeof(buf), code, msg);
	sendto(t->w.fd, buf, n, MSG_DONTWAIT, (const struct sockaddr *)to, sizeof(*to));
}

static void sess_free(struct tftp_srv *t, struct tsess *x)
{
	if (x->prev)
		x->prev->next = x->next;
	else
		t->head = x->next;
	if (x->next)
		x->next->prev = x->prev;
	t->n--;
	if (x->w.fd >= 0) {
		serve_unwatch(t->s, &x->w);
		close(x->w.fd);
	}
	if (x->map)
		munmap(x->map, x->len);
	xp_buf_release(&x->ascii);
	xp_bootfile_release(&x->file);
	xp_tftp_session_free(x->sess);
	free(x);
}

static void finish(struct tftp_srv *t, struct tsess *x, int64_t now)
{
	char ip[INET_ADDRSTRLEN];
	struct in_addr a = {htonl(x->peer)};
	inet_ntop(AF_INET, &a, ip, sizeof(ip));
	if (xp_tftp_session_state(x->sess) == XP_TFTP_DONE)
		serve_log(t->s, LOG_INFO, "tftp: sent '%s' to %s:%u (%llu bytes, %lld ms)",
			  x->name, ip, x->peer_port,
			  (unsigned long long)xp_tftp_session_bytes(x->sess),
			  (long long)(now - x->started));
	else
		serve_log(t->s, LOG_WARNING, "tftp: '%s' to %s:%u failed: %s", x->name, ip,
			  x->peer_port, xp_tftp_session_error(x->sess));
	sess_free(t, x);
}

static void flush(struct tftp_srv *t, struct tsess *x, unsigned n)
{
	unsigned done = 0;
	while (done < n) {
		int k = sendmmsg(x->w.fd, t->msg + done, n - done, MSG_DONTWAIT);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			/* a full send buffer or an ICMP error: the engine's timer resends */
			break;
		}
		done += (unsigned)k;
	}
}

static void pump(struct tftp_srv *t, struct tsess *x, int64_t now)
{
	unsigned n = 0;
	for (;;) {
		uint8_t *buf = t->sbuf + (size_t)n * SLOT;
		ssize_t len = xp_tftp_session_next(x->sess, buf, SLOT, now);
		if (len <= 0)
			break;
		t->iov[n] = (struct iovec){buf, (size_t)len};
		memset(&t->msg[n].msg_hdr, 0, sizeof(t->msg[n].msg_hdr));
		t->msg[n].msg_hdr.msg_iov = &t->iov[n];
		t->msg[n].msg_hdr.msg_iovlen = 1;
		if (++n == BATCH) {
			flush(t, x, n);
			n = 0;
		}
	}
	if (n)
		flush(t, x, n);
	if (xp_tftp_session_state(x->sess) != XP_TFTP_RUNNING)
		x->finished = true;
}

static void on_session(struct serve *s, struct watch *w, uint32_t events)
{
	(void)s;
	(void)events;
	struct tsess *x = (struct tsess *)w;
	struct tftp_srv *t = x->t;
	int64_t now = serve_now_ms();
	/* one packet a wake-up (epoll is level-triggered: a second one wakes us again),
	 * which saves the EAGAIN read in lock-step transfers, where one is all there is */
	ssize_t n = recv(w->fd, t->rbuf, sizeof(t->rbuf), MSG_DONTWAIT);
	if (n >= 0) /* else EAGAIN, or ECONNREFUSED: the client went away; the timer ends it */
		xp_tftp_session_input(x->sess, t->rbuf, (size_t)n, now);
	pump(t, x, now);
	if (x->finished) {
		finish(t, x, now);
		return;
	}
	/* progress resets the backoff: the deadline may now be earlier than the one the
	 * loop waits for */
	int64_t d = xp_tftp_session_deadline(x->sess);
	if (d < t->new_deadline)
		t->new_deadline = d;
}

static unsigned iface_blksize(struct tftp_srv *t, int ifindex)
{
	/* the largest block that fits the link's MTU: IP (20) + UDP (8) + TFTP (4) */
	const struct iface *f = serve_iface(t->s, ifindex);
	unsigned mtu = 1500;
	if (f) {
		struct ifreq ifr = {0};
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", f->name);
		if (ioctl(t->w.fd, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu > 576)
			mtu = (unsigned)ifr.ifr_mtu;
	}
	unsigned b = mtu - 32;
	return b > 65464 ? 65464 : b;
}

static int map_file(struct tsess *x, bool netascii)
{
	const uint8_t *p;
	size_t len;
	if (x->file.fd >= 0) {
		len = (size_t)x->file.size;
		if (len) {
			x->map = mmap(NULL, len, PROT_READ, MAP_SHARED, x->file.fd, 0);
			if (x->map == MAP_FAILED) {
				x->map = NULL;
				return -errno;
			}
			madvise(x->map, len, MADV_SEQUENTIAL | MADV_WILLNEED);
		}
		p = x->map;
	} else {
		p = (const uint8_t *)x->file.data.s;
		len = x->file.data.len;
	}
	if (netascii) {
		uint64_t alen = xp_tftp_netascii_len(p, len);
		if (alen > NETASCII_MAX)
			return -EFBIG;
		if (xp_buf_reserve(&x->ascii, (size_t)alen + 1) < 0)
			return -ENOMEM;
		ssize_t n = xp_tftp_netascii_encode(p, len, x->ascii.s, (size_t)alen + 1);
		if (n < 0)
			return (int)n;
		x->ascii.len = (size_t)n;
		p = (const uint8_t *)x->ascii.s;
		len = x->ascii.len;
		if (x->map) {
			munmap(x->map, (size_t)x->file.size);
			x->map = NULL;
		}
	}
	x->data = p;
	x->len = len; /* also the mapping's length, for munmap */
	return 0;
}

static void start_session(struct tftp_srv *t, const uint8_t *pkt, size_t len,
			  const struct sockaddr_in *from, const struct in_pktinfo *pi)
{
	struct serve *s = t->s;
	uint32_t peer = ntohl(from->sin_addr.s_addr);
	char ip[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &from->sin_addr, ip, sizeof(ip));
	struct xp_tftp_request req;
	int r = xp_tftp_parse_request(pkt, len, &req);
	if (r < 0) {
		if (r == -EPROTO)
			return; /* stray DATA/ACKs on port 69 get no answer */
		send_error(t, from, r == -EPROTONOSUPPORT ? XP_TFTP_EBADOP : XP_TFTP_EUNDEF,
			   r == -EPROTONOSUPPORT ? "transfer mode not supported"
			   : r == -ENAMETOOLONG  ? "file name too long"
						 : "malformed request");
		serve_log(s, LOG_DEBUG, "tftp: malformed request from %s", ip);
		return;
	}
	if (req.opcode == XP_TFTP_WRQ) {
		send_error(t, from, XP_TFTP_EACCESS, "this server is read-only");
		return;
	}
	struct xp_tftp_limits lim = {
		.max_blksize = iface_blksize(t, pi->ipi_ifindex),
		.max_windowsize = 64,
		.timeout_ms = 1000,
		.max_timeout_ms = 8000,
		.max_tries = 6,
	};
	if ((r = xp_tftp_request_check(&req, &lim)) == -EOPNOTSUPP) {
		send_error(t, from, XP_TFTP_EOPTNEG, "option value refused");
		return;
	}
	char path[256];
	r = xp_tftp_path_check(req.filename, strlen(req.filename), path, sizeof(path));
	if (r < 0) {
		serve_log(s, LOG_WARNING, "tftp: refused '%s' to %s: %s", req.filename, ip,
			  r == -EACCES ? "outside the root" : "bad file name");
		send_error(t, from, XP_TFTP_EACCESS, "access violation");
		return;
	}
	/* one limit for all: clients behind one address (NAT, a test bench's macvlans in
	 * one namespace) are many machines, not one greedy client */
	if (t->n >= t->max) {
		serve_log(s, LOG_WARNING, "tftp: busy, refused '%s' to %s", path, ip);
		send_error(t, from, XP_TFTP_EUNDEF, "server busy, try again");
		return;
	}
	struct tsess *x = calloc(1, sizeof(*x));
	if (!x) {
		send_error(t, from, XP_TFTP_EUNDEF, "out of memory");
		return;
	}
	x->w.fd = -1;
	x->w.ready = on_session;
	x->t = t;
	x->file.fd = -1;
	x->peer = peer;
	x->peer_port = ntohs(from->sin_port);
	snprintf(x->name, sizeof(x->name), "%s", path);
	x->started = serve_now_ms();
	x->next = t->head;
	if (t->head)
		t->head->prev = x;
	t->head = x;
	t->n++;

	r = s->boot ? xp_boot_open(s->boot, path, &x->file) : -ENOENT;
	if (r < 0) {
		x->file.fd = -1;
		serve_log(s, r == -ENOENT ? LOG_INFO : LOG_WARNING, "tftp: '%s' for %s: %s",
			  path, ip,
			  r == -ENOENT ? "no such file"
			  : r == -EACCES ? "refused: outside the root or not a regular file"
					 : strerror(-r));
		send_error(t, from, r == -ENOENT ? XP_TFTP_ENOTFOUND : XP_TFTP_EACCESS,
			   r == -ENOENT ? "file not found" : "access violation");
		sess_free(t, x);
		return;
	}
	if ((r = map_file(x, req.netascii)) < 0) {
		serve_log(s, LOG_WARNING, "tftp: '%s' for %s: %s", path, ip, strerror(-r));
		send_error(t, from, XP_TFTP_EUNDEF, r == -EFBIG ? "too large for netascii" : "read error");
		sess_free(t, x);
		return;
	}
	struct xp_tftp_source src = {.read = source_read, .ctx = x, .size = x->len};
	r = xp_tftp_session_new(&req, &src, &lim, x->started, &x->sess);
	if (r < 0) {
		send_error(t, from, r == -EOPNOTSUPP ? XP_TFTP_EOPTNEG : XP_TFTP_EUNDEF,
			   r == -EOPNOTSUPP ? "option value refused" : "cannot start the transfer");
		sess_free(t, x);
		return;
	}
	x->w.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in local = {.sin_family = AF_INET, .sin_addr = pi->ipi_spec_dst};
	int sndbuf = 1 << 20;
	if (x->w.fd < 0 ||
	    setsockopt(x->w.fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)) < 0 ||
	    bind(x->w.fd, (struct sockaddr *)&local, sizeof(local)) < 0 ||
	    connect(x->w.fd, (const struct sockaddr *)from, sizeof(*from)) < 0 ||
	    serve_watch(s, &x->w, EPOLLIN) < 0) {
		serve_log(s, LOG_WARNING, "tftp: no socket for '%s' to %s: %s", path, ip,
			  strerror(errno));
		send_error(t, from, XP_TFTP_EUNDEF, "cannot start the transfer");
		sess_free(t, x);
		return;
	}
	pump(t, x, x->started);
	if (x->finished) {
		finish(t, x, x->started);
		return;
	}
	int64_t d = xp_tftp_session_deadline(x->sess);
	if (d < t->new_deadline)
		t->new_deadline = d;
}

int64_t tftp_srv_next_deadline(struct tftp_srv *t)
{
	int64_t d = t->new_deadline;
	t->new_deadline = INT64_MAX;
	return d;
}

static void on_request(struct serve *s, struct watch *w, uint32_t events)
{
	(void)events;
	struct tftp_srv *t = (struct tftp_srv *)((char *)w - offsetof(struct tftp_srv, w));
	for (int i = 0; i < 64; i++) {
		struct sockaddr_in from;
		union {
			char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
			size_t align; /* cmsghdr alignment */
		} ctl;
		struct iovec iov = {t->rbuf, sizeof(t->rbuf)};
		struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof(from),
				   .msg_iov = &iov, .msg_iovlen = 1,
				   .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf)};
		ssize_t n = recvmsg(w->fd, &m, MSG_DONTWAIT);
		if (n < 0)
			return;
		struct in_pktinfo pi = {0};
		bool have = false;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm))
			if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
				memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
				have = true;
			}
		if (!have || !serve_iface(s, pi.ipi_ifindex))
			continue;
		start_session(t, t->rbuf, (size_t)n, &from, &pi);
	}
}

int64_t tftp_srv_timers(struct tftp_srv *t, int64_t now)
{
	int64_t next = INT64_MAX;
	for (struct tsess *x = t->head, *nx; x; x = nx) {
		nx = x->next;
		if (xp_tftp_session_deadline(x->sess) <= now)
			pump(t, x, now);
		if (x->finished) {
			finish(t, x, now);
			continue;
		}
		int64_t d = xp_tftp_session_deadline(x->sess);
		if (d < next)
			next = d;
	}
	return next;
}

size_t tftp_srv_sessions(const struct tftp_srv *t)
{
	return t->n;
}

void tftp_srv_stop_accepting(struct tftp_srv *t)
{
	if (t->w.fd >= 0) {
		serve_unwatch(t->s, &t->w);
		close(t->w.fd);
		t->w.fd = -1;
	}
}

int tftp_srv_open(struct serve *s, struct tftp_srv **ret)
{
	struct tftp_srv *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->s = s;
	t->w.ready = on_request;
	t->port = s->opts->tftp_port ? s->opts->tftp_port : 69;
	t->max = s->opts->tftp_max_sessions ? s->opts->tftp_max_sessions : 512;
	t->new_deadline = INT64_MAX;
	t->sbuf = malloc((size_t)BATCH * SLOT);
	t->w.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int r = 0;
	if (!t->sbuf)
		r = -ENOMEM;
	else if (t->w.fd < 0)
		r = -errno;
	if (r == 0) {
		int one = 1;
		setsockopt(t->w.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		setsockopt(t->w.fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(t->port)};
		if (bind(t->w.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			r = -errno;
			serve_log(s, LOG_ERR, "tftp: cannot bind UDP port %u: %s", t->port,
				  strerror(-r));
		} else {
			r = serve_watch(s, &t->w, EPOLLIN);
		}
	}
	if (r < 0) {
		tftp_srv_close(t);
		return r;
	}
	*ret = t;
	return 0;
}

void tftp_srv_close(struct tftp_srv *t)
{
	if (!t)
		return;
	while (t->head)
		sess_free(t, t->head);
	tftp_srv_stop_accepting(t);
	free(t->sbuf);
	free(t);
}
