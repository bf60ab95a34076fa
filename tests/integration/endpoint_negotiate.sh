#!/usr/bin/env bash
# endpoint_negotiate: nmap's smb2-security-mode and smb-protocols against
# smbrefd: signing shown as required when the policy requires it, and
# exactly the dialects of server.dialect.min..max offered (nmap also sends
# an SMB1 multi-protocol negotiate, which must be refused cleanly).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/endpoint_common.inc"
command -v nmap >/dev/null || skip "nmap not installed"

check() { # policy expected-dialects signing-text
	ep_start "$1"
	out=$(nmap -Pn -p "$PORT" --script smb2-security-mode,smb-protocols \
		--script-args smbport="$PORT" 127.0.0.1 2>&1)
	echo "$out"
	got=$(echo "$out" | sed -n '/dialects:/,/smb2-security-mode/p' | grep -oE '[0-9]{3}|2\.0?2' |
		tr -d . | tr '\n' ' ')
	[ "$got" = "$2 " ] || fail "dialects: want '$2', got '$got'"
	echo "$out" | grep -q "$3" || fail "security mode: want '$3'"
	echo "$out" | grep -q "SMBv1" && fail "SMBv1 offered"
	kill "$EP_PID"; wait "$EP_PID" 2>/dev/null || true
}

step "3.0 .. 3.1.1, signing required"
ep_policy "$T/p1.xml" p1 server.signing.required=true server.dialect.min=3.0 server.dialect.max=3.1.1
check "$T/p1.xml" "300 302 311" "Message signing enabled and required"
[ "$(ep_events dialect-refused)" -ge 1 ] || fail "no dialect-refused audit event"

step "2.0.2 .. 2.1, signing not required"
ep_policy "$T/p2.xml" p2 server.signing.required=false server.dialect.min=2.0.2 server.dialect.max=2.1
check "$T/p2.xml" "202 210" "Message signing enabled but not required"

step "3.1.1 only"
ep_policy "$T/p3.xml" p3 server.dialect.min=3.1.1 server.dialect.max=3.1.1
check "$T/p3.xml" "311" "Message signing enabled and required"
echo PASS
