#!/bin/bash
# quic_many.sh - many SMB over QUIC connections at once on the workers'
# event loops, beside TCP: 10 quic-go peers in parallel, 20 handshakes +
# NEGOTIATE each, while smbrefc copies a file over TCP and another over
# QUIC; every handshake is served and audited (1913), the copies are intact,
# and smbrefd keeps no QUIC connection afterwards (its socketpairs go
# back to zero: at once, or at the idle timeout for a connection whose
# CONNECTION_CLOSE was lost).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/quic_lib.bash"
quic_peer_build
quic_certs
quic_policy "$T/p.xml"
quic_start "$T/p.xml"
cat >"$T/c.xml" <<X
<?xml version="1.0" encoding="UTF-8"?>
<policy xmlns="urn:smbpolicy:policy:1" name="client">
  <setting id="client.quic.enabled">true</setting>
</policy>
X
head -c 20000000 /dev/urandom >"$T/f"
sockets() { find /proc/"$EP_PID"/fd -lname 'socket:*' 2>/dev/null | wc -l; }
base=$(sockets)

pids=()
for i in $(seq 1 10); do
	quic_peer -count 20 >"$T/peer-$i.out" 2>&1 &
	pids+=($!)
done
timeout 60 "$BIN/smbrefc" "//localhost:$PORT/share" -I 127.0.0.1 --policy "$T/c.xml" -U 'alice%Secret-1' \
	put "$T/f" tcp.bin || fail "TCP copy beside QUIC failed"
SMBREFC_QUIC_CA=$PKI/ca.pem timeout 60 "$BIN/smbrefc" "//localhost:$QPORT/share" -I 127.0.0.1 --quic --policy "$T/c.xml" \
	-U 'alice%Secret-1' put "$T/f" quic.bin || fail "QUIC copy beside QUIC handshakes failed"
for p in "${pids[@]}"; do wait "$p" || true; done
for i in $(seq 1 10); do
	grep -q '^handshakes=20 ' "$T/peer-$i.out" || { cat "$T/peer-$i.out"; fail "peer $i was not served 20 times"; }
done
cmp "$T/f" "$T/share/tcp.bin" && cmp "$T/f" "$T/share/quic.bin" || fail "a copy differs"
sleep 0.5
n=$(quic_events 1913)
echo "1913 events: $n"
[ "$n" -eq 201 ] || fail "expected 201 QUIC connection events, got $n"
# closed connections go at once; one whose CONNECTION_CLOSE datagram was
# lost under this load goes at the 30 s idle timeout, as QUIC says
for i in $(seq 1 350); do [ "$(sockets)" -le "$base" ] && break; sleep 0.1; done
echo "sockets back to $base after $((i / 10)) s"
[ "$(sockets)" -le "$base" ] || fail "smbrefd still holds $(( $(sockets) - base )) sockets of finished connections"
echo PASS
