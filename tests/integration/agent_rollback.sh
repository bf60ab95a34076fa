#!/usr/bin/env bash
# tests/integration/agent_rollback.sh - a failed plugin is rolled back alone
# while the others go on, with the real plugins: the admin's smb.conf
# includes, after smbpolicy's include line, a local file that sets `server
# signing = disabled` (a direct override line the samba plugin already
# refuses at plan time), so the samba plugin's apply succeeds but
# testparm's read-back differs; the agent
# rolls samba back (smb.conf byte for byte as before, no smbpolicy.conf
# left) and reports it, while cifs, nftables and the endpoint plugin apply
# and verify.  The agent runs in its own network namespace: the nftables
# table exists there and not on this host.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agent_lib.bash"
command -v dbus-daemon >/dev/null || skip "dbus-daemon not installed (scripts/deps)"
command -v testparm >/dev/null || skip "testparm not installed (scripts/deps: samba)"
SP=$BIN/smbpolicy
R=$T/root

step "root whose smb.conf includes, after smbpolicy's include, a file that disables signing"
start_bus
make_root "$R"
printf '# admin\n[global]\n\tworkgroup = TEST\n\tinclude = %s/etc/samba/smbpolicy.conf\n\tinclude = %s/etc/samba/local.conf\n' \
	"$R" "$R" >"$R/etc/samba/smb.conf"
printf '[global]\n\tserver signing = disabled\n' >"$R/etc/samba/local.conf"
before=$(sha256sum <"$R/etc/samba/smb.conf")
host_had_table=0
nft list table inet smbpolicy >/dev/null 2>&1 && host_had_table=1
start_agent --root "$R" --policy "$AGENT_POLICY" --interval 0

step "apply (after the start-up cycle): samba fails and is rolled back, the others are applied"
wait_log "apply of strict"
grep -q "samba: verify failed" "$T/agent.log" || fail "start-up cycle: $(cat "$T/agent.log")"
rc=0; "$SP" apply --bus "$BUS" --json >"$T/apply.json" 2>"$T/err" || rc=$?
[ $rc -eq 1 ] || fail "apply exit $rc, want 1 (not compliant): $(cat "$T/err")"
python3 - "$T/apply.json" <<'PY' || fail "report: $(cat "$T/apply.json")"
import json, sys
r = json.load(open(sys.argv[1]))
st = {p["name"]: p for p in r["plugins"]}
assert not r["compliant"] and r["failed"] == 1, r
assert st["samba"]["status"] == "failed" and "rolled back" in st["samba"]["message"], st["samba"]
assert "server.signing.required" in st["samba"]["message"], st["samba"]
for name in ("cifs", "nftables", "endpoint"):
    if name in st:
        assert st[name]["status"] in ("changed", "ok"), st[name]
assert sum(p in st for p in ("cifs", "nftables", "endpoint")) >= 2, st
rows = [s for s in r["settings"] if s["plugin"] == "samba"]
assert any(s["id"] == "server.signing.required" and s["status"] == "failed" for s in rows), rows
assert not any(s["status"] == "changed" for s in rows), rows
PY
[ "$(sha256sum <"$R/etc/samba/smb.conf")" = "$before" ] || fail "smb.conf changed"
[ ! -e "$R/etc/samba/smbpolicy.conf" ] || fail "smbpolicy.conf left behind after rollback"
ls "$R"/etc/modprobe.d/*.conf >/dev/null 2>&1 || fail "cifs did not apply"
grep -q 'server.signing.required' "$R"/etc/smbpolicy/*.xml || fail "endpoint did not apply"

step "the nftables table is in the agent's namespace, not on this host"
nsenter -t "$AGENT_PID" -n nft list table inet smbpolicy >"$T/nft.out" ||
	fail "no table in the agent's namespace"
grep -q 'tcp dport 139 drop' "$T/nft.out" || fail "NetBIOS not dropped: $(cat "$T/nft.out")"
if [ $host_had_table -eq 0 ] && nft list table inet smbpolicy >/dev/null 2>&1; then
	fail "the host got an inet smbpolicy table"
fi

step "status shows the same failure; removing the override lets samba apply"
rc=0; "$SP" status --bus "$BUS" >"$T/out" || rc=$?
[ $rc -eq 1 ] && grep -q "samba .*failed" "$T/out" || fail "status: $(cat "$T/out")"
sed -i '/server signing = disabled/d' "$R/etc/samba/local.conf"
"$SP" apply --bus "$BUS" >"$T/out" || fail "second apply: $(cat "$T/out")"
grep -q 'server signing = mandatory' "$R/etc/samba/smbpolicy.conf" || fail "samba not applied"
echo PASS
