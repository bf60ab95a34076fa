# demo: Agent smbpolicyd on a private bus
#
# Starts a private system-like dbus-daemon (with the shipped bus policy
# dist/dbus/org.smbpolicy.Agent1.conf), then smbpolicyd on it with fs1's
# resultant policy ($DEMO/fs1.rsop.xml, from part 10) under the scratch root
# $DEMO/root (an admin's smb.conf there gets one include line); runs
# `smbpolicy apply` and `smbpolicy status` over D-Bus, shows the agent's
# properties, then edits a managed file behind its back and shows the drift
# being detected and remediated.  It collects smbrefd's audit events (part
# 20) into $DEMO/audit.db.  Pids go to $DEMO/pids.
# Needs: $BIN, $TOP, $DEMO, $PLUGIN_DIR (set by scripts/demo).
set -euo pipefail
sp() { echo "\$ smbpolicy $*"; "$BIN/smbpolicy" "$@"; }
policy=$DEMO/fs1.rsop.xml
[ -f "$policy" ] || policy=$TOP/schema/policies/strict.xml
root=$DEMO/root
mkdir -p "$root/etc/samba" "$DEMO/agent"
[ -f "$root/etc/samba/smb.conf" ] ||
	printf '# the admin'"'"'s smb.conf\n[global]\n\tworkgroup = DEMO\n\n[share]\n\tpath = %s/share\n' \
		"$DEMO" >"$root/etc/samba/smb.conf"

. "$TOP/tests/integration/private_bus.bash"
private_bus_start "$DEMO/agent"
bus=$PRIVATE_BUS
echo "$PRIVATE_BUS_PID" >>"$DEMO/pids"
export SMBPOLICY_BUS=$bus
echo "private bus: $bus"

echo "what the agent will change (the same engine, in-process, nothing written):"
echo "\$ smbpolicy plan --local --root $root --policy $policy --host fs1"
unshare -n "$BIN/smbpolicy" plan --local --root "$root" --policy "$policy" --host fs1 --plugin-dir "$PLUGIN_DIR" || true
echo
# Its own network namespace: the nftables plugin changes that namespace's
# firewall, not this machine's.
echo "\$ unshare -n smbpolicyd --bus \$SMBPOLICY_BUS --root $root --policy $policy &"
# The agent also collects smbrefd's audit events (part 20) into the demo's
# audit DB, which part 90 reports on.
audit=()
[ -f "$DEMO/endpoint/audit.json" ] && audit=(--audit-log "$DEMO/endpoint/audit.json")
unshare -n "$BIN/smbpolicyd" --bus "$bus" --root "$root" --policy "$policy" --host fs1 --plugin-dir "$PLUGIN_DIR" \
	--audit-db "$DEMO/audit.db" "${audit[@]}" --interval 60 >"$DEMO/agent/smbpolicyd.log" 2>&1 &
echo $! >>"$DEMO/pids"
for _ in $(seq 100); do
	busctl --address="$bus" status org.smbpolicy.Agent1 >/dev/null 2>&1 && break
	sleep 0.1
done

sp targets --plugin-dir "$PLUGIN_DIR" >"$DEMO/agent/targets.txt"
head -n 6 "$DEMO/agent/targets.txt"
echo "... ($(($(wc -l <"$DEMO/agent/targets.txt") - 1)) rows: $DEMO/agent/targets.txt)"
sp apply || true
sp status || true
echo "\$ busctl get-property org.smbpolicy.Agent1 ... Policy Version Mode Compliant"
busctl --address="$bus" get-property org.smbpolicy.Agent1 /org/smbpolicy/Agent1 \
	org.smbpolicy.Agent1 Policy Version Mode Compliant

echo "\$ busctl call org.smbpolicy.Agent1 ... ListAuditEvents tu 0 0   # collected from smbrefd"
busctl --address="$bus" call org.smbpolicy.Agent1 /org/smbpolicy/Agent1 org.smbpolicy.Agent1 \
	ListAuditEvents tu 0 0 | cut -c1-300

conf=$root/etc/samba/smbpolicy.conf
if [ -f "$conf" ]; then
	echo
	echo "drift: an admin weakens signing in $conf behind the agent's back"
	sed -i 's/server signing = mandatory/server signing = disabled/' "$conf"
	sleep 1.5
	grep -m1 "drift in" "$DEMO/agent/smbpolicyd.log" || true
	echo "now: $(grep 'server signing' "$conf" | tr -d '\t')"
fi
echo "agent log: $DEMO/agent/smbpolicyd.log"
