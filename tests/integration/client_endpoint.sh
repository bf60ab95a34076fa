#!/usr/bin/env bash
# client_endpoint: smbrefc against smbrefd.  Downloads and uploads match
# byte for byte, plain and encrypted (client.encryption.required, and the
# server's own mandate); client refusals name their setting:
# client.encryption.required towards a server that stops at SMB 2.1,
# client.signing.required towards anonymous access (allowed once off);
# 2.0.2 and 3.1.1-only ranges work; the server's own
# refusal (wrong password) is reported with its NT status.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/client_common.inc"
. "$(dirname "$0")/endpoint_common.inc"
C=$BIN/smbrefc
U=(-U alice%Secret-1)
BASE=(client.ports.alternate.allowed=true)
refused() { # NAME SETTING ARGS...
	local name=$1 setting=$2 rc=0; shift 2
	"$C" --audit-log "$T/audit.json" "$@" >"$T/$name.out" 2>"$T/$name.err" || rc=$?
	cat "$T/$name.err"
	[ "$rc" = 1 ] && grep -q "refused by $setting:" "$T/$name.err" || fail "$name: exit $rc, not refused by $setting"
}

cs_policy "$T/srv.xml" server.signing.required=false server.guest.allowed=true
ep_start "$T/srv.xml"
cs_big "$EP_SHARE/big.bin" 24
want=$(sha256sum <"$EP_SHARE/big.bin")

step "downloads: plain, signed, encrypted by the client's mandate"
cs_policy "$T/plain.xml" "${BASE[@]}"
"$C" --policy "$T/plain.xml" "//127.0.0.1:$PORT/share" "${U[@]}" get big.bin "$T/a" || fail "download"
[ "$(sha256sum <"$T/a")" = "$want" ] || fail "download differs"
cs_policy "$T/enc.xml" "${BASE[@]}" client.encryption.required=true
"$C" --policy "$T/enc.xml" "//127.0.0.1:$PORT/share" "${U[@]}" get big.bin "$T/b" || fail "encrypted download"
[ "$(sha256sum <"$T/b")" = "$want" ] || fail "encrypted download differs"
"$C" --policy "$T/enc.xml" "//127.0.0.1:$PORT/share" "${U[@]}" put "$T/b" up.bin || fail "encrypted upload"
cmp "$T/b" "$EP_SHARE/up.bin" || fail "upload differs"

step "anonymous access: refused by client.signing.required"
cs_policy "$T/anon.xml" "${BASE[@]}" client.signing.required=true
refused anon client.signing.required --policy "$T/anon.xml" "//127.0.0.1:$PORT/share" ls
cs_policy "$T/anon-ok.xml" "${BASE[@]}" client.signing.required=false
"$C" --policy "$T/anon-ok.xml" "//127.0.0.1:$PORT/share" ls >"$T/anon.out" || fail "anonymous listing"
grep -q "^big.bin" "$T/anon.out" || fail "anonymous listing content"

step "wrong password: the server's status"
rc=0; "$C" --policy "$T/plain.xml" "//127.0.0.1:$PORT/share" -U alice%wrong ls 2>"$T/w.err" || rc=$?
[ "$rc" = 1 ] && grep -q STATUS_LOGON_FAILURE "$T/w.err" || fail "wrong password: exit $rc"

step "a server that stops at 2.1"
cs_policy "$T/old.xml" server.dialect.max=2.1 client.quic.enabled=false client.dialect.max=2.1
ep_start "$T/old.xml"
refused enc-old client.encryption.required --policy "$T/enc.xml" "//127.0.0.1:$PORT/share" "${U[@]}" ls
cs_policy "$T/max202.xml" "${BASE[@]}" client.quic.enabled=false client.dialect.max=2.0.2
"$C" --policy "$T/max202.xml" "//127.0.0.1:$PORT/share" "${U[@]}" get big.bin "$T/c" || fail "2.0.2 download"
[ "$(sha256sum <"$T/c")" = "$want" ] || fail "2.0.2 download differs"

step "a server that insists on encryption: the client follows it"
cs_policy "$T/sealed.xml" server.encryption.required=true
ep_start "$T/sealed.xml"
"$C" --policy "$T/plain.xml" "//127.0.0.1:$PORT/share" "${U[@]}" get big.bin "$T/d" || fail "download from sealed server"
[ "$(sha256sum <"$T/d")" = "$want" ] || fail "sealed download differs"
cs_policy "$T/min311.xml" "${BASE[@]}" client.dialect.min=3.1.1
"$C" --policy "$T/min311.xml" "//127.0.0.1:$PORT/share" "${U[@]}" ls >/dev/null || fail "3.1.1 only"
echo "client_endpoint: ok"
