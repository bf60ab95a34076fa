# demo: The scratch Samba after the agent applied the policy
# shellcheck shell=bash
#
# The same smbd as in part 25, reloaded by the agent in part 30: the SMB 2.1
# client and the guest are refused now, signing is required, and the
# admin's smb.conf only gained one include line.
set -euo pipefail
root=$DEMO/root
port=$(cat "$DEMO/samba.port")
echo "--- the admin's smb.conf now (one include line added)"
grep -nE '^[[:space:]]*include' "$root/etc/samba/smb.conf" | sed 's/^/    /'
echo "--- an SMB 2.1 client: refused"
echo "\$ smbclient //127.0.0.1/share -p $port -U root%... --option='client max protocol=SMB2_10' -c ls"
smbclient //127.0.0.1/share -p "$port" -U 'root%Demo-Passw0rd' --option='client max protocol=SMB2_10' \
	-c ls 2>&1 | sed 's/^/    /' | head -n 2 || true
echo "--- a guest: refused"
echo "\$ smbclient //127.0.0.1/share -p $port -N -c ls"
smbclient //127.0.0.1/share -p "$port" -N -c ls 2>&1 | sed 's/^/    /' | head -n 2 || true
echo "--- SMB 3.1.1 with a password: served (signed and encrypted, as the policy says)"
smbclient //127.0.0.1/share -p "$port" -U 'root%Demo-Passw0rd' -c 'get hello.txt /dev/stdout' 2>&1 |
	sed 's/^/    /' | head -n 1
echo "--- what nmap sees now"
nmap -Pn -p "$port" --script smb2-security-mode --script-args smbport="$port" 127.0.0.1 2>/dev/null |
	grep -i 'signing' | sed 's/^|_*/   /'
