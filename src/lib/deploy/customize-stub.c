/*
 * customize-stub.c - the default per-guest customisation hook: does nothing.
 *
 * xp_guest_customize (xenprov/domain.h) edits a new guest's files (hostname, network,
 * fstab, machine-id, password, ssh keys) inside its disk. The real implementation lives
 * with the in-image editing code; it is an ordinary (strong) definition, which replaces
 * this weak one when both are linked in.
 *
 * Caveat of static libraries: the linker takes the FIRST archive member that defines an
 * undefined symbol, weak or not, and does not go looking for a strong one later. The
 * real definition therefore wins only if its object file is pulled into the link for
 * some other reason, or when this file is deleted: whoever adds the real hook should
 * delete this file in the same commit.
 */
#include "xenprov/domain.h"

__attribute__((weak)) int xp_guest_customize(const struct xp_guest_spec *spec, struct xp_diags *d)
{
	(void)spec;
	(void)d;
	return 0;
}
