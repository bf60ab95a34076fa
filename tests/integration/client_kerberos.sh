#!/usr/bin/env bash
# client_kerberos: client.ntlm.block with a real MIT KDC in a scratch realm
# and smbrefd accepting Kerberos from a keytab.  With NTLM blocked and no
# ticket the client refuses (naming client.ntlm.block, audited as
# ntlm-blocked) instead of falling back to NTLM; with a ticket it logs on
# by Kerberos (the server's session event says so) and downloads with a
# matching checksum, encrypted; a server in client.ntlm.exceptions gets
# NTLM without a ticket.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/client_common.inc"
. "$(dirname "$0")/endpoint_common.inc"
. "$(dirname "$0")/kdc_common.inc"
SRV=srv.smbref.test
kdc_start SMBREF.TEST "$SRV"
kdc_user alice Alice-Krb-1
cs_policy "$T/server.xml" server.signing.required=true server.dialect.min=3.1.1 server.encryption.required=true
ep_start "$T/server.xml" --keytab "$KDC_KEYTAB"
cs_big "$EP_SHARE/k.bin" 8
want=$(sha256sum <"$EP_SHARE/k.bin")
C=(timeout 60 "$BIN/smbrefc" "//$SRV:$PORT/share" -I 127.0.0.1 --audit-log "$T/client.json")

step "NTLM blocked, no ticket: refused, no NTLM fallback"
cs_policy "$T/block.xml" client.ports.alternate.allowed=true client.ntlm.block=true
rc=0; "${C[@]}" --policy "$T/block.xml" -U alice%Secret-1 ls 2>"$T/no.err" || rc=$?
cat "$T/no.err"
[ "$rc" = 1 ] && grep -q "refused by client.ntlm.block" "$T/no.err" || fail "not refused by client.ntlm.block (exit $rc)"
grep -q '"event":"ntlm-blocked"' "$T/client.json" || fail "no ntlm-blocked event"
grep '"event":"session"' "$AUDIT" 2>/dev/null | grep -q '"auth":"ntlm"' && fail "NTLM was used although blocked"

step "kinit alice: Kerberos instead of NTLM, encrypted download"
echo Alice-Krb-1 | kinit alice >/dev/null || fail "kinit"
cs_policy "$T/block-enc.xml" client.ports.alternate.allowed=true client.ntlm.block=true client.encryption.required=true
"${C[@]}" --policy "$T/block-enc.xml" get k.bin "$T/k.out" || fail "Kerberos download failed"
[ "$(sha256sum <"$T/k.out")" = "$want" ] || fail "Kerberos download differs"
grep '"event":"session"' "$AUDIT" | grep -q '"auth":"kerberos"' || fail "server saw no Kerberos session"
grep '"event":"session"' "$AUDIT" | grep -q '"auth":"ntlm"' && fail "NTLM used although blocked"

step "server in client.ntlm.exceptions: NTLM allowed (no ticket needed)"
kdestroy >/dev/null 2>&1 || true
cs_policy "$T/except.xml" client.ports.alternate.allowed=true client.ntlm.block=true client.ntlm.exceptions=$SRV
"${C[@]}" --policy "$T/except.xml" -U alice%Secret-1 get k.bin "$T/k2.out" || fail "exception not honoured"
[ "$(sha256sum <"$T/k2.out")" = "$want" ] || fail "NTLM download differs"
grep '"event":"session"' "$AUDIT" | grep -q '"auth":"ntlm"' || fail "exception did not use NTLM"
cs_policy "$T/except-nb.xml" client.ports.alternate.allowed=true client.ntlm.block=true client.ntlm.exceptions=srv
"${C[@]}" --policy "$T/except-nb.xml" -U alice%Secret-1 ls >/dev/null || fail "NetBIOS-name exception not honoured"
echo "client_kerberos: ok"
