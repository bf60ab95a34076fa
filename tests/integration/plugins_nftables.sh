#!/usr/bin/env bash
# plugins_nftables.sh - the nftables plugin inside a private network
# namespace (unshare -n: the host's firewall is never touched), with real
# connection attempts: listeners on TCP 139/445/5445 and UDP 137/138/443;
# after applying with NetBIOS closed, 139/tcp and 137,138/udp get no answer
# while 445/tcp, 443/udp (QUIC) and 5445/tcp (RDMA) do; with
# firewall.netbios.legacy they answer again; client.mailslots.enabled=false
# drops outbound UDP 138 (output chain); a table the admin made before
# stays byte for byte; dry run changes nothing; rollback removes our table.
. "$(dirname "$0")/lib.sh"
PLUGIN=$BIN/smbpolicy-plugin
[ -x "$PLUGIN" ] || fail "$PLUGIN missing"

if [ -z "${IN_NETNS:-}" ]; then
	command -v unshare >/dev/null || skip "unshare missing"
	unshare -n true 2>/dev/null || skip "cannot create a network namespace here"
	exec env IN_NETNS=1 TEST_TMP="$T" unshare -n bash "$0"
fi
ip link set lo up

cat >"$T/listen.py" <<'EOF'
import socket, sys, threading
def tcp(s):
    while True:
        c, _ = s.accept(); c.sendall(b"hi"); c.close()
def udp(s):
    while True:
        d, a = s.recvfrom(100); s.sendto(d, a)
for spec in sys.argv[1:]:
    proto, port = spec.split(":")
    if proto == "tcp":
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", int(port))); s.listen(16)
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", int(port)))
    threading.Thread(target=tcp if proto == "tcp" else udp, args=(s,), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
EOF
cat >"$T/probe.py" <<'EOF'
import socket, sys
proto, port = sys.argv[1], int(sys.argv[2])
try:
    if proto == "tcp":
        s = socket.create_connection(("127.0.0.1", port), timeout=1); ok = s.recv(2) == b"hi"
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)
        s.sendto(b"ping", ("127.0.0.1", port)); ok = s.recvfrom(100)[0] == b"ping"
except OSError:
    ok = False
sys.exit(0 if ok else 1)
EOF
start_bg "$T/listen.log" python3 "$T/listen.py" tcp:139 tcp:445 tcp:5445 udp:137 udp:138 udp:443
for _ in $(seq 50); do grep -q ready "$T/listen.log" && break; sleep 0.1; done
reach() { python3 "$T/probe.py" "$1" "$2"; }
expect_open() { for pp in "$@"; do reach "${pp%%:*}" "${pp##*:}" || fail "$pp not reachable"; done; }
expect_closed() { for pp in "$@"; do reach "${pp%%:*}" "${pp##*:}" && fail "$pp still reachable"; done; return 0; }

step "baseline: every port answers"
expect_open tcp:139 tcp:445 tcp:5445 udp:137 udp:138 udp:443

step "an admin table exists before us"
nft -f - <<'EOF'
table ip admin {
	chain c {
		type filter hook input priority 0; policy accept;
		tcp dport 9999 counter accept comment "admin rule"
	}
}
EOF
nft list table ip admin >"$T/admin.before"

cat >"$T/closed.settings" <<EOF
firewall.netbios.legacy = false
server.transport.tcp.enabled = true
server.transport.tcp.port = 445
server.transport.quic.enabled = true
server.transport.quic.port = 443
server.transport.rdma.enabled = true
server.transport.rdma.port = 5445
EOF
sed 's/^firewall.netbios.legacy = false/firewall.netbios.legacy = true/' "$T/closed.settings" >"$T/legacy.settings"

step "dry run changes nothing"
"$PLUGIN" --dry-run --settings "$T/closed.settings" nftables apply >/dev/null || fail "dry run failed"
nft list table inet smbpolicy >/dev/null 2>&1 && fail "dry run created the table"

step "apply with NetBIOS closed"
"$PLUGIN" --settings "$T/closed.settings" --backup "$T/bk" nftables apply | tee "$T/apply.out"
grep -q '^applied' "$T/apply.out" || fail "apply failed"
nft list table inet smbpolicy
expect_closed tcp:139 udp:137 udp:138
expect_open tcp:445 udp:443 tcp:5445
nft list table ip admin | cmp - "$T/admin.before" || fail "admin table changed"
"$PLUGIN" --settings "$T/closed.settings" --check nftables plan >/dev/null || fail "plan not empty after apply"
"$PLUGIN" --settings "$T/closed.settings" nftables verify | grep 'verify: ok' >/dev/null || fail "verify failed"
"$PLUGIN" nftables actual | grep 'firewall.netbios.legacy .*set input tcp dport 139 drop' >/dev/null || fail "actual misses 139 drop"

step "drift: someone deletes a rule; verify notices"
h=$(nft -a list chain inet smbpolicy input | sed -n 's/.*tcp dport 139 drop.*# handle \([0-9]*\)/\1/p')
nft delete rule inet smbpolicy input handle "$h"
"$PLUGIN" --settings "$T/closed.settings" nftables verify >/dev/null 2>&1 && fail "verify missed the drift"
"$PLUGIN" --settings "$T/closed.settings" --check nftables plan >/dev/null && fail "plan missed the drift"

step "legacy NetBIOS allowed again"
"$PLUGIN" --settings "$T/legacy.settings" nftables apply >/dev/null || fail "apply legacy failed"
expect_open tcp:139 udp:137 udp:138 tcp:445
[ "$(nft list table inet smbpolicy | grep -c 'dport 13[789]')" -eq 3 ] || fail "not exactly one rule per NetBIOS port"

step "no remote mailslots: outbound UDP 138 dropped even with NetBIOS legacy open"
"$PLUGIN" --settings "$T/legacy.settings" --set client.mailslots.enabled=false nftables apply >/dev/null \
	|| fail "apply mailslots failed"
nft list chain inet smbpolicy output | grep 'udp dport 138 drop' >/dev/null || fail "no output rule for mailslots"
expect_closed udp:138
expect_open udp:137 tcp:139

step "rollback to before the first apply"
"$PLUGIN" --backup "$T/bk" nftables rollback || fail "rollback failed"
nft list table inet smbpolicy >/dev/null 2>&1 && fail "our table still there after rollback"
nft list table ip admin | cmp - "$T/admin.before" || fail "admin table changed"
expect_open tcp:139 udp:137 udp:138 tcp:445
echo "PASS plugins_nftables"
