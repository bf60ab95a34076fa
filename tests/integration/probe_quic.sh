#!/usr/bin/env bash
# probe_quic: `smbpolicy probe --quic-port` against smbrefd serving SMB
# over QUIC: the handshake is measured (TLS 1.3, ALPN "smb"), a server
# without client access control serves SMB 3.1.1 over it, one with
# server.quic.client-access.required refuses the probe's handshake (it has
# no client certificate), and --against names server.transport.quic.enabled and
# server.quic.client-access.required where the policy says otherwise.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/client_common.inc"
. "$(dirname "$0")/quic_lib.bash"
quic_certs
mkdir -p "$T/share"
printf 'alice:Secret-1\n' >"$T/users"
echo Secret-1 >"$T/pw"
PROBE_USER=alice
unset SMBREFC_QUIC_CERT SMBREFC_QUIC_KEY SMBREFC_QUIC_CA
probe_q() { # NAME POLICY-FOR-AGAINST: JSON probe incl. QUIC, and --against
	"$BIN/smbpolicy" probe "//127.0.0.1:$PORT/share" --user alice --password-file "$T/pw" \
		--quic-port "$QPORT" --json >"$T/$1.json" || fail "probe $1 failed"
	cat "$T/$1.json"
}

step "QUIC without client access control"
quic_policy "$T/open.xml"
quic_start "$T/open.xml"
probe_q open
expect open "j['quic']" true
expect open "j['quic_tls_version']" '"TLS1.3"'
expect open "j['quic_alpn']" '"smb"'
expect open "j['quic_client_cert_required']" false
rc=0; "$BIN/smbpolicy" probe "//127.0.0.1:$PORT/share" --user alice --password-file "$T/pw" \
	--quic-port "$QPORT" --against "$T/open.xml" >"$T/open.out" 2>&1 || rc=$?
cat "$T/open.out"
[ "$rc" = 0 ] || fail "--against the serving policy: exit $rc"
kill "$EP_PID"; wait "$EP_PID" 2>/dev/null || true

step "QUIC with server.quic.client-access.required: the probe (no certificate) is refused"
quic_policy "$T/acl.xml" server.quic.client-access.required=true \
	"server.quic.client-access.allow=issuer:CN=Example Client CA,O=Example Corp"
quic_start "$T/acl.xml"
probe_q acl
expect acl "j['quic']" true
expect acl "j['quic_client_cert_required']" true
rc=0; "$BIN/smbpolicy" probe "//127.0.0.1:$PORT/share" --user alice --password-file "$T/pw" \
	--quic-port "$QPORT" --against "$T/open.xml" >"$T/acl.out" 2>&1 || rc=$?
cat "$T/acl.out"
[ "$rc" = 1 ] && grep -q "DIFFERS server.quic.client-access.required" "$T/acl.out" ||
	fail "client access control not named (exit $rc)"
kill "$EP_PID"; wait "$EP_PID" 2>/dev/null || true

step "no QUIC listener: the probe says so and --against names server.transport.quic.enabled"
quic_start "$T/open.xml"
QPORT=$(free_port)
rc=0; "$BIN/smbpolicy" probe "//127.0.0.1:$PORT/share" --quic-port "$QPORT" --against "$T/open.xml" \
	>"$T/none.out" 2>&1 || rc=$?
cat "$T/none.out"
[ "$rc" = 1 ] && grep -q "DIFFERS server.transport.quic.enabled" "$T/none.out" ||
	fail "missing QUIC not named (exit $rc)"
echo "probe_quic: ok"
