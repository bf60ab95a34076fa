#!/usr/bin/env bash
# tests/integration/agent_dbus.sh - smbpolicyd's D-Bus API on a private
# system-like dbus-daemon (which includes the shipped bus policy file):
# introspection equals dist/dbus/org.smbpolicy.Agent1.xml; properties;
# read-only methods open to an unprivileged caller (uid 65534) while Apply
# and Refresh are refused with AccessDenied and change nothing; signals
# (PolicyApplied, PropertiesChanged) arrive at a monitor; `smbpolicy
# plan|apply|status|drift` over the bus; SIGHUP reloads; SIGTERM exits 0.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agent_lib.bash"
command -v dbus-daemon >/dev/null || skip "dbus-daemon not installed (scripts/deps)"
SP=$BIN/smbpolicy

step "agent on a private bus, root $T/root, policy strict.xml"
start_bus
make_root "$T/root"
cp "$AGENT_POLICY" "$T/policy.xml"
start_agent --root "$T/root" --policy "$T/policy.xml" --interval 0
busctl --address="$BUS" --json=short monitor --match "type='signal',sender='$AGENT_NAME'" \
	>"$T/monitor.json" 2>"$T/monitor.err" &
_pids+=($!)

step "introspection matches dist/dbus/org.smbpolicy.Agent1.xml"
busctl --address="$BUS" introspect --xml-interface "$AGENT_NAME" "$AGENT_PATH" >"$T/live.xml"
python3 - "$T/live.xml" "$TOP/dist/dbus/org.smbpolicy.Agent1.xml" <<'PY' || fail "introspection differs from dist/"
import sys, xml.etree.ElementTree as ET
def members(path):
    for i in ET.parse(path).getroot().iter("interface"):
        if i.get("name") == "org.smbpolicy.Agent1":
            return sorted((m.tag, m.get("name"), m.get("type") or "", m.get("access") or "",
                           tuple((a.get("name"), a.get("type"), a.get("direction") or "") for a in m.findall("arg")),
                           tuple(sorted((a.get("name"), a.get("value")) for a in m.findall("annotation"))))
                          for m in i)
    sys.exit("no interface in " + path)
live, dist = members(sys.argv[1]), members(sys.argv[2])
for x in sorted(set(live) ^ set(dist)):
    print(("only live: " if x in live else "only dist: ") + repr(x), file=sys.stderr)
sys.exit(live != dist)
PY

step "properties after the start-up apply"
prop() { busctl --address="$BUS" get-property "$AGENT_NAME" "$AGENT_PATH" "$AGENT_NAME" "$1"; }
for i in $(seq 50); do [ "$(prop Compliant)" = "b true" ] && break; sleep 0.1; done
[ "$(prop Compliant)" = "b true" ] || fail "not compliant after start: $(cat "$T/agent.log")"
[ "$(prop Policy)" = 's "strict"' ] || fail "Policy: $(prop Policy)"
[ "$(prop Mode)" = 's "enforce"' ] || fail "Mode: $(prop Mode)"
[[ $(prop LastApplied) =~ ^t\ [1-9][0-9]+$ ]] || fail "LastApplied: $(prop LastApplied)"
version=$(prop Version)
[[ $version =~ ^s\ \"[0-9a-f]{64}\"$ ]] || fail "Version: $version"
grep -q 'server signing = mandatory' "$T/root/etc/samba/smbpolicy.conf" || fail "samba not applied"

step "an unprivileged caller may read ..."
as_nobody busctl --address="$BUS" get-property "$AGENT_NAME" "$AGENT_PATH" "$AGENT_NAME" Compliant \
	>/dev/null || fail "nobody cannot read properties"
as_nobody busctl --address="$BUS" call "$AGENT_NAME" "$AGENT_PATH" "$AGENT_NAME" GetStatus \
	>/dev/null || fail "nobody cannot GetStatus"
as_nobody busctl --address="$BUS" call "$AGENT_NAME" "$AGENT_PATH" "$AGENT_NAME" GetResultantPolicy \
	>"$T/rsop.out" || fail "nobody cannot GetResultantPolicy"
grep -q 'server.signing.required' "$T/rsop.out" || fail "GetResultantPolicy: no setting"
as_nobody busctl --address="$BUS" call "$AGENT_NAME" "$AGENT_PATH" "$AGENT_NAME" ListAuditEvents tu 0 10 \
	>"$T/events.out" || fail "nobody cannot ListAuditEvents"
[ "$(cat "$T/events.out")" = "a(tussa{ss}) 0" ] || fail "ListAuditEvents: $(cat "$T/events.out")"

step "... but is denied Apply and Refresh, and nothing changes"
echo "# local edit" >>"$T/root/etc/samba/smbpolicy.conf"
sum=$(md5sum <"$T/root/etc/samba/smbpolicy.conf")
for m in Apply Refresh; do
	if as_nobody busctl --address="$BUS" call "$AGENT_NAME" "$AGENT_PATH" "$AGENT_NAME" $m \
		>"$T/deny.out" 2>&1; then
		fail "nobody may call $m"
	fi
	grep -q "Access denied" "$T/deny.out" || fail "$m: not AccessDenied: $(cat "$T/deny.out")"
done
# The error name itself, as a client library sees it:
as_nobody gdbus call --address "$BUS" --dest "$AGENT_NAME" --object-path "$AGENT_PATH" \
	--method "$AGENT_NAME.Apply" >"$T/deny.out" 2>&1 && fail "gdbus: nobody may Apply"
grep -q "org.freedesktop.DBus.Error.AccessDenied" "$T/deny.out" || fail "gdbus: $(cat "$T/deny.out")"
[ "$(md5sum <"$T/root/etc/samba/smbpolicy.conf")" = "$sum" ] || fail "a denied call changed a file"
as_nobody env SMBPOLICY_BUS="$BUS" "$SP" apply >"$T/out" 2>"$T/err" && fail "smbpolicy apply as nobody succeeded"
grep -q "access denied" "$T/err" || fail "smbpolicy apply as nobody: $(cat "$T/err")"

step "smbpolicy over the bus: plan, apply, status, drift"
"$SP" plan --bus "$BUS" >"$T/out" || fail "plan failed"
grep -q "^plan of policy strict" "$T/out" || fail "plan output: $(cat "$T/out")"
"$SP" status --bus "$BUS" | head -n 1 | grep -q "^plan of" && fail "status shows the dry run"
"$SP" apply --bus "$BUS" --json >"$T/apply.json" || fail "apply failed: $(cat "$T/apply.json")"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["kind"]=="apply" and r["compliant"], r' \
	"$T/apply.json" || fail "apply JSON"
SMBPOLICY_BUS=$BUS "$SP" status >"$T/out" || fail "status: $(cat "$T/out")"
grep -q "compliant" "$T/out" || fail "status output"
"$SP" drift --bus "$BUS" >"$T/out" || fail "drift reported after apply: $(cat "$T/out")"

step "signals: PolicyApplied and PropertiesChanged reached the monitor"
for i in $(seq 50); do grep -q '"member":"PolicyApplied"' "$T/monitor.json" && break; sleep 0.1; done
grep -q '"member":"PolicyApplied"' "$T/monitor.json" || fail "no PolicyApplied: $(cat "$T/monitor.json" "$T/monitor.err")"
grep -q '"member":"PropertiesChanged"' "$T/monitor.json" || fail "no PropertiesChanged"

step "SIGHUP reloads the policy"
sed -i 's/name="strict"/name="strict-v2"/' "$T/policy.xml"
kill -HUP "$AGENT_PID"
for i in $(seq 50); do [ "$(prop Policy)" = 's "strict-v2"' ] && break; sleep 0.1; done
[ "$(prop Policy)" = 's "strict-v2"' ] || fail "SIGHUP did not reload: $(prop Policy)"
[ "$(prop Version)" != "$version" ] || fail "Version did not change"
step "an invalid policy on SIGHUP keeps the old one"
echo "<policy" >"$T/policy.xml"
kill -HUP "$AGENT_PID"
sleep 0.5
kill -0 "$AGENT_PID" || fail "agent died on an invalid policy"
[ "$(prop Policy)" = 's "strict-v2"' ] || fail "policy changed to $(prop Policy)"

step "SIGTERM: clean exit"
kill -TERM "$AGENT_PID"
rc=0; wait "$AGENT_PID" || rc=$?
[ $rc -eq 0 ] || fail "smbpolicyd exit $rc after SIGTERM"
echo "PASS"
