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
. "$(dirname "$0")/rdma_common.inc"

ep_policy "$T/p.xml" smbd server.signing.required=true server.dialect.min=3.0 \
	server.encryption.ciphers=aes-128-gcm,aes-256-gcm
ep_start "$T/p.xml"
PPORT=$(free_port)
start_bg "$T/proxy.log" "$PROXY" --proxy "$PPORT" "$PORT"
wait_port "$PPORT"

rdma_put_get "$PPORT" "loopback"
kill -0 "$BG_PID" || fail "the proxy died"
cat "$T/proxy.log"
echo PASS
