# demo: Compliance report
# shellcheck shell=bash
#
# Collects the audit events of the earlier parts into a scratch audit DB
# ($DEMO/audit.db): smbrefd's JSON-lines log ($DEMO/audit.jsonl or
# $DEMO/endpoint/audit.json) and, when the agent of part 30 still runs, its
# read-back (`smbpolicy status --json`) for the compliance verdicts.  Then
# shows the latest events, an impact preview of a stricter rollout, writes
# the HTML and JSON reports into $DEMO and prints the one-screen summary and
# the report's path.  Groups come from the demo store ($SMBPOLICY_STORE).
# Needs: $BIN, $DEMO (set by scripts/demo).
set -euo pipefail
sp() { echo "\$ smbpolicy $*"; "$BIN/smbpolicy" "$@"; }
db=$DEMO/audit.db
inputs=()
for f in "$DEMO/audit.jsonl" "$DEMO/endpoint/audit.json"; do
	[ -s "$f" ] && inputs+=(--jsonl "$f")
done
if [ -S "$DEMO/agent/bus.sock" ] &&
	SMBPOLICY_BUS=unix:path=$DEMO/agent/bus.sock "$BIN/smbpolicy" status --json \
		>"$DEMO/agent-status.json" 2>/dev/null; then
	inputs+=(--actual "$DEMO/agent-status.json")
fi
[ ${#inputs[@]} -gt 0 ] || echo "(no audit log from the earlier parts: the report will be empty)"
sp audit ingest --audit-db "$db" "${inputs[@]}"
echo
sp audit list --audit-db "$db" --limit 8
echo
echo "before rolling out a stricter policy: who would break?"
sp impact --audit-db "$db" server.encryption.required=true server.dialect.min=3.1.1 \
	client.ntlm.block=true || true
echo
"$BIN/smbpolicy" report --audit-db "$db" --format json -o "$DEMO/report.json" || true
"$BIN/smbpolicy" report --audit-db "$db" -o "$DEMO/report.html" || true
sp report --audit-db "$db" || true
echo
echo "HTML report: $DEMO/report.html"
echo "JSON report: $DEMO/report.json"
