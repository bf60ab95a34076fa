#!/usr/bin/env bash
# endpoint_smbtorture: the smb2.* tests of tests/smbtorture-list.txt
# against smbrefd (signing required, SMB 3.1.1), each must print
# "success:" (a skip or failure fails this test).  The list says why the
# other families are left out.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/endpoint_common.inc"
command -v smbtorture >/dev/null || skip "smbtorture (samba-testsuite) not installed"

mapfile -t tests < <(grep -v '^#' "$TOP/tests/smbtorture-list.txt" | grep -v '^ *$')
[ ${#tests[@]} -gt 0 ] || fail "empty test list"
ep_policy "$T/p.xml" torture server.signing.required=true server.dialect.min=2.0.2 server.dialect.max=3.1.1
ep_start "$T/p.xml"
timeout 800 smbtorture "//127.0.0.1/share" -p "$PORT" -U 'alice%Secret-1' --target=samba3 \
	--option=torture:noperm_share=share "${tests[@]}" >"$T/torture.out" 2>&1 || true
grep -E '^(success|failure|error|skip):' "$T/torture.out" || true
ok=$(grep -cE '^success: ' "$T/torture.out" || true)
bad=$(grep -cE '^(failure|error|skip): ' "$T/torture.out" || true)
echo "$ok of ${#tests[@]} smbtorture tests passed, $bad did not"
[ "$ok" -eq ${#tests[@]} ] && [ "$bad" -eq 0 ] || { tail -n 40 "$T/torture.out"; fail "smbtorture tests failed"; }
echo PASS
