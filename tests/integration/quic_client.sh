#!/bin/bash
# quic_client.sh - the reference client (smbrefc --quic) against smbrefd
# over QUIC: ls, put/get of 5 MB with a checksum; the client policy:
# client.quic.enabled=false and a client.quic.servers list without the
# server refuse (naming the setting), client.audit.quic writes event 30832
# (TLS 1.3, ALPN smb, server certificate SHA-256); with server client
# access control, the client's certificate (SMBREFC_QUIC_CERT/_KEY) is
# what gets it in.  The client verifies the server's certificate (system
# trust or SMBREFC_QUIC_CA, host name) unless SMBREFC_QUIC_INSECURE=1.
# Transport-level security: with server.encryption.required
# and reject-unencrypted, the client offers SMB2_ACCEPT_TRANSPORT_LEVEL_SECURITY
# over QUIC, so the session is not SMB-encrypted inside QUIC (session event
# 40003: encryption off, transport_security quic) while the same client over
# TCP is encrypted.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/quic_lib.bash"
quic_certs
client_policy() { # FILE ID=VALUE...
	local file=$1; shift
	{
		echo '<?xml version="1.0" encoding="UTF-8"?>'
		echo '<policy xmlns="urn:smbpolicy:policy:1" name="client">'
		local kv
		for kv in "$@"; do
			if [[ ${kv%%=*} == *.servers ]]; then
				printf '  <setting id="%s"><item>%s</item></setting>\n' "${kv%%=*}" "${kv#*=}"
			else
				printf '  <setting id="%s">%s</setting>\n' "${kv%%=*}" "${kv#*=}"
			fi
		done
		echo '</policy>'
	} >"$file"
}
smbrefc() { # the test CA: the client verifies the server's certificate
	SMBREFC_QUIC_CA=$PKI/ca.pem timeout 60 "$BIN/smbrefc" "//localhost:$QPORT/share" -I 127.0.0.1 --quic -U 'alice%Secret-1' "$@"
}

quic_policy "$T/server.xml"
quic_start "$T/server.xml"
client_policy "$T/c.xml" client.quic.enabled=true client.audit.quic=true

step "put, get, ls over QUIC"
head -c 5000000 /dev/urandom >"$T/big"
smbrefc --policy "$T/c.xml" --audit-log "$T/client-audit.json" put "$T/big" big || fail "put over QUIC"
smbrefc --policy "$T/c.xml" get big "$T/big.back" || fail "get over QUIC"
[ "$(sha256sum <"$T/big")" = "$(sha256sum <"$T/big.back")" ] || fail "checksum differs after the round trip"
out=$(smbrefc --policy "$T/c.xml" ls) || fail "ls over QUIC"
grep -q $'big\t5000000' <<<"$out" || fail "ls over QUIC does not show the file: $out"

step "client.audit.quic: event 30832"
grep '"event_id":30832,' "$T/client-audit.json" |
	grep -q '"tls_version":"TLS1.3".*"alpn":"smb","server_cert_sha256":"[0-9a-f]\{64\}"' ||
	{ cat "$T/client-audit.json" >&2; fail "no 30832 event with TLS 1.3, ALPN smb and the server certificate"; }
server_sha=$(quic_sha256 "$PKI/server.pem")
grep -q "\"server_cert_sha256\":\"${server_sha#sha256:}\"" "$T/client-audit.json" ||
	fail "30832 names another server certificate"

step "the server certificate is verified: chain (system trust, or the CA given) and host name"
plain() { timeout 60 "$BIN/smbrefc" "//${1}:$QPORT/share" -I 127.0.0.1 --quic -U 'alice%Secret-1' --policy "$T/c.xml" ls; }
out=$(unset SMBREFC_QUIC_CA; plain localhost 2>&1) && fail "a server outside the system trust was accepted: $out"
echo "$out"
grep -q 'connect: Key was rejected' <<<"$out" || fail "no clear refusal of an untrusted server: $out"
out=$(SMBREFC_QUIC_CA=$PKI/evil.pem plain localhost 2>&1) && fail "a server from another CA was accepted: $out"
out=$(SMBREFC_QUIC_CA=$PKI/ca.pem plain otherhost 2>&1) && fail "a certificate for another name was accepted: $out"
echo "$out"
SMBREFC_QUIC_CA=$PKI/ca.pem plain localhost >/dev/null || fail "the right CA and name were refused"
(unset SMBREFC_QUIC_CA; SMBREFC_QUIC_INSECURE=1 plain localhost >/dev/null) || fail "the explicit opt-out did not connect"

step "client.quic.enabled=false and client.quic.servers refuse"
client_policy "$T/off.xml" client.quic.enabled=false
out=$(smbrefc --policy "$T/off.xml" ls 2>&1) && fail "served with QUIC disabled: $out"
echo "$out"
grep -q 'client.quic.enabled' <<<"$out" || fail "refusal does not name client.quic.enabled"
client_policy "$T/list.xml" client.quic.enabled=true client.quic.servers=fs-other.example.com
out=$(smbrefc --policy "$T/list.xml" ls 2>&1) && fail "served although not listed: $out"
echo "$out"
grep -q 'client.quic.servers' <<<"$out" || fail "refusal does not name client.quic.servers"
client_policy "$T/listed.xml" client.quic.enabled=true client.quic.servers=localhost
smbrefc --policy "$T/listed.xml" ls >/dev/null || fail "a listed server was refused"
kill "$EP_PID"; wait "$EP_PID" 2>/dev/null || true

step "transport-level security: no SMB encryption inside QUIC, encryption over TCP"
quic_policy "$T/enc.xml" server.encryption.required=true server.encryption.reject-unencrypted=true
quic_start "$T/enc.xml"
smbrefc --policy "$T/c.xml" put "$T/big" big-enc || fail "put over QUIC with encryption required"
smbrefc --policy "$T/c.xml" get big-enc "$T/big-enc.back" || fail "get over QUIC with encryption required"
cmp -s "$T/big" "$T/big-enc.back" || fail "checksum differs over QUIC with encryption required"
timeout 60 "$BIN/smbrefc" "//localhost:$PORT/share" -I 127.0.0.1 -U 'alice%Secret-1' --policy "$T/c.xml" ls \
	>/dev/null || fail "ls over TCP"
sleep 0.3
sessions=$(grep '"event_id":40003,' "$AUDIT")
echo "$sessions"
[ "$(grep -c '"encryption":"off".*"transport_security":"quic"' <<<"$sessions")" -eq 2 ] ||
	fail "QUIC sessions are not left to QUIC's TLS"
[ "$(grep -c '"encryption":"AES-[0-9]*-[GC]CM".*"transport_security":"off"' <<<"$sessions")" -eq 1 ] ||
	fail "the TCP session is not SMB-encrypted"
kill "$EP_PID"; wait "$EP_PID" 2>/dev/null || true

step "server client access control: the client certificate gets in"
quic_policy "$T/acl.xml" server.quic.client-access.required=true \
	"server.quic.client-access.allow=issuer:CN=Example Client CA,O=Example Corp"
quic_start "$T/acl.xml"
out=$(smbrefc --policy "$T/c.xml" ls 2>&1) && fail "served without a client certificate: $out"
echo "$out"
grep -q 'connect: Connection refused' <<<"$out" || fail "the refusal does not show at connect (before any SMB byte)"
out=$(SMBREFC_QUIC_CERT=$PKI/alice.chain.pem SMBREFC_QUIC_KEY=$PKI/alice.key smbrefc --policy "$T/c.xml" ls) ||
	fail "alice's certificate was not let in"
grep -q 'big' <<<"$out" || fail "alice's listing lacks the file: $out"
out=$(SMBREFC_QUIC_CERT=$PKI/noeku.chain.pem SMBREFC_QUIC_KEY=$PKI/noeku.key smbrefc --policy "$T/c.xml" ls 2>&1) &&
	fail "a certificate without clientAuth got in: $out"
sleep 0.3
[ "$(quic_events 3007)" -eq 1 ] && [ "$(quic_events 3008)" -eq 2 ] || fail "server events 3007/3008 do not match"
echo PASS
