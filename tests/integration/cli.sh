#!/usr/bin/env bash
# tests/integration/cli.sh - the `smbpolicy` CLI end to end: every verb's
# happy path, exit codes 0/1/2, --json that parses, rsop --xml that
# validates, hostile documents refused with the store byte-identical, and
# concurrent writers that leave a sound store.  Runs $BIN/smbpolicy in $T.
source "$(dirname "$0")/lib.sh"

SP=$BIN/smbpolicy
[ -x "$SP" ] || fail "$SP not built"
export SMBPOLICY_STORE=$T/store/policy.db
unset SUDO_USER
export USER=cli-test

# run RC CMD...: run, keep stdout/stderr in $T/out, $T/err, demand exit RC.
run() {
	local want=$1 rc=0; shift
	"$@" >"$T/out" 2>"$T/err" || rc=$?
	if [ "$rc" != "$want" ]; then
		echo "stdout:"; cat "$T/out"; echo "stderr:"; cat "$T/err"
		fail "'$*' exited $rc, expected $want"
	fi
}
json_ok() { python3 -c 'import json,sys; json.load(sys.stdin)' <"$T/out" || fail "not JSON: $(head -c 300 "$T/out")"; }
# py EXPR: evaluate a Python expression over the JSON in $T/out as d; must be true.
py() { python3 -c "import json,sys; d=json.load(open('$T/out')); sys.exit(0 if ($1) else 1)" || fail "JSON check failed: $1"; }
has() { grep -q -- "$1" "$T/${2:-out}" || fail "expected '$1' in ${2:-out}: $(head -c 500 "$T/${2:-out}")"; }
hasnt() { ! grep -q -- "$1" "$T/${2:-out}" || fail "did not expect '$1' in ${2:-out}"; }
store_sum() { sha256sum "$SMBPOLICY_STORE" | cut -d' ' -f1; }

policy() { # NAME DESCRIPTION SETTING-LINES... -> $T/NAME.xml
	local name=$1 desc=$2; shift 2
	{
		echo "<policy xmlns=\"urn:smbpolicy:policy:1\" name=\"$name\">"
		echo "  <description>$desc</description>"
		printf '  %s\n' "$@"
		echo "</policy>"
	} >"$T/$name.xml"
}

step "global options and usage errors"
run 0 "$SP" --version; has "smbpolicy "
run 0 "$SP" --help; has "rsop"; has "Exit status"
run 2 "$SP"; has "missing verb" err
run 2 "$SP" frobnicate; has "unknown verb 'frobnicate'" err
run 2 "$SP" --frobnicate list; has "unknown option" err
run 2 "$SP" --store; has "needs an argument" err
run 2 "$SP" list --bogus; has "unknown option '--bogus'" err
run 2 "$SP" show; has "missing argument" err
run 2 "$SP" history a b; has "too many arguments" err
run 2 "$SP" group; has "missing verb" err
run 2 "$SP" group frob
run 2 "$SP" diff a 1 x; has "not a version number" err
run 2 "$SP" link add a / --order -3
for v in catalog validate import list show history diff rollback rsop \
	"group add" "group rm" "group list" "group block-inheritance" \
	"host add" "host move" "host rm" "host list" "link add" "link rm" "link list"; do
	# shellcheck disable=SC2086
	run 0 "$SP" $v --help; has "usage: smbpolicy $v"
done
run 0 "$SP" group --help; has "group block-inheritance PATH on|off"

step "reading verbs never create the store"
run 1 "$SP" list; has "does not exist" err
run 1 "$SP" --store "$T/nodir/x.db" group list
if [ -e "$T/nodir" ] || [ -e "$SMBPOLICY_STORE" ]; then fail "a reading verb created the store"; fi

step "catalog"
run 0 "$SP" catalog
for id in server.signing.required client.signing.required server.dialect.min client.ntlm.exceptions \
	server.auth-rate-limiter.delay-ms firewall.netbios.legacy client.mailslots.enabled; do
	has "^$id "
done
has "^CONSTRAINT  *RULE"; has "^server-dialect-order  *server.dialect.min <= server.dialect.max"
run 0 "$SP" catalog --json; json_ok
n_settings=$(python3 -c 'import json,sys; print(len(json.load(sys.stdin)["settings"]))' <"$T/out")
py "len(d['settings']) >= 30 and all(k in d['settings'][0] for k in ('id','type','default','title','explanation','windows','targets'))"
py "[s for s in d['settings'] if s['id']=='server.auth-rate-limiter.delay-ms'][0]['step'] == 100"
py "any('server.dialect.min' in c['rule'] for c in d['constraints']) and all(c['id'] and c['message'] for c in d['constraints'])"
run 0 "$SP" --json catalog; json_ok

step "validate"
policy a "first" '<setting id="server.signing.required">true</setting>' \
	'<setting id="server.dialect.min">3.0</setting>'
policy bad "broken" '<setting id="server.dialect.min">3.2</setting>' \
	'<setting id="no.such.setting">1</setting>'
run 0 "$SP" validate "$T/a.xml"; has "a.xml: ok"
run 1 "$SP" validate "$T/bad.xml"
has "^smbpolicy: $T/bad.xml:[0-9]*: server.dialect.min: " err
has "no.such.setting" err
run 1 "$SP" validate "$T/a.xml" "$T/bad.xml" "$T/missing.xml"; has "a.xml: ok"; has "missing.xml" err
run 1 "$SP" validate --json "$T/a.xml" "$T/bad.xml"; json_ok
py "d[0]['valid'] and not d[1]['valid'] and d[1]['diagnostics'][0]['line'] > 0"
for f in "$TOP"/schema/policies/*.xml; do
	[ -f "$f" ] && { run 0 "$SP" validate "$f"; has ": ok"; }
done

step "import, list, show, history"
run 0 "$SP" import "$T/a.xml" --comment "first cut"; has "^imported a version 1$"
[ -f "$SMBPOLICY_STORE" ] || fail "import did not create the store and its directory"
run 0 "$SP" import "$T/a.xml"; has "^a unchanged (version 1)$"
policy a "second" '<setting id="server.dialect.min">3.1.1</setting>' \
	'<setting id="client.ntlm.block">true</setting>' \
	'<setting id="client.ntlm.exceptions"><item>nas1.example.com</item><item>nas2</item></setting>'
run 0 "$SP" import "$T/a.xml"; has "^imported a version 2$"
run 0 "$SP" import --json "$T/a.xml"; json_ok; py "d['version'] == 2 and d['created'] is False"
run 1 "$SP" import "$T/bad.xml"; has "not imported" err
for f in "$TOP"/schema/policies/*.xml; do
	[ -f "$f" ] && run 0 "$SP" import "$f"
done
run 0 "$SP" list; has "^a  *2 "; has "cli-test"
run 0 "$SP" list --json; json_ok; py "[p for p in d if p['policy']=='a'][0]['version'] == 2"
run 0 "$SP" show a; has '<setting id="server.dialect.min">3.1.1</setting>'
cp "$T/out" "$T/a-v2.xml"
run 0 "$SP" validate "$T/a-v2.xml"
run 0 "$SP" show a --version 1; has '<setting id="server.dialect.min">3.0</setting>'
run 0 "$SP" show a --version 1 --json; json_ok; py "d['version'] == 1 and d['comment'] == 'first cut' and '<policy' in d['xml']"
run 1 "$SP" show a --version 9; has "no version 9" err
run 1 "$SP" show nope
run 0 "$SP" history a; has "^a  *1 .*first cut"; has "^a  *2 "
run 0 "$SP" history a --json; json_ok; py "[v['version'] for v in d] == [1, 2] and len(d[0]['hash']) == 64"
run 1 "$SP" history nope; has "not found" err

step "diff and rollback"
run 0 "$SP" diff a 1 2
has "^~ server.dialect.min: 3.0 -> 3.1.1$"
has "^+ client.ntlm.exceptions: nas1.example.com, nas2$"
has "^- server.signing.required: true$"
run 1 "$SP" diff a 1 2 --exit-code
run 0 "$SP" diff a 2 2 --exit-code; hasnt "^[~+-] "
run 0 "$SP" diff --json a 1 2; json_ok
py "{c['setting']: c['change'] for c in d['changes']} == {'server.dialect.min':'changed','client.ntlm.block':'added','client.ntlm.exceptions':'added','server.signing.required':'removed'}"
py "[c for c in d['changes'] if c['setting']=='client.ntlm.exceptions'][0]['new'] == ['nas1.example.com','nas2']"
run 1 "$SP" diff a 1 7; has "no version 7" err
run 0 "$SP" rollback a 1; has "as version 3"
run 0 "$SP" diff a 1 3 --exit-code
run 0 "$SP" rollback a 2 --json; json_ok; py "d['version'] == 4 and d['from'] == 2"
run 0 "$SP" history a; has "^a  *4 "

step "groups, hosts, links"
run 0 "$SP" group add /paris; has "added group /paris"
run 0 "$SP" group add /paris/fileservers
run 0 "$SP" group add /lyon
run 1 "$SP" group add /paris; has "already exists" err
run 1 "$SP" group add /nowhere/x; has "parent group does not exist" err
run 0 "$SP" group block-inheritance /lyon on
run 2 "$SP" group block-inheritance /lyon maybe
run 0 "$SP" group list; has "^/paris/fileservers "; has "^/lyon  *true"
run 0 "$SP" group list --json; json_ok; py "{g['path']: g['block_inheritance'] for g in d}['/lyon'] is True"
run 0 "$SP" group block-inheritance /lyon off
run 0 "$SP" host add fs1 /paris/fileservers
run 0 "$SP" host add fs2 /paris
run 1 "$SP" host add fs3 /nowhere
run 0 "$SP" host move fs2 /lyon
run 0 "$SP" host list; has "^fs2  */lyon$"
run 0 "$SP" host list --json; json_ok; py "{h['name']: h['group'] for h in d} == {'fs1':'/paris/fileservers','fs2':'/lyon'}"
run 0 "$SP" host rm fs2
run 1 "$SP" host rm fs2
run 0 "$SP" import "$T/a.xml"
policy b "paris" '<setting id="server.dialect.min">3.0.2</setting>' \
	'<setting id="client.mailslots.enabled">false</setting>'
run 0 "$SP" import "$T/b.xml"
run 0 "$SP" link add b /paris
run 0 "$SP" link add a /paris/fileservers --order 5
run 1 "$SP" link add nope /paris; has "no such policy or group" err
run 1 "$SP" group rm /paris/fileservers; has "not empty" err
run 0 "$SP" link list; has "^/paris  *[0-9]  *b "; has "^/paris/fileservers  *5  *a  *false"
run 0 "$SP" link list /paris --json; json_ok; py "len(d) == 1 and d[0]['policy'] == 'b'"

step "rsop"
run 0 "$SP" rsop fs1
has "^server.dialect.min  *3.1.1  *a v4 @ /paris/fileservers$"
has "^client.mailslots.enabled  *false  *b v1 @ /paris$"
has "^client.signing.required  *true  *default$"
run 0 "$SP" rsop fs1 --json; json_ok
py "d['host'] == 'fs1' and {s['id']: s['source'] and s['source']['policy'] for s in d['settings']}['server.dialect.min'] == 'a'"
py "[s for s in d['settings'] if s['id']=='client.signing.required'][0]['source'] is None"
run 0 "$SP" rsop fs1 --xml; cp "$T/out" "$T/fs1.xml"
run 0 "$SP" validate "$T/fs1.xml"
"$SP" rsop fs1 --xml | "$SP" validate - >"$T/out" || fail "rsop --xml | validate - failed"
has "^-: ok$"
run 1 "$SP" validate - <"$T/bad.xml"; has "^smbpolicy: <stdin>:[0-9]*: server.dialect.min" err
[ "$(grep -c '<setting ' "$T/fs1.xml")" -eq "$n_settings" ] || fail "rsop --xml does not set every setting"
# enforced at the parent beats the child's link
run 0 "$SP" link rm b /paris
run 0 "$SP" link add b /paris --enforced
run 0 "$SP" rsop fs1; has "^server.dialect.min  *3.0.2  *b v1 @ /paris (enforced)$"
run 2 "$SP" rsop fs1 --xml --json
# each policy is valid alone; together min 3.1.1 > max 3.0 breaks a constraint
policy lowmax "old max" '<setting id="server.dialect.max">3.0</setting>'
policy highmin "new min" '<setting id="server.dialect.min">3.1.1</setting>'
run 0 "$SP" import "$T/lowmax.xml"
run 0 "$SP" import "$T/highmin.xml"
run 0 "$SP" group add /clash
run 0 "$SP" host add c1 /clash
run 0 "$SP" link add lowmax /clash --order 1
run 0 "$SP" link add highmin /clash --order 2
run 1 "$SP" rsop c1; has "^server.dialect.min  *3.1.1  *highmin v1 @ /clash$"; has "^smbpolicy: .*server.dialect.min" err
run 1 "$SP" rsop c1 --json; json_ok
run 1 "$SP" rsop c1 --xml; [ ! -s "$T/out" ] || fail "rsop --xml wrote an invalid resultant policy"
run 0 "$SP" host rm c1
run 0 "$SP" link rm lowmax /clash
run 0 "$SP" link rm highmin /clash
run 0 "$SP" group rm /clash
run 1 "$SP" rsop nohost; has "nohost" err
run 0 "$SP" rsop --group /paris; has "^Resultant policy for group /paris$"; has "^server.dialect.min  *3.0.2  *b v1 @ /paris (enforced)$"
run 0 "$SP" rsop --group /paris --json; json_ok; py "d['host'] is None"
run 0 "$SP" rsop --group /paris --xml; has 'name="rsop-group:paris"'
run 1 "$SP" rsop --group /nowhere; has "group /nowhere: not found" err
run 2 "$SP" rsop fs1 --group /paris
run 0 "$SP" link rm a /paris/fileservers
run 1 "$SP" link rm a /paris/fileservers

step "hostile documents change nothing"
before=$(store_sum)
ns='xmlns="urn:smbpolicy:policy:1"'
cat >"$T/xxe.xml" <<EOF
<?xml version="1.0"?>
<!DOCTYPE policy [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<policy $ns name="xxe"><description>&xxe;</description></policy>
EOF
{
	echo '<?xml version="1.0"?>'
	echo '<!DOCTYPE policy ['
	echo '<!ENTITY lol "lol">'
	prev=lol
	for i in 1 2 3 4 5 6 7 8 9; do
		echo "<!ENTITY lol$i \"$(printf "&$prev;%.0s" 1 2 3 4 5 6 7 8 9 10)\">"
		prev=lol$i
	done
	echo ']>'
	echo "<policy $ns name=\"laughs\"><description>&lol9;</description></policy>"
} >"$T/laughs.xml"
{
	echo "<policy $ns name=\"huge\"><description>"
	head -c 100000000 /dev/zero | tr '\0' x
	echo "</description></policy>"
} >"$T/huge.xml"
printf '<policy %s name="utf8"><description>bad \xff\xfe\xc3 bytes</description></policy>\n' "$ns" >"$T/utf8.xml"
python3 -c "
n = 100000
print('<policy $ns name=\"deep\"><description>' + '<a>' * n + '</a>' * n + '</description></policy>')" >"$T/deep.xml"
for h in xxe laughs huge utf8 deep; do
	start=$SECONDS
	run 1 timeout 60 "$SP" import "$T/$h.xml"
	has "^smbpolicy: " err
	hasnt "root:" out; hasnt "root:" err
	run 1 timeout 60 "$SP" validate "$T/$h.xml"
	run 1 timeout 60 "$SP" import - <"$T/$h.xml"
	[ $((SECONDS - start)) -le 20 ] || fail "$h took $((SECONDS - start))s"
	[ "$(store_sum)" = "$before" ] || fail "store changed after importing $h"
done
rm -f "$T/huge.xml"

step "concurrent writers"
pids=()
for i in $(seq 1 8); do
	policy "p$i" "writer $i" "<setting id=\"server.auth-rate-limiter.delay-ms\">$((i * 100))</setting>"
	( "$SP" import "$T/p$i.xml" >"$T/w$i.out" 2>&1 &&
		"$SP" group add "/g$i" >>"$T/w$i.out" 2>&1 &&
		"$SP" link add "p$i" "/g$i" >>"$T/w$i.out" 2>&1 &&
		"$SP" host add "h$i" "/g$i" >>"$T/w$i.out" 2>&1 ) &
	pids+=($!)
done
for i in $(seq 1 8); do
	wait "${pids[$((i - 1))]}" || fail "writer $i failed: $(cat "$T/w$i.out")"
done
# eight writers racing for the next version of one policy: eight versions
pids=()
for i in $(seq 1 8); do
	policy same "racer $i" "<setting id=\"server.auth-rate-limiter.delay-ms\">$((i * 200))</setting>"
	mv "$T/same.xml" "$T/same$i.xml"
	"$SP" import "$T/same$i.xml" >"$T/s$i.out" 2>&1 &
	pids+=($!)
done
for i in $(seq 1 8); do
	wait "${pids[$((i - 1))]}" || fail "racer $i failed: $(cat "$T/s$i.out")"
done
run 0 "$SP" history same --json
py "sorted(v['version'] for v in d) == list(range(1, 9)) and len({v['hash'] for v in d}) == 8"
run 0 "$SP" list --json; py "all(any(p['policy'] == 'p%d' % i for p in d) for i in range(1, 9))"
run 0 "$SP" rsop h5; has "^server.auth-rate-limiter.delay-ms  *500  *p5 v1 @ /g5$"
[ "$(sqlite3 "$SMBPOLICY_STORE" 'PRAGMA integrity_check')" = ok ] || fail "store integrity check failed"

step "group rm after emptying"
run 0 "$SP" group rm /lyon
run 1 "$SP" group rm /lyon; has "not found" err
echo "PASS"
