#!/usr/bin/env bash
# endpoint_refusals: smbrefd refuses what the policy forbids, with an audit
# event for each: a client whose max dialect is below server.dialect.min;
# guest/anonymous (-N) while signing is required; a client that cannot
# encrypt when encryption is required with reject-unencrypted; a wrong
# password, answered only after server.auth-rate-limiter.delay-ms while a
# right password from another client at the same time is not slowed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/endpoint_common.inc"
command -v smbclient >/dev/null || skip "smbclient not installed"

ms() { echo $(($(date +%s%N) / 1000000)); }

ep_policy "$T/p.xml" refusals server.signing.required=true server.dialect.min=2.1 \
	server.dialect.max=3.1.1 server.encryption.required=true \
	server.encryption.reject-unencrypted=true server.auth-rate-limiter.enabled=true \
	server.auth-rate-limiter.delay-ms=3000 server.audit.client-no-encryption=true
ep_start "$T/p.xml"

step "max dialect below the minimum"
out=$(ep_smbclient -U alice%Secret-1 --option='client max protocol=SMB2_02' -c ls 2>&1) &&
	fail "2.0.2-only client was served"
echo "$out"
echo "$out" | grep -q NT_STATUS_NOT_SUPPORTED || fail "want NOT_SUPPORTED"
[ "$(ep_events dialect-refused)" -ge 1 ] || fail "no dialect-refused event"

step "guest / anonymous (-N) while signing is required"
out=$(ep_smbclient -N -c ls 2>&1) && fail "anonymous client was served"
echo "$out"
echo "$out" | grep -q "NT_STATUS_ACCESS_DENIED\|NT_STATUS_LOGON_FAILURE" || fail "want ACCESS_DENIED"
[ "$(ep_events guest-refused)" -ge 1 ] || fail "no guest-refused event"

step "client that cannot encrypt (SMB 2.1) with encryption required + reject-unencrypted"
out=$(ep_smbclient -U alice%Secret-1 --option='client max protocol=SMB2_10' -c ls 2>&1) &&
	fail "2.1 client was served unencrypted"
echo "$out"
echo "$out" | grep -q NT_STATUS_ACCESS_DENIED || fail "want ACCESS_DENIED"
[ "$(ep_events encryption-refused)" -ge 1 ] || fail "no encryption-refused event"
[ "$(ep_events client-no-encryption)" -ge 1 ] || fail "no client-no-encryption event"

step "wrong password delayed >= 3000 ms, right password meanwhile not delayed"
t0=$(ms)
(ep_smbclient -U alice%wrong -c ls >"$T/wrong.out" 2>&1 || true; echo $(($(ms) - t0)) >"$T/wrong.ms") &
wrong_pid=$!
sleep 0.3
t1=$(ms)
ep_smbclient -U alice%Secret-1 -c ls >"$T/right.out" 2>&1 || { cat "$T/right.out"; fail "right password refused"; }
right=$(($(ms) - t1))
wait "$wrong_pid" || true
wrong=$(cat "$T/wrong.ms")
cat "$T/wrong.out"
echo "wrong password answered after ${wrong} ms, right password after ${right} ms"
grep -q NT_STATUS_LOGON_FAILURE "$T/wrong.out" || fail "wrong password not refused"
[ "$wrong" -ge 3000 ] || fail "wrong password answered before the delay"
# the right login overlaps the held failure: it must not wait for it
[ "$right" -lt 1500 ] || fail "right password was slowed down (${right} ms)"
[ "$(ep_events auth-failed)" -ge 1 ] || fail "no auth-failed event"
[ "$(ep_events rate-limited)" -ge 1 ] || fail "no rate-limited event"
grep '"rate-limited"' "$AUDIT" | grep -q '"user":"alice"' || fail "rate-limited event lacks the user"
echo PASS
