#!/usr/bin/env bash
# plugins_nftables_netns.sh - the nftables plugin's netns override
# (PluginTools.netns, `--tool netns=PATH`): run from the test's own
# namespace against another one (a sleeper's /proc/PID/ns/net), the table
# lands there and nowhere else; a namespace path that does not exist is an
# error, not a silent fallback to the caller's namespace.
. "$(dirname "$0")/lib.sh"
PLUGIN=$BIN/smbpolicy-plugin
[ -x "$PLUGIN" ] || fail "$PLUGIN missing"

if [ -z "${IN_NETNS:-}" ]; then
	unshare -n true 2>/dev/null || skip "cannot create a network namespace here"
	# The test itself runs in a private namespace too: its "own" namespace
	# stands in for the host, which is never touched.
	exec env IN_NETNS=1 TEST_TMP="$T" unshare -n bash "$0"
fi

start_bg "$T/sleeper.log" unshare -n sleep 120
NS=/proc/$BG_PID/ns/net
for _ in $(seq 50); do [ "$(readlink "$NS")" != "$(readlink /proc/self/ns/net)" ] && break; sleep 0.1; done
[ "$(readlink "$NS")" != "$(readlink /proc/self/ns/net)" ] || fail "sleeper has no namespace of its own"

step "apply into the other namespace"
"$PLUGIN" --tool "netns=$NS" --set firewall.netbios.legacy=false --set server.transport.tcp.enabled=true \
	--set server.transport.tcp.port=445 nftables apply >/dev/null || fail "apply failed"
nsenter --net="$NS" nft list table inet smbpolicy >"$T/there.nft" || fail "no table in the target namespace"
grep -q 'tcp dport 139 drop' "$T/there.nft" || fail "table in the target namespace lacks the 139 drop"
nft list table inet smbpolicy >/dev/null 2>&1 && fail "table landed in the caller's namespace"

step "a missing namespace is an error"
"$PLUGIN" --tool netns=/nonexistent/ns --set firewall.netbios.legacy=false nftables apply >/dev/null 2>&1 \
	&& fail "apply with a missing namespace succeeded"
nft list table inet smbpolicy >/dev/null 2>&1 && fail "fell back to the caller's namespace"
echo "PASS plugins_nftables_netns"
