#!/usr/bin/env bash
# bench/agent.sh - smbpolicyd: no-op refresh time (target <= 20 ms), idle
# RSS (<= 10 MiB), applying a changed policy to every plugin (<= 500 ms,
# no smbd running, so no daemon reload time), and Samba's own validator on
# the same smb.conf from the same run as the peer's figure.
#
# The agent runs on a private dbus-daemon, in its own network namespace (the
# nftables plugin works there, never on this host), on a scratch root.
# Call times are busctl round trips minus the median round trip of a D-Bus
# Ping to the agent (process start and bus overhead), medians of N runs.
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
# median_ms CMD...: median wall time of N runs, in ms (3 decimals).
median_ms() {
	local i t0 t1
	for i in $(seq "$N"); do
		[ -z "${BEFORE:-}" ] || eval "$BEFORE"
		t0=$(date +%s%N); "$@"; t1=$(date +%s%N)
		echo $(((t1 - t0) / 1000))
	done | sort -n | awk '{ a[NR] = $1 } END { printf "%.3f", a[int((NR + 1) / 2)] / 1000 }'
}

ping_ms=$(median_ms call org.freedesktop.DBus.Peer Ping)
refresh_ms=$(median_ms call org.smbpolicy.Agent1 Refresh)
noop=$(awk -v a="$refresh_ms" -v b="$ping_ms" 'BEGIN { printf "%.1f", a - b }')

# A changed policy every time: alternate strict / windows-2025-defaults.
flip=0
swap_policy() {
	flip=$((1 - flip))
	if [ $flip -eq 1 ]; then src=windows-2025-defaults.xml; else src=strict.xml; fi
	cp "$TOP/schema/policies/$src" "$T/policy.xml"
}
BEFORE=swap_policy
apply_ms=$(median_ms call org.smbpolicy.Agent1 Refresh)
BEFORE=
changed=$(awk -v a="$apply_ms" -v b="$ping_ms" 'BEGIN { printf "%.1f", a - b }')
grep -q "failed" <(busctl --address="$bus" call org.smbpolicy.Agent1 /org/smbpolicy/Agent1 \
	org.smbpolicy.Agent1 GetStatus) && echo "warning: a plugin failed during the bench" >&2

sleep 1
rss_kib=$(awk '/^VmRSS:/ { print $2 }' "/proc/$agent/status")
pss_kib=$(awk '/^Pss:/ { print $2 }' "/proc/$agent/smaps_rollup")
priv_kib=$(awk '/^Private_(Clean|Dirty):/ { s += $2 } END { print s }' "/proc/$agent/smaps_rollup")
crypto_kib=$(awk '/^[0-9a-f]+-/ { lib = ($6 ~ /libcrypto/) } lib && /^Rss:/ { s += $2 } END { print s + 0 }' \
	"/proc/$agent/smaps")
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
plugins=$(cd "$PLUGIN_DIR" && ls *.so | sed 's/\.so$//' | tr '\n' ' ')

testparm_ms=$(median_ms sh -c "testparm -s '$R/etc/samba/smb.conf' >/dev/null 2>&1")

echo "plugins: $plugins"
printf '%-58s %10s %10s\n' "what" "figure" "target"
printf '%-58s %7s ms %10s\n' "no-op Refresh (reload policy, nothing to change)" "$noop" "<= 20 ms"
printf '%-58s %7s ms %10s\n' "Refresh with a changed policy, applied to every plugin" "$changed" "<= 500 ms"
printf '%-58s %6s MiB %10s\n' "idle RSS" "$(mib "$rss_kib")" "<= 10 MiB"
printf '%-58s %6s MiB\n' "  of it: PSS (shared library pages split)" "$(mib "$pss_kib")"
printf '%-58s %6s MiB\n' "  of it: private (heap, data, relocations)" "$(mib "$priv_kib")"
printf '%-58s %6s MiB\n' "  of it: libcrypto.so.3 (OpenSSL 3, SHA-256 of policies)" "$(mib "$crypto_kib")"
printf '%-58s %7s ms\n' "(bus round trip, subtracted above: Peer.Ping)" "$ping_ms"
printf '%-58s %7s ms\n' "peer: Samba's testparm -s on the same smb.conf, once" "$testparm_ms"
