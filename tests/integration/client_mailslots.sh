#!/usr/bin/env bash
# client_mailslots: the reference client never sends mailslot or browse
# traffic (client.mailslots.enabled can only be honoured: it has no NetBIOS
# code).  smbrefc lists and downloads from smbrefd under strace with the
# setting off and on: its only sockets are TCP streams to the server's
# port; no datagram socket, nothing to UDP 137/138 or TCP 139, no
# broadcast.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/client_common.inc"
. "$(dirname "$0")/endpoint_common.inc"
command -v strace >/dev/null || skip "strace not installed"
cs_policy "$T/srv.xml" server.signing.required=true
ep_start "$T/srv.xml"
echo "mailslot test" >"$EP_SHARE/m.txt"
for allowed in false true; do
	step "client.mailslots.enabled=$allowed"
	cs_policy "$T/c.xml" client.ports.alternate.allowed=true client.mailslots.enabled=$allowed
	# LeakSanitizer cannot run under ptrace (the ASan build of make check)
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		strace -f -qq -e trace=socket,connect,sendto,sendmsg,bind -o "$T/trace-$allowed" \
		"$BIN/smbrefc" --policy "$T/c.xml" "//127.0.0.1:$PORT/share" -U alice%Secret-1 \
		get m.txt "$T/m-$allowed" || fail "download failed"
	cmp "$T/m-$allowed" "$EP_SHARE/m.txt" || fail "download differs"
	grep -E '^[0-9]+ +socket\(' "$T/trace-$allowed" | grep -v SOCK_STREAM | grep -E 'AF_INET6?,' &&
		fail "a datagram or raw IP socket was opened"
	grep -E 'sin6?_port=htons\((137|138|139)\)' "$T/trace-$allowed" && fail "NetBIOS port used"
	grep -E 'SO_BROADCAST|255\.255\.255\.255' "$T/trace-$allowed" && fail "broadcast"
	grep -E '^[0-9]+ +connect\(.*AF_INET' "$T/trace-$allowed" | grep -v "sin_port=htons($PORT)" &&
		fail "connected somewhere else than the server's port"
	grep -qE "connect\(.*sin_port=htons\($PORT\)" "$T/trace-$allowed" || fail "no connection seen in the trace"
done
echo "client_mailslots: ok"
