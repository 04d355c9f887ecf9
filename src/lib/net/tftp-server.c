/*
 * tftp-server.c - the TFTP service's I/O around the pure session engine
 * (proto/tftp-session.c): requests arrive on port 69; each transfer gets a socket of
 * its own (a new TID, RFC 1350 section 4) connected to the client. The main loop takes
 * requests, opens and maps the file and makes the socket; the transfer itself then
 * runs in a worker thread (each with its own epoll loop and timers; one per transfer
 * up to MAX_WORKERS, see pick_worker); a window of DATA packets leaves in one UDP GSO
 * send (or sendmmsg). Files come from the boot-file resolver (boot.h: rendered configs, distro kernels, or plain files
 * confined beneath the TFTP root) and are mapped into memory, so a DATA packet costs
 * one copy and no read system call. Read-only: write requests are refused.
 *
 * A packet from another port than the transfer's client never reaches the session
 * (its socket is connected), which is what RFC 1350's "unknown transfer ID" rule asks.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "net/net-internal.h"
#include "xenprov/tftp.h"

#define BATCH	     64
#define MAX_WORKERS  64	   /* worker threads at most (one per transfer up to this) */
#define GSO_SEGS     64	   /* UDP_MAX_SEGMENTS of older kernels */
#define GSO_BYTES    63000 /* a GSO datagram's payload, below the 64 KiB IP limit */
#define NETASCII_MAX (16u << 20)

struct tftp_srv;
struct worker;

struct tsess {
	struct watch w; /* first: the worker's epoll records point here */
	struct tftp_srv *t;
	struct worker *k;    /* the worker running it, once adopted */
	struct worker *home; /* the worker it was handed to (its load counts it) */
	struct tsess *prev, *next;
	struct xp_tftp_session *sess;
	struct xp_bootfile file;
	const uint8_t *data; /* the mapping, the rendered bytes or the netascii copy */
	size_t len;
	void *map;
	size_t map_lead; /* bytes mapped before the file's start (a file inside an image) */
	struct xp_buf ascii;
	uint32_t peer;
	uint16_t peer_port;
	char name[256];
	int64_t started;
};

/* A worker thread: its transfers, its epoll set, its packet buffers. */
struct worker {
	struct tftp_srv *t;
	pthread_t thread;
	bool started;
	int epfd;
	struct watch wake; /* eventfd: transfers handed over, or stop */
	pthread_mutex_t lock;
	struct tsess *inbox; /* handed over by the main thread, under lock */
	struct tsess *head;  /* the worker's own */
	atomic_bool stop;
	atomic_uint load;     /* transfers handed to it and not yet freed */
	int64_t new_deadline; /* earliest deadline set since the loop last looked */
	uint8_t rbuf[65536];
	uint8_t *sbuf; /* BATCH packets of up to 65468 bytes */
	struct iovec iov[BATCH];
	struct mmsghdr msg[BATCH];
};

struct tftp_srv {
	struct serve *s;
	struct watch w;
	uint16_t port;
	unsigned max;
	long spin_ns;	      /* poll this long before sleeping while transfers run */
	atomic_bool no_gso;   /* UDP_SEGMENT failed once: plain sendmmsg from then on */
	atomic_uint spinners; /* workers polling right now (at most ncpu) */
	atomic_size_t n;      /* transfers in flight, all workers */
	struct worker *workers;
	unsigned n_workers; /* made and started (grown on demand up to max_workers) */
	unsigned max_workers, ncpu;
	bool started;
	uint8_t rbuf[65536];
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

/* Frees a transfer; unlinks it from its worker's list when it is on one. */
static void sess_free(struct tsess *x)
{
	struct worker *k = x->k;
	if (k) {
		if (x->prev)
			x->prev->next = x->next;
		else
			k->head = x->next;
		if (x->next)
			x->next->prev = x->prev;
	}
	atomic_fetch_sub(&x->t->n, 1);
	if (x->home)
		atomic_fetch_sub(&x->home->load, 1);
	if (x->w.fd >= 0)
		close(x->w.fd); /* also leaves the epoll set */
	if (x->map)
		munmap(x->map, x->len + x->map_lead);
	xp_buf_release(&x->ascii);
	xp_bootfile_release(&x->file);
	xp_tftp_session_free(x->sess);
	free(x);
}

/* A file name as it goes into a log line (escaped: see xp_escape). */
#define NAME_ESC(buf, name) xp_escape(buf, sizeof(buf), name, strlen(name))

static void finish(struct tsess *x, int64_t now)
{
	struct tftp_srv *t = x->t;
	char ip[INET_ADDRSTRLEN], name[XP_ESCAPED_SIZE(255)];
	struct in_addr a = {htonl(x->peer)};
	inet_ntop(AF_INET, &a, ip, sizeof(ip));
	NAME_ESC(name, x->name);
	/* a transfer sent is the record of what was served; one that failed or only probed
	 * is what a client did, and a client can do it thousands of times a second */
	if (xp_tftp_session_state(x->sess) == XP_TFTP_DONE)
		xp__serve_log(t->s, LOG_INFO, "tftp: sent '%s' to %s:%u (%llu bytes, %lld ms)", name,
			  ip, x->peer_port, (unsigned long long)xp_tftp_session_bytes(x->sess),
			  (long long)(now - x->started));
	else if (xp_tftp_session_probe(x->sess))
		xp__serve_limited(t->s, SRC_TFTP, LOG_DEBUG, "'%s' to %s:%u: options only (%s)", name,
			      ip, x->peer_port, xp_tftp_session_error(x->sess));
	else
		xp__serve_limited(t->s, SRC_TFTP, LOG_WARNING, "'%s' to %s:%u failed: %s", name, ip,
			      x->peer_port, xp_tftp_session_error(x->sess));
	sess_free(x);
}

/* Sends packets [from, from + g) as one UDP GSO super-datagram (UDP_SEGMENT, Linux
 * 4.18): the kernel cuts it into datagrams of seg bytes (the last may be shorter), so a
 * window costs one trip through the stack instead of one per packet. The packets lie
 * back to back in sbuf. 1 sent, 0 to send them singly (GSO unavailable: turned off for
 * the server), -1 to stop (a full buffer or an error: the engine's timer resends). */
static int send_gso(struct worker *k, struct tsess *x, unsigned from, unsigned g, size_t seg)
{
	size_t total = 0;
	for (unsigned i = from; i < from + g; i++)
		total += k->iov[i].iov_len;
	struct iovec iov = {k->iov[from].iov_base, total};
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} c = {0};
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = c.buf,
			   .msg_controllen = sizeof(c.buf)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_UDP;
	cm->cmsg_type = UDP_SEGMENT;
	cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
	uint16_t sz = (uint16_t)seg;
	memcpy(CMSG_DATA(cm), &sz, sizeof(sz));
	for (;;) {
		if (sendmsg(x->w.fd, &m, MSG_DONTWAIT) >= 0)
			return 1;
		if (errno == EINTR)
			continue;
		if (errno == EIO || errno == EINVAL || errno == ENOPROTOOPT ||
		    errno == EOPNOTSUPP) {
			/* no GSO here (old kernel, no checksum offload on the route) */
			atomic_store(&x->t->no_gso, true);
			return 0;
		}
		return -1;
	}
}

static void flush(struct worker *k, struct tsess *x, unsigned n)
{
	unsigned done = 0;
	/* runs of equal-sized packets (a window of DATA; the last may be shorter) go out
	 * as one GSO send each */
	while (n - done >= 2 && !atomic_load(&x->t->no_gso)) {
		size_t seg = k->iov[done].iov_len;
		unsigned max = (unsigned)(GSO_BYTES / seg);
		if (max > GSO_SEGS)
			max = GSO_SEGS;
		unsigned g = 1;
		while (done + g < n && g < max && k->iov[done + g - 1].iov_len == seg &&
		       k->iov[done + g].iov_len <= seg)
			g++;
		if (g < 2)
			break;
		int r = send_gso(k, x, done, g, seg);
		if (r < 0)
			return;
		if (r == 0)
			break;
		done += g;
	}
	while (done < n) {
		int r = sendmmsg(x->w.fd, k->msg + done, n - done, MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			/* a full send buffer or an ICMP error: the engine's timer resends */
			break;
		}
		done += (unsigned)r;
	}
}

/* Sends what the engine has due; finishes the transfer when it is over. */
static void pump(struct worker *k, struct tsess *x, int64_t now)
{
	unsigned n = 0;
	size_t used = 0; /* packets back to back in sbuf, for GSO */
	for (;;) {
		uint8_t *buf = k->sbuf + used;
		ssize_t len = xp_tftp_session_next(x->sess, buf, SLOT, now);
		if (len <= 0)
			break;
		used += (size_t)len;
		k->iov[n] = (struct iovec){buf, (size_t)len};
		memset(&k->msg[n].msg_hdr, 0, sizeof(k->msg[n].msg_hdr));
		k->msg[n].msg_hdr.msg_iov = &k->iov[n];
		k->msg[n].msg_hdr.msg_iovlen = 1;
		if (++n == BATCH) {
			flush(k, x, n);
			n = 0;
			used = 0;
		}
	}
	if (n)
		flush(k, x, n);
	if (xp_tftp_session_state(x->sess) != XP_TFTP_RUNNING) {
		finish(x, now);
		return;
	}
	/* progress resets the backoff: the deadline may now be earlier than the one the
	 * loop waits for */
	int64_t d = xp_tftp_session_deadline(x->sess);
	if (d < k->new_deadline)
		k->new_deadline = d;
}

static void on_packet(struct tsess *x, int64_t now)
{
	struct worker *k = x->k;
	/* one packet a wake-up (epoll is level-triggered: a second one wakes us again),
	 * which saves the EAGAIN read in lock-step transfers, where one is all there is */
	ssize_t n = recv(x->w.fd, k->rbuf, sizeof(k->rbuf), MSG_DONTWAIT);
	if (n >= 0) /* else EAGAIN, or ECONNREFUSED: the client went away; the timer ends it */
		xp_tftp_session_input(x->sess, k->rbuf, (size_t)n, now);
	pump(k, x, now);
}

/* Takes the transfers the main thread handed over: into the list and the epoll set,
 * first packet out. */
static void adopt(struct worker *k, int64_t now)
{
	uint64_t v;
	(void)!read(k->wake.fd, &v, sizeof(v));
	pthread_mutex_lock(&k->lock);
	struct tsess *in = k->inbox;
	k->inbox = NULL;
	pthread_mutex_unlock(&k->lock);
	while (in) {
		struct tsess *x = in;
		in = in->next;
		x->k = k;
		x->prev = NULL;
		x->next = k->head;
		if (k->head)
			k->head->prev = x;
		k->head = x;
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &x->w};
		if (epoll_ctl(k->epfd, EPOLL_CTL_ADD, x->w.fd, &ev) < 0) {
			char name[XP_ESCAPED_SIZE(255)];
			xp__serve_limited(x->t->s, SRC_TFTP, LOG_WARNING, "'%s': %s",
				      NAME_ESC(name, x->name), strerror(errno));
			sess_free(x);
			continue;
		}
		pump(k, x, now);
	}
}

/* Retransmissions due; the next deadline. */
static int64_t timers(struct worker *k, int64_t now)
{
	int64_t next = INT64_MAX;
	for (struct tsess *x = k->head, *nx; x; x = nx) {
		nx = x->next;
		int64_t d = xp_tftp_session_deadline(x->sess);
		if (d <= now) {
			pump(k, x, now); /* may finish and free x */
			continue;
		}
		if (d < next)
			next = d;
	}
	int64_t d = k->new_deadline;
	k->new_deadline = INT64_MAX;
	return d < next ? d : next;
}

static void *worker_main(void *arg)
{
	struct worker *k = arg;
	int64_t deadline = INT64_MAX;
	while (!atomic_load(&k->stop)) {
		int64_t now = xp__serve_now_ms();
		int timeout = deadline == INT64_MAX    ? -1
			      : deadline <= now	       ? 0
			      : deadline - now > 60000 ? 60000
						       : (int)(deadline - now);
		struct epoll_event ev[64];
		int n = 0;
		/* While transfers run, a short spin before sleeping: in lock-step, the next ACK
		 * is one client round trip away (tens of microseconds), less than it costs to
		 * put this thread to sleep and wake it (an idle virtual CPU must be woken by an
		 * interrupt). sched_yield lets the clients run when they share this CPU. */
		/* at most one poller a CPU: with more transfers than CPUs, the others sleep */
		bool spin = k->head && timeout != 0 && k->t->spin_ns > 0;
		if (spin && atomic_fetch_add(&k->t->spinners, 1) >= k->t->ncpu) {
			atomic_fetch_sub(&k->t->spinners, 1);
			spin = false;
		}
		if (spin) {
			struct timespec t0, t1;
			clock_gettime(CLOCK_MONOTONIC, &t0);
			for (;;) {
				n = epoll_wait(k->epfd, ev, 64, 0);
				if (n != 0)
					break;
				clock_gettime(CLOCK_MONOTONIC, &t1);
				if ((t1.tv_sec - t0.tv_sec) * 1000000000L +
					(t1.tv_nsec - t0.tv_nsec) >
				    k->t->spin_ns)
					break;
				sched_yield();
			}
			atomic_fetch_sub(&k->t->spinners, 1);
		}
		if (n == 0)
			n = epoll_wait(k->epfd, ev, 64, timeout);
		now = xp__serve_now_ms();
		for (int i = 0; i < n; i++) {
			struct watch *w = ev[i].data.ptr;
			if (w == &k->wake)
				adopt(k, now);
			else
				on_packet((struct tsess *)w, now);
		}
		/* the sessions are scanned only when the earliest deadline seen may have
		 * come, not at every packet */
		if (k->new_deadline < deadline)
			deadline = k->new_deadline;
		if (now >= deadline) {
			k->new_deadline = INT64_MAX;
			deadline = timers(k, now);
		}
	}
	return NULL;
}

static unsigned iface_blksize(struct tftp_srv *t, int ifindex)
{
	/* the largest block that fits the link's MTU: IP (20) + UDP (8) + TFTP (4) */
	const struct iface *f = xp__serve_iface(t->s, ifindex);
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
		/* a file inside an ISO image starts at file.offset: the mapping starts at
		 * the page holding it (mmap(2) offsets are page-aligned) */
		len = (size_t)x->file.size;
		size_t lead = (size_t)(x->file.offset % (uint64_t)sysconf(_SC_PAGESIZE));
		if (len) {
			x->map = mmap(NULL, len + lead, PROT_READ, MAP_SHARED, x->file.fd,
				      (off_t)(x->file.offset - lead));
			if (x->map == MAP_FAILED) {
				x->map = NULL;
				return -errno;
			}
			x->map_lead = lead;
			madvise(x->map, len + lead, MADV_SEQUENTIAL | MADV_WILLNEED);
		}
		p = x->map ? (const uint8_t *)x->map + lead : NULL;
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
			munmap(x->map, (size_t)x->file.size + x->map_lead);
			x->map = NULL;
		}
	}
	x->data = p;
	x->len = len; /* also the mapping's length, for munmap */
	return 0;
}

/* Frees what worker_init made (the thread is gone or was never started). */
static void worker_release(struct worker *k)
{
	if (k->wake.fd >= 0)
		close(k->wake.fd);
	if (k->epfd >= 0)
		close(k->epfd);
	k->wake.fd = k->epfd = -1;
	pthread_mutex_destroy(&k->lock);
	free(k->sbuf);
	k->sbuf = NULL;
}

static int worker_init(struct tftp_srv *t, struct worker *k)
{
	k->t = t;
	k->epfd = -1;
	k->new_deadline = INT64_MAX;
	k->wake.fd = -1;
	pthread_mutex_init(&k->lock, NULL);
	k->epfd = epoll_create1(EPOLL_CLOEXEC);
	k->wake.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	k->sbuf = malloc((size_t)BATCH * SLOT);
	if (k->epfd < 0 || k->wake.fd < 0)
		return -errno;
	if (!k->sbuf)
		return -ENOMEM;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &k->wake};
	return epoll_ctl(k->epfd, EPOLL_CTL_ADD, k->wake.fd, &ev) < 0 ? -errno : 0;
}

/* Starts a worker made by worker_init. A small stack: a worker needs little. */
static int worker_start(struct worker *k)
{
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256u << 10);
	int r = pthread_create(&k->thread, &attr, worker_main, k);
	pthread_attr_destroy(&attr);
	if (r != 0)
		return -r;
	k->started = true;
	return 0;
}

/* The worker for a new transfer: an idle one; else a new one, while there are fewer
 * than max_workers; else the least loaded. A lock-step transfer waits a client round
 * trip per block, so a thread of its own (what atftpd does) lets the kernel wake just
 * the transfer whose ACK came, and keeps many clients moving when the CPUs are
 * contended: with 20 lock-step clients on 2 CPUs, 20 workers moved 35% more than 2. */
static struct worker *pick_worker(struct tftp_srv *t)
{
	struct worker *best = &t->workers[0];
	unsigned best_load = UINT_MAX;
	for (unsigned i = 0; i < t->n_workers; i++) {
		unsigned l = atomic_load(&t->workers[i].load);
		if (l == 0)
			return &t->workers[i];
		if (l < best_load) {
			best_load = l;
			best = &t->workers[i];
		}
	}
	if (t->started && t->n_workers < t->max_workers) {
		struct worker *k = &t->workers[t->n_workers];
		if (worker_init(t, k) == 0 && worker_start(k) == 0) {
			t->n_workers++;
			return k;
		}
		worker_release(k);
	}
	return best;
}

static void start_session(struct tftp_srv *t, const uint8_t *pkt, size_t len,
			  const struct sockaddr_in *from, const struct in_pktinfo *pi)
{
	struct serve *s = t->s;
	uint32_t peer = ntohl(from->sin_addr.s_addr);
	char ip[INET_ADDRSTRLEN], name[XP_ESCAPED_SIZE(255)];
	inet_ntop(AF_INET, &from->sin_addr, ip, sizeof(ip));
	struct xp_tftp_request req;
	int r = xp_tftp_parse_request(pkt, len, &req);
	if (r < 0) {
		if (r == -EPROTO)
			return; /* stray DATA/ACKs on port 69 get no answer */
		send_error(t, from, r == -EPROTONOSUPPORT ? XP_TFTP_EBADOP : XP_TFTP_EUNDEF,
			   r == -EPROTONOSUPPORT ? "transfer mode not supported"
			   : r == -ENAMETOOLONG	 ? "file name too long"
						 : "malformed request");
		xp__serve_limited(s, SRC_TFTP, LOG_DEBUG, "malformed request from %s", ip);
		return;
	}
	/* from here on every line about the request may carry its name: escaped */
	NAME_ESC(name, req.filename);
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
		xp__serve_limited(s, SRC_TFTP, LOG_WARNING, "refused '%s' to %s: %s", name, ip,
			      r == -EACCES ? "outside the root" : "bad file name");
		send_error(t, from, XP_TFTP_EACCESS, "access violation");
		return;
	}
	/* one limit for all: clients behind one address (NAT, a test bench's macvlans in
	 * one namespace) are many machines, not one greedy client */
	if (atomic_load(&t->n) >= t->max) {
		xp__serve_limited(s, SRC_TFTP, LOG_WARNING, "busy, refused '%s' to %s", name, ip);
		send_error(t, from, XP_TFTP_EUNDEF, "server busy, try again");
		return;
	}
	struct tsess *x = calloc(1, sizeof(*x));
	if (!x) {
		send_error(t, from, XP_TFTP_EUNDEF, "out of memory");
		return;
	}
	x->w.fd = -1;
	x->t = t;
	x->file.fd = -1;
	x->peer = peer;
	x->peer_port = ntohs(from->sin_port);
	snprintf(x->name, sizeof(x->name), "%s", path);
	x->started = xp__serve_now_ms();
	atomic_fetch_add(&t->n, 1);

	struct xp_boot *boot = xp__serve_boot(s);
	r = boot ? xp_boot_open_from(boot, path, peer, &x->file) : -ENOENT;
	if (r == -EAGAIN) { /* the installer, being built on first use (installer-cache.c) */
		x->file.fd = -1;
		xp__serve_limited(s, SRC_TFTP, LOG_INFO, "'%s' for %s: the installer is being built",
				  name, ip);
		send_error(t, from, XP_TFTP_EUNDEF, "the installer is being built: try again");
		sess_free(x);
		return;
	}
	if (r < 0) {
		x->file.fd = -1;
		xp__serve_limited(s, SRC_TFTP, r == -ENOENT ? LOG_INFO : LOG_WARNING, "'%s' for %s: %s",
			      name, ip,
			      r == -ENOENT   ? "no such file"
			      : r == -EACCES ? "refused: outside the root or not a regular file"
					     : strerror(-r));
		send_error(t, from, r == -ENOENT ? XP_TFTP_ENOTFOUND : XP_TFTP_EACCESS,
			   r == -ENOENT ? "file not found" : "access violation");
		sess_free(x);
		return;
	}
	if (x->file.local_system[0]) /* once per config fetched: once a boot */
		xp__serve_limited(s, SRC_TFTP, LOG_INFO,
				  "system '%s' (%s): netboot off, answered %s: boots locally",
				  x->file.local_system, ip, x->file.local_answer);
	if ((r = map_file(x, req.netascii)) < 0) {
		xp__serve_limited(s, SRC_TFTP, LOG_WARNING, "'%s' for %s: %s", name, ip, strerror(-r));
		send_error(t, from, XP_TFTP_EUNDEF,
			   r == -EFBIG ? "too large for netascii" : "read error");
		sess_free(x);
		return;
	}
	struct xp_tftp_source src = {.read = source_read, .ctx = x, .size = x->len};
	r = xp_tftp_session_new(&req, &src, &lim, x->started, &x->sess);
	if (r < 0) {
		send_error(t, from, r == -EOPNOTSUPP ? XP_TFTP_EOPTNEG : XP_TFTP_EUNDEF,
			   r == -EOPNOTSUPP ? "option value refused" : "cannot start the transfer");
		sess_free(x);
		return;
	}
	x->w.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in local = {.sin_family = AF_INET, .sin_addr = pi->ipi_spec_dst};
	int sndbuf = 1 << 20;
	if (x->w.fd < 0 ||
	    setsockopt(x->w.fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)) < 0 ||
	    bind(x->w.fd, (struct sockaddr *)&local, sizeof(local)) < 0 ||
	    connect(x->w.fd, (const struct sockaddr *)from, sizeof(*from)) < 0) {
		xp__serve_limited(s, SRC_TFTP, LOG_WARNING, "no socket for '%s' to %s: %s", name, ip,
			      strerror(errno));
		send_error(t, from, XP_TFTP_EUNDEF, "cannot start the transfer");
		sess_free(x);
		return;
	}
	/* the transfer runs in a worker from now on */
	struct worker *k = pick_worker(t);
	x->home = k;
	atomic_fetch_add(&k->load, 1);
	pthread_mutex_lock(&k->lock);
	x->next = k->inbox;
	k->inbox = x;
	pthread_mutex_unlock(&k->lock);
	uint64_t one = 1;
	(void)!write(k->wake.fd, &one, sizeof(one));
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
		struct msghdr m = {.msg_name = &from,
				   .msg_namelen = sizeof(from),
				   .msg_iov = &iov,
				   .msg_iovlen = 1,
				   .msg_control = ctl.buf,
				   .msg_controllen = sizeof(ctl.buf)};
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
		if (!have || !xp__serve_iface(s, pi.ipi_ifindex))
			continue;
		start_session(t, t->rbuf, (size_t)n, &from, &pi);
	}
}

size_t xp__tftp_srv_sessions(const struct tftp_srv *t)
{
	return atomic_load(&t->n);
}

void xp__tftp_srv_stop_accepting(struct tftp_srv *t)
{
	xp__serve_unwatch_close(t->s, &t->w);
}

int xp__tftp_srv_open(struct serve *s, struct tftp_srv **ret)
{
	struct tftp_srv *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->s = s;
	t->w.ready = on_request;
	t->port = s->opts->tftp_port ? s->opts->tftp_port : 69;
	t->max = s->opts->tftp_max_sessions ? s->opts->tftp_max_sessions : 512;
	t->spin_ns = (long)s->opts->tftp_spin_us * 1000;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	t->ncpu = cpus < 1 ? 1 : (unsigned)cpus;
	/* one worker a CPU to begin with; more as transfers come, up to MAX_WORKERS */
	unsigned first = t->ncpu > MAX_WORKERS ? MAX_WORKERS : t->ncpu;
	t->max_workers = t->max < MAX_WORKERS ? t->max : MAX_WORKERS;
	if (t->max_workers < first)
		t->max_workers = first;
	t->workers = calloc(t->max_workers, sizeof(*t->workers));
	t->w.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int r = 0;
	if (!t->workers)
		r = -ENOMEM;
	else if (t->w.fd < 0)
		r = -errno;
	/* n_workers counts those worker_init ran for, so that close releases just them */
	for (unsigned i = 0; r == 0 && i < first; i++, t->n_workers++)
		r = worker_init(t, &t->workers[i]);
	if (r == 0) {
		int one = 1;
		setsockopt(t->w.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		setsockopt(t->w.fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(t->port)};
		if (bind(t->w.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			r = -errno;
			xp__serve_log(s, LOG_ERR, "tftp: cannot bind UDP port %u: %s", t->port,
				  strerror(-r));
		} else {
			r = xp__serve_watch(s, &t->w, EPOLLIN);
		}
	}
	if (r < 0) {
		xp__tftp_srv_close(t);
		return r;
	}
	*ret = t;
	return 0;
}

int xp__tftp_srv_start(struct tftp_srv *t)
{
	for (unsigned i = 0; i < t->n_workers; i++) {
		int r = worker_start(&t->workers[i]);
		if (r < 0)
			return r;
	}
	t->started = true;
	return 0;
}

void xp__tftp_srv_close(struct tftp_srv *t)
{
	if (!t)
		return;
	xp__tftp_srv_stop_accepting(t);
	for (unsigned i = 0; t->workers && i < t->n_workers; i++) {
		struct worker *k = &t->workers[i];
		if (k->started) {
			atomic_store(&k->stop, true);
			uint64_t one = 1;
			(void)!write(k->wake.fd, &one, sizeof(one));
			pthread_join(k->thread, NULL);
		}
		/* what a forced stop (the drain time ran out) leaves */
		while (k->head)
			sess_free(k->head);
		for (struct tsess *x = k->inbox, *nx; x; x = nx) {
			nx = x->next;
			x->k = NULL;
			sess_free(x);
		}
		worker_release(k);
	}
	free(t->workers);
	free(t);
}
