#!/usr/bin/env bash
# endpoint_tshark: tshark's SMB2 dissector finds no malformed packet in a
# capture of smbrefd serving smbclient (every dialect, signing, compound
# requests, directory listings, errors) and nmap's SMB1 negotiate.
# The capture is on an odd port, where tshark's NBSS dissector reads
# NetBIOS framing (17-bit lengths) instead of port 445's 24-bit Direct TCP
# length; so the file moved stays under 128 KiB per message.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/endpoint_common.inc"
command -v tshark >/dev/null || skip "tshark not installed"
command -v smbclient >/dev/null || skip "smbclient not installed"

ep_policy "$T/p.xml" tshark server.signing.required=true server.dialect.min=2.0.2 server.dialect.max=3.1.1
ep_start "$T/p.xml"
cap=$T/run.pcapng
start_bg "$T/tshark.log" tshark -i lo -f "tcp port $PORT" -w "$cap"
for _ in $(seq 1 100); do
	grep -q "Capturing on" "$T/tshark.log" 2>/dev/null && break
	sleep 0.1
done
head -c 100000 /dev/urandom >"$T/f"
for proto in SMB2_02 SMB2_10 SMB3_00 SMB3_02 SMB3_11; do
	(cd "$T" && ep_smbclient -U alice%Secret-1 --option="client max protocol=$proto" \
		-c 'mkdir d; put f; ls; allinfo f; get f g; rename f d\f2; ls d\*; rm d\f2; rmdir d; ls nosuchfile') \
		>/dev/null 2>&1 || true
done
ep_smbclient -U alice%wrong -c ls >/dev/null 2>&1 || true
command -v nmap >/dev/null && nmap -Pn -p "$PORT" --script smb-protocols --script-args smbport="$PORT" 127.0.0.1 >/dev/null 2>&1 || true
sleep 1
kill "$BG_PID"; wait "$BG_PID" 2>/dev/null || true

n=$(tshark -r "$cap" -d "tcp.port==$PORT,nbss" -Y smb2 2>/dev/null | wc -l)
echo "SMB2 packets: $n"
[ "$n" -gt 100 ] || fail "capture holds too few SMB2 packets ($n)"
bad=$(tshark -r "$cap" -d "tcp.port==$PORT,nbss" -Y '_ws.malformed || _ws.expert.severity == error' 2>/dev/null)
[ -z "$bad" ] || { echo "$bad"; fail "malformed packets in the capture"; }
echo PASS
