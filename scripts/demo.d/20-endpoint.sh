# demo: Reference endpoint smbrefd
#
# Starts smbrefd on a free loopback port with fs1's resultant policy
# ($DEMO/fs1.rsop.xml from part 10; schema/policies/strict.xml when absent),
# then shows smbclient refused where the policy says so - an unsigned
# (anonymous, --client-protection=off) session while signing is required,
# and an SMB 2.1 client below the dialect floor - and served with signing
# (and encryption, when the policy requires it).  Prints the audit events
# (JSON lines).  smbrefd's pid goes to $DEMO/pids; it keeps running for the
# later parts (its port is in $DEMO/smbrefd.port).
# Needs: $BIN, $TOP, $DEMO (set by scripts/demo).
set -euo pipefail
src=$DEMO/fs1.rsop.xml
[ -f "$src" ] || src=$TOP/schema/policies/strict.xml
# Where the agent's endpoint plugin (part 30, root $DEMO/root) writes the
# policy and finds smbrefd's pid, so the agent manages this very server.
policy=$DEMO/root/etc/smbpolicy/smbrefd-policy.xml
pidfile=$DEMO/root/run/smbrefd.pid
mkdir -p "$(dirname "$policy")" "$(dirname "$pidfile")"
cp "$src" "$policy"
ep=$DEMO/endpoint
mkdir -p "$ep/share"
printf 'demo:Demo-Passw0rd\n' >"$ep/users"
echo "hello from smbrefd" >"$ep/share/readme.txt"

port=
for _ in $(seq 1 100); do
	p=$((20000 + RANDOM % 12000)) # below the ephemeral ports
	if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then port=$p; break; fi
done
[ -n "$port" ] || { echo "no free port" >&2; exit 1; }
echo "\$ smbrefd --policy $policy --listen tcp:127.0.0.1:$port --share share=$ep/share --users $ep/users --audit-log $ep/audit.json --pid-file $pidfile"
"$BIN/smbrefd" --policy "$policy" --listen "tcp:127.0.0.1:$port" --share "share=$ep/share" \
	--users "$ep/users" --audit-log "$ep/audit.json" --host fs1 --pid-file "$pidfile" >"$ep/smbrefd.log" 2>&1 &
echo $! >>"$DEMO/pids"
echo "$port" >"$DEMO/smbrefd.port"
for _ in $(seq 1 100); do
	(exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break
	sleep 0.1
done
cat "$ep/smbrefd.log"

sc() { echo "\$ smbclient //127.0.0.1/share -p $port $*"; timeout 60 smbclient //127.0.0.1/share -p "$port" "$@" 2>&1 | sed 's/^/    /' || true; }
echo
echo "--- without signing: refused (an anonymous session has no key to sign with)"
sc -N --client-protection=off -c ls
echo
echo "--- an SMB 2.1 client: refused when the policy's dialect floor is higher"
sc -U demo%Demo-Passw0rd --option='client max protocol=SMB2_10' -c ls
echo
echo "--- with signing: served"
sc -U demo%Demo-Passw0rd --client-protection=sign -c 'ls; get readme.txt /dev/stdout'
echo
echo "--- audit events written by smbrefd ($ep/audit.json)"
sed 's/^/    /' "$ep/audit.json"
