#!/usr/bin/env bash
# tests/integration/agent_unit.sh - the shipped system integration files:
# `make install-dist-agent` into a scratch root plus the binary, then
# `systemd-analyze verify --root` accepts smbpolicyd.service (ExecStart,
# man page, dependencies), `systemd-analyze security --offline` scores it
# at or below 2.0, the unit keeps its contract (Type=notify, WatchdogSec,
# ProtectSystem=strict, managed paths writable), and the D-Bus policy,
# introspection and polkit files are well-formed XML.
source "$(dirname "$0")/lib.sh"
command -v systemd-analyze >/dev/null || skip "systemd-analyze missing (scripts/deps: systemd)"
R=$T/root
unit=$R/usr/lib/systemd/system/smbpolicyd.service

step "install into $R"
make -s -C "$TOP" BUILD="$T/build" install-dist-agent DESTDIR="$R" PREFIX=/usr >"$T/make.log" 2>&1 ||
	fail "install-dist-agent: $(cat "$T/make.log")"
install -D -m 0755 "$BIN/smbpolicyd" "$R/usr/bin/smbpolicyd"
# What the unit depends on in a real OS tree: systemd's targets and kill(1).
mkdir -p "$R/usr/lib/systemd/system"
cp -n /usr/lib/systemd/system/*.target "$R/usr/lib/systemd/system/" 2>/dev/null || true
install -m 0755 /bin/kill "$R/usr/bin/kill"
ln -sfn usr/bin "$R/bin"
for f in usr/share/dbus-1/system.d/org.smbpolicy.Agent1.conf \
	usr/share/dbus-1/interfaces/org.smbpolicy.Agent1.xml \
	usr/share/dbus-1/system-services/org.smbpolicy.Agent1.service \
	usr/share/polkit-1/actions/org.smbpolicy.policy usr/share/man/man8/smbpolicyd.8; do
	[ -s "$R/$f" ] || fail "not installed: $f"
done

step "systemd-analyze verify"
MANPATH=$R/usr/share/man systemd-analyze verify --root="$R" smbpolicyd.service >"$T/verify.log" 2>&1 ||
	fail "verify: $(cat "$T/verify.log")"
[ ! -s "$T/verify.log" ] || fail "verify warnings: $(cat "$T/verify.log")"

step "systemd-analyze security <= 2.0"
systemd-analyze security --offline=yes "$unit" >"$T/security.log" 2>&1 || true
score=$(sed -n 's/.*Overall exposure level for smbpolicyd.service: \([0-9.]*\).*/\1/p' "$T/security.log")
[ -n "$score" ] || fail "no score: $(tail -n 5 "$T/security.log")"
echo "exposure $score"
awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || fail "exposure $score > 2.0"

step "unit contract"
for want in Type=notify WatchdogSec= ProtectSystem=strict NoNewPrivileges=yes \
	'CapabilityBoundingSet=CAP_NET_ADMIN' 'SystemCallFilter=@system-service' PrivateTmp=yes \
	ProtectHome=yes RestrictAddressFamilies= ReadWritePaths=-/etc/samba -/etc/ksmbd \
	-/etc/modprobe.d 'ExecStart=/usr/bin/smbpolicyd --bus system'; do
	grep -q -- "$want" "$unit" || fail "unit lacks $want"
done

step "XML files are well-formed"
xmllint --noout "$R/usr/share/dbus-1/system.d/org.smbpolicy.Agent1.conf" \
	"$R/usr/share/dbus-1/interfaces/org.smbpolicy.Agent1.xml" \
	"$R/usr/share/polkit-1/actions/org.smbpolicy.policy" || fail "xmllint"
echo PASS
