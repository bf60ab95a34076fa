#!/usr/bin/env bash
# tests/integration/agent_audit.sh - the agent's audit collector with a real
# emitter and a real client: smbrefd writes audit events (JSON lines) when
# smbclient connects at SMB 2.1 (cannot encrypt); smbpolicyd --audit-log
# follows that file, stores the events in the audit DB and emits one
# AuditEvent signal per new event; ListAuditEvents (open to an unprivileged
# caller) returns them; `smbpolicy audit list` on the same DB sees them too;
# and the agent's cycle results are stored there as the host's actual state.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agent_lib.bash"
. "$(dirname "$0")/endpoint_common.inc"
command -v dbus-daemon >/dev/null || skip "dbus-daemon not installed (scripts/deps)"
command -v smbclient >/dev/null || skip "smbclient not installed (scripts/deps)"
[ -x "$BIN/smbrefd" ] || fail "$BIN/smbrefd not built"
SP=$BIN/smbpolicy
DB=$T/audit.db

step "smbrefd with auditing on, agent following its audit log"
ep_policy "$T/ep.xml" agent-audit server.signing.required=false server.encryption.required=false \
	server.dialect.min=2.0.2 server.audit.client-no-encryption=true
ep_start "$T/ep.xml"
start_bus
make_root "$T/root"
start_agent --root "$T/root" --policy "$AGENT_POLICY" --interval 0 --audit-db "$DB" --audit-log "$AUDIT"
wait_log "apply of strict"
busctl --address="$BUS" --json=short monitor --match "type='signal',member='AuditEvent'" \
	>"$T/sig.json" 2>&1 &
_pids+=($!)
sleep 0.3

step "an SMB 2.1 client: client-no-encryption -> AuditEvent"
ep_smbclient -U alice%Secret-1 --option='client max protocol=SMB2_10' -c ls >/dev/null ||
	fail "smbclient at SMB 2.1 could not connect"
for i in $(seq 100); do grep -q '"member":"AuditEvent"' "$T/sig.json" && break; sleep 0.1; done
grep '"member":"AuditEvent"' "$T/sig.json" >"$T/events.json" || fail "no AuditEvent: $(cat "$T/sig.json")"
grep -q '3021,"client-no-encryption"' "$T/events.json" ||
	fail "no client-no-encryption signal: $(cat "$T/events.json")"
grep -q '"127.0.0.1:' "$T/events.json" || fail "peer missing: $(cat "$T/events.json")"
logged=$(grep -c . "$AUDIT")
signalled=$(grep -c . "$T/events.json")
[ "$signalled" -eq "$logged" ] || fail "$logged events logged, $signalled signalled"

step "ListAuditEvents (as nobody) and smbpolicy audit list see them"
as_nobody busctl --address="$BUS" --json=short call "$AGENT_NAME" "$AGENT_PATH" "$AGENT_NAME" \
	ListAuditEvents tu 0 0 >"$T/list.json" || fail "ListAuditEvents as nobody"
grep -q '"client-no-encryption"' "$T/list.json" || fail "ListAuditEvents: $(cat "$T/list.json")"
"$SP" audit list --audit-db "$DB" --json >"$T/cli.json" || fail "smbpolicy audit list"
grep -q 'client-no-encryption' "$T/cli.json" || fail "audit list: $(cat "$T/cli.json")"

step "ingestion is idempotent: a restart signals nothing old and stores nothing twice"
before=$("$SP" audit list --audit-db "$DB" --json --limit 0 | grep -o '"event_id"' | wc -l)
kill "$AGENT_PID"; wait "$AGENT_PID" || true
start_agent --root "$T/root" --policy "$AGENT_POLICY" --interval 0 --audit-db "$DB" --audit-log "$AUDIT"
wait_log "apply of strict"
after=$("$SP" audit list --audit-db "$DB" --json --limit 0 | grep -o '"event_id"' | wc -l)
[ "$before" = "$after" ] || fail "events went from $before to $after after a restart"
echo PASS
