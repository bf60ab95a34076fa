#!/usr/bin/env bash
# endpoint_sighup: SIGHUP makes smbrefd re-read its policy; a connection
# that still complies stays up, one that does not is dropped, new
# connections follow the new policy, and an invalid policy file keeps the
# old one in force.  Long-lived sessions come from impacket at SMB 3.0.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/endpoint_common.inc"
/usr/bin/python3 -c 'import impacket' 2>/dev/null || skip "python3-impacket not installed"
command -v smbclient >/dev/null || skip "smbclient not installed"

# hold PORT TAG: log in at 3.0, list, then list again each time $T/TAG.go
# appears; prints "TAG ok N" or "TAG dropped".
hold() {
	/usr/bin/python3 - "$1" "$2" "$T" <<'PY' &
import os, sys, time
from impacket import smb3structs
from impacket.smbconnection import SMBConnection
port, tag, tmp = int(sys.argv[1]), sys.argv[2], sys.argv[3]
c = SMBConnection('127.0.0.1', '127.0.0.1', sess_port=port, preferredDialect=smb3structs.SMB2_DIALECT_30)
c.login('alice', 'Secret-1')
c.listPath('share', '*')
open(os.path.join(tmp, tag + '.ready'), 'w').close()
for n in range(1, 3):
    go = os.path.join(tmp, '%s.go%d' % (tag, n))
    while not os.path.exists(go):
        time.sleep(0.05)
    try:
        c.listPath('share', '*')
        print(tag, 'ok', n, flush=True)
    except Exception as e:
        print(tag, 'dropped', type(e).__name__, flush=True)
        sys.exit(0)
PY
	HOLD_PID=$!
	_pids+=("$HOLD_PID") # killed on exit when the test fails
	for _ in $(seq 1 100); do [ -f "$T/$2.ready" ] && return 0; sleep 0.1; done
	fail "impacket session $2 did not start"
}

ep_policy "$T/p.xml" before server.signing.required=true server.dialect.min=2.1 server.dialect.max=3.1.1
ep_start "$T/p.xml" --pid-file "$T/smbrefd.pid"
[ "$(cat "$T/smbrefd.pid")" = "$EP_PID" ] || fail "--pid-file does not hold smbrefd's pid"
hold "$PORT" s1 >"$T/s1.out"
pid1=$HOLD_PID

step "compatible change (rate limiter delay): the 3.0 session stays up"
ep_policy "$T/p.xml" still server.signing.required=true server.dialect.min=2.1 server.dialect.max=3.1.1 \
	server.auth-rate-limiter.delay-ms=300
kill -HUP "$(cat "$T/smbrefd.pid")"
ep_wait_log 'reloaded ("still")'
sleep 1 # the workers re-check their connections
touch "$T/s1.go1"
for _ in $(seq 1 100); do grep -q "s1 " "$T/s1.out" && break; sleep 0.1; done
grep -q "s1 ok 1" "$T/s1.out" || { cat "$T/s1.out"; fail "compliant session was dropped"; }

step "invalid policy: the old one stays in force"
echo '<policy xmlns="urn:smbpolicy:policy:1" name="bad"><setting id="server.dialect.min">9.9</setting></policy>' >"$T/p.xml"
kill -HUP "$EP_PID"
ep_wait_log "previous policy stays in force"
ep_smbclient -U alice%Secret-1 --option='client max protocol=SMB3_00' -c ls >/dev/null 2>&1 ||
	fail "3.0 client refused after a failed reload"

step "dialect floor raised to 3.1.1: the 3.0 session is dropped, new 3.0 refused, 3.1.1 served"
ep_policy "$T/p.xml" after server.signing.required=true server.dialect.min=3.1.1 server.dialect.max=3.1.1
kill -HUP "$EP_PID"
ep_wait_log 'reloaded ("after")'
sleep 1
touch "$T/s1.go2"
wait "$pid1" || true
cat "$T/s1.out"
grep -q "s1 dropped" "$T/s1.out" || fail "non-compliant 3.0 session stayed up"
kill "$EP_PID"; wait "$EP_PID" 2>/dev/null || true
[ ! -e "$T/smbrefd.pid" ] || fail "pid file left behind after SIGTERM"
ep_start "$T/p.xml"
out=$(ep_smbclient -U alice%Secret-1 --option='client max protocol=SMB3_00' -c ls 2>&1) &&
	fail "3.0 client served after the floor was raised"
echo "$out" | grep -q NT_STATUS_NOT_SUPPORTED || fail "want NOT_SUPPORTED: $out"
ep_smbclient -U alice%Secret-1 -c ls >/dev/null 2>&1 || fail "3.1.1 client refused"

# (the catalog wants one transport left: RDMA is on in the policy, with no
# rdma --listen, so nothing is served at all)
step "server.transport.tcp.enabled=false: TCP sessions dropped, new TCP connections closed"
ep_policy "$T/p.xml" tcpon server.signing.required=true server.dialect.min=3.0
kill -HUP "$EP_PID"
ep_wait_log 'reloaded ("tcpon")'
sleep 1
hold "$PORT" s2 >"$T/s2.out"
pid2=$HOLD_PID
ep_policy "$T/p.xml" notcp server.signing.required=true server.dialect.min=3.0 \
	server.transport.tcp.enabled=false server.transport.rdma.enabled=true
kill -HUP "$EP_PID"
ep_wait_log 'reloaded ("notcp")'
sleep 1
touch "$T/s2.go1"
wait "$pid2" || true
cat "$T/s2.out"
grep -q "s2 dropped" "$T/s2.out" || fail "TCP session stayed up with TCP disabled"
ep_smbclient -U alice%Secret-1 -c ls >/dev/null 2>&1 && fail "TCP client served with TCP disabled"
echo PASS
