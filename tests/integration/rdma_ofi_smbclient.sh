#!/usr/bin/env bash
# rdma_ofi_smbclient: SMB Direct between two real processes, RDMA included
# in the stack, on a machine without an RDMA device.  smbrefd serves
# --listen rdma:127.0.0.1:PORT through libfabric's tcp provider
# (--rdma-provider tcp: rdma_ofi.c, FI_EP_MSG with FI_MSG|FI_RMA over
# sockets); smbclient (Samba 4.17, no SMB Direct of its own) talks TCP to
# bench_smbdirect --proxy ... --rdma-provider tcp, which is an SMB Direct
# client of that listener (rdma_ofi_connect + smbd_bridge, as the reference
# client is) carrying every SMB2 frame as SMB Direct messages.  put/get of
# 64 MiB, signed and then encrypted, must come back checksum-equal; with
# server.transport.rdma.enabled=false smbrefd must refuse the SMB Direct
# connection.  What this does not cover: verbs (no device), RDMA channels
# of SMB2 READ/WRITE (smbclient does not ask for them; tests/unit/
# test_rdma_ofi.c moves data by RDMA read/write over the same stack).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/endpoint_common.inc"
. "$(dirname "$0")/rdma_common.inc"

step "smbrefd with rdma:127.0.0.1 over libfabric's tcp provider"
ep_policy "$T/p.xml" ofi server.transport.rdma.enabled=true server.signing.required=true \
	server.dialect.min=3.0 server.encryption.ciphers=aes-128-gcm,aes-256-gcm
RPORT=$(free_port)
ep_start "$T/p.xml" --listen "rdma:127.0.0.1:$RPORT" --rdma-provider tcp
ep_wait_log "listening on tcp:127.0.0.1:$PORT"
cat "$EP_LOG"
grep -q "no RDMA device (libfabric" "$EP_LOG" && skip "libfabric has no tcp provider with FI_MSG and FI_RMA"
ep_wait_log "listening on rdma:127.0.0.1:$RPORT"
PPORT=$(free_port)
start_bg "$T/proxy.log" "$PROXY" --proxy "$PPORT" "$RPORT" --rdma-provider tcp
PROXY_PID=$BG_PID
wait_port "$PPORT"

rdma_put_get "$PPORT" "libfabric tcp"
kill -0 "$PROXY_PID" || fail "the proxy died"
kill -0 "$EP_PID" || fail "smbrefd died"
grep -q "connection not carried" "$T/proxy.log" && { cat "$T/proxy.log"; fail "the proxy could not connect"; }
kill "$EP_PID" "$PROXY_PID"; wait "$EP_PID" "$PROXY_PID" 2>/dev/null || true
grep -q "Sanitizer\|runtime error" "$EP_LOG" && { cat "$EP_LOG"; fail "smbrefd: sanitizer report"; }

step "server.transport.rdma.enabled=false: the SMB Direct connection is refused"
ep_policy "$T/off.xml" ofi server.transport.rdma.enabled=false
RPORT=$(free_port)
ep_start "$T/off.xml" --listen "rdma:127.0.0.1:$RPORT" --rdma-provider tcp
ep_wait_log "listening on rdma:127.0.0.1:$RPORT"
PPORT=$(free_port)
start_bg "$T/proxy-off.log" "$PROXY" --proxy "$PPORT" "$RPORT" --rdma-provider tcp
wait_port "$PPORT"
rc=0
(cd "$T" && timeout 60 smbclient //127.0.0.1/share -p "$PPORT" -U alice%Secret-1 -c 'ls') >"$T/off" 2>&1 || rc=$?
cat "$T/off" "$T/proxy-off.log"
[ "$rc" -ne 0 ] || fail "smbclient got through with SMB Direct disabled"
grep -q "connection not carried: Connection refused" "$T/proxy-off.log" || fail "the proxy was not refused"
kill -0 "$EP_PID" || fail "smbrefd died"
echo PASS
