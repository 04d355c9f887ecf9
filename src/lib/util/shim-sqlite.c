/*
 * shim-sqlite.c - SQLite loaded at the first call of one of its functions (util/dlib.h,
 * struct xp_dlshim), as libarchive is (util/shim-archive.c): the embedded inventory
 * (inventory/db-sqlite.c) is opened by most commands, not by all (a capture of a local
 * tree, `config check`), which then do not map it.
 *
 * A function used for the first time is added to XP_SQLITE_FUNCS (a call to one not
 * listed is a link error: the program does not link the library).
 *
 * Not here: the inventory (inventory/db-sqlite.c).
 */
#include <pthread.h>
#include <sqlite3.h>

#include "util/dlib.h"

/* X(return type, name, (parameters), (arguments)); XV: the same for a void function */
#define XP_SQLITE_FUNCS(X, XV)                                                                     \
	X(int, sqlite3_bind_blob64,                                                                \
	  (sqlite3_stmt * a, int b, const void *c, sqlite3_uint64 d, void (*e)(void *)),           \
	  (a, b, c, d, e))                                                                         \
	X(int, sqlite3_bind_int64, (sqlite3_stmt * a, int b, sqlite3_int64 c), (a, b, c))          \
	X(int, sqlite3_bind_null, (sqlite3_stmt * a, int b), (a, b))                               \
	X(int, sqlite3_bind_parameter_count, (sqlite3_stmt * a), (a))                              \
	X(int, sqlite3_bind_text,                                                                  \
	  (sqlite3_stmt * a, int b, const char *c, int d, void (*e)(void *)), (a, b, c, d, e))     \
	X(int, sqlite3_busy_timeout, (sqlite3 * a, int b), (a, b))                                 \
	X(int, sqlite3_changes, (sqlite3 * a), (a))                                                \
	X(int, sqlite3_clear_bindings, (sqlite3_stmt * a), (a))                                    \
	X(int, sqlite3_close_v2, (sqlite3 * a), (a))                                               \
	X(const void *, sqlite3_column_blob, (sqlite3_stmt * a, int b), (a, b))                    \
	X(int, sqlite3_column_bytes, (sqlite3_stmt * a, int b), (a, b))                            \
	X(sqlite3_int64, sqlite3_column_int64, (sqlite3_stmt * a, int b), (a, b))                  \
	X(const unsigned char *, sqlite3_column_text, (sqlite3_stmt * a, int b), (a, b))           \
	X(int, sqlite3_column_type, (sqlite3_stmt * a, int b), (a, b))                             \
	X(const char *, sqlite3_errmsg, (sqlite3 * a), (a))                                        \
	X(int, sqlite3_exec,                                                                       \
	  (sqlite3 * a, const char *b, int (*c)(void *, int, char **, char **), void *d,           \
	   char **e),                                                                              \
	  (a, b, c, d, e))                                                                         \
	X(int, sqlite3_extended_result_codes, (sqlite3 * a, int b), (a, b))                        \
	X(int, sqlite3_finalize, (sqlite3_stmt * a), (a))                                          \
	X(int, sqlite3_open_v2, (const char *a, sqlite3 **b, int c, const char *d), (a, b, c, d))  \
	X(int, sqlite3_prepare_v2,                                                                 \
	  (sqlite3 * a, const char *b, int c, sqlite3_stmt **d, const char **e), (a, b, c, d, e))  \
	X(int, sqlite3_reset, (sqlite3_stmt * a), (a))                                             \
	X(int, sqlite3_step, (sqlite3_stmt * a), (a))                                              \
	X(int, sqlite3_wal_autocheckpoint, (sqlite3 * a, int b), (a, b))                           \
	X(int, sqlite3_wal_checkpoint_v2, (sqlite3 * a, const char *b, int c, int *d, int *e),     \
	  (a, b, c, d, e))

static struct {
	XP_SQLITE_FUNCS(XP_DLSHIM_PTR, XP_DLSHIM_PTR)
} fn;

static const struct xp_dlsym syms[] = {XP_SQLITE_FUNCS(XP_DLSHIM_SYM, XP_DLSHIM_SYM)};

XP_DLSHIM_LIBRARY(XP_LIBSQLITE3_SONAME, "libsqlite3-0")

XP_SQLITE_FUNCS(XP_DLSHIM_RET, XP_DLSHIM_VOID)
