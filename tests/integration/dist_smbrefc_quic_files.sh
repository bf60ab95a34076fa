#!/bin/bash
# dist_smbrefc_quic_files.sh - smbrefc --quic-cert/--quic-key/--quic-ca:
# against smbrefd with QUIC client access control (issuer allow list), the
# client certificate given by option gets in, none or a refused one does
# not; --quic-ca with the right CA accepts the server, with another CA the
# handshake fails; an option wins over SMBREFC_QUIC_* (the fallback).
# Certificates and the server come from quic_lib.bash.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/quic_lib.bash"
unset SMBREFC_QUIC_CERT SMBREFC_QUIC_KEY
export SMBREFC_QUIC_CA=$PKI/ca.pem # the server is verified by default; --quic-ca overrides this
quic_certs
smbrefc() {
	timeout 60 "$BIN/smbrefc" "//localhost:$QPORT/share" -I 127.0.0.1 --quic -U 'alice%Secret-1' \
		--policy "$T/c.xml" "$@"
}
cat >"$T/c.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<policy xmlns="urn:smbpolicy:policy:1" name="client">
  <setting id="client.quic.enabled">true</setting>
</policy>
XML
echo hello >"$T/share/f"
quic_policy "$T/acl.xml" server.quic.client-access.required=true \
	"server.quic.client-access.allow=issuer:CN=Example Client CA,O=Example Corp"
quic_start "$T/acl.xml"

step "no client certificate: refused"
out=$(smbrefc ls 2>&1) && fail "served without a client certificate: $out"

step "--quic-cert/--quic-key: alice gets in"
out=$(smbrefc --quic-cert "$PKI/alice.chain.pem" --quic-key "$PKI/alice.key" ls) ||
	fail "alice's certificate given by option was not let in"
grep -q '^f' <<<"$out" || fail "listing lacks the file: $out"

step "--quic-cert with a certificate from another CA: refused"
out=$(smbrefc --quic-cert "$PKI/eve.chain.pem" --quic-key "$PKI/eve.key" ls 2>&1) &&
	fail "eve's certificate got in: $out"

step "an option wins over SMBREFC_QUIC_CERT/_KEY"
out=$(SMBREFC_QUIC_CERT=$PKI/eve.chain.pem SMBREFC_QUIC_KEY=$PKI/eve.key \
	smbrefc --quic-cert "$PKI/alice.chain.pem" --quic-key "$PKI/alice.key" ls) ||
	fail "the options did not override the environment"
out=$(SMBREFC_QUIC_CERT=$PKI/alice.chain.pem SMBREFC_QUIC_KEY=$PKI/alice.key smbrefc ls) ||
	fail "the environment is no longer the fallback"

step "--quic-ca: the server's CA accepts it, another CA does not"
smbrefc --quic-cert "$PKI/alice.chain.pem" --quic-key "$PKI/alice.key" --quic-ca "$PKI/ca.pem" ls >/dev/null ||
	fail "--quic-ca with the server's CA refused the server"
out=$(smbrefc --quic-cert "$PKI/alice.chain.pem" --quic-key "$PKI/alice.key" --quic-ca "$PKI/evil.pem" ls 2>&1) &&
	fail "--quic-ca with another CA accepted the server: $out"
echo "$out"

step "--help names the options"
help=$("$BIN/smbrefc" --help)
for o in --quic-cert --quic-key --quic-ca; do
	grep -q -- "$o FILE" <<<"$help" || fail "--help lacks $o"
done
echo PASS
