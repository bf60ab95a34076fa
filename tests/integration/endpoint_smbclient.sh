#!/usr/bin/env bash
# endpoint_smbclient: smbclient (Samba 4.17) against smbrefd at every
# dialect the policy allows, signing required: ls, mkdir, put and get of a
# 64 MiB file with a checksum match, rename, rm.  Then with encryption
# required: each cipher at 3.1.1, and AES-128-CCM at 3.0 / 3.0.2.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/endpoint_common.inc"
command -v smbclient >/dev/null || skip "smbclient not installed"

head -c $((64 * 1024 * 1024)) /dev/urandom >"$T/big"
want=$(sha256sum <"$T/big" | cut -d' ' -f1)

session() { # label smbclient-options...
	local label=$1; shift
	step "$label"
	rm -rf "${EP_SHARE:?}"/* "$T/back"
	(cd "$T" && ep_smbclient -U alice%Secret-1 "$@" \
		-c 'mkdir dir1; put big; get big back; rename big big2; ls; allinfo big2; rm big2; rmdir dir1; ls') \
		>"$T/out" 2>&1 || { cat "$T/out"; fail "$label: smbclient failed"; }
	cat "$T/out"
	grep -q NT_STATUS "$T/out" && fail "$label: an operation failed"
	[ "$(sha256sum <"$T/back" | cut -d' ' -f1)" = "$want" ] || fail "$label: checksum mismatch"
	grep -q "big2" "$T/out" || fail "$label: rename not listed"
	[ -z "$(ls -A "$EP_SHARE")" ] || fail "$label: rm/rmdir left files"
}

ep_policy "$T/sign.xml" sign server.signing.required=true server.dialect.min=2.0.2 server.dialect.max=3.1.1
ep_start "$T/sign.xml"
for proto in SMB2_02 SMB2_10 SMB3_00 SMB3_02 SMB3_11; do
	session "$proto, signing required" --option="client min protocol=$proto" \
		--option="client max protocol=$proto"
done
[ "$(ep_events session)" -ge 5 ] || fail "no session audit events"
grep -q '"signing":"required"' "$AUDIT" || fail "session event does not show signing"
kill "$EP_PID"; wait "$EP_PID" 2>/dev/null || true

ep_policy "$T/enc.xml" enc server.signing.required=true server.encryption.required=true \
	server.encryption.reject-unencrypted=true server.dialect.min=3.0 server.dialect.max=3.1.1 \
	server.encryption.ciphers=aes-128-gcm,aes-128-ccm,aes-256-gcm,aes-256-ccm
ep_start "$T/enc.xml"
for cipher in AES-128-GCM AES-128-CCM AES-256-GCM AES-256-CCM; do
	session "3.1.1, encryption required, $cipher" --client-protection=encrypt \
		--option="client smb3 encryption algorithms=$cipher"
	lower=$(echo "$cipher" | tr A-Z a-z)
	grep -q "\"encryption\":\"$cipher\"\|\"encryption\":\"$lower\"" "$AUDIT" ||
		fail "session event does not show $cipher"
done
for proto in SMB3_00 SMB3_02; do
	session "$proto, encryption required (AES-128-CCM)" --option="client max protocol=$proto"
done
echo PASS
