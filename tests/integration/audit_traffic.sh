#!/usr/bin/env bash
# audit_traffic: audit events from real traffic (smbclient against smbrefd)
# reach the audit DB and the report with the right counts, and the impact
# preview names exactly the clients that could not encrypt.
#
# Traffic: alice connects twice at SMB 2.1 (cannot encrypt), bob once at
# 3.1.1 (can), one anonymous attempt (guest refused), two wrong passwords
# (auth failure + rate limiting).  Counts are compared between smbrefd's
# own JSON-lines log and `smbpolicy audit list` / the JSON report; the
# report is validated against schema/report.schema.json.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/endpoint_common.inc"
command -v smbclient >/dev/null || skip "smbclient not installed"
[ -x "$BIN/smbrefd" ] || fail "$BIN/smbrefd not built"
SP=$BIN/smbpolicy
DB=$T/audit.db

ep_policy "$T/p.xml" audit-traffic server.signing.required=false \
	server.encryption.required=false server.dialect.min=2.0.2 server.guest.allowed=false \
	server.audit.client-no-encryption=true server.audit.client-no-signing=true \
	server.auth-rate-limiter.enabled=true server.auth-rate-limiter.delay-ms=100
ep_start "$T/p.xml"

step "traffic"
for i in 1 2; do
	ep_smbclient -U alice%Secret-1 --option='client max protocol=SMB2_10' -c ls >/dev/null ||
		fail "alice (SMB 2.1) could not connect"
done
ep_smbclient -U bob%Other-2 --option='client min protocol=SMB3_11' -c ls >/dev/null ||
	fail "bob (SMB 3.1.1) could not connect"
ep_smbclient -N -c ls >/dev/null 2>&1 && fail "anonymous logon was accepted"
for i in 1 2; do
	ep_smbclient -U alice%wrong -c ls >/dev/null 2>&1 && fail "wrong password accepted"
done
sleep 0.5
cat "$AUDIT"
count_log() { grep -c "\"event\":\"$1\"" "$AUDIT" || true; }
[ "$(count_log client-no-encryption)" -ge 2 ] || fail "want >= 2 client-no-encryption in the log"
[ "$(count_log guest-refused)" -ge 1 ] || fail "want a guest-refused event in the log"
[ "$(count_log auth-failed)" -ge 2 ] || fail "want 2 auth-failed events in the log"

step "ingest twice: stored once"
"$SP" audit ingest --audit-db "$DB" --jsonl "$AUDIT" | tee "$T/in1"
"$SP" audit ingest --audit-db "$DB" --jsonl "$AUDIT" | tee "$T/in2"
total=$(grep -c . "$AUDIT")
grep -q "^ingested $total new events" "$T/in1" || fail "first ingest did not store all $total events"
grep -q "^ingested 0 new events" "$T/in2" || fail "second ingest stored something again"

step "counts in the DB equal the log's, per kind"
for kind in client-no-encryption client-no-signing session guest-refused auth-failed rate-limited; do
	want=$(count_log $kind)
	got=$("$SP" audit list --audit-db "$DB" --event $kind --limit 0 --json | grep -c "\"event\":\"$kind\"" || true)
	echo "$kind: log $want, db $got"
	[ "$want" = "$got" ] || fail "$kind: log has $want, DB has $got"
done

step "JSON report: valid against the schema, same counts"
rc=0
"$SP" report --audit-db "$DB" --format json -o "$T/r.json" || rc=$?
[ $rc -le 1 ] || fail "report exit $rc"
/usr/bin/python3 - "$TOP/schema/report.schema.json" "$T/r.json" "$AUDIT" <<'EOF' || fail "report JSON wrong"
import json, sys, collections, jsonschema
schema, report = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
jsonschema.validate(report, schema)
log = [json.loads(l) for l in open(sys.argv[3]) if l.strip()]
kinds = {s["id"]: s for s in report["statistics"]}
want = collections.Counter(e["event"] for e in log)
got = {r["key"]: r["count"] for r in kinds["event-kinds"]["rows"]}
assert got == dict(want), (got, want)
assert report["events"] == len(log)
enc = {r["key"]: r["count"] for r in kinds["client-no-encryption"]["rows"]}
assert enc.get("127.0.0.1") == want["client-no-encryption"], enc
assert [h["host"] for h in report["hosts"]] == ["testhost"], report["hosts"]
# No read-back from an agent: unknown, never compliant.
assert report["hosts"][0]["verdict"] == "unknown"
assert report["summary"]["compliant"] == 0
print("report JSON ok:", dict(want))
EOF

step "impact: exactly the client that could not encrypt"
rc=0
"$SP" impact --audit-db "$DB" --json server.encryption.required=true >"$T/impact.json" || rc=$?
cat "$T/impact.json"
[ $rc -eq 1 ] || fail "impact exit $rc, want 1 (something would break)"
/usr/bin/python3 - "$T/impact.json" <<'EOF' || fail "impact names the wrong clients"
import json, sys
im = json.load(open(sys.argv[1]))
breaks = im["changes"][0]["breaks"]
who = sorted((b["peer"], b["user"]) for b in breaks)
assert who == [("127.0.0.1", "WORKGROUP\\alice")], who
EOF
"$SP" impact --audit-db "$DB" server.encryption.required=true server.dialect.min=3.0 client.mailslots.enabled=false || true
out=$("$SP" impact --audit-db "$DB" server.dialect.min=2.0.2) || fail "lowering the minimum should break nothing"
echo "$out" | grep -q "nothing seen would break" || fail "impact text lacks the verdict"
"$SP" impact --audit-db "$DB" server.dialect.min=9.9 2>&1 && fail "invalid value accepted"
"$SP" impact --audit-db "$DB" no.such.setting=1 2>&1 && fail "unknown setting accepted"

step "text summary names the findings"
"$SP" report --audit-db "$DB" | tee "$T/summary.txt" || true
grep -q "Clients that do not encrypt *127.0.0.1" "$T/summary.txt" || fail "summary lacks the finding"
echo PASS
