# demo: SMB over QUIC with client certificates
#
# Starts smbrefd with SMB over QUIC on a loopback UDP port (TLS 1.3, ALPN
# "smb", a server certificate made here), client access control on: the
# allow list names the demo client CA by issuer, the block list one client
# certificate by SHA-256.  An independent client (Go, quic-go: tests/quic-peer)
# connects three times: with the allowed certificate (served: SMB2 NEGOTIATE
# 3.1.1 answered over stream 0), with the blocked one and with none (both
# closed in the TLS handshake, before any SMB byte).  Prints the audit
# events 3007/3008/1913 and appends them to $DEMO/audit.jsonl for the
# report part.  Skipped (with a note) when Go or quic-go is missing.
# Needs: $BIN, $TOP, $DEMO (set by scripts/demo).
set -euo pipefail
export TEST_TMP=$DEMO/quic SMBPOLICY_BIN=$BIN
# shellcheck source=/dev/null
source "$TOP/tests/integration/lib.sh"
trap - EXIT # smbrefd is stopped by scripts/demo (its pid goes to $DEMO/pids)
skip() { echo "(QUIC part skipped: $*)"; exit 0; }
# shellcheck source=/dev/null
source "$TOP/tests/integration/quic_lib.bash"
echo "building the independent QUIC client (Go, Debian's quic-go)..."
quic_peer_build
quic_certs
blocked=$(quic_sha256 "$PKI/eve.pem")
quic_policy "$T/quic-policy.xml" server.quic.client-access.required=true \
	"server.quic.client-access.allow=issuer:CN=Example Client CA,O=Example Corp|issuer:CN=Evil CA,O=Evil Inc" \
	"server.quic.client-access.block=$blocked"
echo "policy: $T/quic-policy.xml"
grep 'quic' "$T/quic-policy.xml" | sed 's/^/    /'
quic_start "$T/quic-policy.xml" --host fs1
echo "$EP_PID" >>"$DEMO/pids"
sed 's/^/    /' "$EP_LOG"

try() {
	echo
	echo "--- $1"
	shift
	echo "\$ quic-peer -addr 127.0.0.1:$QPORT $*"
	quic_peer "$@" 2>&1 | sed 's/^/    /' || true
}
try "alice (issued by the allowed CA): served" -cert "$PKI/alice.chain.pem" -key "$PKI/alice.key"
try "eve (certificate blocked by SHA-256): closed in the handshake (alert 42)" \
	-cert "$PKI/eve.chain.pem" -key "$PKI/eve.key"
try "no certificate: closed in the handshake (alert 116)"
sleep 0.3
echo
echo "--- audit events ($AUDIT)"
sed 's/^/    /' "$AUDIT"
cat "$AUDIT" >>"$DEMO/audit.jsonl"
