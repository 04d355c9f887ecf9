#!/bin/bash
# inventory-pgsql-tls.sh - the inventory on PostgreSQL over TCP with TLS, credentials
# from libpq's own files, and a server lost mid-command, through the real program:
#  - a throwaway CA and a server certificate (127.0.0.1, localhost) made by openssl
#    here; the cluster (lib/pg-cluster with XP_PG_SSL_DIR) listens on 127.0.0.1 only,
#    at a free port, taking TCP connections over TLS only, role app by password;
#  - sslmode=verify-full with the right sslrootcert works (and, TCP being TLS-only
#    there, every command that worked went over TLS); with another CA's certificate
#    it fails with a clear error naming the verification; sslmode=disable is refused
#    by the server;
#  - the password from PGPASSFILE, then from a libpq service file (service=NAME in
#    the URL): both work; a wrong one fails saying authentication failed; the
#    password appears in no output of any command (stdout, stderr, --json), checked
#    by grepping everything they printed;
#  - the server stopped (pg_ctl stop -m immediate) while a deploy of 300 guests runs:
#    the deploy ends with exit 1 and a clear message, no crash and no sanitizer report.
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip (only
# when PostgreSQL is not installed).
if [ -z "${XP_TEST_PGURL:-}" ]; then
	command -v openssl >/dev/null || { echo "SKIP: no openssl"; exit 77; }
	ssl=$(mktemp -d "${TMPDIR:-/tmp}/xp-tls-XXXXXX") || exit 1
	trap 'rm -rf "$ssl"' EXIT
	here=$(cd "$(dirname "$0")" && pwd)
	cd "$ssl" || exit 1
	# the CA, the server's key and certificate signed by it, and a CA that signed nothing
	for ca in ca wrong; do
		openssl req -x509 -newkey rsa:2048 -nodes -keyout "$ca.key" -out "$ca.crt" \
			-days 2 -subj "/CN=xenprov test $ca CA" 2>/dev/null || exit 1
	done
	openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
		-subj "/CN=127.0.0.1" 2>/dev/null || exit 1
	printf 'subjectAltName = IP:127.0.0.1, DNS:localhost\n' >ext
	openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
		-out server.crt -days 2 -extfile ext 2>/dev/null || exit 1
	cd / || exit 1 # the cluster's user (nobody) may not enter this directory
	XP_PG_SSL_DIR=$ssl XP_TLS_DIR=$ssl "$here/lib/pg-cluster" bash "$here/${0##*/}" "$@"
	exit $?
fi
. "$(dirname "$0")/lib/common.sh" || exit 1
need psql tar
scratch a b
unset XENPROV_INVENTORY PGPASSFILE PGSERVICEFILE PGPASSWORD
PW='Tls-Test-pw-7f3a9c'
PORT=$XP_TEST_PGPORT
[ -n "$PORT" ] || fail "the cluster listens on no TCP port"
pg() { psql -X -A -t -q "$XP_TEST_PGURL" -c "$1"; }
pg "CREATE ROLE app LOGIN PASSWORD '$PW'; ALTER DATABASE xenprov OWNER TO app" ||
	fail "cannot make the role app"
ok

# every command's output, kept for the final grep for the password
all=$T/all-output
: >"$all"
keep() { cat "$T/stdout" "$T/err" >>"$all"; }

cp "$XP_TLS_DIR/ca.crt" "$T/ca.crt"
cp "$XP_TLS_DIR/wrong.crt" "$T/wrong.crt"
TLS="postgresql://app@127.0.0.1:$PORT/xenprov?sslmode=verify-full&sslrootcert=$T/ca.crt"
printf '127.0.0.1:%s:xenprov:app:%s\n' "$PORT" "$PW" >"$T/pgpass"
chmod 0600 "$T/pgpass"

# ---- PGPASSFILE, verify-full -------------------------------------------------------------------

export PGPASSFILE=$T/pgpass
expect_rc 0 profile add web --memory 512 --state-dir "$T/a" --inventory "$TLS"
keep
expect_rc 0 profile list --json --state-dir "$T/a" --inventory "$TLS"
keep
json_ok "$T/stdout" "[p['name'] for p in j] == ['web']"
expect_rc 0 inventory migrate --json --state-dir "$T/a" --inventory "$TLS"
keep
json_ok "$T/stdout" "j['inventory'].startswith('postgresql://app@127.0.0.1:') and not j['changed']"
# the server agrees: app's sessions were TLS (pg_stat_ssl of a session of its own)
[ "$(PGPASSFILE=$T/pgpass psql -X -A -t -q "$TLS" \
	-c "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")" = t ] ||
	fail "a verify-full session is not TLS"
ok

# another CA: refused, saying why
expect_rc 1 profile list --state-dir "$T/a" \
	--inventory "postgresql://app@127.0.0.1:$PORT/xenprov?sslmode=verify-full&sslrootcert=$T/wrong.crt"
keep
err_has "cannot open the inventory 'postgresql://app@127.0.0.1:$PORT/xenprov"
err_has "certificate verify failed"
# no TLS: the server takes none
expect_rc 1 profile list --state-dir "$T/a" \
	--inventory "postgresql://app@127.0.0.1:$PORT/xenprov?sslmode=disable"
keep
err_has "no encryption"
# a wrong password in the file
printf '127.0.0.1:%s:xenprov:app:%s\n' "$PORT" "not-$PW-either" >"$T/badpass"
chmod 0600 "$T/badpass"
PGPASSFILE=$T/badpass expect_rc 1 profile list --state-dir "$T/a" --inventory "$TLS"
keep
err_has "password authentication failed for user \"app\""
err_lacks "not-$PW-either"

# ---- a service file ----------------------------------------------------------------------------

unset PGPASSFILE
cat >"$T/pg_service.conf" <<EOF
[inv]
host=127.0.0.1
port=$PORT
dbname=xenprov
user=app
password=$PW
sslmode=verify-full
sslrootcert=$T/ca.crt
EOF
chmod 0600 "$T/pg_service.conf"
export PGSERVICEFILE=$T/pg_service.conf
expect_rc 0 profile show web --json --state-dir "$T/b" --inventory "postgresql://?service=inv"
keep
json_ok "$T/stdout" "j['name'] == 'web'"
echo "postgresql://?service=inv" >"$T/b/inventory-url"
expect_rc 0 report --json --state-dir "$T/b"
keep
expect_rc 0 inventory migrate --state-dir "$T/b" --inventory "sqlite:$T/b/copy.db"
expect_rc 0 inventory copy --from "postgresql://?service=inv" --to "sqlite:$T/b/copy.db" \
	--state-dir "$T/b" --json
keep
json_ok "$T/stdout" "j['tables']['profiles'] == 1 and j['from'] == 'postgresql://?service=inv'"
# the service file's CA swapped: refused as before
sed -i "s|sslrootcert=.*|sslrootcert=$T/wrong.crt|" "$T/pg_service.conf"
expect_rc 1 profile list --state-dir "$T/b"
keep
err_has "certificate verify failed"
unset PGSERVICEFILE

# nothing anyone printed holds the password
[ -s "$all" ] || fail "no output kept"
ok
! grep -qF -- "$PW" "$all" || fail "the password appears in the output: $(grep -F -- "$PW" "$all" | head -3)"
ok

# ---- the server lost mid-command ---------------------------------------------------------------

export PGPASSFILE=$T/pgpass
mkdir -p "$T/pool" "$T/cfg"
guest_tarball "$T/root.tgz"
expect_rc 0 profile add fleet --image "$T/root.tgz" --disk-size 32M --storage qcow2 \
	--network static --ip-pool 10.81.0.0/22 --gateway 10.81.0.1 --pool "$T/pool" \
	--state-dir "$T/a" --inventory "$TLS"
"$X" deploy --profile fleet --count 300 --name 'g%03d' --jobs 2 --config-dir "$T/cfg" \
	--state-dir "$T/a" --inventory "$TLS" >"$T/deploy.out" 2>"$T/deploy.err" </dev/null &
dpid=$!
# stopped once some guests are in (the deploy is under way), by its own pg_ctl
some_made() { [ "$(ls "$T/cfg" | wc -l)" -ge 5 ]; }
wait_until 30 some_made || fail "the deploy made no guest"
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
as=()
[ "$(id -u)" -eq 0 ] && as=(runuser -u nobody --)
"${as[@]}" "$bin/pg_ctl" stop -D "$XP_TEST_PGDIR/data" -m immediate -w >/dev/null ||
	fail "cannot stop the cluster"
wait "$dpid"
drc=$?
[ "$drc" = 1 ] || fail "the deploy ended with $drc, want 1: $(tail -3 "$T/deploy.err")"
ok
! grep -q -E 'Sanitizer|runtime error|Segmentation' "$T/deploy.err" || fail "the deploy crashed"
ok
grep -q "xenprov: stopped: the inventory's database connection is lost (" "$T/deploy.err" ||
	fail "no clear message: $(tail -3 "$T/deploy.err")"
ok
# one message for the loss, not one per guest left
[ "$(grep -c ': failed: ' "$T/deploy.err")" -le 2 ] || fail "a failure per guest: $(head -3 "$T/deploy.err")"
ok
grep -q "(stopped: the inventory's connection is lost)" "$T/deploy.out" ||
	fail "the summary does not say why it stopped: $(cat "$T/deploy.out")"
ok
made=$(ls "$T/cfg" | wc -l)
[ "$made" -lt 300 ] || fail "all 300 guests made: the server was not stopped mid-deploy"
ok
# a command run now: a clear error, not a hang or crash
expect_rc 1 profile list --state-dir "$T/a" --inventory "$TLS"
err_has "cannot open the inventory 'postgresql://app@127.0.0.1:$PORT/xenprov"
pass
