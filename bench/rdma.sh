#!/usr/bin/env bash
# bench/rdma.sh - issue 8's SMB Direct figures: one smbrefd serving
# tcp:127.0.0.1 and rdma:127.0.0.1 (--rdma-provider tcp: libfabric's
# software RDMA over sockets, this machine has no RDMA NIC), SMB 3.1.1,
# signing required, no encryption (SMB Direct RDMA carries data in clear,
# so the client only uses RDMA channels on unencrypted sessions); a cached
# 1 GiB file read to /dev/null, in the same run, alternating:
#   tcp:        smbrefc over TCP (pipelined 1 MiB READs)
#   rdma:       smbrefc --rdma --rdma-provider tcp (every READ by RDMA write
#               of the server into the client's registered buffer, 1 MiB =
#               MaxReadWriteSize)
#   rdma-send:  smbclient through bench_smbdirect --proxy --rdma-provider
#               tcp (SMB Direct send/receive only: no RDMA channels)
# BENCH_ROUNDS times; prints each round, the best of each and smbrefd's
# CPU seconds per GiB for each.  Record the figures in
# bench/RESULTS.md ("SMB Direct").
# Environment: BIN (build/bin), TOP; BENCH_SIZE_MB (1024); BENCH_ROUNDS (3).
set -euo pipefail
TOP=${TOP:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${BIN:-$TOP/build/bin}
export SMBPOLICY_SCHEMA_DIR=${SMBPOLICY_SCHEMA_DIR:-$TOP/schema}
SIZE_MB=${BENCH_SIZE_MB:-1024}
ROUNDS=${BENCH_ROUNDS:-3}
PROXY=$(dirname "$BIN")/bench/bench_smbdirect
for t in "$BIN/smbrefd" "$BIN/smbrefc" "$PROXY"; do
	[ -x "$t" ] || { echo "rdma bench: build $t first"; exit 1; }
done
command -v smbclient >/dev/null || { echo "rdma bench: smbclient missing, skipped"; exit 0; }

# scratch dir $T, free_port, wait_port, start_bg (stopped at exit): the tests' lib.sh
export TEST_TMP=$(mktemp -d /tmp/smbpolicy-bench-rdma.XXXXXX) SMBPOLICY_BIN=$BIN
# shellcheck source=/dev/null
source "$TOP/tests/integration/lib.sh"
trap 'cleanup_bg; rm -rf "$T"' EXIT
W=$T
tport=$(free_port) rport=$(free_port) pport=$(free_port)
mkdir -p "$W/share"
printf 'bench:Bench-1\n' >"$W/users"
cat >"$W/server.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<policy xmlns="urn:smbpolicy:policy:1" name="bench-rdma">
  <setting id="server.transport.rdma.enabled">true</setting>
  <setting id="server.signing.required">true</setting>
  <setting id="server.dialect.min">3.1.1</setting>
</policy>
XML
cat >"$W/client.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<policy xmlns="urn:smbpolicy:policy:1" name="bench-rdma-client">
  <setting id="client.ports.alternate.allowed">true</setting>
  <setting id="client.dialect.min">3.1.1</setting>
</policy>
XML
start_bg "$W/smbrefd.log" "$BIN/smbrefd" --policy "$W/server.xml" --listen "tcp:127.0.0.1:$tport" \
	--listen "rdma:127.0.0.1:$rport" --rdma-provider tcp --share "share=$W/share" --users "$W/users"
srv=$BG_PID
for _ in $(seq 1 300); do grep -q "listening on rdma:127.0.0.1:$rport" "$W/smbrefd.log" && break; sleep 0.1; done
if grep -q "no RDMA device" "$W/smbrefd.log"; then
	echo "rdma bench: libfabric has no tcp provider, skipped"
	exit 0
fi
grep -q "listening on rdma:127.0.0.1:$rport" "$W/smbrefd.log" || { cat "$W/smbrefd.log"; exit 1; }
start_bg "$W/proxy.log" "$PROXY" --proxy "$pport" "$rport" --rdma-provider tcp
wait_port "$pport" 30
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom >"$W/share/big.bin"
cat "$W/share/big.bin" >/dev/null # cached

secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1 || return 1; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
C=("$BIN/smbrefc" --policy "$W/client.xml" -U bench%Bench-1)
declare -A best=([tcp]=0 [rdma]=0 [rdma-send]=0) cpu=([tcp]=0 [rdma]=0 [rdma-send]=0)
srv_ticks() { awk '{print $14 + $15}' "/proc/$srv/stat"; }
run() { # name cmd...
	local name=$1 t mbs c0; shift
	c0=$(srv_ticks)
	t=$(secs "$@") || { echo "rdma bench: $name download failed"; exit 1; }
	cpu[$name]=$((${cpu[$name]} + $(srv_ticks) - c0))
	mbs=$(echo "$SIZE_MB * 1.048576 / $t" | bc -l)
	(( $(echo "$mbs > ${best[$name]}" | bc -l) )) && best[$name]=$mbs
	printf ' %s %.0f MB/s' "$name" "$mbs"
}
for r in $(seq 1 "$ROUNDS"); do
	printf 'round %d:' "$r"
	run tcp "${C[@]}" "//127.0.0.1:$tport/share" get big.bin /dev/null
	run rdma "${C[@]}" --rdma --rdma-provider tcp "//127.0.0.1:$rport/share" get big.bin /dev/null
	run rdma-send smbclient //127.0.0.1/share -p "$pport" -U bench%Bench-1 -c "get big.bin /dev/null"
	echo
done
"${C[@]}" --rdma --rdma-provider tcp -v "//127.0.0.1:$rport/share" get big.bin /dev/null 2>&1 >/dev/null |
	grep "^smbrefc: " || true
printf 'rdma: %d MiB read, SMB 3.1.1, signing required, no encryption, libfabric tcp provider\n' "$SIZE_MB"
for n in tcp rdma rdma-send; do
	printf '%-10s best %4.0f MB/s, smbrefd CPU %.2f s per GiB\n' "$n" "${best[$n]}" \
		"$(echo "${cpu[$n]} / $(getconf CLK_TCK) / ($ROUNDS * $SIZE_MB / 1024)" | bc -l)"
done
