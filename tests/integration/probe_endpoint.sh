#!/usr/bin/env bash
# probe_endpoint: `smbpolicy probe` against smbrefd under matching
# policies.  Each observation equals the policy (dialect range, signing,
# encryption and refusal of unencrypted access, ciphers and their order
# of preference, guest and
# anonymous sessions, the rate limiter's delay), nmap's smb-protocols and
# smb2-security-mode agree, --against the same policy exits 0, and against
# another policy exits 1 naming each differing setting id.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/client_common.inc"
. "$(dirname "$0")/endpoint_common.inc"
echo Secret-1 >"$T/pw"
PROBE_USER=alice

step "signing, min 3.0, encryption required, AES-256-GCM only, 500 ms delay"
cs_policy "$T/strict.xml" server.dialect.min=3.0 server.encryption.required=true \
	server.encryption.ciphers=aes-256-gcm server.auth-rate-limiter.delay-ms=500
ep_start "$T/strict.xml"
PROBE_PORT=$PORT
probe strict
for d in 2.0.2 2.1; do expect strict "j['dialects']['$d']" false; done
for d in 3.0 3.0.2 3.1.1; do expect strict "j['dialects']['$d']" true; done
expect strict "j['signing_required']" true
expect strict "j['encryption_required']" true
expect strict "j['unencrypted_refused']" true
expect strict "j['ciphers']['aes-256-gcm']" true
expect strict "j['ciphers']['aes-128-gcm']" false
expect strict "j['guest_allowed']" false
expect strict "j['anonymous_allowed']" false
delay=$(field strict "j['failed_login_delay_ms']")
[ "$delay" -ge 400 ] && [ "$delay" -le 900 ] || fail "failed-logon delay $delay ms, want about 500"
nmap_agrees strict
against strict-same 0 server.dialect.min=3.0 server.encryption.required=true \
	server.encryption.ciphers=aes-256-gcm server.auth-rate-limiter.delay-ms=500
against strict-other 1 server.dialect.min=3.1.1 server.encryption.ciphers=aes-256-gcm \
	server.auth-rate-limiter.delay-ms=2000
for id in server.dialect.min server.encryption.required server.auth-rate-limiter.delay-ms; do
	grep -q "DIFFERS $id" "$T/strict-other.out" || fail "difference in $id not named"
done

step "cipher preference: the policy's order is what the server picks"
cs_policy "$T/order.xml" server.encryption.ciphers=aes-256-ccm,aes-128-gcm,aes-256-gcm
ep_start "$T/order.xml"
PROBE_PORT=$PORT
probe order
expect order "j['cipher_order']" '["aes-256-ccm", "aes-128-gcm", "aes-256-gcm"]'
expect order "j['ciphers']['aes-128-ccm']" false
against order-same 0 server.encryption.ciphers=aes-256-ccm,aes-128-gcm,aes-256-gcm
against order-other 1 server.encryption.ciphers=aes-128-gcm,aes-256-ccm,aes-256-gcm
grep -q "DIFFERS server.encryption.ciphers" "$T/order-other.out" || fail "cipher order difference not named"

step "open: no signing, guest allowed, max 2.1, no rate limiter"
cs_policy "$T/open.xml" server.signing.required=false server.guest.allowed=true \
	server.dialect.max=2.1 server.auth-rate-limiter.enabled=false client.quic.enabled=false \
	client.dialect.max=2.1
ep_start "$T/open.xml"
PROBE_PORT=$PORT
probe open
for d in 2.0.2 2.1; do expect open "j['dialects']['$d']" true; done
for d in 3.0 3.0.2 3.1.1; do expect open "j['dialects']['$d']" false; done
expect open "j['signing_required']" false
expect open "j['unsigned_refused']" false
expect open "j['encryption_required']" false
expect open "j['anonymous_allowed']" true
nmap_agrees open
against open-same 0 server.signing.required=false server.guest.allowed=true \
	server.dialect.max=2.1 server.auth-rate-limiter.enabled=false client.quic.enabled=false \
	client.dialect.max=2.1
echo "probe_endpoint: ok"
