#!/usr/bin/env bash
# tests/integration/agent_journal.sh - what smbpolicyd sends to journald:
# this machine has no journald, so the test runs the agent in a mount
# namespace where /run/systemd is a fresh tmpfs and a listener owns
# /run/systemd/journal/socket (journald's native protocol: one datagram of
# KEY=value lines per entry).  Checks that each kind of entry carries its
# documented MESSAGE_ID (dist/man/smbpolicyd.8.scd) and structured fields:
# policy-applied, setting-changed with SMBPOLICY_PLUGIN/SETTING, drift.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agent_lib.bash"
command -v unshare >/dev/null || skip "unshare missing"
make_root "$T/root"
out=$T/journal.txt

cat >"$T/listen.py" <<'PY'
import os, socket, sys
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(5)
with open(out, "w") as f:
    f.write("READY\n"); f.flush()
    while True:
        try:
            data = s.recv(1 << 20)
        except socket.timeout:
            break
        f.write(data.decode("utf-8", "replace").replace("\n", "\x1f") + "\n")
        f.flush()
PY

step "agent --once, then --once --audit-only on a drifted root, journal captured"
unshare -m bash -c '
	set -e
	mount --make-rprivate /
	mount -t tmpfs tmpfs /run/systemd
	mkdir /run/systemd/journal
	python3 "$1" /run/systemd/journal/socket "$2" &
	for i in $(seq 50); do grep -q READY "$2" 2>/dev/null && break; sleep 0.1; done
	unshare -n "$3/smbpolicyd" --once --root "$4" --policy "$5" --plugin-dir "$6" >/dev/null 2>&1
	sed -i "s/server signing = mandatory/server signing = auto/" "$4/etc/samba/smbpolicy.conf"
	unshare -n "$3/smbpolicyd" --once --audit-only --root "$4" --policy "$5" --plugin-dir "$6" \
		>/dev/null 2>&1 || true
	wait
' _ "$T/listen.py" "$out" "$BIN" "$T/root" "$AGENT_POLICY" "$PLUGIN_DIR" || fail "namespace run failed"
[ "$(grep -c MESSAGE_ID= "$out")" -gt 0 ] || fail "no journal entries: $(head -c 500 "$out")"

# entry KIND MESSAGE_ID [FIELD=VALUE...]: an entry of that kind with those fields.
entry() {
	local kind=$1 id=$2; shift 2
	local lines
	lines=$(grep "MESSAGE_ID=$id" "$out" | grep "SMBPOLICY_KIND=$kind" | grep "SYSLOG_IDENTIFIER=smbpolicyd") ||
		fail "no $kind entry with MESSAGE_ID=$id"
	for f in "$@"; do
		grep -q "$f" <<<"$lines" || fail "$kind entry lacks $f: $(head -n 1 <<<"$lines")"
	done
}
step "MESSAGE_IDs and fields"
entry policy-applied 2b7ee58851ff4e04b267025a5af54c96 "MESSAGE=apply of strict" PRIORITY=5
entry setting-changed 7c5439121abe4a6d97a28eb6c03b3cae SMBPOLICY_PLUGIN=samba \
	SMBPOLICY_SETTING=server.signing.required
entry drift 888967be708847e6afb546f67d2ab8af SMBPOLICY_PLUGIN=samba \
	SMBPOLICY_SETTING=server.signing.required PRIORITY=4
entry plugin-log 8182affc43c84640992af054626ef792 SMBPOLICY_PLUGIN=
echo PASS
