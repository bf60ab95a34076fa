#!/usr/bin/env bash
# endpoint_enforce: requests of an established session that break the
# policy are refused with ACCESS_DENIED and audited: unsigned and wrongly
# signed requests when server.signing.required, and unencrypted requests to
# an encrypting session when server.encryption.reject-unencrypted; and the
# client-no-signing / client-no-encryption audit events when allowed.  The
# client is impacket 0.10 at SMB 3.0, whose session state is changed after
# login so it stops signing / encrypting (a real client never would).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/endpoint_common.inc"
/usr/bin/python3 -c 'import impacket' 2>/dev/null || skip "python3-impacket not installed"

run_py() { # port mode
	/usr/bin/python3 - "$1" "$2" <<'PY'
import sys
from impacket import smb3structs
from impacket.smbconnection import SMBConnection, SessionError
port, mode = int(sys.argv[1]), sys.argv[2]
c = SMBConnection('127.0.0.1', '127.0.0.1', sess_port=port, preferredDialect=smb3structs.SMB2_DIALECT_30)
c.login('alice', 'Secret-1')
c.listPath('share', '*')
s = c.getSMBServer()
# impacket 0.10 encrypts every 3.0 session whenever the server can
# (it sets SMB2_SESSION_FLAG_ENCRYPT_DATA itself): stop that first
s._Session['SessionFlags'] &= ~smb3structs.SMB2_SESSION_FLAG_ENCRYPT_DATA
if mode in ('unsigned', 'unencrypted'):  # unencrypted: neither signed nor encrypted
    s._Session['SigningActivated'] = False
elif mode == 'badsig':
    s._Session['SigningKey'] = b'\0' * 16
try:
    c.listPath('share', '*')
except SessionError as e:
    print(mode, 'refused:', e.getErrorString()[0])
    sys.exit(0 if e.getErrorCode() == 0xc0000022 else 1)
print(mode, 'was served')
sys.exit(1)
PY
}

ep_policy "$T/sign.xml" sign server.signing.required=true server.dialect.min=3.0
ep_start "$T/sign.xml"
step "unsigned request on a signing session"
run_py "$PORT" unsigned || fail "unsigned request not refused"
step "wrongly signed request"
run_py "$PORT" badsig || fail "badly signed request not refused"
grep '"signing-refused"' "$AUDIT" | grep -q '"reason":"unsigned request"' || fail "no signing-refused event (unsigned)"
grep '"signing-refused"' "$AUDIT" | grep -q '"reason":"bad signature"' || fail "no signing-refused event (bad signature)"
kill "$EP_PID"; wait "$EP_PID" 2>/dev/null || true

ep_policy "$T/enc.xml" enc server.signing.required=true server.dialect.min=3.0 \
	server.encryption.required=true server.encryption.reject-unencrypted=true
ep_start "$T/enc.xml"
step "unencrypted request on an encrypting session"
run_py "$PORT" unencrypted || fail "unencrypted request not refused"
[ "$(ep_events encryption-refused)" -ge 1 ] || fail "no encryption-refused event"
grep '"session"' "$AUDIT" | grep -q '"encryption":"AES-128-CCM"' || fail "3.0 session not encrypted with AES-128-CCM"
kill "$EP_PID"; wait "$EP_PID" 2>/dev/null || true

step "signing not required, auditing on: an unsigned session is served and audited"
ep_policy "$T/audit.xml" audit server.signing.required=false server.audit.client-no-signing=true \
	server.audit.client-no-encryption=true
ep_start "$T/audit.xml"
command -v smbclient >/dev/null || skip "smbclient not installed"
ep_smbclient -U alice%Secret-1 --client-protection=off -c ls >/dev/null 2>&1 || fail "unsigned client refused"
ep_smbclient -U alice%Secret-1 --option='client max protocol=SMB2_10' -c ls >/dev/null 2>&1 ||
	fail "2.1 client refused"
cat "$AUDIT"
[ "$(ep_events client-no-signing)" -ge 1 ] || fail "no client-no-signing event"
[ "$(ep_events client-no-encryption)" -ge 1 ] || fail "no client-no-encryption event for the 2.1 client"
echo PASS
