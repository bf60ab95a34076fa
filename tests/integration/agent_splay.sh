#!/usr/bin/env bash
# tests/integration/agent_splay.sh - smbpolicyd's poll splay: a fleet
# started together must not poll its bundle server in step.  The daemon
# polls a --source first after a random delay bounded by --splay (not
# before it, and not much after), then every --interval +-10 %; restarted
# with a cached last good bundle it enforces that at once without polling;
# SIGHUP still polls at once; --once is never delayed; the delay differs
# from one start to the next.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agent_lib.bash"
source "$(dirname "$0")/bundle_lib.bash"
command -v dbus-daemon >/dev/null || skip "dbus-daemon not installed (scripts/deps)"
conf=$T/root/etc/samba/smbpolicy.conf
url=file://$T/www/groups/@paris.bundle
WEEK=604800

setup_store
sp keygen --out "$T/k1" >/dev/null
cp "$T/k1.pub" "$T/trust/"
sp publish "$T/www" --key "$T/k1" >/dev/null
serial1=$(sed -n 's/^serial: //p' "$T/www/groups/@paris.bundle")

# splay_of LOG: the first-cycle delay the agent logged, in milliseconds.
splay_of() {
	sed -n 's/.*first periodic cycle.* in \([0-9]*\)\.\([0-9]*\) s (random splay.*/\1\2/p' "$1" |
		head -n 1 | sed 's/^0*\([0-9]\)/\1/'
}
ms_now() { echo $(($(date +%s%N) / 1000000)); }

step "no bundle cached: the first poll waits for the random splay (0..4 s)"
start_bus
make_root "$T/root"
t0=$(ms_now)
start_agent --root "$T/root" --interval 600 --splay 4 --source "$url" --trusted-keys "$T/trust"
wait_log "first periodic cycle and bundle poll in"
d=$(splay_of "$T/agent.log")
[ -n "$d" ] && [ "$d" -ge 0 ] && [ "$d" -le 4000 ] || fail "splay not in 0..4 s: '$d'"
for _ in $(seq 150); do grep -q "accepted policy bundle" "$T/agent.log" && break; sleep 0.05; done
t1=$(ms_now)
grep -q "accepted policy bundle serial $serial1" "$T/agent.log" || fail "no poll within the splay + 3 s"
echo "splay ${d} ms, bundle accepted after $((t1 - t0)) ms"
[ $((t1 - t0)) -ge "$d" ] || fail "polled after $((t1 - t0)) ms, before its splay of $d ms"
[ $((t1 - t0)) -le $((d + 5000)) ] || fail "polled $((t1 - t0)) ms after start, splay $d ms"
wait_log "apply of rsop-group:paris"
grep -q 'server min protocol = SMB3_00' "$conf" || fail "bundle not applied: $(cat "$conf")"
kill "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null || true

step "restart with the bundle cached: enforced at once, no poll before the splay"
set_policy 3.1.1
sp publish "$T/www" --key "$T/k1" >/dev/null
serial2=$(sed -n 's/^serial: //p' "$T/www/groups/@paris.bundle")
rm -f "$conf"
start_agent --root "$T/root" --interval $WEEK --splay $WEEK --source "$url" --trusted-keys "$T/trust"
wait_log "apply of rsop-group:paris"
grep -q 'server min protocol = SMB3_00' "$conf" || fail "cached policy not enforced at start"
sleep 2
! grep -q "accepted policy bundle serial $serial2" "$T/agent.log" ||
	fail "polled at start despite a splay of up to a week"

step "SIGHUP polls at once, splay or not"
kill -HUP "$AGENT_PID"
wait_log "accepted policy bundle serial $serial2"
for _ in $(seq 100); do grep -q 'server min protocol = SMB3_11' "$conf" && break; sleep 0.1; done
grep -q 'server min protocol = SMB3_11' "$conf" || fail "SIGHUP: not applied: $(cat "$conf")"
kill "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null || true

step "--once is not delayed, whatever --interval and --splay say"
set_policy 3.0.2
sp publish "$T/www" --key "$T/k1" >/dev/null
serial3=$(sed -n 's/^serial: //p' "$T/www/groups/@paris.bundle")
t0=$(ms_now)
URL=$url
agent --interval $WEEK --splay $WEEK || fail "--once failed: $(cat "$T/agent.out")"
t1=$(ms_now)
grep -q "accepted policy bundle serial $serial3" "$T/agent.out" || fail "--once did not poll: $(cat "$T/agent.out")"
grep -q "first periodic cycle" "$T/agent.out" && fail "--once was splayed"
echo "--once took $((t1 - t0)) ms"
[ $((t1 - t0)) -lt 20000 ] || fail "--once took $((t1 - t0)) ms"

step "every start draws its own splay"
declare -A seen=()
for i in 1 2 3 4 5; do
	"$BIN/smbpolicyd" --bus "unix:path=$T/no-such-bus" --root "$T/root$i" --plugin-dir "$T/plugins" \
		--policy "$AGENT_POLICY" --interval $WEEK >"$T/splay$i.log" 2>&1 && fail "started without a bus"
	d=$(splay_of "$T/splay$i.log")
	[ -n "$d" ] || fail "no splay logged: $(cat "$T/splay$i.log")"
	[ "$d" -le $((WEEK * 1000)) ] || fail "splay $d ms above --interval"
	seen[$d]=1
done
echo "splays (ms): ${!seen[*]}"
[ "${#seen[@]}" -ge 4 ] || fail "five starts, only ${#seen[@]} distinct splays"

step "--splay takes seconds, 0 .. a week"
for bad in x -1 604801; do
	rc=0; "$BIN/smbpolicyd" --policy "$AGENT_POLICY" --splay "$bad" >/dev/null 2>&1 || rc=$?
	[ "$rc" -eq 2 ] || fail "--splay $bad: exit $rc, want 2"
done
echo PASS
