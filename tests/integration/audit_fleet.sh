#!/usr/bin/env bash
# audit_fleet: a report over a scratch fleet of journal directories (one per
# host, as systemd-journal-remote writes them), with hostile inputs, groups
# from the store, the agent's read-back for compliance, retention, and the
# HTML report rendered by headless Chromium.
#
#   - events come from the real emitter (bench_audit emit -> audit_emit),
#     are turned into Journal Export Format and written by
#     systemd-journal-remote into $T/fleet/HOST/;
#   - ingesting the fleet twice, and the same events again from JSON lines,
#     stores each event once (cursors, SMBPOLICY_TIME + unique key);
#   - a corrupt journal file, a malformed line, an overlong line and a bad
#     field are skipped with a warning and nothing else is lost;
#   - verdicts: host000 read back ok but clients without encryption were
#     seen after it (not compliant), host002 read back ok with nothing
#     contradicting (compliant), host001 has no read-back (unknown);
#   - JSON validates against the schema, CSV parses as RFC 4180, the HTML
#     renders (non-blank PNG, expected text in the DOM).
. "$(dirname "$0")/lib.sh"
JR=/lib/systemd/systemd-journal-remote
[ -x "$JR" ] || skip "systemd-journal-remote not installed"
SP=$BIN/smbpolicy
EMIT=$BIN/../bench/bench_audit
[ -x "$EMIT" ] || fail "$EMIT not built (make tests-build)"
DB=$T/audit.db
PY=/usr/bin/python3

step "events through audit_emit, 3 hosts"
"$EMIT" emit "$T/all.jsonl" 90 3 || fail "emit failed"
[ "$(grep -c . "$T/all.jsonl")" = 90 ] || fail "want 90 lines"

step "one journal directory per host (Journal Export Format -> systemd-journal-remote)"
$PY - "$TOP/schema/audit-events.xml" "$T/all.jsonl" "$T/export" <<'EOF' || fail "export failed"
import json, sys, os, xml.etree.ElementTree as ET, datetime
ns = {"a": "urn:smbpolicy:audit-events:1"}
ids = {e.get("id"): e.get("message-id") for e in ET.parse(sys.argv[1]).getroot().findall("a:event", ns)}
os.makedirs(sys.argv[3], exist_ok=True)
out, seq = {}, 0
for line in open(sys.argv[2]):
    e = json.loads(line); seq += 1
    t = datetime.datetime.strptime(e["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    usec = int(t.timestamp()) * 1000000 + t.microsecond
    if e["host"] not in out:
        out[e["host"]] = open(os.path.join(sys.argv[3], e["host"]), "w")
    f = out[e["host"]]
    rec = {"__REALTIME_TIMESTAMP": usec, "__MONOTONIC_TIMESTAMP": seq,
           "_BOOT_ID": "0f782408e9bd4417be1aade3494326e3", "_HOSTNAME": e["host"],
           "MESSAGE_ID": ids[str(e["event_id"])], "MESSAGE": e["event"], "PRIORITY": 4,
           "SMBPOLICY_EVENT_ID": e["event_id"], "SMBPOLICY_EVENT": e["event"],
           "SMBPOLICY_HOST": e["host"], "SMBPOLICY_SOURCE": e["source"],
           "SMBPOLICY_PEER": e["peer"], "SMBPOLICY_TIME": e["time"]}
    for k, v in e["fields"].items():
        rec["SMBPOLICY_" + k.upper()] = v
    f.write("".join("%s=%s\n" % kv for kv in rec.items()) + "\n")
EOF
for f in "$T"/export/*; do
	h=$(basename "$f")
	mkdir -p "$T/fleet/$h"
	"$JR" --output="$T/fleet/$h/remote-$h.journal" - <"$f" 2>/dev/null || fail "journal-remote failed for $h"
done
head -c 65536 /dev/urandom >"$T/fleet/host001/remote-broken.journal"
ls -R "$T/fleet"

step "ingest the fleet: all 90 events, the corrupt file named in a warning"
"$SP" audit ingest --audit-db "$DB" --journal-dir "$T/fleet" >"$T/in1" 2>"$T/err1"
cat "$T/in1" "$T/err1"
grep -q "^ingested 90 new events" "$T/in1" || fail "fleet ingest did not store 90 events"
grep -q "remote-broken.journal: skipped" "$T/err1" || fail "no warning for the corrupt journal file"
"$SP" audit ingest --audit-db "$DB" --journal-dir "$T/fleet" | tee "$T/in2"
grep -q "^ingested 0 new events" "$T/in2" || fail "second fleet ingest stored events again"

step "the same events as JSON lines, plus hostile lines: only the one new good line is stored"
cp "$T/all.jsonl" "$T/hostile.jsonl"
printf '{"time":"2026-11-26T07:30:00Z","host":"host000",broken\n' >>"$T/hostile.jsonl"
$PY -c 'import sys; sys.stdout.write("{\"time\":\"2026-11-26T07:30:00Z\",\"host\":\"host000\",\"event_id\":3021,\"fields\":{\"user\":\"" + "x"*200000 + "\"}}\n")' >>"$T/hostile.jsonl"
printf '{"time":"2026-11-26T07:30:00Z","host":"host000","event_id":3021,"fields":{"Bad Name":"x"}}\n' >>"$T/hostile.jsonl"
printf '{"time":"2020-01-01T00:00:00Z","host":"host002","source":"t","event_id":3022,"event":"client-no-signing","peer":"192.0.2.7:1","fields":{"user":"old"}}\n' >>"$T/hostile.jsonl"
"$SP" audit ingest --audit-db "$DB" --jsonl "$T/hostile.jsonl" >"$T/in3" 2>"$T/err3"
cat "$T/in3" "$T/err3"
grep -q "^ingested 1 new events (90 already stored, 3 skipped)" "$T/in3" || fail "hostile ingest counts wrong"
[ "$(grep -c "skipped:" "$T/err3")" = 3 ] || fail "want 3 warnings"
grep -q "line too long" "$T/err3" || fail "overlong line not named"

step "retention by age removes the 2020 event only"
"$SP" audit ingest --audit-db "$DB" --retain-days 365 --json | tee "$T/ret"
grep -q '"deleted":1' "$T/ret" || fail "retention should delete exactly the old event"

step "groups from the store, read-back from the agent"
S=$T/store.db
"$SP" --store "$S" group add /paris >/dev/null
"$SP" --store "$S" group add /lyon >/dev/null
"$SP" --store "$S" host add host000 /paris >/dev/null
"$SP" --store "$S" host add host001 /paris >/dev/null
"$SP" --store "$S" host add host002 /lyon >/dev/null
readback() { # HOST SETTING VALUE STATUS
	printf '{"kind":"verify","host":"%s","finished":"2026-01-01T00:00:00Z","settings":[{"plugin":"endpoint","id":"%s","target":"smbrefd","actual":"%s","desired":"%s","status":"%s"}]}\n' \
		"$1" "$2" "$3" "$3" "$4" >"$T/actual-$1.json"
}
readback host000 server.encryption.required true ok
readback host002 server.dialect.min 2.0.2 ok
"$SP" audit ingest --audit-db "$DB" --actual "$T/actual-host000.json" --actual "$T/actual-host002.json"

step "JSON report: schema, verdicts, groups"
rc=0
"$SP" --store "$S" report --audit-db "$DB" -o "$T/r.json" || rc=$?
[ $rc = 1 ] || fail "report exit $rc, want 1 (host000 is not compliant)"
$PY - "$TOP/schema/report.schema.json" "$T/r.json" <<'EOF' || fail "report JSON wrong"
import json, sys, jsonschema
schema, r = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
jsonschema.validate(r, schema)
v = {h["host"]: (h["verdict"], h["group"]) for h in r["hosts"]}
assert v == {"host000": ("not-compliant", "/paris"), "host001": ("unknown", "/paris"),
             "host002": ("compliant", "/lyon")}, v
assert r["events"] == 90, r["events"]
assert r["summary"] == {"hosts": 3, "compliant": 1, "not_compliant": 1, "unknown": 1}, r["summary"]
g = {x["group"]: (x["compliant"], x["not_compliant"], x["unknown"]) for x in r["groups"]}
assert g == {"/paris": (0, 1, 1), "/lyon": (1, 0, 0)}, g
ev = r["hosts"][0]["settings"][0]["evidence"]
assert "observed" in ev and "encrypt" in ev, ev
EOF
"$SP" --store "$S" report --audit-db "$DB" --group /lyon --json >"$T/lyon.json" ||
	fail "the /lyon group is compliant: exit 0 expected"
$PY -c 'import json,sys; r=json.load(open(sys.argv[1])); assert [h["host"] for h in r["hosts"]]==["host002"], r["hosts"]; assert r["events"]==30, r["events"]' "$T/lyon.json" ||
	fail "--group /lyon shows other hosts' data"

step "CSV report: RFC 4180"
"$SP" --store "$S" report --audit-db "$DB" --format csv -o "$T/r.csv" || true
$PY - "$T/r.csv" <<'EOF' || fail "CSV wrong"
import csv, sys
raw = open(sys.argv[1], newline="").read()
assert raw.endswith("\r\n") and "\n" not in raw.replace("\r\n", ""), "line ends are not CRLF"
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert rows[0][:4] == ["record", "host", "group", "verdict"], rows[0]
assert all(len(r) == 14 for r in rows), set(len(r) for r in rows)
hosts = [r for r in rows if r[0] == "host"]
assert sorted(r[1] for r in hosts) == ["host000", "host001", "host002"], hosts
print(len(rows), "CSV rows")
EOF

step "HTML report renders in headless Chromium"
"$SP" --store "$S" report --audit-db "$DB" -o "$T/r.html" || true
grep -qi "<script" "$T/r.html" && fail "the HTML report has a script"
grep -Eq "(src|href)=\"https?:" "$T/r.html" && fail "the HTML report loads something from the network"
command -v chromium >/dev/null || skip "chromium not installed (everything else passed)"
chr() {
	timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$T/chr" "$@" "file://$T/r.html" 2>/dev/null
}
chr --screenshot="$T/r.png" --window-size=1280,1600 >/dev/null
chr --dump-dom >"$T/dom.html"
size=$(stat -c %s "$T/r.png")
echo "screenshot $size bytes"
[ "$size" -gt 40000 ] || fail "the screenshot looks blank ($size bytes)"
for text in "SMB compliance report" host000 host001 host002 "Not compliant" "Clients that do not encrypt" /paris; do
	grep -q "$text" "$T/dom.html" || fail "rendered page lacks '$text'"
done
echo PASS
