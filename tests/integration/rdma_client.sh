#!/usr/bin/env bash
# rdma_client: smbrefc and `smbpolicy probe` over SMB Direct to a real
# smbrefd, both through libfabric's "tcp" provider (real RDMA reads and
# writes over sockets: this machine has no RDMA NIC).
#   - ls, and put/get of 64 MiB with checksums on a signed session: every
#     READ/WRITE moves its data by RDMA (smbrefc -v counts the requests
#     that carried Channel RDMA_V1_INVALIDATE; the server answered READs
#     with DataLength 0 and pulled WRITEs by RDMA read, so the checksums
#     could only match if the RDMA transfers happened);
#   - the same on an encrypted session: no request goes by RDMA (clear data
#     on the wire otherwise), checksums still match;
#   - the server's port is not 5445, so it is an alternative port:
#     refused by client.ports.alternate.allowed / .servers;
#   - the default verbs stack without an RDMA device, and an unknown
#     provider: the clear error, exit 1;
#   - probe --rdma-port: SMB Direct answers, its negotiated values, and
#     --against names server.transport.rdma.enabled / .port where the
#     policy says otherwise.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/client_common.inc"
. "$(dirname "$0")/endpoint_common.inc"
C=$BIN/smbrefc
U=(-U alice%Secret-1)
command -v fi_info >/dev/null && ! fi_info -p tcp >/dev/null 2>&1 && skip "libfabric has no tcp provider here"
"$BIN/smbrefd" --help 2>&1 | grep -q -- --rdma-provider || skip "smbrefd has no --rdma-provider"
unset SMBREFC_RDMA_PROVIDER

step "smbrefd serving SMB Direct through libfabric tcp"
# (no rate limiter: each probe's failed guest logon would wait 2 s)
SRV=(server.transport.rdma.enabled=true server.signing.required=true server.auth-rate-limiter.enabled=false)
ep_policy "$T/srv.xml" srv "${SRV[@]}"
RPORT=$(free_port)
ep_start "$T/srv.xml" --listen "rdma:127.0.0.1:$RPORT" --rdma-provider tcp
ep_wait_log "listening on rdma:127.0.0.1:$RPORT"
UNC=//127.0.0.1:$RPORT/share
R=(--rdma --rdma-provider tcp)
cs_policy "$T/ok.xml" client.ports.alternate.allowed=true
cs_big "$EP_SHARE/big.bin" 64
want=$(sha256sum <"$EP_SHARE/big.bin")

step "ls"
"$C" "${R[@]}" --policy "$T/ok.xml" "$UNC" "${U[@]}" ls >"$T/ls.out" || fail "ls over SMB Direct"
cat "$T/ls.out"
grep -q "^big.bin	$((64 * 1024 * 1024))$" "$T/ls.out" || fail "ls content"

# rdma_counts FILE: "READS RDMA_READS WRITES RDMA_WRITES CHANNEL" from smbrefc -v
rdma_counts() {
	sed -n 's/^smbrefc: \([0-9]*\) READ (\([0-9]*\) by RDMA), \([0-9]*\) WRITE (\([0-9]*\) by RDMA), [0-9]* bytes by RDMA, channel \(.*\)$/\1 \2 \3 \4 \5/p' "$1"
}

step "signed: get and put 64 MiB, every READ/WRITE by RDMA"
"$C" "${R[@]}" -v --policy "$T/ok.xml" "$UNC" "${U[@]}" get big.bin "$T/got" 2>"$T/get.err" ||
	{ cat "$T/get.err"; fail "get over SMB Direct"; }
cat "$T/get.err"
[ "$(sha256sum <"$T/got")" = "$want" ] || fail "get: checksum differs"
grep -q "^smbrefc: SMB Direct (ofi provider tcp): MaxReadWriteSize [1-9]" "$T/get.err" || fail "no SMB Direct values"
read -r reads rreads _ _ channel < <(rdma_counts "$T/get.err")
[ "$reads" -ge 64 ] && [ "$rreads" = "$reads" ] && [ "$channel" = RDMA_V1_INVALIDATE ] ||
	fail "get: $rreads of $reads READs by RDMA, channel $channel"
"$C" "${R[@]}" -v --policy "$T/ok.xml" "$UNC" "${U[@]}" put "$T/got" up.bin 2>"$T/put.err" ||
	{ cat "$T/put.err"; fail "put over SMB Direct"; }
cat "$T/put.err"
cmp "$T/got" "$EP_SHARE/up.bin" || fail "put: the server's copy differs"
read -r _ _ writes rwrites channel < <(rdma_counts "$T/put.err")
[ "$writes" -ge 64 ] && [ "$rwrites" = "$writes" ] || fail "put: $rwrites of $writes WRITEs by RDMA"

step "encrypted: get and put 64 MiB in the encrypted messages, none by RDMA"
cs_policy "$T/enc.xml" client.ports.alternate.allowed=true client.encryption.required=true
"$C" "${R[@]}" -v --policy "$T/enc.xml" "$UNC" "${U[@]}" get big.bin "$T/enc" 2>"$T/eget.err" ||
	{ cat "$T/eget.err"; fail "encrypted get"; }
cat "$T/eget.err"
[ "$(sha256sum <"$T/enc")" = "$want" ] || fail "encrypted get: checksum differs"
read -r reads rreads _ _ _ < <(rdma_counts "$T/eget.err")
[ "$reads" -ge 64 ] && [ "$rreads" = 0 ] || fail "encrypted get: $rreads of $reads READs by RDMA"
"$C" "${R[@]}" --policy "$T/enc.xml" "$UNC" "${U[@]}" put "$T/enc" up2.bin || fail "encrypted put"
cmp "$T/enc" "$EP_SHARE/up2.bin" || fail "encrypted put: the server's copy differs"

step "port $RPORT is an alternative port for SMB Direct (default 5445)"
refused() { # NAME SETTING POLICY-SETTINGS...
	local name=$1 setting=$2 rc=0; shift 2
	cs_policy "$T/$name.xml" "$@"
	"$C" "${R[@]}" --policy "$T/$name.xml" "$UNC" "${U[@]}" ls >"$T/$name.out" 2>"$T/$name.err" || rc=$?
	cat "$T/$name.err"
	[ "$rc" = 1 ] && grep -q "refused by $setting:" "$T/$name.err" || fail "$name: exit $rc, not refused by $setting"
}
refused alt-off client.ports.alternate.allowed client.ports.alternate.allowed=false
refused alt-other client.ports.alternate.servers client.ports.alternate.allowed=true client.ports.alternate.servers=nas9
cs_policy "$T/mapped.xml" client.ports.alternate.allowed=true client.ports.alternate.servers=127.0.0.1 \
	"client.ports.alternate.mappings=127.0.0.1:tcp:1,127.0.0.1:rdma:$RPORT"
"$C" "${R[@]}" --policy "$T/mapped.xml" //127.0.0.1/share "${U[@]}" ls >/dev/null ||
	fail "the rdma mapping did not pick port $RPORT"

step "no RDMA device: the verbs stack says so"
if [ -z "$(ls -A /sys/class/infiniband 2>/dev/null)" ]; then
	rc=0; "$C" --rdma --policy "$T/ok.xml" "$UNC" "${U[@]}" ls 2>"$T/nodev.err" || rc=$?
	cat "$T/nodev.err"
	[ "$rc" = 1 ] && grep -q "no RDMA device (SMB Direct needs an RDMA NIC, or --rdma-provider tcp" "$T/nodev.err" ||
		fail "no clear no-device error (exit $rc)"
fi
rc=0; "$C" --rdma-provider no-such-provider --policy "$T/ok.xml" "$UNC" "${U[@]}" ls 2>"$T/noprov.err" || rc=$?
cat "$T/noprov.err"
[ "$rc" = 1 ] && grep -q "no such libfabric provider" "$T/noprov.err" || fail "unknown provider: exit $rc"

step "probe --rdma-port"
echo Secret-1 >"$T/pw"
"$BIN/smbpolicy" probe "//127.0.0.1:$PORT/share" --user alice --password-file "$T/pw" \
	--rdma-port "$RPORT" --rdma-provider tcp --json >"$T/probe.json" || fail "probe failed"
cat "$T/probe.json"
expect probe "j['rdma']" true
expect probe "j['rdma_port']" "$RPORT"
expect probe "j['rdma_provider']" '"tcp"'
expect probe "j['rdma_dialect']" '"3.1.1"'
expect probe "j['rdma_max_read_write_size'] > 0 and j['rdma_send_credits'] > 0" true
"$BIN/smbpolicy" probe "//127.0.0.1:$PORT/share" --rdma-port "$RPORT" --rdma-provider tcp >"$T/probe.txt" ||
	fail "probe (text) failed"
cat "$T/probe.txt"
grep -q "^SMB Direct (RDMA) .*port $RPORT (ofi provider tcp), SMB 3.1.1; MaxReadWriteSize" "$T/probe.txt" ||
	fail "probe text has no SMB Direct line"
probe_against() { # NAME WANT_RC POLICY-SETTINGS...
	local name=$1 want=$2 rc=0; shift 2
	cs_policy "$T/$name.xml" "$@"
	"$BIN/smbpolicy" probe "//127.0.0.1:$PORT/share" --rdma-port "$RPORT" --rdma-provider tcp \
		--against "$T/$name.xml" >"$T/$name.out" 2>&1 || rc=$?
	cat "$T/$name.out"
	[ "$rc" = "$want" ] || fail "--against $name: exit $rc, want $want"
}
probe_against same 0 "${SRV[@]}" "server.transport.rdma.port=$RPORT"
grep -q "DIFFERS server.transport.rdma" "$T/same.out" && fail "rdma differs from the serving policy"
probe_against off 1 server.signing.required=true server.auth-rate-limiter.enabled=false server.transport.rdma.enabled=false "server.transport.rdma.port=$RPORT"
grep -q "DIFFERS server.transport.rdma.enabled" "$T/off.out" || fail "rdma.enabled not named"
probe_against port 1 "${SRV[@]}" server.transport.rdma.port=5445
grep -q "DIFFERS server.transport.rdma.port: policy says 5445, server does $RPORT" "$T/port.out" ||
	fail "rdma.port not named"
rc=0; "$BIN/smbpolicy" probe "//127.0.0.1:$PORT/share" --rdma-port "$RPORT" --json >"$T/nodev.json" || rc=$?
cat "$T/nodev.json"
if [ -z "$(ls -A /sys/class/infiniband 2>/dev/null)" ]; then
	expect nodev "j['rdma']" null
	expect nodev "'no RDMA device' in j['rdma_error']" true
fi
kill -0 "$EP_PID" || fail "smbrefd died"
echo "rdma_client: ok"
