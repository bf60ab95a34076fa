#!/bin/bash
# quic_tshark.sh - a capture of SMB over QUIC is opaque without keys and
# shows the decrypted SMB2 NEGOTIATE request and response once tshark has
# the TLS key log: once from the quic-go peer's key log, once from the one
# smbrefd's GnuTLS writes by itself (SSLKEYLOGFILE).
#   tshark -o tls.keylog_file:F -d udp.port==PORT,quic -Y smb2
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/quic_lib.bash"
command -v tshark >/dev/null || skip "tshark not installed"
quic_peer_build
quic_certs
quic_policy "$T/p.xml"
SSLKEYLOGFILE=$T/server-keys quic_start "$T/p.xml"

cap=$T/quic.pcapng
start_bg "$T/tshark.log" tshark -i lo -f "udp port $QPORT" -w "$cap"
TSHARK_PID=$BG_PID
for _ in $(seq 1 100); do
	grep -q "Capture started" "$T/tshark.log" 2>/dev/null && break
	sleep 0.1
done
sleep 0.5 # the message comes a little before packets are taken: the Initial must be in
quic_peer -keylog "$T/client-keys" || fail "peer refused"
sleep 1
kill "$TSHARK_PID"; wait "$TSHARK_PID" 2>/dev/null || true

decode() { tshark -r "$cap" -o "tls.keylog_file:$1" -d "udp.port==$QPORT,quic" -Y smb2 2>/dev/null; }
n=$(decode /dev/null | wc -l)
echo "SMB2 packets without keys: $n"
[ "$n" -eq 0 ] || fail "SMB2 visible without the key log"
for keys in client-keys server-keys; do
	[ -s "$T/$keys" ] || fail "no key log $keys written"
	out=$(decode "$T/$keys")
	echo "with $keys:"
	echo "$out"
	grep -q "Negotiate Protocol Request" <<<"$out" || fail "no decrypted NEGOTIATE request with $keys"
	grep -q "Negotiate Protocol Response" <<<"$out" || fail "no decrypted NEGOTIATE response with $keys"
done
detail=$(tshark -r "$cap" -o "tls.keylog_file:$T/client-keys" -d "udp.port==$QPORT,quic" -V -Y smb2 2>/dev/null)
[ "$(grep -c "Dialect: SMB 3.1.1" <<<"$detail")" -ge 2 ] || fail "decrypted request and response do not show dialect 3.1.1"
echo PASS
