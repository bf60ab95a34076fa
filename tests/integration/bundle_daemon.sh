#!/usr/bin/env bash
# tests/integration/bundle_daemon.sh - smbpolicyd as a daemon (on a private
# bus, in its own network namespace) following a published bundle over
# file://: every timer cycle polls the source, a newly published policy is
# applied without a restart or SIGHUP, a tampered bundle appearing later is
# refused while the daemon keeps enforcing the last good policy, and
# SIGHUP polls at once.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agent_lib.bash"
source "$(dirname "$0")/bundle_lib.bash"
command -v dbus-daemon >/dev/null || skip "dbus-daemon not installed (scripts/deps)"
conf=$T/root/etc/samba/smbpolicy.conf

setup_store
sp keygen --out "$T/k1" >/dev/null
cp "$T/k1.pub" "$T/trust/"
sp publish "$T/www" --key "$T/k1" >/dev/null
serial1=$(sed -n 's/^serial: //p' "$T/www/groups/@paris.bundle")

step "daemon pulls and applies the bundle at start"
start_bus
make_root "$T/root"
start_agent --root "$T/root" --interval 1 \
	--source "file://$T/www/groups/@paris.bundle" --trusted-keys "$T/trust"
wait_log "accepted policy bundle serial $serial1 for group /paris"
wait_log "apply of rsop-group:paris"
grep -q 'server min protocol = SMB3_00' "$conf" || fail "bundle not applied: $(cat "$conf")"

step "a new publish is applied by the next timer cycle"
set_policy 3.1.1
sp publish "$T/www" --key "$T/k1" >/dev/null
serial2=$(sed -n 's/^serial: //p' "$T/www/groups/@paris.bundle")
[ "$serial2" -gt "$serial1" ] || fail "serial did not grow"
wait_log "accepted policy bundle serial $serial2"
for _ in $(seq 100); do grep -q 'server min protocol = SMB3_11' "$conf" && break; sleep 0.1; done
grep -q 'server min protocol = SMB3_11' "$conf" || fail "new bundle not applied: $(cat "$conf")"

step "a tampered bundle is refused; the daemon keeps the last good policy"
sed 's/">3\.1\.1</">2.0.2</' "$T/www/groups/@paris.bundle" >"$T/bad"
serve "$T/bad"
wait_log "refusing the policy bundle from file://.*(tampered)"
sleep 1.5
grep -q 'server min protocol = SMB3_11' "$conf" || fail "policy changed after a refusal: $(cat "$conf")"
kill -0 "$AGENT_PID" || fail "smbpolicyd died"

step "SIGHUP polls at once"
set_policy 3.0.2
sp publish "$T/www" --key "$T/k1" >/dev/null
serial3=$(sed -n 's/^serial: //p' "$T/www/groups/@paris.bundle")
kill -HUP "$AGENT_PID"
wait_log "accepted policy bundle serial $serial3"
for _ in $(seq 100); do grep -q 'server min protocol = SMB3_02' "$conf" && break; sleep 0.1; done
grep -q 'server min protocol = SMB3_02' "$conf" || fail "SIGHUP: not applied: $(cat "$conf")"
echo PASS
