#!/usr/bin/env bash
# endpoint_ports: server.transport.*.port places the listeners that name no
# port (--listen tcp:ADDR, [v6] too); a SIGHUP that moves the port makes
# smbrefd restart in place (same pid, pid file still true) on the new port
# and stop answering on the old one; a reload that keeps the ports keeps
# running; an explicit --listen port is kept whatever the policy says; a
# --pid-file that is a device node stays one.
# Peer: smbclient.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/endpoint_common.inc"
command -v smbclient >/dev/null || skip "smbclient not installed"

P1=$(free_port)
P2=$(free_port)
while [ "$P2" = "$P1" ]; do P2=$(free_port); done
ls_on() { timeout 60 smbclient "//$1/share" -p "$2" -U alice%Secret-1 -c ls >/dev/null 2>&1; }

step "--listen tcp:127.0.0.1 and tcp:[::1] listen on server.transport.tcp.port ($P1)"
ep_policy "$T/p.xml" one server.transport.tcp.port="$P1"
EP_LOG=$T/smbrefd.log
start_bg "$EP_LOG" "$BIN/smbrefd" --policy "$T/p.xml" --listen tcp:127.0.0.1 --listen "tcp:[::1]" \
	--share "share=$EP_SHARE" --users "$T/users" --host testhost --pid-file "$T/smbrefd.pid"
EP_PID=$BG_PID
wait_port "$P1"
ep_wait_log "listening on tcp:127.0.0.1:$P1"
ep_wait_log "listening on tcp:[::1]:$P1"
ls_on 127.0.0.1 "$P1" || fail "no SMB on 127.0.0.1:$P1"
ls_on ::1 "$P1" || fail "no SMB on [::1]:$P1"

step "a reload that keeps the port keeps the process and its listeners"
ep_policy "$T/p.xml" same server.transport.tcp.port="$P1" server.signing.required=true
kill -HUP "$EP_PID"
ep_wait_log 'reloaded ("same")'
grep -q restarting "$EP_LOG" && fail "restarted although no port moved"
ls_on 127.0.0.1 "$P1" || fail "no SMB on $P1 after the reload"

step "the policy moves the port to $P2: restart in place, the old port is closed"
ep_policy "$T/p.xml" moved server.transport.tcp.port="$P2"
kill -HUP "$EP_PID"
ep_wait_log "the policy moves this listener to port $P2"
wait_port "$P2"
ep_wait_log "listening on tcp:127.0.0.1:$P2"
kill -0 "$EP_PID" || fail "smbrefd is gone after the restart"
[ "$(cat "$T/smbrefd.pid")" = "$EP_PID" ] || fail "pid file does not name the restarted smbrefd"
ls_on 127.0.0.1 "$P2" || fail "no SMB on the new port $P2"
ls_on ::1 "$P2" || fail "no SMB on [::1]:$P2"
(exec 3<>/dev/tcp/127.0.0.1/"$P1") 2>/dev/null && fail "old port $P1 still answers"
grep -q 'policy "moved"' "$EP_LOG" || fail "the restarted smbrefd does not run the new policy"

step "an explicit --listen port is kept; the policy port is another"
kill "$EP_PID"; wait "$EP_PID" 2>/dev/null || true
ep_start "$T/p.xml"
[ "$PORT" != "$P2" ] || fail "free_port gave the policy port"
ls_on 127.0.0.1 "$PORT" || fail "no SMB on the explicit port $PORT"
ep_policy "$T/p.xml" moved2 server.transport.tcp.port="$P1"
kill -HUP "$EP_PID"
ep_wait_log 'reloaded ("moved2")'
ls_on 127.0.0.1 "$PORT" || fail "explicit port $PORT lost after a policy port change"

step "a --pid-file that is a device is written in place and never replaced or removed"
mknod "$T/null" c 1 3
start_bg "$T/dev.log" "$BIN/smbrefd" --policy "$T/p.xml" --listen "tcp:127.0.0.1:$P2" --share "share=$EP_SHARE" \
	--users "$T/users" --pid-file "$T/null"
wait_port "$P2"
kill "$BG_PID"; wait "$BG_PID" 2>/dev/null || true
[ -c "$T/null" ] || fail "smbrefd replaced or removed the device given as --pid-file"
ls "$T" | grep -q smbpolicy-tmp && fail "a temp file was left beside the pid file"

step "bad listen specs are refused"
for spec in tcp:127.0.0.1:0 tcp:127.0.0.1:99999 "tcp:[::1" tcp:nohost udp:127.0.0.1; do
	"$BIN/smbrefd" --policy "$T/p.xml" --listen "$spec" --share "share=$EP_SHARE" --users "$T/users" \
		>"$T/bad.out" 2>&1 && fail "--listen $spec accepted"
	grep -qF -- "--listen $spec" "$T/bad.out" || { cat "$T/bad.out"; fail "--listen $spec: error does not name it"; }
done
echo PASS
