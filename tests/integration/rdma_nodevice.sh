#!/usr/bin/env bash
# rdma_nodevice: smbrefd with --listen rdma:127.0.0.1:PORT beside a TCP
# listener on a machine without any RDMA device (no HCA, no rxe/siw; what
# these machines are).  smbrefd must say clearly that the RDMA address is not
# served and why, must not claim to listen there, and must keep serving
# smbclient over TCP (put/get with checksum).  A malformed rdma: address is a
# usage error.  The SMB Direct protocol itself is tested over the loopback
# queue pair (tests/unit/test_smbdirect.c).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/endpoint_common.inc"
command -v smbclient >/dev/null || skip "smbclient not installed"
if [ -n "$(ls -A /sys/class/infiniband 2>/dev/null)" ]; then
	skip "this machine has an RDMA device: the no-device start-up cannot be tested here"
fi

step "smbrefd with an rdma listener and no RDMA device"
ep_policy "$T/rdma.xml" rdma server.transport.rdma.enabled=true server.signing.required=true
RPORT=$(free_port)
ep_start "$T/rdma.xml" --listen "rdma:127.0.0.1:$RPORT"
ep_wait_log "listening on tcp:127.0.0.1:$PORT"
cat "$EP_LOG"
grep -qF "smbrefd: rdma:127.0.0.1:$RPORT: no RDMA device (ibv_get_device_list returned none)" "$EP_LOG" ||
	fail "no clear no-device message"
grep -q "listening on rdma:" "$EP_LOG" && fail "claims to listen on the rdma address"
[ "$(grep -c "no RDMA device" "$EP_LOG")" -eq 1 ] || fail "the no-device message is not said exactly once"

step "TCP still serves smbclient"
head -c $((4 * 1024 * 1024)) /dev/urandom >"$T/file"
(cd "$T" && ep_smbclient -U alice%Secret-1 -c 'put file; get file back; ls') >"$T/out" 2>&1 ||
	{ cat "$T/out"; fail "smbclient over TCP failed"; }
cat "$T/out"
cmp -s "$T/file" "$T/back" || fail "checksum mismatch over TCP"
kill -0 "$EP_PID" || fail "smbrefd died"
kill "$EP_PID"; wait "$EP_PID" 2>/dev/null || true

step "a malformed rdma address is a usage error"
rc=0
"$BIN/smbrefd" --policy "$T/rdma.xml" --listen "rdma:127.0.0.1:notaport" --share "share=$EP_SHARE" \
	--users "$T/users" >"$T/bad.log" 2>&1 || rc=$?
cat "$T/bad.log"
[ "$rc" -ne 0 ] || fail "smbrefd accepted rdma:127.0.0.1:notaport"
grep -q -- "--listen rdma:127.0.0.1:notaport" "$T/bad.log" || fail "the error does not name the address"
echo PASS
