#!/usr/bin/env bash
# tests/integration/agent_kill.sh - kill -9 of the engine at random points
# of an apply, 40 times, alternating two policies: afterwards every managed
# file is exactly the old or the new version (as a clean apply renders it),
# testparm accepts smb.conf, the state DB passes SQLite's integrity check,
# and a final apply converges to compliant.  The engine runs in-process
# (`smbpolicy apply --local`), in a network namespace (nftables).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agent_lib.bash"
command -v testparm >/dev/null || skip "testparm not installed (scripts/deps: samba)"
command -v sqlite3 >/dev/null || skip "sqlite3 not installed (scripts/deps)"
SP=$BIN/smbpolicy
P=$TOP/schema/policies
apply_to() { # ROOT POLICY [EXTRA...]
	local root=$1 pol=$2; shift 2
	unshare -n "$SP" apply --local --root "$root" --policy "$pol" --plugin-dir "$PLUGIN_DIR" "$@"
}

step "reference renderings of both policies"
for name in strict windows-2025-defaults; do
	make_root "$T/ref-$name"
	apply_to "$T/ref-$name" "$P/$name.xml" >/dev/null 2>&1 || true
	sed "s|$T/ref-$name|ROOT|g" "$T/ref-$name/etc/samba/smbpolicy.conf" >"$T/$name.conf"
	sed "s|$T/ref-$name|ROOT|g" "$T/ref-$name/etc/samba/smb.conf" >"$T/$name.smb.conf"
done
cmp -s "$T/strict.conf" "$T/windows-2025-defaults.conf" && fail "the two policies render the same"

step "40 applies killed at random points"
R=$T/root
make_root "$R"
cp "$R/etc/samba/smb.conf" "$T/orig.smb.conf"
for i in $(seq 40); do
	if [ $((i % 2)) -eq 0 ]; then pol=strict; else pol=windows-2025-defaults; fi
	apply_to "$R" "$P/$pol.xml" --state "$T/agent.db" >/dev/null 2>&1 &
	pid=$!
	sleep "0.$((RANDOM % 40))"
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	conf=$R/etc/samba/smbpolicy.conf
	if [ -e "$conf" ]; then
		got=$(sed "s|$R|ROOT|g" "$conf")
		[ "$got" = "$(cat "$T/strict.conf")" ] || [ "$got" = "$(cat "$T/windows-2025-defaults.conf")" ] ||
			fail "iteration $i: smbpolicy.conf is neither version: $got"
	fi
	smb=$(sed "s|$R|ROOT|g" "$R/etc/samba/smb.conf")
	[ "$smb" = "$(cat "$T/orig.smb.conf")" ] || [ "$smb" = "$(cat "$T/strict.smb.conf")" ] ||
		fail "iteration $i: smb.conf is neither the admin's nor with one include: $smb"
	testparm -s "$R/etc/samba/smb.conf" >/dev/null 2>&1 || fail "iteration $i: testparm rejects smb.conf"
	ls "$R"/etc/samba/*.smbpolicy-tmp.* >/dev/null 2>&1 && echo "iteration $i: a temp file was left (harmless)"
done
[ ! -e "$T/agent.db" ] || [ "$(sqlite3 "$T/agent.db" 'PRAGMA integrity_check')" = ok ] ||
	fail "state DB corrupt"

step "a clean apply converges"
apply_to "$R" "$P/strict.xml" --state "$T/agent.db" >"$T/out" 2>&1 || fail "final apply: $(cat "$T/out")"
grep -q "compliant" "$T/out" || fail "final apply output: $(cat "$T/out")"
cmp -s <(sed "s|$R|ROOT|g" "$R/etc/samba/smbpolicy.conf") "$T/strict.conf" || fail "final state differs"
echo PASS
