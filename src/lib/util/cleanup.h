/*
 * cleanup.h - __attribute__((cleanup)) helpers, the one place they are defined.
 * Used by library and command code alike; not part of the public API.
 */
#ifndef XP_CLEANUP_H
#define XP_CLEANUP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void xp_freep(void *p)
{
	free(*(void **)p);
}
static inline void xp_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}
static inline void xp_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(xp_freep)
#define _cleanup_fclose_ _cleanup_(xp_fclosep)
#define _cleanup_close_ _cleanup_(xp_closep)

/* Hands a pointer out of a cleanup scope. */
#define XP_TAKE_PTR(p)                                                                     \
	__extension__({                                                                               \
		__typeof__(p) _tmp = (p);                                                  \
		(p) = NULL;                                                                \
		_tmp;                                                                      \
	})

#endif
