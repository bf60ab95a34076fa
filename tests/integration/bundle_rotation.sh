#!/usr/bin/env bash
# tests/integration/bundle_rotation.sh - signing key rotation with an
# overlap, over nginx on 127.0.0.1: the agent trusts a directory of public
# keys, re-read on every poll (no restart).
#
# Proves: a bundle signed by a new key is refused until its public key is
# trusted; during the overlap bundles signed by the old and the new key are
# both accepted; once the old public key is removed, a bundle signed by the
# old key is refused (and the applied policy stays), while the new key's
# bundles keep flowing.  A trust file holding several keys works too.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/bundle_lib.bash"

setup_store
sp keygen --out "$T/old" >/dev/null
sp keygen --out "$T/new" >/dev/null
cp "$T/old.pub" "$T/trust/"

accepted() { grep -q "accepted policy bundle" "$T/agent.out"; }
refused_unknown() { grep -q "refusing the policy bundle from .*: bundle is signed by a key that is not trusted" "$T/agent.out"; }

step "old key trusted: its bundle is applied"
sp publish "$T/www" --key "$T/old" >/dev/null
start_nginx "$T/www"
agent || fail "agent: $(cat "$T/agent.out")"
accepted || fail "old-key bundle not accepted: $(cat "$T/agent.out")"
[ "$(applied_min)" = SMB3_00 ] || fail "applied $(applied_min)"

step "publishing with the new key before agents trust it: refused"
sp publish "$T/www" --key "$T/new" | grep -q "2 written" || fail "a new key must re-sign every bundle"
agent || fail "agent: $(cat "$T/agent.out")"
refused_unknown || fail "new-key bundle not refused: $(cat "$T/agent.out")"

step "overlap: both keys trusted, the new key's bundle is accepted"
cp "$T/new.pub" "$T/trust/"
agent || fail "agent: $(cat "$T/agent.out")"
accepted || fail "new-key bundle not accepted during the overlap: $(cat "$T/agent.out")"
set_policy 3.0.2
sp publish "$T/www" --key "$T/old" >/dev/null
agent || fail "agent: $(cat "$T/agent.out")"
accepted || fail "old-key bundle not accepted during the overlap: $(cat "$T/agent.out")"
[ "$(applied_min)" = SMB3_02 ] || fail "applied $(applied_min)"

step "old key removed: its bundles are refused, the new key's accepted"
rm "$T/trust/old.pub"
set_policy 3.1.1
sp publish "$T/www" --key "$T/old" >/dev/null
agent || fail "agent: $(cat "$T/agent.out")"
refused_unknown || fail "old-key bundle accepted after removal: $(cat "$T/agent.out")"
[ "$(applied_min)" = SMB3_02 ] || fail "refused bundle changed the policy: $(applied_min)"
sp publish "$T/www" --key "$T/new" >/dev/null
agent || fail "agent: $(cat "$T/agent.out")"
accepted || fail "new-key bundle not accepted: $(cat "$T/agent.out")"
[ "$(applied_min)" = SMB3_11 ] || fail "applied $(applied_min)"

step "a trust file with several keys"
cat "$T/old.pub" "$T/new.pub" >"$T/both.pem"
agent_file() { "$BIN/smbpolicyd" --once --root "$T/root" --plugin-dir "$T/plugins" \
	--source "$URL" --trusted-keys "$T/both.pem" >"$T/agent.out" 2>&1; }
set_policy 3.0
sp publish "$T/www" --key "$T/new" >/dev/null
agent_file || fail "agent: $(cat "$T/agent.out")"
accepted || fail "trust file: new-key bundle not accepted: $(cat "$T/agent.out")"
[ "$(applied_min)" = SMB3_00 ] || fail "applied $(applied_min)"

step "keygen never overwrites a key"
rc=0
sp keygen --out "$T/new" >/dev/null 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "keygen over an existing key: exit $rc"
[ "$(stat -c %a "$T/new")" = 600 ] || fail "private key mode $(stat -c %a "$T/new")"
echo PASS
