#!/usr/bin/env bash
# tests/integration/dist_units.sh - the reference endpoint's system
# integration files, installed the way a package would:
#   - `make install DESTDIR=... PREFIX=/usr` installs smbrefd.service and
#     the man pages smbrefd(8), smbrefc(1), smbpolicy-plugin(8);
#   - `systemd-analyze verify --root` accepts smbrefd.service without a
#     warning, `systemd-analyze security --offline` scores it <= 2.0 (the
#     figure is printed), and it keeps its contract (Type=notify, SIGHUP
#     reload, the policy and pid file paths of the endpoint plugin);
#   - the man pages render without a warning and name every option of
#     their binary's --help;
#   - the pid file layout of the unit works with the endpoint plugin:
#     smbrefd writes run/smbrefd/smbrefd.pid, run/smbrefd.pid links to it,
#     the plugin finds smbrefd running and its apply makes smbrefd reload;
#     once smbrefd stopped, the dangling link means "not running".
source "$(dirname "$0")/lib.sh"
command -v systemd-analyze >/dev/null || fail "systemd-analyze missing: run scripts/deps (systemd)"
command -v man >/dev/null || fail "man missing: run scripts/deps (man-db)"
R=$T/root
unit=$R/usr/lib/systemd/system/smbrefd.service
B=$(cd "$BIN/.." && pwd)
san=
[[ $B == *asan* ]] && san=1

step "make install into $R (BUILD=$B)"
make -s -C "$TOP" BUILD="$B" SANITIZE="$san" install DESTDIR="$R" PREFIX=/usr >"$T/make.log" 2>&1 ||
	fail "make install: $(tail -n 20 "$T/make.log")"
for f in usr/lib/systemd/system/smbrefd.service usr/share/man/man8/smbrefd.8 \
	usr/share/man/man1/smbrefc.1 usr/share/man/man8/smbpolicy-plugin.8 \
	usr/bin/smbrefd usr/bin/smbrefc usr/bin/smbpolicy-plugin; do
	[ -s "$R/$f" ] || fail "not installed: $f"
done
# What the unit needs from a real OS tree: systemd's targets, kill(1), ln(1).
cp -n /usr/lib/systemd/system/*.target "$R/usr/lib/systemd/system/" 2>/dev/null || true
install -m 0755 /bin/kill "$R/usr/bin/kill"
install -m 0755 /bin/ln "$R/usr/bin/ln"
ln -sfn usr/bin "$R/bin"

step "systemd-analyze verify"
MANPATH=$R/usr/share/man systemd-analyze verify --root="$R" smbrefd.service >"$T/verify.log" 2>&1 ||
	fail "verify: $(cat "$T/verify.log")"
[ ! -s "$T/verify.log" ] || fail "verify warnings: $(cat "$T/verify.log")"

step "systemd-analyze security <= 2.0"
systemd-analyze security --offline=yes "$unit" >"$T/security.log" 2>&1 || true
score=$(sed -n 's/.*Overall exposure level for smbrefd.service: \([0-9.]*\).*/\1/p' "$T/security.log")
[ -n "$score" ] || fail "no score: $(tail -n 5 "$T/security.log")"
echo "smbrefd.service exposure $score"
awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || fail "exposure $score > 2.0"

step "unit contract"
grep -q 'sd_notify(0, "READY=1")' "$TOP/endpoint/smbrefd.c" || fail "smbrefd no longer sends READY=1: Type=notify is wrong"
for want in Type=notify 'ExecReload=/bin/kill -HUP $MAINPID' 'ExecStart=/usr/bin/smbrefd' \
	'--policy /etc/smbpolicy/smbrefd-policy.xml' '--pid-file /run/smbrefd/smbrefd.pid' \
	'PIDFile=/run/smbrefd/smbrefd.pid' 'ln -sfn smbrefd/smbrefd.pid /run/smbrefd.pid' \
	RuntimeDirectory=smbrefd ProtectSystem=strict NoNewPrivileges=yes \
	CapabilityBoundingSet=CAP_NET_BIND_SERVICE ReadWritePaths= LogsDirectory=; do
	grep -qF -- "$want" "$unit" || fail "unit lacks $want"
done
# The paths the endpoint plugin uses are the unit's.
grep -q '"/etc/smbpolicy/smbrefd-policy.xml"' "$TOP/plugins/endpoint.c" &&
	grep -q '"/run/smbrefd.pid"' "$TOP/plugins/endpoint.c" ||
	fail "plugins/endpoint.c names other paths than smbrefd.service"

step "man pages render and name every --help option"
check_page() { # PAGE BINARY
	local page=$R/usr/share/man/$1 text opts o
	MANWIDTH=2000 man --warnings -l "$page" >"$T/page.txt" 2>"$T/man.err" || fail "man -l $1 failed"
	[ ! -s "$T/man.err" ] || fail "man -l $1 warns: $(cat "$T/man.err")"
	text=$(col -b <"$T/page.txt")
	opts=$("$R/usr/bin/$2" --help | grep -oE -- '(^|[ [,])--?[a-zA-Z][a-zA-Z-]*' | sed 's/^[ [,]//' | sort -u)
	[ -n "$opts" ] || fail "$2 --help lists no option"
	for o in $opts; do
		grep -qF -- "$o" <<<"$text" || fail "$1 does not document $2 $o"
	done
	echo "$1: $(wc -w <<<"$opts") options documented"
}
check_page man8/smbrefd.8 smbrefd
check_page man1/smbrefc.1 smbrefc
check_page man8/smbpolicy-plugin.8 smbpolicy-plugin

step "the unit's pid file layout works with the endpoint plugin"
E=$T/endpoint-root
mkdir -p "$E/run/smbrefd" "$T/share"
printf 'alice:Secret-1\n' >"$T/users"
plugin() { "$BIN/smbpolicy-plugin" --plugin-dir "$PLUGIN_DIR" --root "$E" "$@"; }
plugin endpoint apply >"$T/apply1.log" 2>&1 || fail "endpoint apply: $(cat "$T/apply1.log")"
ln -sfn smbrefd/smbrefd.pid "$E/run/smbrefd.pid"
port=$(free_port)
start_bg "$T/smbrefd.log" "$BIN/smbrefd" --policy "$E/etc/smbpolicy/smbrefd-policy.xml" \
	--listen "tcp:127.0.0.1:$port" --share "share=$T/share" --users "$T/users" \
	--pid-file "$E/run/smbrefd/smbrefd.pid"
ep=$BG_PID
wait_port "$port" || true
for _ in $(seq 50); do [ -s "$E/run/smbrefd/smbrefd.pid" ] && break; sleep 0.1; done
plugin endpoint detect | grep -q "running=yes" || fail "the plugin does not find smbrefd through run/smbrefd.pid"
plugin --set server.dialect.min=3.0 endpoint apply >"$T/apply2.log" 2>&1 ||
	fail "endpoint apply: $(cat "$T/apply2.log")"
grep -q 'told to re-read' "$T/apply2.log" || fail "the plugin did not signal smbrefd: $(cat "$T/apply2.log")"
for _ in $(seq 50); do grep -q 'reloaded' "$T/smbrefd.log" && break; sleep 0.1; done
grep -q 'reloaded' "$T/smbrefd.log" || fail "smbrefd did not reload: $(cat "$T/smbrefd.log")"
kill "$ep"; wait "$ep" 2>/dev/null || true
[ ! -e "$E/run/smbrefd/smbrefd.pid" ] || fail "smbrefd left its pid file behind"
plugin endpoint detect | grep -q "running=no" || fail "a dangling run/smbrefd.pid is taken for a running smbrefd"
echo PASS
