/*
 * extfs-stream.c - reads a tar archive with libarchive in a thread of its own and hands
 * headers and block-aligned windows of file data to the filesystem writer through a
 * bounded queue, so that decompression overlaps with writing.
 *
 * Not here: what is done with the entries (extfs-build.c).
 *
 * Memory is bounded: at most XP_POOL windows of XP_FS_WINDOW bytes and XP_QUEUE_MAX
 * messages are in flight; the reader waits for the writer beyond that.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "image/extfs-internal.h"

#define XP_POOL 8
#define XP_QUEUE_MAX 4096

struct xp_stream {
	struct archive *a;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* any change: message queued, space, buffer returned, cancel */
	struct xp_msg *head, *tail;
	size_t queued;
	unsigned char *pool[XP_POOL];
	size_t pool_n;     /* free buffers in pool[0..pool_n) */
	size_t allocated;  /* buffers allocated so far (<= XP_POOL) */
	bool cancel;
	struct xp_msg *final; /* END or ERROR, allocated up front so it can always be sent */
};

int xp_archive_errno(struct archive *a)
{
	int e = archive_errno(a);
	switch (e) {
	case EIO:
	case ENOENT:
	case EACCES:
	case EISDIR:
	case ENOMEM:
	case EPERM:
	case ENOTDIR:
	case ELOOP:
	case ENAMETOOLONG:
	case EFBIG:
		return -e;
	default:
		return -EBADMSG;
	}
}

int xp_archive_open(const char *archive, struct archive **ret, struct xp_diags *diags)
{
	struct archive *a = archive_read_new();
	if (!a)
		return -ENOMEM;
	if (archive_read_support_filter_all(a) < ARCHIVE_WARN ||
	    archive_read_support_format_tar(a) != ARCHIVE_OK ||
	    archive_read_support_format_empty(a) != ARCHIVE_OK) {
		archive_read_free(a);
		return -ENOMEM;
	}
	const char *name = strcmp(archive, "-") == 0 ? NULL : archive;
	if (archive_read_open_filename(a, name, 1 << 16) != ARCHIVE_OK) {
		int err = xp_archive_errno(a);
		if (diags)
			xp_diags_add(diags, XP_SEV_ERROR, archive, 0, 0, "archive", NULL, NULL,
				     "cannot open archive: %s", archive_error_string(a));
		archive_read_free(a);
		return err;
	}
	*ret = a;
	return 0;
}

static void push(struct xp_stream *s, struct xp_msg *m)
{
	pthread_mutex_lock(&s->lock);
	while (s->queued >= XP_QUEUE_MAX && !s->cancel)
		pthread_cond_wait(&s->cond, &s->lock);
	if (s->tail)
		s->tail->next = m;
	else
		s->head = m;
	s->tail = m;
	s->queued++;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* A free window buffer, or NULL when cancelled or out of memory (*oom set). */
static unsigned char *get_buffer(struct xp_stream *s, bool *oom)
{
	unsigned char *b = NULL;
	pthread_mutex_lock(&s->lock);
	for (;;) {
		if (s->cancel)
			break;
		if (s->pool_n) {
			b = s->pool[--s->pool_n];
			break;
		}
		if (s->allocated < XP_POOL) {
			s->allocated++;
			pthread_mutex_unlock(&s->lock);
			b = malloc(XP_FS_WINDOW);
			pthread_mutex_lock(&s->lock);
			if (!b) {
				s->allocated--;
				*oom = true;
			}
			break;
		}
		pthread_cond_wait(&s->cond, &s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return b;
}

static void put_buffer(struct xp_stream *s, unsigned char *b)
{
	pthread_mutex_lock(&s->lock);
	s->pool[s->pool_n++] = b;
	pthread_cond_broadcast(&s->cond);
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

static int push_window(struct xp_stream *s, unsigned char *buf, uint64_t base, uint64_t hi)
{
	uint64_t end = (hi + XP_FS_BLOCK_SIZE - 1) & ~(uint64_t)(XP_FS_BLOCK_SIZE - 1);
	memset(buf + (hi - base), 0, end - hi);
	struct xp_msg *m = calloc(1, sizeof(*m));
	if (!m) {
		put_buffer(s, buf);
		return -ENOMEM;
	}
	m->kind = XP_MSG_DATA;
	m->lblk = base / XP_FS_BLOCK_SIZE;
	m->nblocks = (uint32_t)((end - base) / XP_FS_BLOCK_SIZE);
	m->buf = buf;
	push(s, m);
	return 0;
}

/* Reads the current entry's data into windows. 0, or -errno after pushing an error. */
static int read_data(struct xp_stream *s, const char *path)
{
	unsigned char *buf = NULL;
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
				put_buffer(s, buf);
			push_error(s, xp_archive_errno(s->a), archive_error_string(s->a), path,
				   true);
			return -EBADMSG;
		}
		const unsigned char *src = p;
		uint64_t o = (uint64_t)off;
		while (len) {
			if (buf && (o < base || o >= base + XP_FS_WINDOW)) {
				int err = push_window(s, buf, base, hi);
				buf = NULL;
				if (err)
					goto oom;
			}
			if (!buf) {
				bool oom = false;
				buf = get_buffer(s, &oom);
				if (!buf) {
					if (oom)
						goto oom;
					return -ECANCELED;
				}
				base = o & ~(uint64_t)(XP_FS_BLOCK_SIZE - 1);
				hi = base;
			}
			if (o > hi)
				memset(buf + (hi - base), 0, o - hi);
			size_t n = len;
			if (n > base + XP_FS_WINDOW - o)
				n = (size_t)(base + XP_FS_WINDOW - o);
			memcpy(buf + (o - base), src, n);
			if (o + n > hi)
				hi = o + n;
			o += n;
			src += n;
			len -= n;
		}
	}
	if (buf && push_window(s, buf, base, hi) < 0)
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
		int r = archive_read_next_header(s->a, &entry);
		if (r == ARCHIVE_EOF) {
			struct xp_msg *m = s->final;
			s->final = NULL;
			m->kind = XP_MSG_END;
			push(s, m);
			break;
		}
		if (r < ARCHIVE_WARN) {
			push_error(s, xp_archive_errno(s->a), archive_error_string(s->a), last,
				   false);
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
		if (archive_entry_filetype(entry) == AE_IFREG && !archive_entry_hardlink(entry) &&
		    archive_entry_size(entry) > 0) {
			if (read_data(s, last) < 0)
				break;
		}
	}
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
	int err = xp_archive_open(archive, &s->a, diags);
	if (err < 0) {
		free(s->final);
		free(s);
		return err;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	err = pthread_create(&s->thread, NULL, reader, s);
	if (err) {
		xp_stream_free(s);
		return -err;
	}
	s->started = true;
	*ret = s;
	return 0;
}

struct xp_msg *xp_stream_next(struct xp_stream *s)
{
	pthread_mutex_lock(&s->lock);
	while (!s->head)
		pthread_cond_wait(&s->cond, &s->lock);
	struct xp_msg *m = s->head;
	s->head = m->next;
	if (!s->head)
		s->tail = NULL;
	s->queued--;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	/* END and ERROR are the reader's last message */
	return m;
}

static void msg_free(struct xp_msg *m)
{
	archive_entry_free(m->entry);
	free(m->text);
	free(m->path);
	free(m);
}

void xp_stream_done(struct xp_stream *s, struct xp_msg *m)
{
	if (!m)
		return;
	if (m->buf)
		put_buffer(s, m->buf);
	msg_free(m);
}

void xp_stream_free(struct xp_stream *s)
{
	if (!s)
		return;
	if (s->started) {
		pthread_mutex_lock(&s->lock);
		s->cancel = true;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
	}
	while (s->head) {
		struct xp_msg *m = s->head;
		s->head = m->next;
		free(m->buf);
		msg_free(m);
	}
	for (size_t i = 0; i < s->pool_n; i++)
		free(s->pool[i]);
	free(s->final);
	archive_read_free(s->a);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
