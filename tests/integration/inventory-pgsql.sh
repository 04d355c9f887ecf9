#!/bin/bash
# inventory-pgsql.sh - the inventory on PostgreSQL through the real program, beside a
# throwaway cluster (lib/pg-cluster: initdb + pg_ctl in a temporary directory, a Unix
# socket only, stopped and removed at the end):
#  - --inventory postgresql://... keeps profiles, distros, systems and settings in the
#    database, nothing in the state directory but the distro store;
#  - a second state directory (another host, in effect) on the same URL sees them;
#  - where the location comes from: --inventory over $XENPROV_INVENTORY over
#    STATE/inventory-url, SQLite when none says;
#  - a password in the URL is refused before any connection, the message pointing to
#    PGPASSFILE, the password itself never printed; a server that is not there is a
#    clear error naming the location. (The boot server on PostgreSQL: serve-pgsql.sh.)
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip (only
# when PostgreSQL is not installed).
if [ -z "${XP_TEST_PGURL:-}" ]; then
	exec "$(dirname "$0")/lib/pg-cluster" bash "$0" "$@"
fi
. "$(dirname "$0")/lib/common.sh" || exit 1
scratch a b c files
URL=$XP_TEST_PGURL
unset XENPROV_INVENTORY

# ---- the records, on PostgreSQL ------------------------------------------------------------

expect_rc 0 profile add web --memory 512 --state-dir "$T/a" --inventory "$URL"
expect_rc 0 profile add web2 --parent web --vcpus 2 --state-dir "$T/a" --inventory "$URL"
printf 'KERNEL' >"$T/files/vmlinuz"
expect_rc 0 distro add deb --kernel "$T/files/vmlinuz" --state-dir "$T/a" --inventory "$URL"
expect_rc 0 system add n1 --mac 52:54:00:00:00:01 --distro deb --state-dir "$T/a" \
	--inventory "$URL"
expect_rc 0 settings set next-server 10.0.0.1 --state-dir "$T/a" --inventory "$URL"
[ ! -e "$T/a/inventory.db" ] || fail "an SQLite inventory was made beside PostgreSQL's"
ok
n_rows=$(psql -X -A -t "$URL" -c "SELECT count(*) FROM profiles") || fail "psql failed"
[ "$n_rows" = 2 ] || fail "PostgreSQL holds $n_rows profiles, want 2"
ok

# another state directory on the same database sees all of it
expect_rc 0 profile show web2 --state-dir "$T/b" --inventory "$URL"
out_has "vcpus"
expect_rc 0 system list --state-dir "$T/b" --inventory "$URL"
out_has "n1"
expect_rc 0 settings show --state-dir "$T/b" --inventory "$URL"
out_has "10.0.0.1"
expect_rc 1 profile add web --state-dir "$T/b" --inventory "$URL"
err_has "web"

# completion's names come from it too
expect_rc 0 completion names --state-dir "$T/b" --inventory "$URL" profile
out_has "web2"

# ---- where the location comes from ---------------------------------------------------------

# the state directory's setting
echo "$URL" >"$T/c/inventory-url"
expect_rc 0 profile list --state-dir "$T/c"
out_has "web2"
# the environment above it
XENPROV_INVENTORY=sqlite expect_rc 0 profile list --state-dir "$T/c"
out_lacks "web2"
[ -e "$T/c/inventory.db" ] || fail "XENPROV_INVENTORY=sqlite made no SQLite inventory"
ok
# the command line above both
XENPROV_INVENTORY="postgresql:///xenprov?host=/nonexistent" \
	expect_rc 0 profile list --state-dir "$T/c" --inventory "$URL"
out_has "web2"

# ---- refusals ------------------------------------------------------------------------------

expect_rc 1 profile list --state-dir "$T/c" --inventory "postgresql://xp:hunter2@127.0.0.1/xenprov"
err_has "PGPASSFILE"
err_has "postgresql://xp:***@127.0.0.1/xenprov"
err_lacks "hunter2"
expect_rc 1 profile list --state-dir "$T/c" --inventory "postgresql:///xenprov?host=$T&password=hunter2"
err_lacks "hunter2"
err_has "password=***"
expect_rc 1 profile list --state-dir "$T/c" --inventory "postgresql:///xenprov?host=/nonexistent"
err_has "cannot open the inventory 'postgresql:///xenprov?host=/nonexistent'"
expect_rc 1 profile list --state-dir "$T/c" --inventory "mysql://h/db"
err_has "not a location xenprov knows"
pass
