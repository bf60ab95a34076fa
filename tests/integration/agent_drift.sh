#!/usr/bin/env bash
# tests/integration/agent_drift.sh - drift watch: a managed file edited
# behind the agent's back raises DriftDetected (plugin, path, setting ids)
# and, in enforce mode, the agent restores the policy by itself; in
# audit-only mode it reports (signal, `smbpolicy drift` exit 1) and leaves
# the file alone.  Also: the agent's own applies raise no drift, and drift
# no file change announces (a firewall rule deleted in the agent's network
# namespace) is found by the periodic check, signalled and remediated.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agent_lib.bash"
command -v dbus-daemon >/dev/null || skip "dbus-daemon not installed (scripts/deps)"
SP=$BIN/smbpolicy
conf=$T/root/etc/samba/smbpolicy.conf

# watch_signals FILE: monitor the agent's signals into FILE.
watch_signals() {
	busctl --address="$BUS" --json=short monitor --match "type='signal',interface='$AGENT_NAME'" \
		>"$1" 2>&1 &
	_pids+=($!)
	sleep 0.3
}
# wait_for FILE PATTERN: up to 10 s.
wait_for() {
	local i
	for i in $(seq 100); do grep -q "$2" "$1" && return 0; sleep 0.1; done
	return 1
}

step "enforce mode: agent applies strict.xml"
start_bus
make_root "$T/root"
start_agent --root "$T/root" --policy "$AGENT_POLICY" --interval 0
wait_for "$T/agent.log" "apply of strict" || fail "no start-up apply: $(cat "$T/agent.log")"
grep -q 'server signing = mandatory' "$conf" || fail "not applied"
watch_signals "$T/sig1.json"

step "the agent's own apply raises no drift"
"$SP" apply --bus "$BUS" >/dev/null || fail "apply"
sleep 1
grep -q DriftDetected "$T/sig1.json" && fail "own apply reported as drift"

step "an admin edits the managed file: drift detected and remediated"
sed -i 's/server signing = mandatory/server signing = disabled/' "$conf"
wait_for "$T/sig1.json" '"member":"DriftDetected"' || fail "no DriftDetected: $(cat "$T/sig1.json")"
grep '"member":"DriftDetected"' "$T/sig1.json" | head -n 1 >"$T/drift1.json"
grep -q '"samba"' "$T/drift1.json" || fail "drift not attributed to samba: $(cat "$T/drift1.json")"
grep -q "$conf" "$T/drift1.json" || fail "drift path missing: $(cat "$T/drift1.json")"
grep -q 'server.signing.required' "$T/drift1.json" || fail "setting id missing: $(cat "$T/drift1.json")"
grep -q 'true\]' "$T/drift1.json" || fail "not remediated: $(cat "$T/drift1.json")"
grep -q 'server signing = mandatory' "$conf" || fail "file not restored"
"$SP" drift --bus "$BUS" >/dev/null || fail "drift remains after remediation"
kill "$AGENT_PID"; wait "$AGENT_PID" || true

step "audit-only mode: drift reported, not remediated"
start_agent --root "$T/root" --policy "$AGENT_POLICY" --interval 0 --audit-only
busctl --address="$BUS" get-property "$AGENT_NAME" "$AGENT_PATH" "$AGENT_NAME" Mode | grep -q audit-only ||
	fail "Mode is not audit-only"
watch_signals "$T/sig2.json"
sed -i 's/server signing = mandatory/server signing = auto/' "$conf"
wait_for "$T/sig2.json" '"member":"DriftDetected"' || fail "no DriftDetected in audit-only mode"
grep '"member":"DriftDetected"' "$T/sig2.json" | head -n 1 | grep -q 'false\]' ||
	fail "audit-only claims remediation: $(grep DriftDetected "$T/sig2.json")"
sleep 0.5
grep -q 'server signing = auto' "$conf" || fail "audit-only mode changed the file"
rc=0; "$SP" drift --bus "$BUS" >"$T/out" || rc=$?
[ $rc -eq 1 ] || fail "smbpolicy drift exit $rc, want 1: $(cat "$T/out")"
grep -q 'drift .*server.signing.required' "$T/out" || fail "drift output: $(cat "$T/out")"
busctl --address="$BUS" get-property "$AGENT_NAME" "$AGENT_PATH" "$AGENT_NAME" Compliant | grep -q false ||
	fail "Compliant still true"
step "an explicit apply still applies in audit-only mode"
"$SP" apply --bus "$BUS" >/dev/null || fail "apply in audit-only mode"
grep -q 'server signing = mandatory' "$conf" || fail "apply did not restore"
kill "$AGENT_PID"; wait "$AGENT_PID" || true

step "drift without a file: the firewall rule removed, found by the periodic check"
start_agent --root "$T/root" --policy "$AGENT_POLICY" --interval 1
wait_log "apply of strict"
nft_rules() { nsenter -t "$AGENT_PID" -n nft list table inet smbpolicy >"$T/nft.out" 2>&1 || true; }
nft_rules
grep -q 'tcp dport 139 drop' "$T/nft.out" || fail "no NetBIOS rule in the agent's namespace"
watch_signals "$T/sig3.json"
nsenter -t "$AGENT_PID" -n nft delete table inet smbpolicy
wait_for "$T/sig3.json" '"member":"DriftDetected"' || fail "no DriftDetected for the firewall"
grep '"member":"DriftDetected"' "$T/sig3.json" | head -n 1 >"$T/drift3.json"
grep -q '"nftables",""' "$T/drift3.json" || fail "not nftables without a path: $(cat "$T/drift3.json")"
grep -q 'firewall.netbios.legacy' "$T/drift3.json" || fail "setting missing: $(cat "$T/drift3.json")"
grep -q 'true\]' "$T/drift3.json" || fail "not remediated: $(cat "$T/drift3.json")"
nft_rules
grep -q 'tcp dport 139 drop' "$T/nft.out" || fail "firewall not restored: $(cat "$T/nft.out")"
echo PASS
