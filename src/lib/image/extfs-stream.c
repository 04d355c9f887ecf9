/*
 * extfs-stream.c - reads a tar archive with libarchive in a thread of its own and hands
 * headers and block-aligned windows of file data to the filesystem writer through a
 * bounded queue, so that decompression overlaps with writing.
 *
 * Not here: what is done with the entries (extfs-build.c).
 *
 * Memory is bounded: at most XP_INFLIGHT_MAX bytes of data and XP_QUEUE_MAX messages
 * wait in the queue; the reader waits for the writer beyond that. Both sides move
 * messages in batches and signal only a side that waits, so the hand-over costs a few
 * lock operations per batch rather than a wake-up per message.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "image/extfs-internal.h"

#define XP_INFLIGHT_MAX (16u << 20) /* bytes of file data queued */
#define XP_QUEUE_MAX	4096	    /* messages queued */
#define XP_BATCH	64	    /* messages the reader hands over at once */
#define XP_RELEASE	(4u << 20)  /* bytes the writer frees before telling */
#define XP_SPARE	24	    /* windows kept for reuse */

struct xp_stream {
	struct archive *a;
	struct xp_src *src;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t items;	    /* the writer waits for messages */
	pthread_cond_t space;	    /* the reader waits for room */
	struct xp_msg *head, *tail; /* shared queue */
	size_t queued;
	uint64_t inflight;
	bool writer_waiting, reader_waiting;
	bool cancel;
	/* reader-private batch */
	struct xp_msg *bhead, *btail;
	size_t bn;
	/* writer-private: messages taken from the queue, bytes freed but not yet returned */
	struct xp_msg *whead;
	size_t wn;
	uint64_t wfreed;
	/* full windows for reuse (fresh 1 MiB allocations are mmaps that page-fault on
	 * every first touch): wfree writer-private, spare shared */
	unsigned char *wfree[XP_SPARE], *spare[XP_SPARE];
	size_t nwfree, nspare;
	struct xp_msg *final; /* END or ERROR, allocated up front so it can always be sent */
};

/* ---- reader side ------------------------------------------------------------------- */

/* Hands the reader's batch to the writer. Called with the lock held. */
static void flush_batch_locked(struct xp_stream *s)
{
	if (!s->bhead)
		return;
	while (s->queued >= XP_QUEUE_MAX && !s->cancel) {
		s->reader_waiting = true;
		pthread_cond_wait(&s->space, &s->lock);
		s->reader_waiting = false;
	}
	if (s->tail)
		s->tail->next = s->bhead;
	else
		s->head = s->bhead;
	s->tail = s->btail;
	s->queued += s->bn;
	s->bhead = s->btail = NULL;
	s->bn = 0;
	if (s->writer_waiting)
		pthread_cond_signal(&s->items);
}

static void flush_batch(struct xp_stream *s)
{
	pthread_mutex_lock(&s->lock);
	flush_batch_locked(s);
	pthread_mutex_unlock(&s->lock);
}

static void push(struct xp_stream *s, struct xp_msg *m)
{
	m->next = NULL;
	if (s->btail)
		s->btail->next = m;
	else
		s->bhead = m;
	s->btail = m;
	if (++s->bn >= XP_BATCH || m->kind == XP_MSG_END || m->kind == XP_MSG_ERROR)
		flush_batch(s);
}

/* A buffer of `size` bytes within the in-flight budget; NULL when cancelled or out of
 * memory (*oom set). */
static unsigned char *get_buffer(struct xp_stream *s, size_t size, bool *oom)
{
	pthread_mutex_lock(&s->lock);
	while (s->inflight + size > XP_INFLIGHT_MAX && s->inflight > 0 && !s->cancel) {
		flush_batch_locked(s);
		s->reader_waiting = true;
		pthread_cond_wait(&s->space, &s->lock);
		s->reader_waiting = false;
	}
	bool cancel = s->cancel;
	unsigned char *b = NULL;
	if (!cancel) {
		s->inflight += size;
		if (size == XP_FS_WINDOW && s->nspare)
			b = s->spare[--s->nspare];
	}
	pthread_mutex_unlock(&s->lock);
	if (cancel)
		return NULL;
	if (b)
		return b;
	b = malloc(size);
	if (!b) {
		*oom = true;
		pthread_mutex_lock(&s->lock);
		s->inflight -= size;
		pthread_mutex_unlock(&s->lock);
	}
	return b;
}

static void put_buffer(struct xp_stream *s, unsigned char *b, size_t size)
{
	free(b);
	pthread_mutex_lock(&s->lock);
	s->inflight -= size;
	pthread_mutex_unlock(&s->lock);
}

static bool cancelled(struct xp_stream *s)
{
	pthread_mutex_lock(&s->lock);
	bool c = s->cancel;
	pthread_mutex_unlock(&s->lock);
	return c;
}

static void push_error(struct xp_stream *s, int err, const char *text, const char *path,
		       bool in_data)
{
	struct xp_msg *m = s->final;
	if (!m)
		return;
	s->final = NULL;
	m->kind = XP_MSG_ERROR;
	m->err = err;
	m->text = text ? strdup(text) : NULL;
	m->path = path ? strdup(path) : NULL;
	m->in_data = in_data;
	push(s, m);
}

static int push_window(struct xp_stream *s, unsigned char *buf, size_t bsize, uint64_t base,
		       uint64_t hi)
{
	uint64_t end = (hi + XP_FS_BLOCK_SIZE - 1) & ~(uint64_t)(XP_FS_BLOCK_SIZE - 1);
	memset(buf + (hi - base), 0, end - hi);
	struct xp_msg *m = calloc(1, sizeof(*m));
	if (!m) {
		put_buffer(s, buf, bsize);
		return -ENOMEM;
	}
	m->kind = XP_MSG_DATA;
	m->lblk = base / XP_FS_BLOCK_SIZE;
	m->nblocks = (uint32_t)((end - base) / XP_FS_BLOCK_SIZE);
	m->buf = buf;
	m->buf_size = bsize;
	push(s, m);
	return 0;
}

/* Reads the current entry's data (size bytes) into windows of at most XP_FS_WINDOW
 * bytes starting on a block boundary. 0, or -errno after pushing an error. */
static int read_data(struct xp_stream *s, const char *path, uint64_t size)
{
	unsigned char *buf = NULL;
	size_t bsize = 0;
	uint64_t base = 0, hi = 0;
	for (;;) {
		const void *p;
		size_t len;
		la_int64_t off;
		int r = archive_read_data_block(s->a, &p, &len, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN || off < 0) {
			if (buf)
				put_buffer(s, buf, bsize);
			push_error(s, xp_archive_errno(s->a, s->src),
				   xp_archive_error(s->a, s->src), path, true);
			return -EBADMSG;
		}
		const unsigned char *src = p;
		uint64_t o = (uint64_t)off;
		if (o >= size)
			continue; /* nothing beyond the size in the header */
		if (len > size - o)
			len = (size_t)(size - o);
		while (len) {
			if (buf && (o < base || o >= base + bsize)) {
				int err = push_window(s, buf, bsize, base, hi);
				buf = NULL;
				if (err)
					goto oom;
			}
			if (!buf) {
				bool oom = false;
				base = o & ~(uint64_t)(XP_FS_BLOCK_SIZE - 1);
				uint64_t rest = size - base;
				rest = (rest + XP_FS_BLOCK_SIZE - 1) &
				       ~(uint64_t)(XP_FS_BLOCK_SIZE - 1);
				bsize = rest < XP_FS_WINDOW ? (size_t)rest : XP_FS_WINDOW;
				buf = get_buffer(s, bsize, &oom);
				if (!buf) {
					if (oom)
						goto oom;
					return -ECANCELED;
				}
				hi = base;
			}
			if (o > hi)
				memset(buf + (hi - base), 0, o - hi);
			size_t n = len;
			if (n > base + bsize - o)
				n = (size_t)(base + bsize - o);
			memcpy(buf + (o - base), src, n);
			if (o + n > hi)
				hi = o + n;
			o += n;
			src += n;
			len -= n;
		}
	}
	if (buf && push_window(s, buf, bsize, base, hi) < 0)
		goto oom;
	return 0;
oom:
	push_error(s, -ENOMEM, "out of memory", path, true);
	return -ENOMEM;
}

static void *reader(void *arg)
{
	struct xp_stream *s = arg;
	char *last = NULL;
	for (;;) {
		if (cancelled(s))
			break;
		struct archive_entry *entry;
		int r = xp_archive_next(s->a, s->src, &entry);
		if (r == ARCHIVE_EOF && xp_archive_drain(s->a, s->src) < 0) {
			push_error(s, xp_archive_errno(s->a, s->src),
				   xp_archive_error(s->a, s->src), last, false);
			break;
		}
		if (r == ARCHIVE_EOF) {
			struct xp_msg *m = s->final;
			s->final = NULL;
			m->kind = XP_MSG_END;
			m->no_data = xp_archive_no_data(s->a, s->src, &m->compressed);
			push(s, m);
			break;
		}
		if (r < ARCHIVE_WARN) {
			push_error(s, xp_archive_errno(s->a, s->src),
				   xp_archive_error(s->a, s->src), last, false);
			break;
		}
		struct xp_msg *m = calloc(1, sizeof(*m));
		struct archive_entry *clone = archive_entry_clone(entry);
		const char *path = xp_entry_path(entry);
		free(last);
		last = path ? strdup(path) : NULL;
		if (!m || !clone) {
			free(m);
			archive_entry_free(clone);
			push_error(s, -ENOMEM, "out of memory", last, false);
			break;
		}
		m->kind = XP_MSG_ENTRY;
		m->entry = clone;
		push(s, m);
		la_int64_t size = archive_entry_size(entry);
		if (archive_entry_filetype(entry) == AE_IFREG && !archive_entry_hardlink(entry) &&
		    size > 0) {
			if (read_data(s, last, (uint64_t)size) < 0)
				break;
		}
	}
	flush_batch(s);
	free(last);
	return NULL;
}

int xp_stream_start(const char *archive, struct xp_stream **ret, struct xp_diags *diags)
{
	struct xp_stream *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->final = calloc(1, sizeof(*s->final));
	if (!s->final) {
		free(s);
		return -ENOMEM;
	}
	int err = xp_archive_open(archive, &s->a, &s->src, diags);
	if (err < 0) {
		free(s->final);
		free(s);
		return err;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->items, NULL);
	pthread_cond_init(&s->space, NULL);
	err = pthread_create(&s->thread, NULL, reader, s);
	if (err) {
		xp_stream_free(s);
		return -err;
	}
	s->started = true;
	*ret = s;
	return 0;
}

/* ---- writer side ------------------------------------------------------------------- */

/* Returns freed bytes and taken messages to the budget. Called with the lock held. */
static void release_locked(struct xp_stream *s)
{
	s->inflight -= s->wfreed;
	s->wfreed = 0;
	while (s->nwfree && s->nspare < XP_SPARE)
		s->spare[s->nspare++] = s->wfree[--s->nwfree];
	s->queued -= s->wn;
	s->wn = 0;
	if (s->reader_waiting)
		pthread_cond_signal(&s->space);
}

struct xp_msg *xp_stream_next(struct xp_stream *s)
{
	if (!s->whead) {
		pthread_mutex_lock(&s->lock);
		release_locked(s);
		while (!s->head) {
			s->writer_waiting = true;
			pthread_cond_wait(&s->items, &s->lock);
			s->writer_waiting = false;
		}
		s->whead = s->head;
		s->head = s->tail = NULL;
		pthread_mutex_unlock(&s->lock);
	}
	/* END and ERROR are the reader's last message, so the list never runs dry after
	 * them */
	struct xp_msg *m = s->whead;
	s->whead = m->next;
	m->next = NULL;
	s->wn++;
	return m;
}

static void msg_free(struct xp_msg *m)
{
	free(m->buf);
	archive_entry_free(m->entry);
	free(m->text);
	free(m->path);
	free(m);
}

void xp_stream_done(struct xp_stream *s, struct xp_msg *m)
{
	if (!m)
		return;
	s->wfreed += m->buf_size;
	if (m->buf_size == XP_FS_WINDOW && s->nwfree < XP_SPARE) {
		s->wfree[s->nwfree++] = m->buf;
		m->buf = NULL;
	}
	if (s->nwfree == XP_SPARE) {
		pthread_mutex_lock(&s->lock);
		release_locked(s);
		pthread_mutex_unlock(&s->lock);
	}
	msg_free(m);
	if (s->wfreed >= XP_RELEASE) {
		pthread_mutex_lock(&s->lock);
		release_locked(s);
		pthread_mutex_unlock(&s->lock);
	}
}

void xp_stream_free(struct xp_stream *s)
{
	if (!s)
		return;
	if (s->started) {
		pthread_mutex_lock(&s->lock);
		s->cancel = true;
		pthread_cond_broadcast(&s->space);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
	}
	struct xp_msg *lists[3] = {s->head, s->whead, s->bhead};
	for (int i = 0; i < 3; i++) {
		while (lists[i]) {
			struct xp_msg *m = lists[i];
			lists[i] = m->next;
			msg_free(m);
		}
	}
	for (size_t i = 0; i < s->nwfree; i++)
		free(s->wfree[i]);
	for (size_t i = 0; i < s->nspare; i++)
		free(s->spare[i]);
	free(s->final);
	xp_archive_close(s->a, s->src);
	if (s->started || s->a) {
		pthread_cond_destroy(&s->items);
		pthread_cond_destroy(&s->space);
		pthread_mutex_destroy(&s->lock);
	}
	free(s);
}
