#!/usr/bin/env bash
# rdma_loopback_smbclient: real SMB traffic through the SMB Direct layer.
# No RDMA device exists here, so smbclient (Samba 4.17) talks TCP to
# bench_smbdirect --proxy, which carries every SMB2 frame through an SMB
# Direct client/server pair over the in-process loopback queue pair
# (negotiate, credits, fragmentation into 1364-byte sends, reassembly of up
# to 9 MiB) and on to smbrefd over TCP, and the responses back the same way.
# put/get of a 64 MiB file must come back checksum-equal, signed and then
# encrypted.  What this does not cover: verbs and RDMA CM (no device);
# smbclient does not use RDMA channels (SMB2 READ/WRITE with RDMA_V1 are
# tested over the loopback in tests/unit/test_transport_rdma.c).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/endpoint_common.inc"
command -v smbclient >/dev/null || skip "smbclient not installed"
PROXY=$(dirname "$BIN")/bench/bench_smbdirect
[ -x "$PROXY" ] || fail "$PROXY not built (make tests-build)"

ep_policy "$T/p.xml" smbd server.signing.required=true server.dialect.min=3.0 \
	server.encryption.ciphers=aes-128-gcm,aes-256-gcm
ep_start "$T/p.xml"
PPORT=$(free_port)
start_bg "$T/proxy.log" "$PROXY" --proxy "$PPORT" "$PORT"
wait_port "$PPORT"

head -c $((64 * 1024 * 1024)) /dev/urandom >"$T/big"
want=$(sha256sum <"$T/big" | cut -d' ' -f1)
for mode in sign encrypt; do
	step "smbclient through SMB Direct (loopback), $mode"
	rm -f "$T/back" "$EP_SHARE/big"
	(cd "$T" && timeout 300 smbclient //127.0.0.1/share -p "$PPORT" -U alice%Secret-1 \
		--client-protection="$mode" -c 'put big; get big back; ls') >"$T/out" 2>&1 ||
		{ cat "$T/out" "$T/proxy.log"; fail "$mode: smbclient failed"; }
	cat "$T/out"
	grep -q NT_STATUS "$T/out" && fail "$mode: an operation failed"
	[ "$(sha256sum <"$T/back" | cut -d' ' -f1)" = "$want" ] || fail "$mode: checksum mismatch"
done
grep -q '"encryption":"' "$AUDIT" || fail "no encrypted session audited"
kill -0 "$BG_PID" || fail "the proxy died"
cat "$T/proxy.log"
echo PASS
