#!/usr/bin/env bash
# tests/integration/agent_notify.sh - smbpolicyd's systemd protocol without
# systemd: with NOTIFY_SOCKET and WATCHDOG_USEC set (as systemd sets them
# for Type=notify, WatchdogSec=), it sends READY=1 only once it owns its
# bus name, then WATCHDOG=1 keep-alives, and STOPPING=1 on SIGTERM; a
# daemon whose bundle source is not reachable yet serves and waits; the
# --once mode prints a report and exits 0 (compliant) / 1 (not); usage
# errors exit 2.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agent_lib.bash"
command -v dbus-daemon >/dev/null || skip "dbus-daemon not installed (scripts/deps)"

step "notify socket listener"
start_bus
make_root "$T/root"
python3 - "$T/notify.sock" "$T/notify.log" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(30)
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        try:
            data = s.recv(4096).decode()
        except socket.timeout:
            break
        for line in data.split("\n"):
            log.write("%.3f %s\n" % (time.monotonic(), line))
PY
_pids+=($!)
for i in $(seq 50); do [ -S "$T/notify.sock" ] && break; sleep 0.1; done

step "READY=1 after the bus name, WATCHDOG=1 afterwards"
NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=400000 start_agent --root "$T/root" \
	--policy "$AGENT_POLICY" --interval 0
busctl --address="$BUS" status "$AGENT_NAME" >/dev/null || fail "name not owned"
for i in $(seq 50); do grep -q "READY=1" "$T/notify.log" 2>/dev/null && break; sleep 0.1; done
grep -q "READY=1" "$T/notify.log" || fail "no READY=1: $(cat "$T/notify.log" 2>/dev/null)"
sleep 1.5
n=$(grep -c "WATCHDOG=1" "$T/notify.log" || true)
[ "$n" -ge 2 ] || fail "only $n WATCHDOG=1 in 1.5 s at WatchdogSec=0.4s"
kill -TERM "$AGENT_PID"
wait "$AGENT_PID" || fail "exit status after SIGTERM"
grep -q "STOPPING=1" "$T/notify.log" || fail "no STOPPING=1"

step "a bundle source not reachable yet: the daemon serves and waits"
start_agent --root "$T/root2" --source "file://$T/none.bundle" --trusted-keys "$T/keys" --interval 1
sleep 1.2
kill -0 "$AGENT_PID" || fail "daemon exited without a policy"
bus_call GetStatus >"$T/out" 2>&1 && fail "GetStatus without a policy succeeded"
grep -q "no policy loaded yet" "$T/out" || fail "GetStatus: $(cat "$T/out")"
[ "$(grep -c "cannot load policy" "$T/agent.log")" -le 2 ] || fail "backoff not respected in the log"
kill "$AGENT_PID"; wait "$AGENT_PID" || true
rc=0; "$BIN/smbpolicyd" --once --root "$T/root2" --source "file://$T/none.bundle" \
	--trusted-keys "$T/keys" >/dev/null 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "--once without any policy: exit $rc, want 1"

step "--once: report and exit status (in a network namespace: nftables)"
rc=0; unshare -n "$BIN/smbpolicyd" --once --root "$T/root" --policy "$AGENT_POLICY" \
	--plugin-dir "$PLUGIN_DIR" >"$T/once.out" 2>/dev/null || rc=$?
[ $rc -eq 0 ] || fail "--once: exit $rc: $(cat "$T/once.out")"
grep -q "^apply of policy strict.*: compliant" "$T/once.out" || fail "--once output: $(cat "$T/once.out")"
sed -i 's/server signing = mandatory/server signing = auto/' "$T/root/etc/samba/smbpolicy.conf"
rc=0; unshare -n "$BIN/smbpolicyd" --once --root "$T/root" --policy "$AGENT_POLICY" \
	--plugin-dir "$PLUGIN_DIR" --audit-only >"$T/once.out" 2>/dev/null || rc=$?
[ $rc -eq 1 ] || fail "--once --audit-only on a drifted root: exit $rc, want 1"
grep -q "drift .*server.signing.required" "$T/once.out" || fail "drift not shown: $(cat "$T/once.out")"
grep -q "server signing = auto" "$T/root/etc/samba/smbpolicy.conf" || fail "--audit-only changed a file"

step "no plugin loads: refuse to run rather than claim compliance"
mkdir -p "$T/empty"
rc=0; "$BIN/smbpolicyd" --once --root "$T/root" --policy "$AGENT_POLICY" --plugin-dir "$T/empty" \
	>"$T/out" 2>&1 || rc=$?
[ $rc -eq 1 ] && grep -q "no plugin could be loaded" "$T/out" || fail "empty plugin dir: exit $rc: $(cat "$T/out")"

step "usage errors exit 2"
for args in "" "--policy a --store b" "--interval x --policy a" "--bogus" "--policy a extra" \
	"--source file:///x" "--policy a --trusted-keys k"; do
	rc=0; "$BIN/smbpolicyd" $args >/dev/null 2>&1 || rc=$?
	[ $rc -eq 2 ] || fail "smbpolicyd $args: exit $rc, want 2"
done
"$BIN/smbpolicyd" --help | grep -q -- "--audit-only" || fail "--help"
"$BIN/smbpolicyd" --version | grep -q "^smbpolicyd " || fail "--version"
echo PASS
