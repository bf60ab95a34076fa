# demo: A scratch Samba smbd for the agent to manage
# shellcheck shell=bash
#
# Writes an admin's smb.conf under the agent's scratch root ($DEMO/root),
# with every Samba directory under $DEMO/samba and a free loopback port,
# starts smbd on it and shows it weak before the agent runs: an SMB 2.1
# client served, signing not required.  Part 30's agent then applies the
# policy to this very smbd (include line, testparm, smbcontrol reload), and
# part 35 shows the difference.  Pid into $DEMO/pids, port into
# $DEMO/samba.port.
set -euo pipefail
# smbd's directories under the agent's root: the plugin reads only paths there.
root=$DEMO/root s=$DEMO/root/var/lib/samba
mkdir -p "$root/etc/samba" "$s"/{private,lock,state,cache,log,run} "$DEMO/samba-share"
echo "hello from Samba" >"$DEMO/samba-share/hello.txt"
port=
for _ in $(seq 1 100); do
	p=$((20000 + RANDOM % 12000)) # below the ephemeral ports
	if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then port=$p; break; fi
done
[ -n "$port" ] || { echo "no free port" >&2; exit 1; }
cat >"$root/etc/samba/smb.conf" <<CONF
# The admin's smb.conf: the agent adds one include line to [global] and
# leaves everything else as it is.
[global]
	workgroup = DEMO
	server role = standalone server
	smb ports = $port
	interfaces = lo
	bind interfaces only = yes
	private dir = $s/private
	lock directory = $s/lock
	pid directory = $s/run
	state directory = $s/state
	cache directory = $s/cache
	log file = $s/log/log.%m
	passdb backend = tdbsam:$s/private/passdb.tdb
	map to guest = Bad User
	load printers = no
	printcap name = /dev/null
	disable spoolss = yes

[share]
	path = $DEMO/samba-share
	read only = no
CONF
printf 'Demo-Passw0rd\nDemo-Passw0rd\n' | pdbedit -s "$root/etc/samba/smb.conf" -a -u root -t >/dev/null
setsid smbd -F --no-process-group -s "$root/etc/samba/smb.conf" >"$s/smbd.log" 2>&1 &
echo $! >>"$DEMO/pids"
echo "$port" >"$DEMO/samba.port"
for _ in $(seq 1 200); do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done
echo "smbd on 127.0.0.1:$port, configuration $root/etc/samba/smb.conf"

echo
echo "--- before the agent: an SMB 2.1 client is served"
echo "\$ smbclient //127.0.0.1/share -p $port -U root%... --option='client max protocol=SMB2_10' -c ls"
smbclient //127.0.0.1/share -p "$port" -U 'root%Demo-Passw0rd' --option='client max protocol=SMB2_10' \
	-c ls 2>&1 | sed 's/^/    /' | head -n 4
echo "--- before the agent: what nmap sees"
nmap -Pn -p "$port" --script smb2-security-mode --script-args smbport="$port" 127.0.0.1 2>/dev/null |
	grep -i 'signing' | sed 's/^|_*/   /'
