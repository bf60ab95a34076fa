#!/usr/bin/env bash
# bench/quic.sh - SMB over QUIC against SMB over TCP, same smbrefd, same run
# (Samba 4.17 has no QUIC: the TCP figure of the same endpoint is the
# comparison):
#   1. read throughput of a cached BENCH_QUIC_MB file (256) with the
#      reference client (smbrefc get to /dev/null), SMB 3.1.1 with signing
#      and AES-128-GCM SMB encryption required: over TCP; over QUIC with
#      the client forcing SMB encryption (client.encryption.required, like
#      Windows' ForceSMBEncryptionOverQuic: TLS 1.3 AES-128-GCM under the
#      SMB encryption, encrypted twice); and over QUIC as a client does by
#      default: it offers SMB2_ACCEPT_TRANSPORT_LEVEL_SECURITY, so the same
#      server policy leaves encryption to QUIC's TLS (Windows'
#      DisableSmbEncryptionOnSecureConnection);
#   2. over TCP without any encryption, for reference;
#   3. QUIC handshakes per second (handshake + SMB2 NEGOTIATE, one client
#      after the other, the Go quic-go peer), BENCH_QUIC_HANDSHAKES (300).
# Figures go to stdout; record them in bench/RESULTS.md ("QUIC").
set -euo pipefail
TOP=${TOP:-$(cd "$(dirname "$0")/.." && pwd)}
export SMBPOLICY_BIN=${BIN:-$TOP/build/bin}
MB=${BENCH_QUIC_MB:-256}
N=${BENCH_QUIC_HANDSHAKES:-300}
export TEST_TMP=$(mktemp -d /tmp/smbpolicy-bench-quic.XXXXXX)
# shellcheck source=/dev/null
source "$TOP/tests/integration/lib.sh"
skip() { echo "quic bench skipped: $*"; exit 0; }
# shellcheck source=/dev/null
source "$TOP/tests/integration/quic_lib.bash"
trap 'cleanup_bg; rm -rf "$T"' EXIT
[ -x "$BIN/smbrefc" ] || skip "build $BIN/smbrefc first"
quic_peer_build
quic_certs
dd if=/dev/urandom of="$T/share/big" bs=1M count="$MB" status=none
cat "$T/share/big" >/dev/null # cached
cat >"$T/client.xml" <<X
<?xml version="1.0" encoding="UTF-8"?>
<policy xmlns="urn:smbpolicy:policy:1" name="bench-client">
  <setting id="client.quic.enabled">true</setting>
</policy>
X
sed 's|</policy>|  <setting id="client.encryption.required">true</setting>\n</policy>|' "$T/client.xml" \
	>"$T/client-enc.xml"

# read TRANSPORT LABEL [CLIENT_POLICY]: smbrefc get of the file, MB/s and server CPU s/GiB
read_once() {
	local args=() t0 t1 c0 c1
	[ "$1" = quic ] && args=(--quic) && port=$QPORT || port=$PORT
	c0=$(awk '{print $14 + $15}' "/proc/$EP_PID/stat")
	t0=$(date +%s.%N)
	SMBREFC_QUIC_CA=$PKI/ca.pem "$BIN/smbrefc" "//localhost:$port/share" -I 127.0.0.1 "${args[@]}" --policy "${3:-$T/client.xml}" \
		-U 'alice%Secret-1' get big /dev/null >/dev/null || { echo "$2: get failed"; return 1; }
	t1=$(date +%s.%N)
	c1=$(awk '{print $14 + $15}' "/proc/$EP_PID/stat")
	awk -v mb="$MB" -v t0="$t0" -v t1="$t1" -v c="$((c1 - c0))" -v hz="$(getconf CLK_TCK)" -v l="$2" \
		'BEGIN { s = t1 - t0; printf "  %-44s %7.1f MB/s  (%.2f s; smbrefd CPU %.2f s/GiB)\n", l, mb / s, s, c / hz / (mb / 1024) }'
}

echo "read of a cached ${MB} MiB file with smbrefc, SMB 3.1.1, signing required, one connection:"
quic_policy "$T/enc.xml" server.signing.required=true server.encryption.required=true \
	server.encryption.reject-unencrypted=true
sed -i 's|</policy>|  <setting id="server.encryption.ciphers"><item>aes-128-gcm</item></setting>\n</policy>|' "$T/enc.xml"
quic_start "$T/enc.xml"
read_once tcp "TCP, SMB encryption AES-128-GCM"
read_once quic "QUIC (TLS AES-128-GCM) + SMB encryption" "$T/client-enc.xml"
read_once quic "QUIC, transport-level security (TLS only)"
grep '"event_id":40003,' "$AUDIT" | tail -1 | grep -q '"encryption":"off".*"transport_security":"quic"' ||
	{ echo "the last QUIC session was SMB-encrypted: transport-level security not negotiated"; exit 1; }
kill "$EP_PID"; wait "$EP_PID" 2>/dev/null || true

quic_policy "$T/plain.xml" server.signing.required=true
quic_start "$T/plain.xml"
read_once tcp "TCP, signing only (no encryption at all)"

echo "QUIC handshakes (TLS 1.3 + SMB2 NEGOTIATE), $N one after the other:"
c0=$(awk '{print $14 + $15}' "/proc/$EP_PID/stat")
out=$(quic_peer -count "$N" | tail -1)
c1=$(awk '{print $14 + $15}' "/proc/$EP_PID/stat")
echo "  $out; smbrefd CPU $(awk -v c="$((c1 - c0))" -v hz="$(getconf CLK_TCK)" -v n="$N" 'BEGIN { printf "%.2f", c / hz * 1000 / n }') ms per handshake"
