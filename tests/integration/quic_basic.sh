#!/bin/bash
# quic_basic.sh - smbrefd serves SMB over QUIC to an independent peer (Go,
# quic-go): TLS 1.3, ALPN "smb", an SMB2 NEGOTIATE on stream 0 answered
# with dialect 3.1.1 through the usual dispatcher, audit event 1913; a
# NEGOTIATE offering only 3.0 is refused over QUIC (3.1.1 only) with the
# dialect-refused event 40002, though the policy allows 3.0; a
# wrong ALPN is refused with TLS alert 120 (CRYPTO_ERROR 0x178); an
# unknown QUIC version gets a Version Negotiation packet; server
# certificates that are too weak or lack EKU serverAuth are refused at
# start with a clear error (after SIGHUP: the old one stays in force, a
# good new one serves new connections); QUIC disabled by policy answers
# nobody.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/quic_lib.bash"
quic_peer_build
quic_certs

step "handshake and NEGOTIATE over QUIC"
quic_policy "$T/p.xml"
quic_start "$T/p.xml"
out=$(quic_peer) || fail "peer refused: $out"
echo "$out"
grep -q '^tls=TLS1.3 .*alpn=smb$' <<<"$out" || fail "not TLS 1.3 with ALPN smb"
grep -q '^negotiate status=0x00000000 dialect=0x0311$' <<<"$out" || fail "no 3.1.1 NEGOTIATE response"
sleep 0.3
[ "$(quic_events 1913)" -ge 1 ] || fail "no audit event 1913"
grep '"event_id":1913' "$AUDIT" | grep -q '"tls_version":"TLS1.3".*"alpn":"smb"' || fail "1913 lacks TLS version/ALPN"

step "a NEGOTIATE without 3.1.1 is refused over QUIC (SMB over QUIC is 3.1.1 only)"
out=$(quic_peer -dialect 0x0300) || fail "peer refused at the QUIC level: $out"
echo "$out"
grep -q '^negotiate status=0xc00000bb dialect=' <<<"$out" || fail "a 3.0-only NEGOTIATE over QUIC was not refused"
sleep 0.3
grep '"event_id":40002,' "$AUDIT" | grep -q '"offered":"0x0300"' || fail "no dialect-refused event 40002 for it"

step "SIGHUP with another certificate: new connections get it; a bad one keeps the old"
grep -q "^server_cert_sha256=$(quic_sha256 "$PKI/server.pem" | cut -d: -f2)$" <<<"$out" ||
	fail "peer did not see the server certificate"
_quic_leaf server2 ca "/CN=localhost" serverAuth
sed "s|$PKI/server\.|$PKI/server2.|g" "$T/p.xml" >"$T/p2.xml" && mv "$T/p2.xml" "$T/p.xml"
kill -HUP "$EP_PID"
sleep 0.5
out=$(quic_peer) || fail "peer refused after the certificate change: $out"
grep -q "^server_cert_sha256=$(quic_sha256 "$PKI/server2.pem" | cut -d: -f2)$" <<<"$out" ||
	fail "new connections do not get the new certificate: $out"
sed "s|$PKI/server2\.pem|$PKI/alice.pem|; s|$PKI/server2\.key|$PKI/alice.key|" "$T/p.xml" >"$T/p3.xml"
cp "$T/p3.xml" "$T/p.xml"
kill -HUP "$EP_PID"
sleep 0.5
out=$(quic_peer) || fail "peer refused after a bad certificate change: $out"
grep -q "^server_cert_sha256=$(quic_sha256 "$PKI/server2.pem" | cut -d: -f2)$" <<<"$out" ||
	fail "a refused certificate replaced the good one"
grep -q "lacks EKU serverAuth" "$EP_LOG" && grep -q "QUIC keeps serving $PKI/server2.pem" "$EP_LOG" ||
	fail "no clear message about the refused certificate"

step "wrong ALPN is refused with alert 120"
out=$(quic_peer -alpn h3) && fail "h3 accepted: $out"
echo "$out"
grep -q 'transport error 0x178' <<<"$out" || fail "wrong ALPN not refused with CRYPTO_ERROR 0x178 (alert 120)"

step "an unknown QUIC version gets a Version Negotiation listing version 1"
vn=$(python3 - "$QPORT" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
dcid, scid = bytes(range(8)), bytes(range(8, 16))
pkt = bytes([0xc0]) + struct.pack(">I", 0x1a2a3a4a) + bytes([8]) + dcid + bytes([8]) + scid
s.sendto(pkt + bytes(1200 - len(pkt)), ("127.0.0.1", int(sys.argv[1])))
d = s.recv(2048)
ver = struct.unpack(">I", d[1:5])[0]
dl = d[5]; rd = d[6:6 + dl]; sl = d[6 + dl]; rs = d[7 + dl:7 + dl + sl]
vs = [struct.unpack(">I", d[i:i + 4])[0] for i in range(7 + dl + sl, len(d), 4)]
print("vn" if ver == 0 and rd == scid and rs == dcid else "bad", " ".join("%x" % v for v in vs))
PY
) || fail "no answer to an unknown QUIC version"
echo "$vn"
[ "$vn" = "vn 1" ] || fail "not a Version Negotiation for version 1: $vn"

step "TCP still works beside QUIC"
timeout 60 smbclient //127.0.0.1/share -p "$PORT" -U 'alice%Secret-1' -c ls >/dev/null ||
	fail "smbclient over TCP failed while QUIC listens"
kill "$EP_PID"; wait "$EP_PID" 2>/dev/null || true

step "QUIC disabled by policy: nobody is answered"
quic_policy "$T/off.xml"
sed -i 's|<setting id="server.transport.quic.enabled">true|<setting id="server.transport.quic.enabled">false|' "$T/off.xml"
quic_start "$T/off.xml"
out=$(quic_peer) && fail "QUIC answered while disabled: $out"
echo "$out"
kill "$EP_PID"; wait "$EP_PID" 2>/dev/null || true

step "server certificates smbrefd must refuse"
openssl req -x509 -newkey rsa:1024 -nodes -days 2 -subj /CN=localhost -addext extendedKeyUsage=serverAuth \
	-keyout "$PKI/weak.key" -out "$PKI/weak.pem" 2>/dev/null
for bad in "weak:RSA key shorter than 2048 bits" "alice:lacks EKU serverAuth"; do
	name=${bad%%:*} why=${bad#*:}
	quic_policy "$T/bad.xml"
	sed -i "s|$PKI/server.pem|$PKI/$name.pem|; s|$PKI/server.key|$PKI/$name.key|" "$T/bad.xml"
	if timeout 20 "$BIN/smbrefd" --policy "$T/bad.xml" --listen "quic:127.0.0.1:$(free_port)" \
		--share "share=$T/share" --users "$T/users" >"$T/bad.log" 2>&1; then
		fail "smbrefd served QUIC with the $name certificate"
	fi
	cat "$T/bad.log"
	grep -q "server.quic.certificate .*refused: .*$why" "$T/bad.log" || fail "no clear error for $name"
done
echo PASS
