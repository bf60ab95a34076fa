#!/usr/bin/env bash
# endpoint_beneath: paths never leave the share.  Symlinks inside the share
# that point outside it (absolute, or through "..") are refused; one that
# stays inside is followed; "..", streams and absolute names are refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/endpoint_common.inc"
command -v smbclient >/dev/null || skip "smbclient not installed"

echo "outside secret" >"$T/secret.txt"
mkdir -p "$EP_SHARE/sub"
echo "inside" >"$EP_SHARE/sub/in.txt"
ln -s "$T/secret.txt" "$EP_SHARE/abs-link"
ln -s ../secret.txt "$EP_SHARE/rel-link"
ln -s "$T" "$EP_SHARE/dir-link"
ln -s sub/in.txt "$EP_SHARE/ok-link"

ep_policy "$T/p.xml" beneath server.signing.required=true
ep_start "$T/p.xml"
get() { (cd "$T" && ep_smbclient -U alice%Secret-1 -c "get $1 got.txt" 2>&1); }

for name in abs-link rel-link 'dir-link\secret.txt' '..\secret.txt' 'sub\..\..\secret.txt'; do
	step "get $name: refused"
	rm -f "$T/got.txt"
	out=$(get "$name" || true)
	echo "$out"
	echo "$out" | grep -q NT_STATUS || fail "$name: no error"
	[ ! -s "$T/got.txt" ] || ! grep -q secret "$T/got.txt" || fail "$name: the secret left the share"
done
step "get ok-link: a link inside the share is followed"
rm -f "$T/got.txt"
get ok-link
grep -q inside "$T/got.txt" || fail "inside link not served"
echo PASS
