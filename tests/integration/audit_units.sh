#!/usr/bin/env bash
# audit_units: smbpolicy-report.service / .timer install into a scratch root,
# pass `systemd-analyze verify --root` (ExecStart binaries, man page,
# dependencies), the service scores <= 2.0 in `systemd-analyze security`,
# the timer is daily and Persistent, and the command the service runs
# writes dated HTML and JSON reports and prunes old ones.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/units_lib.bash"
command -v systemd-analyze >/dev/null || skip "systemd-analyze missing (scripts/deps: systemd)"
R=$T/root
sys=$R/usr/lib/systemd/system

step "install into $R"
make -s -C "$TOP" BUILD="$T/build" install-audit install-cli DESTDIR="$R" PREFIX=/usr >"$T/make.log" 2>&1 ||
	fail "install: $(cat "$T/make.log")"
install -D -m 0755 "$BIN/smbpolicy" "$R/usr/bin/smbpolicy"
cp -n /usr/lib/systemd/system/*.target "$sys/" 2>/dev/null || true
[ -s "$sys/smbpolicy-report.service" ] && [ -s "$sys/smbpolicy-report.timer" ] || fail "units not installed"

step "systemd-analyze verify"
unit_verify "$R" smbpolicy-report.service smbpolicy-report.timer

step "systemd-analyze security <= 2.0"
unit_exposure_at_most "$sys/smbpolicy-report.service" 2.0

step "timer: daily, persistent"
grep -qx "OnCalendar=daily" "$sys/smbpolicy-report.timer" || fail "not daily"
grep -qx "Persistent=true" "$sys/smbpolicy-report.timer" || fail "not persistent"

step "the service's report command writes dated reports and prunes old ones"
cmd=$(sed -n 's/^ExecStart=//p' "$sys/smbpolicy-report.service")
echo "$cmd"
case $cmd in */usr/bin/smbpolicy\ report\ --output-dir\ /var/lib/smbpolicy/reports*) ;; *) fail "unexpected ExecStart";; esac
out=$T/reports
mkdir -p "$out"
touch "$out/smbpolicy-report-2001-01-01.html" "$out/smbpolicy-report-2001-01-01.json" "$out/keep-me"
printf '{"time":"2026-11-26T07:30:00Z","host":"h1","event_id":3021,"peer":"10.0.0.1:1","fields":{}}\n' >"$T/e.jsonl"
rc=0
"$BIN/smbpolicy" report --jsonl "$T/e.jsonl" --output-dir "$out" --keep-days 90 || rc=$?
[ $rc -le 1 ] || fail "report exit $rc"
ls "$out"
today=$(date -u +%F)
[ -s "$out/smbpolicy-report-$today.html" ] && [ -s "$out/smbpolicy-report-$today.json" ] || fail "no dated reports"
[ ! -e "$out/smbpolicy-report-2001-01-01.html" ] || fail "old report not pruned"
[ -e "$out/keep-me" ] || fail "an unrelated file was deleted"
echo PASS
