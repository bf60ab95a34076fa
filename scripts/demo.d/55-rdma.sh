# demo: SMB Direct (RDMA) between smbrefc and smbrefd
#
# This machine kind has no RDMA NIC, so both ends use the libfabric stack
# with its "tcp" provider (real one-sided RDMA reads and writes over
# sockets; on an RDMA NIC the default verbs stack is used instead, which is
# what a Windows peer speaks).  smbrefd listens on rdma:127.0.0.1 with no
# port: the port is the policy's server.transport.rdma.port.  smbrefc
# writes and reads back a 16 MiB file on a signed session with -v, which
# shows the negotiated SMB Direct values and that every READ/WRITE moved
# its data by RDMA (Channel RDMA_V1_INVALIDATE); then the probe measures
# SMB Direct and compares it with the policy; then the default verbs stack
# says why it cannot run here.
# Needs: $BIN, $TOP, $DEMO (set by scripts/demo).
set -euo pipefail
export TEST_TMP=$DEMO/rdma SMBPOLICY_BIN=$BIN
# shellcheck source=/dev/null
source "$TOP/tests/integration/lib.sh"
trap - EXIT # smbrefd is stopped by scripts/demo (its pid goes to $DEMO/pids)
# shellcheck source=/dev/null
source "$TOP/tests/integration/endpoint_common.inc"
if command -v fi_info >/dev/null && ! fi_info -p tcp >/dev/null 2>&1; then
	echo "(SMB Direct part skipped: libfabric has no tcp provider here)"
	exit 0
fi
RPORT=$(free_port)
ep_policy "$T/rdma-policy.xml" rdma-demo server.transport.rdma.enabled=true \
	server.transport.rdma.port="$RPORT" server.signing.required=true server.auth-rate-limiter.enabled=false
echo "policy: $T/rdma-policy.xml"
grep 'transport.rdma\|signing' "$T/rdma-policy.xml" | sed 's/^/    /'
ep_start "$T/rdma-policy.xml" --listen rdma:127.0.0.1 --rdma-provider tcp
echo "$EP_PID" >>"$DEMO/pids"
ep_wait_log "listening on rdma:127.0.0.1:$RPORT"
sed 's/^/    /' "$EP_LOG"

# The client's policy: the demo port is not 5445, so it is an alternative
# port, allowed here (client.ports.alternate.allowed).
cat >"$T/client.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<policy xmlns="urn:smbpolicy:policy:1" name="rdma-client">
  <setting id="client.ports.alternate.allowed">true</setting>
</policy>
XML
head -c $((16 * 1024 * 1024)) /dev/urandom >"$T/file16"
run() {
	echo "\$ smbrefc --rdma --rdma-provider tcp -v //127.0.0.1:$RPORT/share -U alice%... $*"
	"$BIN/smbrefc" --rdma --rdma-provider tcp -v --policy "$T/client.xml" "//127.0.0.1:$RPORT/share" \
		-U alice%Secret-1 "$@" 2>&1 | sed 's/^/    /'
}
echo
echo "--- put and get 16 MiB over SMB Direct"
run put "$T/file16" demo16.bin
run get demo16.bin "$T/back16"
if cmp -s "$T/file16" "$T/back16"; then echo "    checksums equal"; else echo "    CHECKSUM MISMATCH"; exit 1; fi

echo
echo "--- smbpolicy probe --rdma-port $RPORT --rdma-provider tcp --against the policy"
printf 'Secret-1' >"$T/alice.pw"
"$BIN/smbpolicy" probe "//127.0.0.1:$PORT/share" --user alice --password-file "$T/alice.pw" \
	--rdma-port "$RPORT" --rdma-provider tcp --against "$T/rdma-policy.xml" 2>&1 |
	grep -E 'SMB Direct|agrees|differs|^  ' | sed 's/^/    /' || true

echo
echo "--- the default verbs stack on this machine"
"$BIN/smbrefc" --rdma --policy "$T/client.xml" "//127.0.0.1:$RPORT/share" -U alice%Secret-1 ls 2>&1 |
	sed 's/^/    /' || true
