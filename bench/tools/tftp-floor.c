/*
 * tftp-floor.c - xp-tftp-floor ADDR ROOT: the least a TFTP server can do to send a file,
 * for bench/boot.sh's CPU-per-MB rows: what any server must spend in the kernel, beside
 * which a server's own overhead shows.
 *
 * Read requests (RFC 1350) on ADDR port 69; each transfer in a child process of its own
 * (fork, as in.tftpd) on a new socket connected to the client, the file mapped, the
 * options blksize (RFC 2348) and windowsize (RFC 7440) acknowledged (OACK, RFC 2347),
 * then per window of blocks one send each and one receive of the client's ACK: nothing
 * else (no timers beyond a receive timeout set once, no retransmission but of a
 * window whose ACK did not come in a second, no logging, no netascii, no access
 * checks beyond staying in ROOT by refusing '/' and ".."). Not a server to run: a
 * measuring stick.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

enum { RRQ = 1, DATA = 3, ACK = 4, ERROR = 5, OACK = 6 };

static void send_error(int s, const struct sockaddr_in *to, const char *msg)
{
	char b[128];
	size_t n = (size_t)snprintf(b + 4, sizeof(b) - 4, "%s", msg) + 5;
	b[0] = 0, b[1] = ERROR, b[2] = 0, b[3] = 1;
	(void)sendto(s, b, n, 0, (const struct sockaddr *)to, sizeof(*to));
}

/* One transfer of the file named in the request req[0..n) to the client at peer. */
static void transfer(const char *root, const char *req, size_t n, const struct sockaddr_in *peer)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (const struct sockaddr *)peer, sizeof(*peer)) < 0)
		_exit(1);
	const char *name = req + 2, *end = req + n;
	const char *mode = memchr(name, 0, (size_t)(end - name));
	if (!mode || !*name || name[0] == '/' || strstr(name, ".."))
		_exit((send_error(s, peer, "bad name"), 1));
	mode++;
	const char *opt = memchr(mode, 0, (size_t)(end - mode));
	if (!opt)
		_exit(1);
	opt++;
	unsigned blk = 512, win = 1;
	char oack[128] = {0, OACK};
	size_t on = 2;
	while (opt < end) {
		const char *val = memchr(opt, 0, (size_t)(end - opt));
		if (!val || ++val >= end)
			break;
		const char *next = memchr(val, 0, (size_t)(end - val));
		if (!next)
			break;
		unsigned v = (unsigned)strtoul(val, NULL, 10);
		if (!strcasecmp(opt, "blksize") && v >= 8 && v <= 65464)
			blk = v, on += (size_t)snprintf(oack + on, sizeof(oack) - on, "blksize%c%u", 0, v) + 1;
		else if (!strcasecmp(opt, "windowsize") && v >= 1 && v <= 64)
			win = v,
			on += (size_t)snprintf(oack + on, sizeof(oack) - on, "windowsize%c%u", 0, v) + 1;
		opt = next + 1;
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", root, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		_exit((send_error(s, peer, "not found"), 1));
	const unsigned char *map =
	    st.st_size ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
	if (st.st_size && map == MAP_FAILED)
		_exit(1);
	struct timeval tv = {1, 0};
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	unsigned char ack[516], *pkt = malloc(4 + blk);
	if (!pkt)
		_exit(1);
	uint64_t size = (uint64_t)st.st_size, nblocks = size / blk + 1;
	if (on > 2) { /* options acknowledged: the client ACKs block 0 */
		for (int tries = 0;; tries++) {
			if (tries == 5 || send(s, oack, on, 0) < 0)
				_exit(1);
			ssize_t r = recv(s, ack, sizeof(ack), 0);
			if (r >= 4 && ack[1] == ACK && ack[2] == 0 && ack[3] == 0)
				break;
		}
	}
	uint64_t next = 1; /* the first block not yet acknowledged */
	int tries = 0;
	while (next <= nblocks) {
		uint64_t last = next + win - 1 > nblocks ? nblocks : next + win - 1;
		for (uint64_t b = next; b <= last; b++) {
			uint64_t off = (b - 1) * blk;
			size_t len = off >= size ? 0 : size - off > blk ? blk : (size_t)(size - off);
			pkt[0] = 0, pkt[1] = DATA, pkt[2] = (unsigned char)(b >> 8), pkt[3] = (unsigned char)b;
			memcpy(pkt + 4, map + off, len);
			if (send(s, pkt, 4 + len, 0) < 0)
				_exit(1);
		}
		ssize_t r = recv(s, ack, sizeof(ack), 0);
		if (r < 4 || ack[1] != ACK) {
			if (++tries == 5)
				_exit(1);
			continue; /* the window again */
		}
		tries = 0;
		/* the block number wraps at 65536: take the ACKed one nearest to next */
		uint16_t a = (uint16_t)(ack[2] << 8 | ack[3]);
		uint64_t acked = (next & ~(uint64_t)0xffff) | a;
		if (acked + 0x8000 < next)
			acked += 0x10000;
		else if (acked > next + 0x8000)
			acked -= 0x10000;
		if (acked >= next && acked <= last)
			next = acked + 1;
	}
	_exit(0);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: xp-tftp-floor ADDR ROOT\n");
		return 2;
	}
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(69)};
	if (inet_pton(AF_INET, argv[1], &a.sin_addr) != 1) {
		fprintf(stderr, "xp-tftp-floor: '%s' is not an IPv4 address\n", argv[1]);
		return 2;
	}
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("xp-tftp-floor: bind");
		return 1;
	}
	signal(SIGCHLD, SIG_IGN); /* children reaped by the kernel */
	for (;;) {
		char req[516];
		struct sockaddr_in peer;
		socklen_t pl = sizeof(peer);
		ssize_t n = recvfrom(s, req, sizeof(req) - 1, 0, (struct sockaddr *)&peer, &pl);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 4 || req[0] != 0 || req[1] != RRQ)
			continue;
		req[n] = 0;
		pid_t p = fork();
		if (p == 0) {
			close(s);
			transfer(argv[2], req, (size_t)n, &peer);
		}
	}
}
