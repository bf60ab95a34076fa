#!/usr/bin/env bash
# plugins_endpoint.sh - the endpoint plugin with the real smbrefd: the
# plugin writes the policy document smbrefd was started with and SIGHUPs the
# pid in ROOT/run/smbrefd.pid; raising server.dialect.min to 3.1.1 then
# refuses an SMB2_10 smbclient while SMB3_11 works; rollback restores the
# old document, smbrefd re-reads it and SMB2_10 gets in again.
. "$(dirname "$0")/lib.sh"
PLUGIN=$BIN/smbpolicy-plugin
[ -x "$PLUGIN" ] || fail "$PLUGIN missing"
[ -x "$BIN/smbrefd" ] || fail "$BIN/smbrefd missing"
command -v smbclient >/dev/null || skip "smbclient not installed"

R=$T/root
PORT=$(free_port)
mkdir -p "$R/run" "$T/share"
echo hello >"$T/share/hello.txt"
echo 'alice:Secret123' >"$T/users"
: >"$T/client.conf"
DOC=$R/etc/smbpolicy/smbrefd-policy.xml

# until_reloaded N: smbrefd handles SIGHUP asynchronously; wait until its
# log shows the N-th re-read.
until_reloaded() {
	for _ in $(seq 100); do
		[ "$(grep -c 'reloaded' "$T/smbrefd.log")" -ge "$1" ] && return 0
		sleep 0.1
	done
	fail "smbrefd did not re-read its policy ($1)"
}
ep() { "$PLUGIN" --root "$R" endpoint "$@"; }
smbc() { timeout 30 smbclient -s "$T/client.conf" "//127.0.0.1/share" -p "$PORT" -U 'alice%Secret123' "$@" -c 'ls' >>"$T/client.log" 2>&1; }

step "first document: catalog defaults (2.0.2 .. 3.1.1)"
"$PLUGIN" --root "$R" --set server.dialect.min=2.0.2 --backup "$T/bk0" endpoint apply >/dev/null || fail "first apply failed"
[ -s "$DOC" ] || fail "no policy document written"

start_bg "$T/smbrefd.log" "$BIN/smbrefd" --policy "$DOC" --listen "tcp:127.0.0.1:$PORT" \
	--share "share=$T/share" --users "$T/users"
echo "$BG_PID" >"$R/run/smbrefd.pid"
wait_port "$PORT" 30
ep detect | grep 'running=yes' >/dev/null || fail "detect did not see smbrefd"
smbc --option='client max protocol=SMB2_10' || fail "SMB2_10 refused under the permissive policy"

step "raise the floor to 3.1.1"
"$PLUGIN" --root "$R" --set server.dialect.min=3.1.1 --backup "$T/bk1" endpoint apply | tee "$T/apply.out"
grep -q 'server.dialect.min' "$T/apply.out" || fail "plan did not name server.dialect.min"
grep -q '>3.1.1<' "$DOC" || fail "document lacks the new floor"
until_reloaded 1
kill -0 "$BG_PID" || fail "smbrefd died on SIGHUP"
smbc --option='client max protocol=SMB2_10' && fail "SMB2_10 still accepted after the floor rose"
smbc --option='client min protocol=SMB3_11' || fail "SMB3_11 refused"
"$PLUGIN" --root "$R" --set server.dialect.min=3.1.1 endpoint verify | grep 'verify: ok' >/dev/null || fail "verify failed"

step "rollback"
"$PLUGIN" --root "$R" --backup "$T/bk1" endpoint rollback || fail "rollback failed"
until_reloaded 2
smbc --option='client max protocol=SMB2_10' || fail "SMB2_10 refused after rollback"
echo "PASS plugins_endpoint"
