/*
 * shim-fdisk.c - libfdisk loaded at the first call of one of its functions (util/dlib.h,
 * struct xp_dlshim), as libarchive is (util/shim-archive.c): only partition tables
 * written and read (image/partition.c, partition-read.c) use it, so no other start
 * of xenprov maps it, nor libblkid.
 *
 * A function used for the first time is added to XP_FDISK_FUNCS (a call to one not
 * listed is a link error: the program does not link the library).
 *
 * Not here: partition tables (image/partition*.c).
 */
#include <libfdisk/libfdisk.h>
#include <pthread.h>

#include "util/dlib.h"

/* X(return type, name, (parameters), (arguments)); XV: the same for a void function */
#define XP_FDISK_FUNCS(X, XV)                                                                      \
	X(int, fdisk_add_partition,                                                                \
	  (struct fdisk_context * a, struct fdisk_partition * b, size_t * c), (a, b, c))           \
	X(int, fdisk_ask_get_type, (struct fdisk_ask * a), (a))                                    \
	X(int, fdisk_ask_print_get_errno, (struct fdisk_ask * a), (a))                             \
	X(const char *, fdisk_ask_print_get_mesg, (struct fdisk_ask * a), (a))                     \
	X(int, fdisk_assign_device, (struct fdisk_context * a, const char *b, int c), (a, b, c))   \
	X(int, fdisk_create_disklabel, (struct fdisk_context * a, const char *b), (a, b))          \
	X(int, fdisk_deassign_device, (struct fdisk_context * a, int b), (a, b))                   \
	X(int, fdisk_enable_wipe, (struct fdisk_context * a, int b), (a, b))                       \
	XV(void, fdisk_free_iter, (struct fdisk_iter * a), (a))                                    \
	X(struct fdisk_label *, fdisk_get_label, (struct fdisk_context * a, const char *b),        \
	  (a, b))                                                                                  \
	X(fdisk_sector_t, fdisk_get_last_lba, (struct fdisk_context * a), (a))                     \
	X(int, fdisk_get_partition,                                                                \
	  (struct fdisk_context * a, size_t b, struct fdisk_partition * *c), (a, b, c))            \
	X(int, fdisk_get_partitions, (struct fdisk_context * a, struct fdisk_table * *b), (a, b))  \
	X(int, fdisk_has_label, (struct fdisk_context * a), (a))                                   \
	X(int, fdisk_is_labeltype, (struct fdisk_context * a, enum fdisk_labeltype b), (a, b))     \
	X(struct fdisk_parttype *, fdisk_label_get_parttype_from_code,                             \
	  (const struct fdisk_label *a, unsigned int b), (a, b))                                   \
	X(struct fdisk_parttype *, fdisk_label_parse_parttype,                                     \
	  (const struct fdisk_label *a, const char *b), (a, b))                                    \
	X(struct fdisk_context *, fdisk_new_context, (void), ())                                   \
	X(struct fdisk_iter *, fdisk_new_iter, (int a), (a))                                       \
	X(struct fdisk_partition *, fdisk_new_partition, (void), ())                               \
	X(const char *, fdisk_partition_get_name, (struct fdisk_partition * a), (a))               \
	X(size_t, fdisk_partition_get_partno, (struct fdisk_partition * a), (a))                   \
	X(fdisk_sector_t, fdisk_partition_get_size, (struct fdisk_partition * a), (a))             \
	X(fdisk_sector_t, fdisk_partition_get_start, (struct fdisk_partition * a), (a))            \
	X(struct fdisk_parttype *, fdisk_partition_get_type, (struct fdisk_partition * a), (a))    \
	X(const char *, fdisk_partition_get_uuid, (struct fdisk_partition * a), (a))               \
	X(int, fdisk_partition_has_size, (struct fdisk_partition * a), (a))                        \
	X(int, fdisk_partition_has_start, (struct fdisk_partition * a), (a))                       \
	X(int, fdisk_partition_is_container, (struct fdisk_partition * a), (a))                    \
	X(int, fdisk_partition_is_nested, (struct fdisk_partition * a), (a))                       \
	X(int, fdisk_partition_set_name, (struct fdisk_partition * a, const char *b), (a, b))      \
	X(int, fdisk_partition_set_partno, (struct fdisk_partition * a, size_t b), (a, b))         \
	X(int, fdisk_partition_set_size, (struct fdisk_partition * a, uint64_t b), (a, b))         \
	X(int, fdisk_partition_set_start, (struct fdisk_partition * a, uint64_t b), (a, b))        \
	X(int, fdisk_partition_set_type, (struct fdisk_partition * a, struct fdisk_parttype * b),  \
	  (a, b))                                                                                  \
	X(int, fdisk_partition_set_uuid, (struct fdisk_partition * a, const char *b), (a, b))      \
	X(int, fdisk_partition_size_explicit, (struct fdisk_partition * a, int b), (a, b))         \
	X(unsigned int, fdisk_parttype_get_code, (const struct fdisk_parttype *a), (a))            \
	X(const char *, fdisk_parttype_get_string, (const struct fdisk_parttype *a), (a))          \
	X(int, fdisk_save_user_sector_size,                                                        \
	  (struct fdisk_context * a, unsigned int b, unsigned int c), (a, b, c))                   \
	X(int, fdisk_set_ask,                                                                      \
	  (struct fdisk_context * a, int (*b)(struct fdisk_context *, struct fdisk_ask *, void *), \
	   void *c),                                                                               \
	  (a, b, c))                                                                               \
	X(int, fdisk_set_partition,                                                                \
	  (struct fdisk_context * a, size_t b, struct fdisk_partition * c), (a, b, c))             \
	X(int, fdisk_table_next_partition,                                                         \
	  (struct fdisk_table * a, struct fdisk_iter * b, struct fdisk_partition * *c), (a, b, c)) \
	X(int, fdisk_toggle_partition_flag, (struct fdisk_context * a, size_t b, unsigned long c), \
	  (a, b, c))                                                                               \
	XV(void, fdisk_unref_context, (struct fdisk_context * a), (a))                             \
	XV(void, fdisk_unref_partition, (struct fdisk_partition * a), (a))                         \
	XV(void, fdisk_unref_parttype, (struct fdisk_parttype * a), (a))                           \
	XV(void, fdisk_unref_table, (struct fdisk_table * a), (a))                                 \
	X(int, fdisk_write_disklabel, (struct fdisk_context * a), (a))

static struct {
	XP_FDISK_FUNCS(XP_DLSHIM_PTR, XP_DLSHIM_PTR)
} fn;

static const struct xp_dlsym syms[] = {XP_FDISK_FUNCS(XP_DLSHIM_SYM, XP_DLSHIM_SYM)};

XP_DLSHIM_LIBRARY(XP_LIBFDISK_SONAME, "libfdisk1")

XP_FDISK_FUNCS(XP_DLSHIM_RET, XP_DLSHIM_VOID)
