#!/usr/bin/env bash
# client_samba: smbrefc against Samba's smbd.  Downloads and uploads match
# byte for byte at every dialect, signed and encrypted (AES-128/256, CCM
# and GCM); each client setting refuses what it must, naming itself on
# stderr and in the audit log: client.encryption.required (server max
# SMB 2.1), client.dialect.min/max, client.guest.insecure-logons,
# client.signing.required (guest session), client.ntlm.block (with and
# without an exception: IP, NetBIOS name, name), client.ports.alternate.*,
# client.quic.*; client.audit.server-no-signing/-encryption emit 31999/31998.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/client_common.inc"
command -v smbd >/dev/null || skip "smbd not installed"
C=$BIN/smbrefc
U=(-U "$CS_USER%$CS_PASS")
BASE=(client.ports.alternate.allowed=true)

# refused NAME SETTING URL ARGS...: smbrefc exits 1 naming SETTING
refused() {
	local name=$1 setting=$2 rc=0; shift 2
	"$C" --audit-log "$T/audit.json" "$@" >"$T/$name.out" 2>"$T/$name.err" || rc=$?
	cat "$T/$name.err"
	[ "$rc" = 1 ] || fail "$name: exit $rc, want 1"
	grep -q "refused by $setting:" "$T/$name.err" || fail "$name: refusal does not name $setting"
	grep -q "\"setting\":\"$setting\"" "$T/audit.json" || fail "$name: no audit event naming $setting"
}
events() { grep -c "\"event\":\"$1\"" "$T/audit.json" 2>/dev/null || true; }

step "an open Samba (all dialects, guest mapping, no encryption mandate)"
cs_samba open "map to guest = Bad User" "server smb encrypt = if_required"
OPEN=$SAMBA_PORT
cs_big "$SAMBA_DIR/share/big.bin" 24
want=$(sha256sum <"$SAMBA_DIR/share/big.bin")
echo hello >"$SAMBA_DIR/pub/hello.txt"

step "downloads per dialect, plain and encrypted; checksum match"
for d in 2.0.2 2.1 3.0 3.0.2 3.1.1; do
	cs_policy "$T/d.xml" "${BASE[@]}" client.quic.enabled=false client.dialect.min="$d" client.dialect.max="$d"
	"$C" --policy "$T/d.xml" "//127.0.0.1:$OPEN/share" "${U[@]}" get big.bin "$T/big-$d" ||
		fail "download at $d failed"
	[ "$(sha256sum <"$T/big-$d")" = "$want" ] || fail "download at $d differs"
done
for d in 3.0 3.0.2 3.1.1; do
	cs_policy "$T/e.xml" "${BASE[@]}" client.quic.enabled=false client.dialect.min="$d" \
		client.dialect.max="$d" client.encryption.required=true
	"$C" --policy "$T/e.xml" "//127.0.0.1:$OPEN/share" "${U[@]}" get big.bin "$T/big-e$d" ||
		fail "encrypted download at $d failed"
	[ "$(sha256sum <"$T/big-e$d")" = "$want" ] || fail "encrypted download at $d differs"
done

step "upload, list, mkdir, rm"
cs_policy "$T/base.xml" "${BASE[@]}"
"$C" --policy "$T/base.xml" "//127.0.0.1:$OPEN/share" "${U[@]}" put "$T/big-3.1.1" up.bin || fail "upload failed"
cmp "$T/big-3.1.1" "$SAMBA_DIR/share/up.bin" || fail "upload differs"
"$C" --policy "$T/base.xml" "//127.0.0.1:$OPEN/share" "${U[@]}" mkdir newdir || fail "mkdir failed"
[ -d "$SAMBA_DIR/share/newdir" ] || fail "mkdir made nothing"
"$C" --policy "$T/base.xml" "//127.0.0.1:$OPEN/share" "${U[@]}" ls >"$T/ls.out" || fail "ls failed"
grep -q "^newdir/" "$T/ls.out" && grep -q "^up.bin	25165824" "$T/ls.out" || { cat "$T/ls.out"; fail "ls output"; }
"$C" --policy "$T/base.xml" "//127.0.0.1:$OPEN/share" "${U[@]}" rm up.bin || fail "rm failed"
"$C" --policy "$T/base.xml" "//127.0.0.1:$OPEN/share" "${U[@]}" rmdir newdir || fail "rmdir failed"
[ ! -e "$SAMBA_DIR/share/up.bin" ] && [ ! -e "$SAMBA_DIR/share/newdir" ] || fail "rm left files"

step "guest logons: refused by default, allowed by client.guest.insecure-logons (then unsigned)"
refused guest client.guest.insecure-logons --policy "$T/base.xml" "//127.0.0.1:$OPEN/pub" -U nosuch%x ls
[ "$(events insecure-guest-refused)" -ge 1 ] || fail "no insecure-guest-refused event (31017)"
cs_policy "$T/guest-signed.xml" "${BASE[@]}" client.guest.insecure-logons=true
# the catalog forbids guest logons together with client.signing.required:
"$C" --policy "$T/guest-signed.xml" "//127.0.0.1:$OPEN/pub" ls 2>"$T/gs.err" && fail "contradicting policy accepted"
grep -q "client.signing.required" "$T/gs.err" || fail "constraint not named"
cs_policy "$T/guest.xml" "${BASE[@]}" client.guest.insecure-logons=true client.signing.required=false \
	client.audit.server-no-signing=true
"$C" --policy "$T/guest.xml" --audit-log "$T/audit.json" "//127.0.0.1:$OPEN/pub" -U nosuch%x ls >"$T/g.out" ||
	fail "allowed guest logon failed"
grep -q "^hello.txt" "$T/g.out" || fail "guest listing"
[ "$(events insecure-guest-used)" -ge 1 ] || fail "no insecure-guest-used event (31018)"
[ "$(events server-no-signing)" -ge 1 ] || fail "no server-no-signing event (31999)"

step "alternative ports and QUIC"
cs_policy "$T/noalt.xml" client.ports.alternate.allowed=false
refused noalt client.ports.alternate.allowed --policy "$T/noalt.xml" "//127.0.0.1:$OPEN/share" "${U[@]}" ls
cs_policy "$T/altsrv.xml" client.ports.alternate.allowed=true client.ports.alternate.servers=fileserver9
refused altsrv client.ports.alternate.servers --policy "$T/altsrv.xml" "//127.0.0.1:$OPEN/share" "${U[@]}" ls
cs_policy "$T/altok.xml" client.ports.alternate.allowed=true client.ports.alternate.servers=127.0.0.1
"$C" --policy "$T/altok.xml" "//127.0.0.1:$OPEN/share" "${U[@]}" ls >/dev/null || fail "listed server refused"
# the port from client.ports.alternate.mappings when the UNC has none
cs_policy "$T/map.xml" client.ports.alternate.allowed=true "client.ports.alternate.mappings=localhost:tcp:$OPEN"
"$C" --policy "$T/map.xml" "//localhost/share" "${U[@]}" ls >/dev/null || fail "mapped port not used"
cs_policy "$T/noquic.xml" "${BASE[@]}" client.quic.enabled=false
refused noquic client.quic.enabled --policy "$T/noquic.xml" --quic "//127.0.0.1:$OPEN/share" "${U[@]}" ls
cs_policy "$T/quicsrv.xml" "${BASE[@]}" client.quic.servers=edge1.example.com
refused quicsrv client.quic.servers --policy "$T/quicsrv.xml" --quic "//127.0.0.1:$OPEN/share" "${U[@]}" ls
# (QUIC connections themselves: tests/integration/quic_client.sh)

step "NTLM blocked: refused to a server not excepted, allowed to exceptions (IP, name, NetBIOS name)"
cs_policy "$T/block.xml" "${BASE[@]}" client.ntlm.block=true
refused block client.ntlm.block --policy "$T/block.xml" "//127.0.0.1:$OPEN/share" "${U[@]}" ls
[ "$(events ntlm-blocked)" -ge 1 ] || fail "no ntlm-blocked event"
for ex in 127.0.0.1 localhost; do
	cs_policy "$T/except.xml" "${BASE[@]}" client.ntlm.block=true client.ntlm.exceptions="$ex"
	"$C" --policy "$T/except.xml" "//localhost:$OPEN/share" "${U[@]}" ls >/dev/null ||
		fail "exception $ex not honoured"
done
host=$(hostname -f 2>/dev/null || hostname)
if getent hosts "$host" >/dev/null && [[ $host == *.* ]]; then
	cs_policy "$T/except.xml" "${BASE[@]}" client.ntlm.block=true client.ntlm.exceptions="${host%%.*}"
	"$C" --policy "$T/except.xml" "//$host:$OPEN/share" "${U[@]}" ls >/dev/null 2>&1 ||
		echo "note: $host does not reach the loopback smbd; NetBIOS-name exception left untested"
fi

step "a Samba that stops at SMB 2.1: encryption mandate and dialect range refuse it"
cs_samba old "server max protocol = SMB2_10"
OLD=$SAMBA_PORT
cs_policy "$T/enc.xml" "${BASE[@]}" client.encryption.required=true client.audit.server-no-encryption=true
refused enc client.encryption.required --policy "$T/enc.xml" "//127.0.0.1:$OLD/share" "${U[@]}" ls
cs_policy "$T/audit-enc.xml" "${BASE[@]}" client.audit.server-no-encryption=true
"$C" --policy "$T/audit-enc.xml" --audit-log "$T/audit.json" "//127.0.0.1:$OLD/share" "${U[@]}" ls >/dev/null ||
	fail "SMB 2.1 server refused without a mandate"
[ "$(events server-no-encryption)" -ge 1 ] || fail "no server-no-encryption event (31998)"
cs_policy "$T/min3.xml" "${BASE[@]}" client.dialect.min=3.0
refused min3 client.dialect.min --policy "$T/min3.xml" "//127.0.0.1:$OLD/share" "${U[@]}" ls
echo "client_samba: ok"
