/*
 * xenprov/tftp.h - the pure TFTP engine of the boot server (read-only server side):
 * packet parsing and building, the filename gate, netascii conversion, and one transfer
 * ("session") as a state machine with the time passed in.
 *
 * Not here: sockets, the clock, opening files (the socket layer in net/ does all I/O:
 * it receives the request on port 69, opens the file, creates a session with a fresh
 * TID, feeds it the client's packets and sends what next() builds).
 *
 * Protocols: RFC 1350 (TFTP), RFC 2347 (option extension), RFC 2348 (blksize), RFC 2349
 * (timeout, tsize), RFC 7440 (windowsize), RFC 1123 4.2.3.1 (no Sorcerer's Apprentice).
 *
 * Typical use by the socket layer:
 *
 *   struct xp_tftp_request rq;
 *   int r = xp_tftp_parse_request(pkt, len, &rq);          // port 69
 *   if (r == 0) r = xp_tftp_request_check(&rq, &lim);       // WRQ, mail, options
 *   if (r == 0) r = xp_tftp_path_check(rq.filename, strlen(rq.filename), name, sizeof name);
 *   if (r >= 0) r = open the file (openat2 RESOLVE_BENEATH), fill a source;
 *   if (r >= 0) r = xp_tftp_session_new(&rq, &src, &lim, now, &s);
 *   if (r < 0)  send xp_tftp_build_errno(buf, cap, r) from a fresh TID; done.
 *   loop: for each packet from the client's TID: xp_tftp_session_input(s, p, n, now);
 *         while ((n = xp_tftp_session_next(s, buf[i], cap, now)) > 0) queue buf[i];
 *         sendmmsg the queue; wake at xp_tftp_session_deadline(s);
 *         stop when xp_tftp_session_state(s) != XP_TFTP_RUNNING.
 *   A packet for a session from another source port: xp_tftp_build_error(buf, cap,
 *   XP_TFTP_EBADID, "unknown transfer ID") to that sender; the session goes on.
 *
 * Errors are -errno. Nothing here allocates after xp_tftp_session_new().
 */
#ifndef XENPROV_TFTP_H
#define XENPROV_TFTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Opcodes (RFC 1350 section 5, RFC 2347). */
enum { XP_TFTP_RRQ = 1, XP_TFTP_WRQ, XP_TFTP_DATA, XP_TFTP_ACK, XP_TFTP_ERROR, XP_TFTP_OACK };

/* Error codes (RFC 1350 appendix, RFC 2347 for 8). */
enum {
	XP_TFTP_EUNDEF = 0, /* not defined, see message */
	XP_TFTP_ENOTFOUND,  /* file not found */
	XP_TFTP_EACCESS,    /* access violation */
	XP_TFTP_ENOSPACE,   /* disk full or allocation exceeded */
	XP_TFTP_EBADOP,	    /* illegal TFTP operation */
	XP_TFTP_EBADID,	    /* unknown transfer ID */
	XP_TFTP_EEXISTS,    /* file already exists */
	XP_TFTP_ENOUSER,    /* no such user */
	XP_TFTP_EOPTNEG,    /* option negotiation refused (RFC 2347) */
};

enum xp_tftp_mode { XP_TFTP_OCTET, XP_TFTP_NETASCII, XP_TFTP_MAIL };

/* Protocol bounds. */
#define XP_TFTP_NAME_MAX	255   /* longest filename we take, as boot.h */
#define XP_TFTP_BLKSIZE_DEFAULT 512   /* RFC 1350 */
#define XP_TFTP_BLKSIZE_MIN	8     /* RFC 2348 */
#define XP_TFTP_BLKSIZE_MAX	65464 /* RFC 2348 */
#define XP_TFTP_WINDOW_MAX	65535 /* RFC 7440 */
#define XP_TFTP_OACK_MAX	96    /* the longest OACK a session builds */
#define XP_TFTP_ERROR_MAX	128   /* the longest ERROR a session or build_errno builds */

/* Bits of xp_tftp_request.invalid: a known option whose value is not a decimal number
 * (or is above UINT64_MAX). */
enum {
	XP_TFTP_OPT_BLKSIZE = 1,
	XP_TFTP_OPT_TIMEOUT = 2,
	XP_TFTP_OPT_TSIZE = 4,
	XP_TFTP_OPT_WINDOWSIZE = 8,
};

/* A RRQ or WRQ as sent. Option values are as the client wrote them (numbers above
 * UINT32_MAX saturate); has_X says the option was present with a decimal value. */
struct xp_tftp_request {
	int opcode;			     /* XP_TFTP_RRQ or XP_TFTP_WRQ */
	char filename[XP_TFTP_NAME_MAX + 1]; /* NUL-terminated, bytes as sent (unchecked) */
	enum xp_tftp_mode mode;
	bool netascii; /* mode == XP_TFTP_NETASCII */
	uint32_t blksize, timeout, windowsize;
	uint64_t tsize;
	bool has_blksize, has_timeout, has_tsize, has_windowsize;
	unsigned invalid; /* XP_TFTP_OPT_* bits */
};

/* Parses a request (RFC 1350 section 5, RFC 2347): opcode, filename NUL, mode NUL, then
 * option NUL value NUL pairs; names of modes and options are case-insensitive; unknown
 * options are skipped; trailing NUL bytes (padding some PXE ROMs add) are allowed.
 * Returns 0; -EBADMSG: shorter than 2 bytes, a missing NUL, an option without a value,
 * an empty option name followed by more bytes, a known option given twice;
 * -EPROTO: the opcode is not RRQ/WRQ; -ENAMETOOLONG: filename > 255 bytes;
 * -EPROTONOSUPPORT: mode "mail" or unknown (r->filename and r->opcode are filled).
 * On failure *r holds what was read so far. */
int xp_tftp_parse_request(const uint8_t *p, size_t len, struct xp_tftp_request *r);

/* A packet a client sends on its transfer TID. For DATA data/datalen point into the
 * packet; for ERROR msg points into the packet, msglen excludes the NUL (which may be
 * missing). */
struct xp_tftp_packet {
	int opcode;
	uint16_t block; /* DATA, ACK */
	uint16_t code;	/* ERROR */
	const uint8_t *data;
	size_t datalen;
	const char *msg;
	size_t msglen;
};

/* Parses a DATA, ACK or ERROR (RFC 1350 section 5). Returns the opcode; -EBADMSG if
 * shorter than 4 bytes; -EPROTO for other opcodes (RRQ, WRQ, OACK, unknown; opcode is
 * still set). Bytes after an ACK's block number are ignored (padding). */
int xp_tftp_parse_packet(const uint8_t *p, size_t len, struct xp_tftp_packet *pk);

/* Builds ERROR code msg into buf (msg truncated to fit; NUL-terminated always).
 * Returns the length, 0 if cap < 5. */
size_t xp_tftp_build_error(uint8_t *buf, size_t cap, uint16_t code, const char *msg);

/* Builds the ERROR answering a refused request, from the -errno that refused it:
 * -ENOENT -> 1 "file not found"; -EACCES, -EPERM -> 2 "access violation"; -EROFS -> 2
 * "read-only server"; -EINVAL, -ENAMETOOLONG -> 2 "invalid file name";
 * -EPROTONOSUPPORT -> 4 "unsupported mode"; -EBADMSG, -EPROTO -> 4 "illegal TFTP
 * operation"; -EOPNOTSUPP -> 8 "unacceptable option"; -EISDIR, -ENOTDIR -> 1;
 * anything else -> 0 with strerror-like text ("internal error" if unknown). Returns the
 * length (<= XP_TFTP_ERROR_MAX), 0 if cap < 5. */
size_t xp_tftp_build_errno(uint8_t *buf, size_t cap, int err);

/* The filename gate (pure; the socket layer also opens with openat2 RESOLVE_BENEATH).
 * Takes name[0..len), writes the normalised relative path to out (NUL-terminated):
 * one leading '/' is taken away, repeated '/' collapse to one, "." components are
 * dropped. Returns the length of out; -EINVAL: empty (also after normalising), longer
 * than 255 bytes, a NUL, a control byte (< 0x20, 0x7f), a byte >= 0x80, a backslash, a
 * trailing '/'; -EACCES: a ".." component; -ENOSPC: outsz too small (len + 1 always
 * suffices). -EINVAL is checked over the whole name before -EACCES. */
int xp_tftp_path_check(const char *name, size_t len, char *out, size_t outsz);

/* netascii (RFC 764 as RFC 1350 uses it): LF -> CR LF, CR -> CR NUL. The engine sends
 * what the source gives, so a netascii transfer needs a converted source: convert the
 * file into a buffer once, bounded by the caller's limit, and serve the buffer.
 * xp_tftp_netascii_len: the converted length of in[0..len).
 * xp_tftp_netascii_encode: writes the conversion to out; returns its length, -ENOSPC
 * (nothing usable written) if it is longer than cap. */
uint64_t xp_tftp_netascii_len(const void *in, size_t len);
ssize_t xp_tftp_netascii_encode(const void *in, size_t len, void *out, size_t cap);

/* Limits the server imposes; a 0 field takes the default. */
struct xp_tftp_limits {
	uint32_t max_blksize;	 /* default 1468 (1500-byte MTU); 8..65464 */
	uint32_t max_windowsize; /* default 64; 1..65535 */
	uint32_t timeout_ms;	 /* first retransmit interval without a timeout option; 1000 */
	uint32_t max_timeout_ms; /* backoff cap; default 8000 (raised to a negotiated timeout) */
	unsigned max_tries;	 /* sends of one window/OACK before giving up; default 5 */
};

/* Checks a parsed request against what we serve: -EROFS for a WRQ (read-only server,
 * RFC 1350 access violation), -EPROTONOSUPPORT for mode mail, -EOPNOTSUPP (answer
 * ERROR 8, RFC 2347) for a known option with an unacceptable value: blksize < 8 or
 * not a number, timeout outside 1..255 s, windowsize 0, any not a number. Larger
 * blksize/windowsize than our limits are not refused: they are lowered in the OACK
 * (RFC 2348, RFC 7440). -EINVAL for limits out of range. lim may be NULL. */
int xp_tftp_request_check(const struct xp_tftp_request *r, const struct xp_tftp_limits *lim);

/* The file to send. read() fills buf with len bytes at off and returns how many (fewer
 * only at end of file) or -errno; the engine calls it once per DATA, directly into the
 * outgoing packet, never beyond size. size is the length on the wire (for netascii, the
 * converted length). ctx is borrowed for the session's life. */
struct xp_tftp_source {
	ssize_t (*read)(void *ctx, uint64_t off, void *buf, size_t len);
	void *ctx;
	uint64_t size;
};

/* A source over memory: ctx is the buffer itself (borrowed). */
void xp_tftp_source_mem(struct xp_tftp_source *src, const void *data, size_t size);

enum xp_tftp_state { XP_TFTP_RUNNING, XP_TFTP_DONE, XP_TFTP_FAILED };

struct xp_tftp_session; /* fixed size; no allocation after new */

/* Starts serving request r (which must pass xp_tftp_request_check: its errors are
 * returned as they are) from src. Negotiates: blksize min(asked, max_blksize), timeout as
 * asked, tsize (the source size; left out for netascii), windowsize min(asked,
 * max_windowsize); the first packet due is an OACK of those (then DATA 1 after ACK 0),
 * or DATA 1 when no option was asked for or accepted. -ENOMEM. */
int xp_tftp_session_new(const struct xp_tftp_request *r, const struct xp_tftp_source *src,
			const struct xp_tftp_limits *lim, int64_t now_ms,
			struct xp_tftp_session **ret);
void xp_tftp_session_free(struct xp_tftp_session *s);

/* Feeds one packet from the client's TID. Returns 1 if it moved the transfer on (an ACK
 * of new blocks, or the client's ERROR, which ends the session as FAILED), 0 if it was
 * ignored (a duplicate or old ACK: nothing is resent for it, RFC 1123 4.2.3.1; any
 * packet once the session is over); -EBADMSG for a malformed packet, -EPROTO for an
 * opcode other than ACK/ERROR (both ignored: the session goes on). */
int xp_tftp_session_input(struct xp_tftp_session *s, const uint8_t *p, size_t len, int64_t now_ms);

/* Builds the next packet due at now_ms into buf: its length, 0 when nothing is due.
 * Call until it returns 0 to collect a whole window for one sendmmsg. A window is
 * resent (from the first unacknowledged block) when its timer expires, with the
 * interval doubled each time up to max_timeout_ms; after max_tries sends without
 * progress the session fails. A read error yields an ERROR 0 packet and FAILED.
 * -ENOSPC if cap is below xp_tftp_session_packet_max(s) (nothing changes). */
ssize_t xp_tftp_session_next(struct xp_tftp_session *s, uint8_t *buf, size_t cap, int64_t now_ms);

/* When next() has something to send: a time <= the last now_ms passed in when a packet
 * is due already, the retransmit time while waiting for an ACK, INT64_MAX when the
 * session is over. */
int64_t xp_tftp_session_deadline(const struct xp_tftp_session *s);

enum xp_tftp_state xp_tftp_session_state(const struct xp_tftp_session *s);
/* Why the session failed ("" while running or done). */
const char *xp_tftp_session_error(const struct xp_tftp_session *s);
/* Whether the client ended the session with an ERROR right after the OACK, before any
 * DATA: the size probe of PXE firmware (EDK2, many BIOS ROMs ask for tsize, then
 * abort and ask again), not a failure worth a warning. */
bool xp_tftp_session_probe(const struct xp_tftp_session *s);
/* Bytes the client has acknowledged. */
uint64_t xp_tftp_session_bytes(const struct xp_tftp_session *s);
/* Negotiated block size, window size, and the buffer size next() needs. */
uint32_t xp_tftp_session_blksize(const struct xp_tftp_session *s);
uint32_t xp_tftp_session_windowsize(const struct xp_tftp_session *s);
size_t xp_tftp_session_packet_max(const struct xp_tftp_session *s);

/* ---- client ------------------------------------------------------------------------ */

/* One read transfer as the client sees it (the domU network bootloader's): RRQ with
 * options (RFC 2347: blksize RFC 2348, tsize RFC 2349, windowsize RFC 7440), OACK and
 * ACK 0, DATA blocks acknowledged once a window (the last block of each window, or the
 * last in order at a gap, RFC 7440 section 4), retransmission of the last packet sent
 * when nothing comes (doubling, up to max_tries sends). Block numbers roll over past
 * 65535 to 0, as the server side's do. A server that refuses the options (ERROR 8) is
 * asked again without them. The data go to a sink as they come, in order.
 *
 * Ports are the caller's: it sends the RRQ to port 69, takes the port of the first
 * answer as the server's TID and feeds only that port's packets here (others get
 * ERROR 5, RFC 1350). */
struct xp_tftp_client_opts {
	const char *filename;	 /* as sent; at most XP_TFTP_NAME_MAX bytes */
	uint32_t blksize;	 /* asked for; 0: not asked (512) */
	uint32_t windowsize;	 /* asked for; 0: not asked (1) */
	bool tsize;		 /* ask for the size (lets a too large file fail at once) */
	uint64_t max_size;	 /* a larger file fails with -EFBIG; 0: no limit */
	uint32_t timeout_ms;	 /* first retransmission; 0 = 1000 */
	uint32_t max_timeout_ms; /* 0 = 4000 */
	unsigned max_tries;	 /* sends of one packet before giving up; 0 = 5 */
};

/* Where the data go: write(ctx, off, data, len), 0 or -errno (which fails the
 * transfer with an ERROR 3 to the server). */
struct xp_tftp_sink {
	int (*write)(void *ctx, uint64_t off, const void *data, size_t len);
	void *ctx;
};

struct xp_tftp_client;

/* -EINVAL (no or too long a filename, blksize outside 8..65464), -ENOMEM. The RRQ is
 * due at now_ms. sink is borrowed for the client's life. */
int xp_tftp_client_new(const struct xp_tftp_client_opts *o, const struct xp_tftp_sink *sink,
		       int64_t now_ms, struct xp_tftp_client **ret);
void xp_tftp_client_free(struct xp_tftp_client *c);

/* The packet due at now_ms (RRQ, ACK, or an ERROR that ends a failed transfer) into
 * buf: its length, 0 when nothing is due. -ENOSPC if cap < 4 + XP_TFTP_NAME_MAX + 64. */
ssize_t xp_tftp_client_next(struct xp_tftp_client *c, uint8_t *buf, size_t cap, int64_t now_ms);
/* Feeds one packet from the server's TID: 1 if it moved the transfer on, 0 if ignored
 * (a duplicate, a block after a gap), -EBADMSG if malformed. */
int xp_tftp_client_input(struct xp_tftp_client *c, const uint8_t *p, size_t len, int64_t now_ms);
/* When next() has something to send: <= now when due; INT64_MAX once over. */
int64_t xp_tftp_client_deadline(const struct xp_tftp_client *c);
/* RUNNING, DONE (every byte given to the sink; the last ACK may still be due: call
 * next() once more), FAILED. */
enum xp_tftp_state xp_tftp_client_state(const struct xp_tftp_client *c);
/* Why it failed ("" otherwise), and as -errno: -ENOENT (the server's ERROR 1),
 * -EACCES (2), -EFBIG (larger than max_size), -ETIMEDOUT (no answer), -EPROTO (the
 * server broke the protocol, or another ERROR), or the sink's error. */
const char *xp_tftp_client_error(const struct xp_tftp_client *c);
int xp_tftp_client_errno(const struct xp_tftp_client *c);
/* Bytes received so far; the size the server announced (tsize), 0 if it did not. */
uint64_t xp_tftp_client_bytes(const struct xp_tftp_client *c);
uint64_t xp_tftp_client_tsize(const struct xp_tftp_client *c);
/* What was negotiated (512 and 1 without an OACK). */
uint32_t xp_tftp_client_blksize(const struct xp_tftp_client *c);
uint32_t xp_tftp_client_windowsize(const struct xp_tftp_client *c);

#endif
