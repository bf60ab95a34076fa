#!/usr/bin/env bash
# endpoint_kerberos: with --keytab, smbrefd accepts Kerberos through SPNEGO
# besides NTLMv2.  A scratch MIT realm (krb5kdc on a free loopback port)
# issues a ticket for alice; smbclient --use-kerberos=required lists and
# reads the share at SMB 3.1.1 with signing and encryption required, the
# audit event names the mechanism, NTLM still works, and a Kerberos-only
# client without a ticket is refused.  Samba's client never tries Kerberos
# towards "localhost" or an IP address, so the server is named
# srv.smbref.test and reached with -I 127.0.0.1.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/endpoint_common.inc"
for t in krb5kdc kdb5_util kadmin.local kinit smbclient; do
	command -v $t >/dev/null || [ -x /usr/sbin/$t ] || skip "$t not installed"
done
export PATH=$PATH:/usr/sbin

REALM=SMBREF.TEST
K=$T/krb
mkdir -p "$K"
kport=$(free_port)
cat >"$K/krb5.conf" <<CONF
[libdefaults]
 default_realm = $REALM
 dns_lookup_kdc = false
 dns_lookup_realm = false
 rdns = false
 dns_canonicalize_hostname = false
 udp_preference_limit = 1
[realms]
 $REALM = {
  kdc = 127.0.0.1:$kport
 }
[domain_realm]
 srv.smbref.test = $REALM
CONF
cat >"$K/kdc.conf" <<CONF
[kdcdefaults]
 kdc_ports = $kport
 kdc_tcp_ports = $kport
[realms]
 $REALM = {
  database_name = $K/principal
  key_stash_file = $K/stash
  acl_file = $K/kadm5.acl
 }
[logging]
 kdc = FILE:$K/kdc.log
CONF
export KRB5_CONFIG=$K/krb5.conf KRB5_KDC_PROFILE=$K/kdc.conf KRB5CCNAME=FILE:$K/ccache
kdb5_util create -s -r $REALM -P master-pw >/dev/null 2>&1 || fail "kdb5_util create"
kadmin.local -q "addprinc -pw Alice-Krb-1 alice" >/dev/null 2>&1 || fail "addprinc alice"
kadmin.local -q "addprinc -randkey cifs/srv.smbref.test" >/dev/null 2>&1 || fail "addprinc cifs/srv.smbref.test"
kadmin.local -q "ktadd -k $K/cifs.keytab cifs/srv.smbref.test" >/dev/null 2>&1 || fail "ktadd"
kadmin.local -q "modprinc +no_auth_data_required cifs/srv.smbref.test" >/dev/null 2>&1 || true
start_bg "$T/kdc.out" krb5kdc -n
wait_port "$kport"

ep_policy "$T/p.xml" krb server.signing.required=true server.dialect.min=3.1.1 \
	server.encryption.required=true
ep_start "$T/p.xml" --keytab "$K/cifs.keytab"

step "no ticket: a Kerberos-only client is refused"
out=$(timeout 60 smbclient //srv.smbref.test/share -I 127.0.0.1 -p "$PORT" --use-kerberos=required -N -c ls 2>&1) &&
	fail "served without a ticket"
echo "$out" | tail -n 2

step "kinit alice, then Kerberos"
echo Alice-Krb-1 | kinit alice >/dev/null || fail "kinit"
echo "kerberos over SMB" >"$EP_SHARE/k.txt"
timeout 60 smbclient //srv.smbref.test/share -I 127.0.0.1 -p "$PORT" --use-kerberos=required -N \
	-c "ls; get k.txt $T/k.got" >"$T/k.out" 2>&1 || { cat "$T/k.out"; fail "Kerberos session failed"; }
cat "$T/k.out"
grep -q "kerberos over SMB" "$T/k.got" || fail "file not read over Kerberos"
grep '"event":"session"' "$AUDIT" | grep -q '"auth":"kerberos"' || fail "session event does not say kerberos"

step "NTLM still accepted beside Kerberos"
ep_smbclient -U alice%Secret-1 --use-kerberos=disabled -c ls >/dev/null 2>&1 || fail "NTLM refused"
grep '"event":"session"' "$AUDIT" | grep -q '"auth":"ntlm"' || fail "no NTLM session event"
echo PASS
