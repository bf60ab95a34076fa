#!/bin/bash
# quic_access.sh - SMB over QUIC client access control
# (server.quic.client-access.required / allow / block) against the
# independent quic-go peer, certificates made here with openssl:
#   allowed by issuer -> NEGOTIATE answered, events 3007 + 1913
#   blocked by SHA-256, blocked by issuer, wrong EKU -> alert 42 (0x12a), 3008
#   no certificate when required -> alert 116 (0x174), 3008
#   a chain its CA did not sign -> alert 42, 3009 (error)
# A refused client never gets an SMB byte: the peer's first stream read
# fails with the CRYPTO_ERROR, and no 1913 event is written for it.  After
# SIGHUP the new lists decide the next handshakes.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/quic_lib.bash"
quic_peer_build
quic_certs
CA_DN="issuer:CN=Example Client CA,O=Example Corp"
EVIL_DN="issuer:CN=Evil CA,O=Evil Inc"
EVE=$(quic_sha256 "$PKI/eve.pem")

# try WHO EXPECT(allowed|CODE): run the peer with WHO's chain ("none": no cert)
try() {
	local who=$1 expect=$2 out args=()
	[ "$who" != none ] && args=(-cert "$PKI/$who.chain.pem" -key "$PKI/$who.key")
	out=$(quic_peer "${args[@]}") && rc=0 || rc=$?
	echo "$who: $out"
	if [ "$expect" = allowed ]; then
		[ $rc -eq 0 ] && grep -q 'negotiate status=0x00000000 dialect=0x0311' <<<"$out" ||
			fail "$who was not served"
	else
		[ $rc -ne 0 ] || fail "$who was served"
		grep -q "transport error $expect" <<<"$out" || fail "$who not refused with $expect"
		grep -q '^negotiate' <<<"$out" && fail "$who got an SMB byte"
	fi
	return 0
}
# last_event ID FIELD-REGEX: the newest event ID matches
last_event() {
	sleep 0.3
	grep "\"event_id\":$1," "$AUDIT" | tail -1 | grep -q -- "$2" ||
		{ tail -3 "$AUDIT" >&2; fail "event $1 does not match $2"; }
}

step "allow by issuer, block eve by SHA-256"
quic_policy "$T/a.xml" server.quic.client-access.required=true \
	"server.quic.client-access.allow=$CA_DN|$EVIL_DN" "server.quic.client-access.block=$EVE"
quic_start "$T/a.xml"
try alice allowed
last_event 3007 '"matched":"issuer:CN=Example Client CA,O=Example Corp".*"cert0_subject":"CN=alice,O=Example Corp".*"cert0_sha1":"[0-9a-f]\{40\}".*"cert0_sha256":"[0-9a-f]\{64\}".*"cert1_subject":"CN=Example Client CA'
cid=$(grep '"event_id":3007,' "$AUDIT" | tail -1 | sed 's/.*"connection_id":"\([0-9a-f]*\)".*/\1/')
grep '"event_id":1913,' "$AUDIT" | grep -q "\"connection_id\":\"$cid\".*\"client_access\":\"allowed\"" ||
	fail "no 1913 event for the allowed connection $cid"
try eve 0x12a
last_event 3008 "\"reason\":\"a block entry matches the client chain\",\"matched\":\"$EVE\".*\"cert0_serial\":\"[0-9A-F]*\""
try noeku 0x12a
last_event 3008 '"reason":"client certificate lacks EKU clientAuth"'
try none 0x174
last_event 3008 '"reason":"no client certificate".*"chain_length":"0"'
# a chain whose CA did not sign the leaf: an error (3009), which denies
cat "$PKI/alice.pem" "$PKI/evil.pem" >"$PKI/mixed.chain.pem"
cp "$PKI/alice.key" "$PKI/mixed.key"
try mixed 0x12a
last_event 3009 '"reason":"client chain is not signed in order"'
[ "$(quic_events 1913)" -eq 1 ] || fail "a refused client got a 1913 (connection) event"
kill "$EP_PID"; wait "$EP_PID" 2>/dev/null || true

step "block by issuer wins over an allow by SHA-256"
quic_policy "$T/b.xml" server.quic.client-access.required=true \
	"server.quic.client-access.allow=$EVE|$CA_DN" "server.quic.client-access.block=$EVIL_DN"
quic_start "$T/b.xml"
try eve 0x12a
last_event 3008 '"matched":"issuer:CN=Evil CA,O=Evil Inc"'
try alice allowed

step "SIGHUP: new lists apply to the next handshake"
quic_policy "$T/b.xml" server.quic.client-access.required=true \
	"server.quic.client-access.allow=$EVIL_DN" "server.quic.client-access.block=$CA_DN"
kill -HUP "$EP_PID"
for _ in $(seq 1 50); do grep -q reloaded "$EP_LOG" && break; sleep 0.1; done
grep -q reloaded "$EP_LOG" || fail "smbrefd did not reload"
try alice 0x12a
try eve allowed
kill "$EP_PID"; wait "$EP_PID" 2>/dev/null || true

step "not required: no certificate asked, everyone served"
quic_policy "$T/c.xml"
quic_start "$T/c.xml"
try none allowed
[ "$(quic_events 3008)" -eq 0 ] || fail "access events without client access control"
echo PASS
