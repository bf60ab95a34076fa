#!/bin/bash
# quic_idle.sh - smbrefd drops an SMB over QUIC connection that stays
# silent past the 30 s idle timeout (QUIC max_idle_timeout): a quic-go
# peer negotiates, then holds the connection without a packet (its own
# idle timeout raised to 80 s); within 33 s smbrefd has freed the QUIC
# connection and the Conn behind it (its sockets are back to the count
# before), while the peer is still holding.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/quic_lib.bash"
quic_peer_build
quic_certs
quic_policy "$T/p.xml"
quic_start "$T/p.xml"
sockets() { find /proc/"$EP_PID"/fd -lname 'socket:*' 2>/dev/null | wc -l; }
base=$(sockets)
start_bg "$T/peer.out" "$QUIC_PEER" -addr "127.0.0.1:$QPORT" -hold 40s
PEER=$BG_PID
for _ in $(seq 1 50); do grep -q holding "$T/peer.out" && break; sleep 0.1; done
grep -q 'negotiate status=0x00000000 dialect=0x0311; holding' "$T/peer.out" || fail "peer not served"
held=$(sockets)
echo "sockets: $base before, $held while connected"
[ "$held" -gt "$base" ] || fail "no socket for the connection while it is up"
sleep 25
[ "$(sockets)" -eq "$held" ] || fail "connection dropped before 25 s of idleness"
for _ in $(seq 1 80); do [ "$(sockets)" -le "$base" ] && break; sleep 0.1; done
[ "$(sockets)" -le "$base" ] || fail "connection still held after 33 s idle"
kill -0 "$PEER" 2>/dev/null || fail "the peer gave up first: the test proves nothing"
echo "freed after the idle timeout while the peer still held it"
echo PASS
