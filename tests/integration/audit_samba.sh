#!/usr/bin/env bash
# audit_samba: Samba cannot log per-session signing, so the collector reads
# `smbstatus --json` and turns sessions that neither sign nor encrypt into
# session-unprotected events.  Against a real scratch smbd: a client that
# turns protection off (SMB 2.1) becomes one event, a signing client none;
# observing the same sessions again adds nothing; the report lists the
# unprotected client and the impact preview names it for
# server.signing.required=true.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/samba_lib.bash"
command -v smbd >/dev/null || skip "smbd not installed"
command -v smbstatus >/dev/null || skip "smbstatus not installed"
SP=$BIN/smbpolicy
DB=$T/audit.db
PORT=$(free_port)
mkdir -p "$T/run"
samba_dirs
{
	samba_global "$PORT" "$T/run"
	cat <<CONF
	server signing = auto
	server smb encrypt = if_required
[share]
	path = $T/share
	read only = no
CONF
} >"$T/smb.conf"
samba_user "$T/smb.conf"
samba_start "$T/smb.conf" 30
: >"$T/client.conf"

step "two sessions held open: one unprotected (SMB 2.1, protection off), one signing"
client() { # LOG ARGS...: connect, then hold the session for a few seconds
	local log=$1; shift
	(echo ls; sleep 20; echo quit) | timeout 30 smbclient -s "$T/client.conf" //127.0.0.1/share \
		-p "$PORT" -U 'root%Secret123' "$@" >"$log" 2>&1 &
}
client "$T/plain.log" --client-protection=off --option='client max protocol=SMB2_10'
plain=$!
client "$T/signed.log" --client-protection=sign
signed=$!
# Both sessions, each with its tree connect to the share (the machine may
# be busy).  smbclient may hold an IPC$ tree connect before its session's
# signing is in force, so only tree connects to the share count.
share_tcons() { grep -o '"service": "share"' "$T/status.json" | wc -l; }
for _ in $(seq 1 150); do
	smbstatus -s "$T/smb.conf" --json >"$T/status.json" 2>/dev/null || true
	[ "$(share_tcons)" -ge 2 ] && break
	sleep 0.1
done
cat "$T/status.json"
[ "$(share_tcons)" -ge 2 ] ||
	fail "the two clients did not both connect: $(cat "$T/plain.log" "$T/signed.log")"

step "ingest twice: one event, stored once"
"$SP" audit ingest --audit-db "$DB" --samba="$T/status.json" --samba-host nas1 | tee "$T/in1"
"$SP" audit ingest --audit-db "$DB" --samba="$T/status.json" --samba-host nas1 | tee "$T/in2"
kill "$plain" "$signed" 2>/dev/null || true
wait "$plain" "$signed" 2>/dev/null || true
grep -q "^ingested 1 new events" "$T/in1" || fail "want exactly one unprotected session"
grep -q "^ingested 0 new events (1 already stored" "$T/in2" || fail "the same session was stored again"
"$SP" audit list --audit-db "$DB" --json | tee "$T/list.json"
grep -q '"event":"session-unprotected"' "$T/list.json" || fail "no session-unprotected event"
grep -q '"dialect":"2.1"' "$T/list.json" || fail "dialect not translated (SMB2_10 -> 2.1)"
grep -q '"host":"nas1"' "$T/list.json" || fail "host not nas1"

step "report and impact name the client"
"$SP" report --audit-db "$DB" --format json -o "$T/r.json" || true
/usr/bin/python3 - "$T/r.json" <<'PY' || fail "report lacks the unprotected client"
import json, sys
r = json.load(open(sys.argv[1]))
s = {x["id"]: x for x in r["statistics"]}
assert [x["key"] for x in s["client-no-signing"]["rows"]] == ["127.0.0.1"], s["client-no-signing"]
PY
out=$("$SP" impact --audit-db "$DB" server.signing.required=true) && fail "impact should report a break"
echo "$out"
echo "$out" | grep -q "127.0.0.1 .*unprotected session seen by Samba" || fail "impact does not name the client"
echo PASS
