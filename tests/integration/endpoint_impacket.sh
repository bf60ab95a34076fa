#!/usr/bin/env bash
# endpoint_impacket: impacket's SMBConnection (python3-impacket 0.10, run
# with /usr/bin/python3) logs in, lists the share and downloads a file, with
# signing required.  impacket 0.10 derives wrong 3.1.1 keys (fixed in 0.11,
# see REFERENCE.md), so it is tested at 3.0 (AES-CMAC signing; its
# SMBConnection knows no 3.0.2) and at 2.0.2 and 2.1 (HMAC-SHA256).  A wrong
# password and an anonymous login must fail.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/endpoint_common.inc"
/usr/bin/python3 -c 'import impacket' 2>/dev/null || skip "python3-impacket not installed"

ep_policy "$T/p.xml" impacket server.signing.required=true server.dialect.min=2.0.2 \
	server.dialect.max=3.1.1 server.auth-rate-limiter.delay-ms=100
ep_start "$T/p.xml"
head -c 3000000 /dev/urandom >"$EP_SHARE/data.bin"
mkdir -p "$EP_SHARE/sub"

for dialect in SMB2_DIALECT_002 SMB2_DIALECT_21 SMB2_DIALECT_30; do
	step "impacket at $dialect"
	/usr/bin/python3 - "$PORT" "$dialect" "$T/got.bin" <<'PY'
import sys
from impacket import smb3structs
from impacket.smbconnection import SMBConnection, SessionError
port, dialect, out = int(sys.argv[1]), getattr(smb3structs, sys.argv[2]), sys.argv[3]
c = SMBConnection('127.0.0.1', '127.0.0.1', sess_port=port, preferredDialect=dialect)
assert c.isSigningRequired(), "server does not require signing"
c.login('alice', 'Secret-1')
names = sorted(f.get_longname() for f in c.listPath('share', '*'))
print("listing:", names)
assert 'data.bin' in names and 'sub' in names, names
with open(out, 'wb') as f:
    c.getFile('share', 'data.bin', f.write)
c.logoff()
for user, pw in (('alice', 'nope'), ('', '')):
    c = SMBConnection('127.0.0.1', '127.0.0.1', sess_port=port, preferredDialect=dialect)
    try:
        c.login(user, pw)
    except SessionError as e:
        print("refused as expected:", user or "anonymous", e.getErrorString()[0])
    else:
        raise SystemExit("login %r succeeded" % user)
PY
	cmp "$T/got.bin" "$EP_SHARE/data.bin" || fail "getFile content differs"
done
echo PASS
