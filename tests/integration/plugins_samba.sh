#!/usr/bin/env bash
# plugins_samba.sh - the samba plugin against a real smbd on a loopback port
# in a scratch root: before apply, a guest and an SMB2_10 client get in,
# signing is not required and a client with --client-protection=off talks in
# clear; after applying the strict policy (and the plugin's own `smbcontrol
# smbd reload-config`) the guest and SMB2_10 are refused, nmap's
# smb2-security-mode reports signing required, smb-protocols only 3.1.1, and
# the --client-protection=off client is made to encrypt (Samba's client does
# not refuse: it follows a server that demands signing/encryption, so the
# server's demand is what this checks), while a signed SMB 3.1.1 user still
# works; after rollback all is as before and smb.conf is byte-identical to
# the admin's original.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/samba_lib.bash"
command -v smbd >/dev/null || skip "smbd not installed"
PLUGIN=$BIN/smbpolicy-plugin
[ -x "$PLUGIN" ] || fail "$PLUGIN missing"

R=$T/root
PORT=$(free_port)
mkdir -p "$R/etc/samba" "$R/run/samba"
samba_dirs
{
	echo "# scratch smbd for plugins_samba.sh"
	samba_global "$PORT" "$R/run/samba"
	cat <<EOF
	map to guest = Bad User
	guest account = nobody

[share]
	path = $T/share
	guest ok = yes
	read only = no
EOF
} >"$R/etc/samba/smb.conf"
cp "$R/etc/samba/smb.conf" "$T/smb.conf.orig"
testparm -s "$R/etc/samba/smb.conf" >/dev/null 2>&1 || fail "scratch smb.conf invalid"
samba_user "$R/etc/samba/smb.conf"
samba_start "$R/etc/samba/smb.conf" 60

# Clients read an empty config, so the policy written for the host's own
# client (client use kerberos = required...) does not change them.
: >"$T/client.conf"
smbc() { timeout 30 smbclient -s "$T/client.conf" "//127.0.0.1/share" -p "$PORT" "$@" -c 'get hello.txt /dev/null' >>"$T/client.log" 2>&1; }
# Succeeds, and says whether the server forced encryption on a client that
# asked for none.
user_nosign() {
	: >"$T/nosign.log"
	timeout 30 smbclient -s "$T/client.conf" "//127.0.0.1/share" -p "$PORT" -U 'root%Secret123' \
		--client-protection=off -d 10 -c 'get hello.txt /dev/null' >"$T/nosign.log" 2>&1 || return 2
	grep -q 'Encrypted SMB2 message' "$T/nosign.log" && return 1
	return 0
}
# until_mode TEXT: smbd's parent re-reads its config asynchronously after
# reload-config; wait (up to 15 s) until nmap sees TEXT.
until_mode() {
	for _ in $(seq 30); do
		security_mode
		grep -q "$1" "$T/nmap.out" && return 0
		sleep 0.5
	done
	fail "nmap never reported '$1'"
}
security_mode() {
	nmap -Pn -p "$PORT" --script smb2-security-mode,smb-protocols --script-args smbport="$PORT" \
		127.0.0.1 >"$T/nmap.out" 2>&1 || fail "nmap failed"
	cat "$T/nmap.out" >>"$T/client.log"
}
guest() { smbc -N; }
smb2_10() { smbc -U 'root%Secret123' --option='client max protocol=SMB2_10'; }
strong() { smbc -U 'root%Secret123' --client-protection=encrypt --option='client min protocol=SMB3_11'; }

step "before apply: weak clients get in"
user_nosign || fail "unprotected client refused or encrypted before apply"
security_mode
grep -q 'enabled but not required' "$T/nmap.out" || fail "signing required before apply?"
grep -Eq '^\|_? +(2\.0\.2|202)$' "$T/nmap.out" || fail "SMB 2.0.2 not offered before apply"
guest || fail "guest refused before apply"
smb2_10 || fail "SMB2_10 client refused before apply"

cat >"$T/strict.settings" <<EOF
server.signing.required = true
client.signing.required = true
server.encryption.required = true
server.encryption.ciphers += aes-256-gcm
server.encryption.ciphers += aes-128-gcm
server.dialect.min = 3.1.1
server.dialect.max = 3.1.1
client.dialect.min = 3.0
client.dialect.max = 3.1.1
client.ntlm.block = false
server.guest.allowed = false
server.transport.tcp.port = $PORT
firewall.netbios.legacy = false
EOF
run() { "$PLUGIN" --root "$R" --settings "$T/strict.settings" "$@"; }

step "detect sees the running smbd"
run samba detect | tee "$T/detect.out"
grep -q "running=yes" "$T/detect.out" || fail "detect did not see smbd running"

step "an unencrypted session stays open across the apply"
start_bg "$T/idle.log" bash -c "sleep 15 | smbclient -s '$T/client.conf' //127.0.0.1/share -p $PORT -U 'root%Secret123' --client-protection=off"
for _ in $(seq 50); do smbstatus -s "$R/etc/samba/smb.conf" --json 2>/dev/null | grep '"session_id"' >/dev/null && break; sleep 0.2; done

step "apply strict policy"
run --backup "$T/backup" samba apply | tee "$T/apply.out"
grep -q '^applied' "$T/apply.out" || fail "apply failed"
[ "$(grep -c 'smbpolicy.conf' "$R/etc/samba/smb.conf")" -eq 1 ] || fail "include line not added exactly once"
diff <(grep -v '^	include = ' "$R/etc/samba/smb.conf") "$T/smb.conf.orig" || fail "admin lines changed"
run samba plan --check >/dev/null || fail "plan after apply still has changes"
run samba verify >"$T/verify.out" 2>&1 || { cat "$T/verify.out"; fail "verify failed"; }
grep -q 'verify: ok' "$T/verify.out" || fail "verify failed"
grep -q 'smbstatus: 1 of 1 session(s) have no encryption' "$T/verify.out" \
	|| { cat "$T/verify.out"; fail "smbstatus did not report the old unencrypted session"; }
until_mode 'enabled and required'

step "after apply: weak clients refused, a strong one works"
rc=0; user_nosign || rc=$?
[ $rc -eq 1 ] || fail "unprotected client not forced to encrypt (rc $rc)"
security_mode
grep -q 'enabled and required' "$T/nmap.out" || fail "nmap: signing not required after apply"
grep -Eq '^\|_? +(2\.0\.2|2\.1|3\.0|3\.0\.2|202|210|300|302)$' "$T/nmap.out" && fail "nmap: dialects below 3.1.1 still offered"
grep -q '311' "$T/nmap.out" || fail "nmap: 3.1.1 not offered"
guest && fail "guest still accepted"
smb2_10 && fail "SMB2_10 client still accepted"
strong || fail "signed+encrypted SMB 3.1.1 client refused"

step "rollback"
"$PLUGIN" --root "$R" --backup "$T/backup" samba rollback || fail "rollback failed"
cmp "$R/etc/samba/smb.conf" "$T/smb.conf.orig" || fail "smb.conf not restored byte for byte"
[ ! -e "$R/etc/samba/smbpolicy.conf" ] || fail "owned file left after rollback"
until_mode 'enabled but not required'
user_nosign || fail "unprotected client refused or encrypted after rollback"
security_mode
grep -q 'enabled but not required' "$T/nmap.out" || fail "signing still required after rollback"
guest || fail "guest refused after rollback"
smb2_10 || fail "SMB2_10 client refused after rollback"
echo "PASS plugins_samba"
