#!/usr/bin/env bash
# bench/client.sh - issue 7's benchmark: download of a 1 GiB cached file
# from one Samba smbd on loopback, SMB 3.1.1, signing mandatory and
# AES-128-GCM encryption required, to /dev/null-like sinks:
#   ours:   smbrefc get (client.encryption.required; pipelined 1 MiB reads)
#   peer:   smbclient --client-protection=encrypt get
# both in the same run, alternating, BENCH_ROUNDS times; prints the best
# throughput of each and the ratio (target: ours >= 1.0x smbclient).
# Record the figures in bench/RESULTS.md ("Client").
# Environment: BIN (build/bin), TOP; BENCH_SIZE_MB (1024); BENCH_ROUNDS (3).
set -euo pipefail
TOP=${TOP:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${BIN:-$TOP/build/bin}
export SMBPOLICY_SCHEMA_DIR=${SMBPOLICY_SCHEMA_DIR:-$TOP/schema}
SIZE_MB=${BENCH_SIZE_MB:-1024}
ROUNDS=${BENCH_ROUNDS:-3}
for t in smbd smbclient smbpasswd; do
	command -v $t >/dev/null || { echo "client bench: $t missing, skipped"; exit 0; }
done
[ -x "$BIN/smbrefc" ] || { echo "client bench: build $BIN/smbrefc first"; exit 1; }

W=$(mktemp -d /tmp/smbpolicy-bench-client.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT
port=
for _ in $(seq 1 200); do
	port=$((20000 + RANDOM % 12000))
	(exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null || break
done
mkdir -p "$W"/{share,private,lock,state,cache,run,log}
chmod 0755 "$W"
# shellcheck source=/dev/null
source "$TOP/tests/integration/samba_lib.bash"
{
	T=$W samba_global "$port" "$W/run"
	cat <<CONF
	server min protocol = SMB3_11
	server signing = mandatory
	server smb encrypt = required
	server smb3 encryption algorithms = AES-128-GCM
[share]
	path = $W/share
	read only = yes
CONF
} >"$W/smb.conf"
printf 'Bench-1\nBench-1\n' | smbpasswd -c "$W/smb.conf" -a -s root >/dev/null
setsid smbd -F --no-process-group --debug-stdout -d 0 -s "$W/smb.conf" >"$W/smbd.log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom >"$W/share/big.bin"
cat "$W/share/big.bin" >/dev/null # cached
cat >"$W/policy.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<policy xmlns="urn:smbpolicy:policy:1" name="bench-client">
  <setting id="client.encryption.required">true</setting>
  <setting id="client.dialect.min">3.1.1</setting>
  <setting id="client.ports.alternate.allowed">true</setting>
</policy>
XML
: >"$W/client.conf"
# Both write to /dev/null (smbrefc writes devices directly).
secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1 || return 1; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
best_ours=0 best_peer=0
for r in $(seq 1 "$ROUNDS"); do
	t=$(secs "$BIN/smbrefc" --policy "$W/policy.xml" "//127.0.0.1:$port/share" -U root%Bench-1 \
		get big.bin /dev/null) || { echo "smbrefc download failed"; exit 1; }
	ours=$(echo "$SIZE_MB * 1.048576 / $t" | bc -l)
	t=$(secs smbclient -s "$W/client.conf" "//127.0.0.1/share" -p "$port" -U root%Bench-1 \
		--client-protection=encrypt --option='client smb3 encryption algorithms=AES-128-GCM' \
		-c "get big.bin /dev/null") || { echo "smbclient download failed"; exit 1; }
	peer=$(echo "$SIZE_MB * 1.048576 / $t" | bc -l)
	printf 'round %d: smbrefc %.0f MB/s, smbclient %.0f MB/s\n' "$r" "$ours" "$peer"
	(( $(echo "$ours > $best_ours" | bc -l) )) && best_ours=$ours
	(( $(echo "$peer > $best_peer" | bc -l) )) && best_peer=$peer
done
printf 'client: %d MiB, SMB 3.1.1, AES-128-GCM, signing mandatory\n' "$SIZE_MB"
printf 'smbrefc   best %.0f MB/s\nsmbclient best %.0f MB/s\nratio     %.2fx (target >= 1.0x)\n' \
	"$best_ours" "$best_peer" "$(echo "$best_ours / $best_peer" | bc -l)"
