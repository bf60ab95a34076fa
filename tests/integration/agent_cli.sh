#!/usr/bin/env bash
# tests/integration/agent_cli.sh - the agent verbs of the CLI without a
# daemon: `smbpolicy targets` (text and JSON: every plugin's setting rows),
# `plan|apply|status|drift --local` on a scratch root (in a network
# namespace, for nftables) with their exit codes and JSON, and the errors:
# options that need --local, no agent on the bus (exit 1, says so), --help.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agent_lib.bash"
SP=$BIN/smbpolicy
local_args=(--local --root "$T/root" --policy "$AGENT_POLICY" --plugin-dir "$PLUGIN_DIR")

step "targets"
"$SP" targets --plugin-dir "$PLUGIN_DIR" >"$T/targets.txt" || fail "targets"
head -n 1 "$T/targets.txt" | grep -q "^PLUGIN *SETTING *TARGET *TRANSFORM" || fail "targets header"
grep -q "^samba *server.signing.required *server signing" "$T/targets.txt" || fail "samba row missing"
"$SP" targets --plugin-dir "$PLUGIN_DIR" --json >"$T/targets.json" || fail "targets --json"
python3 - "$T/targets.json" <<'PY' || fail "targets JSON"
import json, sys
rows = json.load(open(sys.argv[1]))
assert rows and all(set(r) == {"plugin", "id", "target", "transform"} for r in rows), rows[:2]
assert any(r["plugin"] == "samba" and r["id"] == "server.signing.required" for r in rows)
PY

step "plan --local: pending changes, exit 0, nothing written"
make_root "$T/root"
sum=$(cat "$T/root/etc/samba/smb.conf" | sha256sum)
unshare -n "$SP" plan "${local_args[@]}" --json >"$T/plan.json" || fail "plan --local"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["kind"]=="plan" and any(s["status"]=="change" for s in r["settings"]), r["plugins"]' \
	"$T/plan.json" || fail "plan JSON"
[ "$(sha256sum <"$T/root/etc/samba/smb.conf")" = "$sum" ] || fail "plan wrote smb.conf"
[ ! -e "$T/root/etc/samba/smbpolicy.conf" ] || fail "plan wrote smbpolicy.conf"

step "drift --local before apply: exit 1; apply: exit 0; status --local: exit 0"
rc=0; unshare -n "$SP" drift "${local_args[@]}" >"$T/out" || rc=$?
[ $rc -eq 1 ] || fail "drift before apply: exit $rc, want 1"
unshare -n sh -c "'$SP' apply $(printf "'%s' " "${local_args[@]}") --state '$T/agent.db' >'$T/apply.out' &&
	'$SP' status $(printf "'%s' " "${local_args[@]}") >'$T/status.out'" ||
	fail "apply/status --local: $(cat "$T/apply.out" "$T/status.out" 2>/dev/null)"
grep -q "compliant" "$T/status.out" || fail "status output"
[ -s "$T/agent.db" ] || fail "--state did not record the run"

step "usage and connection errors"
rc=0; "$SP" status --root /x >/dev/null 2>"$T/err" || rc=$?
[ $rc -eq 2 ] && grep -q -- "--local" "$T/err" || fail "--root without --local: exit $rc: $(cat "$T/err")"
rc=0; "$SP" plan extra >/dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "extra argument: exit $rc"
start_bus
rc=0; "$SP" status --bus "$BUS" >/dev/null 2>"$T/err" || rc=$?
[ $rc -eq 1 ] && grep -q "not running" "$T/err" || fail "no agent: exit $rc: $(cat "$T/err")"
"$SP" apply --help | grep -q -- "--local" || fail "apply --help"
echo PASS
