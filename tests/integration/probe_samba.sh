#!/usr/bin/env bash
# probe_samba: `smbpolicy probe` against Samba's smbd under several
# smb.confs.  Each observation equals the configuration (dialect range,
# signing mandatory or not, encryption required or not and unencrypted
# access refused, guest mapping), agrees with nmap's smb-protocols and
# smb2-security-mode, and --against exits 0 for a policy that describes
# the configuration and 1, naming the differing setting ids, for one that
# does not.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/client_common.inc"
command -v smbd >/dev/null || skip "smbd not installed"
echo "$CS_PASS" >"$T/pw"
PROBE_USER=$CS_USER

# What Samba never does: a failed-logon delay.  server.guest.allowed=false
# is what the samba plugin writes: map to guest = Never, restrict
# anonymous = 2 (by default Samba lets a null session reach IPC$).
SAMBA_BASE=(server.auth-rate-limiter.enabled=false)
NO_GUEST=("map to guest = Never" "restrict anonymous = 2")

step "Samba defaults + map to guest = Bad User"
cs_samba open "map to guest = Bad User"
PROBE_PORT=$SAMBA_PORT
probe open
for d in 2.0.2 2.1 3.0 3.0.2 3.1.1; do expect open "j['dialects']['$d']" true; done
expect open "j['signing_required']" false
expect open "j['unsigned_refused']" false
expect open "j['encryption_required']" false
expect open "j['guest_allowed']" true
expect open "j['ntlm_accepted']" true
expect open "j['ciphers']['aes-256-gcm']" true
nmap_agrees open
against open-match 0 "${SAMBA_BASE[@]}" server.guest.allowed=true server.signing.required=false \
	server.dialect.min=2.0.2
against open-strict 1 "${SAMBA_BASE[@]}" server.signing.required=true server.dialect.min=3.1.1
grep -q "DIFFERS server.signing.required" "$T/open-strict.out" || fail "signing difference not named"
grep -q "DIFFERS server.dialect.min" "$T/open-strict.out" || fail "dialect difference not named"
grep -q "DIFFERS server.guest.allowed" "$T/open-strict.out" || fail "guest difference not named"

step "signing mandatory, min protocol SMB2_02"
cs_samba signed "server signing = mandatory" "server min protocol = SMB2_02" "${NO_GUEST[@]}"
PROBE_PORT=$SAMBA_PORT
probe signed
expect signed "j['dialects']['2.0.2']" true
expect signed "j['signing_required']" true
expect signed "j['unsigned_refused']" true
expect signed "j['encryption_required']" false
expect signed "j['guest_allowed']" false
expect signed "j['anonymous_allowed']" false
nmap_agrees signed
against signed-match 0 "${SAMBA_BASE[@]}" server.signing.required=true server.dialect.min=2.0.2

step "server smb encrypt = required, min protocol SMB3_11, AES-256-GCM only"
cs_samba sealed "server smb encrypt = required" "server min protocol = SMB3_11" \
	"server signing = mandatory" "server smb3 encryption algorithms = AES-256-GCM" "${NO_GUEST[@]}"
PROBE_PORT=$SAMBA_PORT
probe sealed
for d in 2.0.2 2.1 3.0 3.0.2; do expect sealed "j['dialects']['$d']" false; done
expect sealed "j['dialects']['3.1.1']" true
expect sealed "j['encryption_required']" true
expect sealed "j['unencrypted_refused']" true
expect sealed "j['ciphers']['aes-128-gcm']" false
expect sealed "j['ciphers']['aes-256-gcm']" true
nmap_agrees sealed
against sealed-match 0 "${SAMBA_BASE[@]}" server.signing.required=true server.dialect.min=3.1.1 \
	server.encryption.required=true server.encryption.ciphers=aes-256-gcm
against sealed-ciphers 1 "${SAMBA_BASE[@]}" server.signing.required=true server.dialect.min=3.1.1 \
	server.encryption.required=true
grep -q "DIFFERS server.encryption.ciphers" "$T/sealed-ciphers.out" || fail "cipher difference not named"
against sealed-plain 1 "${SAMBA_BASE[@]}" server.signing.required=true server.dialect.min=3.1.1 \
	server.encryption.ciphers=aes-256-gcm
grep -q "DIFFERS server.encryption.required" "$T/sealed-plain.out" || fail "encryption difference not named"
echo "probe_samba: ok"
