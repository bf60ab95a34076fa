#!/usr/bin/env bash
# bench/agent.sh - smbpolicyd: no-op refresh time (target <= 20 ms), idle
# RSS (<= 10 MiB), applying a changed policy to every plugin (<= 500 ms,
# no smbd running, so no daemon reload time), and Samba's own validator on
# the same smb.conf from the same run as the peer's figure.  Idle memory is
# given as RSS, PSS and private (from /proc/PID/smaps_rollup) for the agent
# on a local policy and again on a --source bundle (which loads libcurl and
# the bundle module with libcrypto), beside an idle Samba smbd's measured in
# the same run.
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
cleanup() {
	for p in "${pids[@]:-}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

. "$TOP/tests/integration/private_bus.bash"
private_bus_start "$T"
bus=$PRIVATE_BUS
pids+=("$PRIVATE_BUS_PID")
R=$T/root
mkdir -p "$R/etc/samba" "$R/etc/modprobe.d"
printf '[global]\n\tworkgroup = BENCH\n[share]\n\tpath = /srv\n' >"$R/etc/samba/smb.conf"
cp "$TOP/schema/policies/strict.xml" "$T/policy.xml"
# start_agent ARGS...: smbpolicyd on the bus in its own network namespace;
# waits for its first apply.  Sets $agent.
start_agent() {
	unshare -n "$BIN/smbpolicyd" --bus "$bus" --plugin-dir "$PLUGIN_DIR" --interval 0 "$@" \
		>>"$T/agent.log" 2>&1 &
	agent=$!
	pids+=("$agent")
	for _ in $(seq 200); do
		busctl --address="$bus" get-property org.smbpolicy.Agent1 /org/smbpolicy/Agent1 \
			org.smbpolicy.Agent1 LastApplied 2>/dev/null | grep -q 't [1-9]' && break
		sleep 0.05
	done
}
start_agent --root "$R" --policy "$T/policy.xml"

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

# mem PID: "RSS PSS PRIVATE ANON" in KiB (smaps_rollup; private = clean +
# dirty pages no other process maps; anon = heap, stacks, relocated data).
mem() {
	awk '/^Rss:/ { r = $2 } /^Pss:/ { p = $2 } /^Private_(Clean|Dirty):/ { v += $2 }
		/^Anonymous:/ { a = $2 } END { print r, p, v, a }' "/proc/$1/smaps_rollup"
}
# lib_rss PID REGEX: RSS in KiB of the mappings of files matching REGEX.
lib_rss() {
	awk -v re="$2" '/^[0-9a-f]+-/ { lib = ($6 ~ re) } lib && /^Rss:/ { s += $2 } END { print s + 0 }' \
		"/proc/$1/smaps"
}
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

sleep 1
read -r rss_kib pss_kib priv_kib anon_kib < <(mem "$agent")
crypto_kib=$(lib_rss "$agent" libcrypto)
# The largest mappings by RSS (file name, else [heap]/[stack]/anonymous).
largest=$(awk '/^[0-9a-f]+-/ { m = $6 ? $6 : "(anonymous)"; sub(/.*\//, "", m) }
	/^Rss:/ { s[m] += $2 } END { for (m in s) if (s[m] > 0) print s[m], m }' "/proc/$agent/smaps" |
	sort -rn | head -n "${LARGEST:-12}" | awk '{ printf "%s%s %.2f", sep, $2, $1 / 1024; sep = ", " }')
kill "$agent"; wait "$agent" 2>/dev/null || true

# The same agent following a signed bundle over file:// (libcurl loaded).
sp() { "$BIN/smbpolicy" --store "$T/store.db" "$@" >/dev/null; }
sp group add /bench
sp import "$TOP/schema/policies/strict.xml"
sp link add "$(sed -n 's/.*<policy[^>]* name="\([^"]*\)".*/\1/p' "$TOP/schema/policies/strict.xml")" /bench
sp keygen --out "$T/key"
mkdir -p "$T/trust" && cp "$T/key.pub" "$T/trust/"
sp publish "$T/www" --key "$T/key"
start_agent --root "$R" --source "file://$T/www/groups/@bench.bundle" --trusted-keys "$T/trust" \
	--state "$T/src-state/agent.db"
sleep 1
read -r src_rss_kib src_pss_kib src_priv_kib src_anon_kib < <(mem "$agent")
verify_kib=$(lib_rss "$agent" '(/bundle\.so|libcrypto\.so)')
curl_kib=$(lib_rss "$agent" 'lib(curl|nghttp2|idn2|rtmp|ssh2|psl|ssl|gssapi|krb5|k5crypto|ldap|lber|brotli|gnutls|hogweed|nettle|sasl2|p11-kit|tasn1|unistring|ffi|keyutils)[.-]')
kill "$agent"; wait "$agent" 2>/dev/null || true

# Peer: an idle Samba smbd (no client) on a loopback port.
smbd_line=""
if command -v smbd >/dev/null; then
	port=$(for _ in $(seq 200); do p=$((20000 + RANDOM % 12000))
		(exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo "$p"; break; }; done)
	S=$T/smbd
	mkdir -p "$S"/{private,lock,state,cache,run,log}
	# shellcheck source=/dev/null
	source "$TOP/tests/integration/samba_lib.bash"
	{
		T=$S samba_global "$port" "$S/run"
		echo "	disable netbios = yes"
	} >"$S/smb.conf"
	setsid smbd -s "$S/smb.conf" -F --no-process-group -d 0 >"$S/out" 2>&1 &
	smbd=$!
	pids+=("$smbd")
	for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done
	sleep 2
	if kill -0 "$smbd" 2>/dev/null; then
		read -r smbd_rss smbd_pss smbd_priv smbd_anon < <(mem "$smbd")
		tree_pss=0 n=0
		for p in "$smbd" $(pgrep -P "$smbd" || true); do
			tree_pss=$((tree_pss + $(mem "$p" | cut -d' ' -f2))) n=$((n + 1))
		done
		smbd_line=1
	fi
fi
plugins=$(cd "$PLUGIN_DIR" && ls *.so | sed 's/\.so$//' | tr '\n' ' ')

testparm_ms=$(wall_ms sh -c "testparm -s '$R/etc/samba/smb.conf' >/dev/null 2>&1")

echo "plugins: $plugins"
printf '%-58s %10s %10s\n' "what" "figure" "target"
printf '%-58s %7s ms %10s\n' "no-op Refresh: the agent's cycle (nothing to change)" "$noop" "<= 20 ms"
printf '%-58s %7s ms\n' "  the same seen by busctl (process start + bus included)" "$noop_wall"
printf '%-58s %7s ms\n' "  busctl calling Peer.Ping, for comparison" "$ping_wall"
printf '%-58s %7s ms %10s\n' "Refresh with a changed policy: cycle over every plugin" "$changed" "<= 500 ms"
printf '%-58s %6s MiB %10s\n' "idle RSS" "$(mib "$rss_kib")" "<= 10 MiB"
printf '%-58s %6s MiB\n' "  PSS (shared pages split among their users)" "$(mib "$pss_kib")"
printf '%-58s %6s MiB\n' "  private (pages no other process maps)" "$(mib "$priv_kib")"
printf '%-58s %6s MiB\n' "  anonymous (heap, stacks, relocated data)" "$(mib "$anon_kib")"
printf '%-58s %6s MiB\n' "  of RSS: libcrypto.so.3 (not linked: libgcrypt hashes)" "$(mib "$crypto_kib")"
echo "  largest mappings (MiB): $largest"
printf '%-58s %6s MiB\n' "idle RSS with --source (file:// bundle; libcurl loaded)" "$(mib "$src_rss_kib")"
printf '%-58s %s MiB\n' "  PSS / private / anonymous" \
	"$(mib "$src_pss_kib") / $(mib "$src_priv_kib") / $(mib "$src_anon_kib")"
printf '%-58s %6s MiB\n' "  of RSS: libcurl and the libraries only it brings" "$(mib "$curl_kib")"
printf '%-58s %6s MiB\n' "  of RSS: the bundle module (bundle.so) and libcrypto" "$(mib "$verify_kib")"
if [ -n "$smbd_line" ]; then
	printf '%-58s %6s MiB\n' "peer: idle Samba smbd (main process) RSS" "$(mib "$smbd_rss")"
	printf '%-58s %s MiB\n' "  PSS / private / anonymous" \
		"$(mib "$smbd_pss") / $(mib "$smbd_priv") / $(mib "$smbd_anon")"
	printf '%-58s %6s MiB\n' "  PSS of all $n idle smbd processes" "$(mib "$tree_pss")"
else
	echo "peer: smbd not installed or did not start: no idle smbd figure"
fi
printf '%-58s %7s ms\n' "peer: Samba's testparm -s on the same smb.conf, once" "$testparm_ms"
