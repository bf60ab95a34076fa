#!/usr/bin/env bash
# tests/integration/bundle_http.sh - fleet distribution end to end over a
# real web server: `smbpolicy publish` into a directory served by nginx on
# 127.0.0.1, smbpolicyd --source pulls its group's signed bundle and applies
# it (Samba include under --root).
#
# Proves: a publish that changes nothing rewrites nothing (inodes kept, so
# ETags are stable); an unchanged poll is a 304 with no body (nginx's own
# access log: status and body bytes) because the agent keeps the ETag across
# runs; a changed policy arrives with a higher serial; each bad bundle
# (unsigned, signed by an unknown key, tampered, expired, an older serial
# replayed, another group's bundle) is refused with its reason logged and
# the applied policy unchanged (Samba include, cached policy, serial); an
# https server whose certificate is not trusted is refused (TLS verification
# on) and the last good policy stays; trusted through --ca-file, it serves.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/bundle_lib.bash"

setup_store
sp keygen --out "$T/k1" >/dev/null
sp keygen --out "$T/k2" >/dev/null
cp "$T/k1.pub" "$T/trust/"

step "publish, serve with nginx, agent pulls and applies"
sp publish "$T/www" --key "$T/k1" | grep -q "2 written" || fail "first publish did not write 2 bundles"
start_nginx "$T/www"
agent || fail "agent run failed: $(cat "$T/agent.out")"
grep -q "accepted policy bundle serial .* for group /paris" "$T/agent.out" || fail "bundle not accepted: $(cat "$T/agent.out")"
[ "$(applied_min)" = SMB3_00 ] || fail "server min protocol is '$(applied_min)', not SMB3_00"
read -r status bytes _ <<<"$(last_access)"
[ "$status" = 200 ] && [ "$bytes" -gt 0 ] || fail "first fetch: $(last_access)"

step "unchanged: a publish writes nothing, a poll is a 304 without a body"
ino_before=$(stat -c %i:%Y "$T/www/groups/@paris.bundle" "$T/www/index.bundle")
sp --json publish "$T/www" --key "$T/k1" >"$T/out"
python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d["written"] == 0 and d["unchanged"] == 2 else 1)' <"$T/out" ||
	fail "unchanged publish rewrote bundles: $(cat "$T/out")"
[ "$(stat -c %i:%Y "$T/www/groups/@paris.bundle" "$T/www/index.bundle")" = "$ino_before" ] ||
	fail "unchanged publish replaced files (ETags would change)"
agent || fail "agent run failed: $(cat "$T/agent.out")"
read -r status bytes _ inm <<<"$(last_access)"
[ "$status" = 304 ] && [ "$bytes" = 0 ] || fail "unchanged poll: $(last_access)"
[ "$inm" != '""' ] || fail "agent sent no If-None-Match"
grep -q accepted "$T/agent.out" && fail "an unchanged poll re-accepted the bundle"

step "a changed policy arrives with a higher serial"
cp "$T/www/groups/@paris.bundle" "$T/v1.bundle"
serial1=$(sed -n 's/^serial: //p' "$T/v1.bundle")
set_policy 3.1.1
sp publish "$T/www" --key "$T/k1" | grep -q "1 written, 1 unchanged" || fail "only /paris should be rewritten"
serial2=$(sed -n 's/^serial: //p' "$T/www/groups/@paris.bundle")
[ "$serial2" -gt "$serial1" ] || fail "serial did not grow: $serial1 -> $serial2"
agent || fail "agent run failed: $(cat "$T/agent.out")"
[ "$(applied_min)" = SMB3_11 ] || fail "changed policy not applied: $(applied_min)"
good=$T/v2.bundle
cp "$T/www/groups/@paris.bundle" "$good"

step "bad bundles"
head -n -1 "$good" >"$T/bad-unsigned"
sed 's/">3\.1\.1</">2.0.2</' "$good" >"$T/bad-tampered"
cmp -s "$good" "$T/bad-tampered" && fail "tampering did not change the bundle"
sp publish "$T/www-k2" --key "$T/k2" >/dev/null
cp "$T/www-k2/groups/@paris.bundle" "$T/bad-unknown-key"
sp publish "$T/www-expired" --key "$T/k1" --expires 1s >/dev/null
cp "$T/www-expired/groups/@paris.bundle" "$T/bad-expired"
cp "$T/v1.bundle" "$T/bad-replay"
cp "$T/www/groups/@.bundle" "$T/bad-other-group"
sleep 1.5 # the 1 s bundle has expired

conf_sum=$(sha256sum <"$T/root/etc/samba/smbpolicy.conf")
cache_sum=$(sha256sum <"$T/root/var/lib/smbpolicy/bundle/policy.xml")
check_refused() { # FILE REASON
	serve "$1"
	agent || fail "$(basename "$1"): agent run failed: $(cat "$T/agent.out")"
	grep -q "refusing the policy bundle from $URL: $2" "$T/agent.out" ||
		fail "$(basename "$1"): not refused for '$2': $(cat "$T/agent.out")"
	[ "$(sha256sum <"$T/root/etc/samba/smbpolicy.conf")" = "$conf_sum" ] ||
		fail "$(basename "$1"): the applied Samba config changed"
	[ "$(sha256sum <"$T/root/var/lib/smbpolicy/bundle/policy.xml")" = "$cache_sum" ] ||
		fail "$(basename "$1"): the cached policy changed"
	grep -q "^serial $serial2\$" "$T/root/var/lib/smbpolicy/bundle/state" ||
		fail "$(basename "$1"): the applied serial changed"
	[ "$(applied_min)" = SMB3_11 ] || fail "$(basename "$1"): applied $(applied_min)"
	echo "refused $(basename "$1"): $2"
}
step "smbpolicy bundle: the same checks offline"
sp bundle "$good" --trusted-keys "$T/trust" | grep -q "^signature: good" || fail "smbpolicy bundle: good bundle not good"
sp bundle "$good" --trusted-keys "$T/trust" --policy | grep -q '"server.dialect.min">3.1.1<' || fail "smbpolicy bundle --policy"
for bad in tampered unknown-key expired; do
	rc=0
	sp bundle "$T/bad-$bad" --trusted-keys "$T/trust" >/dev/null 2>&1 || rc=$?
	[ $rc -eq 1 ] || fail "smbpolicy bundle accepted bad-$bad (exit $rc)"
done

step "bad bundles are refused by the agent, the applied policy stays"
check_refused "$T/bad-unsigned" "bundle is not signed"
check_refused "$T/bad-tampered" "signature does not match the content (tampered)"
check_refused "$T/bad-unknown-key" "bundle is signed by a key that is not trusted"
check_refused "$T/bad-expired" "bundle has expired"
check_refused "$T/bad-replay" "serial is not above the applied bundle's (replay or downgrade)"
check_refused "$T/bad-other-group" "bundle is for another group"
printf 'not a bundle' >"$T/bad-garbage"
check_refused "$T/bad-garbage" "not a well-formed bundle"

step "the good bundle again is taken as unchanged; a 404 keeps the policy"
serve "$good"
agent || fail "agent run failed: $(cat "$T/agent.out")"
grep -q -e refusing -e accepted "$T/agent.out" && fail "good bundle again: $(cat "$T/agent.out")"
rm "$T/www/groups/@paris.bundle"
agent || fail "agent run failed: $(cat "$T/agent.out")"
grep -q "HTTP status 404" "$T/agent.out" || fail "404 not reported: $(cat "$T/agent.out")"
[ "$(applied_min)" = SMB3_11 ] || fail "404: applied $(applied_min)"

step "https: a certificate nobody trusts is refused (TLS verification is on); with --ca-file it is fetched"
serve "$good"
URL=https://127.0.0.1:$TLS_PORT/groups/@paris.bundle
agent || fail "agent run failed: $(cat "$T/agent.out")"
grep -q "cannot fetch the policy bundle from $URL: SSL certificate problem" "$T/agent.out" ||
	fail "untrusted TLS certificate not refused: $(cat "$T/agent.out")"
[ "$(applied_min)" = SMB3_11 ] || fail "TLS failure: applied $(applied_min)"
agent --ca-file "$T/nginx/cert.pem" || fail "agent run failed: $(cat "$T/agent.out")"
grep -q -e "cannot fetch" -e refusing "$T/agent.out" && fail "https with --ca-file: $(cat "$T/agent.out")"
grep -q "accepted policy bundle serial $serial2 for group /paris from $URL" "$T/agent.out" ||
	fail "https with --ca-file: bundle not taken: $(cat "$T/agent.out")"

step "usage: --source needs --trusted-keys"
rc=0
"$BIN/smbpolicyd" --once --source "$URL" >/dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "--source without --trusted-keys: exit $rc, not 2"
echo PASS
