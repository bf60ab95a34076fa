#!/usr/bin/env bash
# tests/integration/agent_store.sh - the agent resolving its policy from the
# central store (--store PATH --host NAME): `smbpolicy plan --local` and
# smbpolicyd both see host fs1's resultant policy ("rsop:fs1"); after an
# admin links a stricter policy in the store, Refresh (as root) picks up
# the new version and applies it; GetResultantPolicy returns the document.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agent_lib.bash"
command -v dbus-daemon >/dev/null || skip "dbus-daemon not installed (scripts/deps)"
SP=$BIN/smbpolicy
S=$T/store.db
P=$TOP/schema/policies

step "store: fs1 in /paris under windows-2025-defaults"
"$SP" --store "$S" import "$P/windows-2025-defaults.xml" >/dev/null
"$SP" --store "$S" import "$P/strict.xml" >/dev/null
"$SP" --store "$S" group add /paris >/dev/null
"$SP" --store "$S" host add fs1 /paris >/dev/null
"$SP" --store "$S" link add windows-2025-defaults / >/dev/null
make_root "$T/root"

step "smbpolicy plan --local from the store"
unshare -n "$SP" plan --local --store "$S" --host fs1 --root "$T/root" --plugin-dir "$PLUGIN_DIR" \
	>"$T/plan.out" || fail "plan: $(cat "$T/plan.out")"
grep -q "^plan of policy rsop:fs1" "$T/plan.out" || fail "plan output: $(head -n 3 "$T/plan.out")"
rc=0; "$SP" plan --local --store "$S" --host nosuchhost --root "$T/root" --plugin-dir "$PLUGIN_DIR" \
	>/dev/null 2>"$T/err" || rc=$?
[ $rc -eq 1 ] || fail "unknown host: exit $rc, want 1"
grep -q "nosuchhost" "$T/err" || fail "error does not name the host: $(cat "$T/err")"

step "agent on the store"
start_bus
start_agent --root "$T/root" --store "$S" --host fs1 --interval 0
wait_log "apply of rsop:fs1"
prop() { busctl --address="$BUS" get-property "$AGENT_NAME" "$AGENT_PATH" "$AGENT_NAME" "$1"; }
[ "$(prop Policy)" = 's "rsop:fs1"' ] || fail "Policy: $(prop Policy)"
v1=$(prop Version)
grep -q 'server min protocol' "$T/root/etc/samba/smbpolicy.conf" &&
	grep -q 'server min protocol = SMB3_11' "$T/root/etc/samba/smbpolicy.conf" &&
	fail "strict already applied before the link"

step "link strict to /paris, Refresh: new version applied"
"$SP" --store "$S" link add strict /paris >/dev/null
bus_call Refresh >"$T/refresh.json" || fail "Refresh as root"
[ "$(prop Version)" != "$v1" ] || fail "Version unchanged after Refresh"
grep -q 'server min protocol = SMB3_11' "$T/root/etc/samba/smbpolicy.conf" ||
	fail "strict's dialect floor not applied: $(cat "$T/root/etc/samba/smbpolicy.conf")"
bus_call GetResultantPolicy >"$T/rsop.json" || fail "GetResultantPolicy"
grep -q 'rsop:fs1' "$T/rsop.json" || fail "GetResultantPolicy: $(head -c 300 "$T/rsop.json")"
echo PASS
