#!/usr/bin/env bash
# tests/integration/agent_polkit.sh - Apply/Refresh authorised through a
# real polkitd on the private bus: polkitd runs in a mount namespace of its
# own where the shipped action file (dist/polkit/org.smbpolicy.policy) is
# installed beside the system's actions and one test rule grants the action
# to the user "nobody" - the host's polkit directories are never touched.
# Then nobody's Refresh and Apply succeed (polkit said yes), another
# unprivileged user (uid 1, "daemon") is still refused with AccessDenied,
# and read-only calls need no authorisation at all.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agent_lib.bash"
command -v dbus-daemon >/dev/null || skip "dbus-daemon not installed (scripts/deps)"
POLKITD=/usr/lib/polkit-1/polkitd
[ -x "$POLKITD" ] || skip "polkitd not installed (package polkitd)"
[ -f /usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf ] || skip "no polkit bus policy"
getent passwd polkitd >/dev/null || skip "no polkitd user"

step "private bus with polkit's and smbpolicy's bus policies"
BUS_EXTRA_CONF="<include>/usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf</include>" start_bus

step "polkitd with the shipped action and a rule for nobody (own mount namespace)"
mkdir -p "$T/pk/actions" "$T/pk/rules"
cp /usr/share/polkit-1/actions/*.policy "$T/pk/actions/" 2>/dev/null || true
cp "$TOP/dist/polkit/org.smbpolicy.policy" "$T/pk/actions/"
cat >"$T/pk/rules/10-smbpolicy-test.rules" <<'JS'
polkit.addRule(function(action, subject) {
	if (action.id == "org.smbpolicy.agent.apply" && subject.user == "nobody")
		return polkit.Result.YES;
});
JS
chmod -R a+rX "$T/pk"
start_bg "$T/polkitd.log" unshare -m sh -c \
	"mount --bind '$T/pk/actions' /usr/share/polkit-1/actions &&
	 mount --bind '$T/pk/rules' /etc/polkit-1/rules.d && exec $POLKITD --no-debug"
for i in $(seq 100); do
	busctl --address="$BUS" status org.freedesktop.PolicyKit1 >/dev/null 2>&1 && break
	sleep 0.1
done
busctl --address="$BUS" status org.freedesktop.PolicyKit1 >/dev/null 2>&1 ||
	skip "polkitd does not start here: $(tail -n 3 "$T/polkitd.log")"

make_root "$T/root"
start_agent --root "$T/root" --policy "$AGENT_POLICY" --interval 0
wait_log "apply of strict"

step "nobody: authorised by polkit"
as_nobody busctl --address="$BUS" call "$AGENT_NAME" "$AGENT_PATH" "$AGENT_NAME" Refresh \
	>"$T/out" 2>&1 || fail "nobody's Refresh refused: $(cat "$T/out")"
as_nobody env SMBPOLICY_BUS="$BUS" "$BIN/smbpolicy" apply >"$T/out" 2>&1 ||
	fail "nobody's apply refused: $(cat "$T/out")"

step "uid 1: polkit says no -> AccessDenied"
if setpriv --reuid=1 --regid=1 --clear-groups busctl --address="$BUS" call "$AGENT_NAME" \
	"$AGENT_PATH" "$AGENT_NAME" Apply >"$T/out" 2>&1; then
	fail "uid 1 may Apply"
fi
grep -q "Access denied" "$T/out" || fail "uid 1: $(cat "$T/out")"
setpriv --reuid=1 --regid=1 --clear-groups busctl --address="$BUS" call "$AGENT_NAME" \
	"$AGENT_PATH" "$AGENT_NAME" GetStatus >/dev/null || fail "uid 1 cannot read the status"
grep -q "denied Apply to .* (uid 1)" "$T/agent.log" || fail "denial not logged"
echo PASS
