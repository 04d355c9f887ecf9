/*
 * xenprov/leases.h - the DHCP leases kept in the inventory's database, one row per
 * address, so that an ACKed lease survives a kill -9 of the server and a restart never
 * hands one address to two clients. A change is one row written (never a whole lease
 * file rewritten), and the server writes the changes of a whole batch of packets in one
 * transaction before it sends the replies of that batch.
 */
#ifndef XENPROV_LEASES_H
#define XENPROV_LEASES_H

#include <stdbool.h>
#include <stddef.h>

#include "xenprov/dhcp.h"
#include "xenprov/inventory.h"

/* Stores the leases (insert or replace by address; a client's rows at other addresses
 * are removed: a client holds one lease) in one transaction. */
int xp_lease_save(struct xp_inv *inv, const struct xp_dhcp_lease *v, size_t n);
/* PostgreSQL, several servers sharing the store (-ENOTSUP on SQLite): stores each of the
 * n changes, offers (XP_LEASE_OFFERED) included, in one transaction, only where the
 * address is this change's client's already, free (expired by the database's clock) or
 * released; refused[k] says which were not, holder[k] then the stored lease that holds
 * the address (all 0 if none does any more; client_len 0, the address and
 * XP_LEASE_DECLINED if its row cannot be read). now is the caller's clock (unix
 * seconds): a change's expires less now is its length, stored from the database's
 * clock, and a holder's expires comes back in the caller's clock. A bound lease also
 * removes the client's other leases (not its offers, which expire). Returns how many
 * were refused, or -errno (nothing stored; -EBUSY: a lock or a deadlock, three times).
 * A reply may leave only when its own change was stored. */
int xp_lease_claim(struct xp_inv *inv, const struct xp_dhcp_lease *v, size_t n, int64_t now,
		   bool *refused, struct xp_dhcp_lease *holder);
/* Every stored lease; *v is a heap array. */
int xp_lease_load(struct xp_inv *inv, struct xp_dhcp_lease **v, size_t *n);
/* 1 if address ip (host order) is leased, bound and not expired at now (unix seconds),
 * to the client with MAC mac (canonical, lower case with ':'), 0 if not, or -errno:
 * whether a client at ip is that machine as far as the DHCP server knows. */
int xp_lease_holds(struct xp_inv *inv, const char *mac, uint32_t ip, int64_t now);
/* Removes leases that expired before `before` (unix seconds); returns how many. */
int xp_lease_purge(struct xp_inv *inv, int64_t before);

#endif
