#!/usr/bin/env bash
# bench/agent.sh - smbpolicyd: no-op refresh time (target <= 20 ms), idle
# RSS (<= 10 MiB), applying a changed policy to every plugin (<= 500 ms,
# no smbd running, so no daemon reload time), and Samba's own validator on
# the same smb.conf from the same run as the peer's figure.
#
# The agent runs on a private dbus-daemon, in its own network namespace (the
# nftables plugin works there, never on this host), on a scratch root.
# Cycle times are the agent's own (its report's started/finished), medians
# of N runs; busctl's wall time is printed beside them.
set -euo pipefail
TOP=${TOP:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${BIN:-$TOP/build/bin}
PLUGIN_DIR=${PLUGIN_DIR:-$TOP/build/plugins}
export SMBPOLICY_SCHEMA_DIR=${SMBPOLICY_SCHEMA_DIR:-$TOP/schema}
N=${N:-20}
T=$(mktemp -d /tmp/smbpolicy-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]:-}"; do kill "$p" 2>/dev/null || true; done; [ -n "${KEEP_TMP:-}" ] || rm -rf "$T"; }
trap cleanup EXIT

chmod 755 "$T"
cat >"$T/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$T/bus.sock</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
  </policy>
  <include>$TOP/dist/dbus/org.smbpolicy.Agent1.conf</include>
</busconfig>
CONF
out=$(dbus-daemon --config-file="$T/bus.conf" --fork --print-address=1 --print-pid=1)
bus=$(echo "$out" | sed -n 1p)
pids+=("$(echo "$out" | sed -n 2p)")
R=$T/root
mkdir -p "$R/etc/samba" "$R/etc/modprobe.d"
printf '[global]\n\tworkgroup = BENCH\n[share]\n\tpath = /srv\n' >"$R/etc/samba/smb.conf"
cp "$TOP/schema/policies/strict.xml" "$T/policy.xml"
unshare -n "$BIN/smbpolicyd" --bus "$bus" --root "$R" --policy "$T/policy.xml" \
	--plugin-dir "$PLUGIN_DIR" --interval 0 >"$T/agent.log" 2>&1 &
agent=$!
pids+=("$agent")
for _ in $(seq 200); do
	busctl --address="$bus" get-property org.smbpolicy.Agent1 /org/smbpolicy/Agent1 \
		org.smbpolicy.Agent1 LastApplied 2>/dev/null | grep -q 't [1-9]' && break
	sleep 0.05
done

call() { busctl --address="$bus" call org.smbpolicy.Agent1 /org/smbpolicy/Agent1 "$@" >/dev/null; }
# The agent's own time for the cycle a call ran: finished - started of the
# report GetStatus returns (microseconds), so busctl's process start and
# the bus hop are not in it.
cycle_us() {
	busctl --address="$bus" --json=short call org.smbpolicy.Agent1 /org/smbpolicy/Agent1 \
		org.smbpolicy.Agent1 GetStatus |
		python3 -c 'import json,sys; d=json.load(sys.stdin)["data"][0]; print(d[5] - d[4])'
}
median_ms() { sort -n | awk '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] / 1000 }'; }
# wall_ms CMD...: median wall time of N runs of CMD (busctl included), ms.
wall_ms() {
	local i t0 t1
	for i in $(seq "$N"); do
		t0=$(date +%s%N); "$@"; t1=$(date +%s%N)
		echo $(((t1 - t0) / 1000))
	done | median_ms
}

noop=$(for i in $(seq "$N"); do call org.smbpolicy.Agent1 Refresh; cycle_us; done | median_ms)
noop_wall=$(wall_ms call org.smbpolicy.Agent1 Refresh)
ping_wall=$(wall_ms call org.freedesktop.DBus.Peer Ping)

# A changed policy every time: alternate strict / windows-2025-defaults.
changed=$(for i in $(seq "$N"); do
	if [ $((i % 2)) -eq 1 ]; then src=windows-2025-defaults.xml; else src=strict.xml; fi
	cp "$TOP/schema/policies/$src" "$T/policy.xml"
	call org.smbpolicy.Agent1 Refresh
	cycle_us
done | median_ms)
busctl --address="$bus" call org.smbpolicy.Agent1 /org/smbpolicy/Agent1 org.smbpolicy.Agent1 \
	GetStatus | grep -q '"failed"' && echo "warning: a plugin failed during the bench" >&2

sleep 1
rss_kib=$(awk '/^VmRSS:/ { print $2 }' "/proc/$agent/status")
pss_kib=$(awk '/^Pss:/ { print $2 }' "/proc/$agent/smaps_rollup")
priv_kib=$(awk '/^Private_(Clean|Dirty):/ { s += $2 } END { print s }' "/proc/$agent/smaps_rollup")
crypto_kib=$(awk '/^[0-9a-f]+-/ { lib = ($6 ~ /libcrypto/) } lib && /^Rss:/ { s += $2 } END { print s + 0 }' \
	"/proc/$agent/smaps")
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
plugins=$(cd "$PLUGIN_DIR" && ls *.so | sed 's/\.so$//' | tr '\n' ' ')

testparm_ms=$(wall_ms sh -c "testparm -s '$R/etc/samba/smb.conf' >/dev/null 2>&1")

echo "plugins: $plugins"
printf '%-58s %10s %10s\n' "what" "figure" "target"
printf '%-58s %7s ms %10s\n' "no-op Refresh: the agent's cycle (nothing to change)" "$noop" "<= 20 ms"
printf '%-58s %7s ms\n' "  the same seen by busctl (process start + bus included)" "$noop_wall"
printf '%-58s %7s ms\n' "  busctl calling Peer.Ping, for comparison" "$ping_wall"
printf '%-58s %7s ms %10s\n' "Refresh with a changed policy: cycle over every plugin" "$changed" "<= 500 ms"
printf '%-58s %6s MiB %10s\n' "idle RSS" "$(mib "$rss_kib")" "<= 10 MiB"
printf '%-58s %6s MiB\n' "  of it: PSS (shared library pages split)" "$(mib "$pss_kib")"
printf '%-58s %6s MiB\n' "  of it: private (heap, data, relocations)" "$(mib "$priv_kib")"
printf '%-58s %6s MiB\n' "  of it: libcrypto.so.3 (OpenSSL 3, SHA-256 of policies)" "$(mib "$crypto_kib")"
printf '%-58s %7s ms\n' "peer: Samba's testparm -s on the same smb.conf, once" "$testparm_ms"
