#!/usr/bin/env bash
# tests/integration/bundle_module.sh - what only --source needs is loaded
# only for --source (issue 5, idle RSS; agent/source_bundle.h):
#   - smbpolicyd links no crypto library (ldd lists no libcrypto); the CLI,
#     which signs, still links libcrypto;
#   - a daemon enforcing a local policy has mapped neither libcrypto nor the
#     bundle module after its first cycle; one following a --source maps
#     both once it has verified a bundle;
#   - `make install` puts the module in PREFIX/lib/smbpolicy, beside (not
#     in) the plugin directory, and the installed smbpolicyd finds it there
#     with no environment;
#   - without the module, --source fails and says why.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agent_lib.bash"
source "$(dirname "$0")/bundle_lib.bash"
command -v dbus-daemon >/dev/null || skip "dbus-daemon not installed (scripts/deps)"
unset SMBPOLICY_MODULE_DIR

step "smbpolicyd links no crypto library; the CLI links libcrypto"
ldd "$BIN/smbpolicyd" >"$T/ldd.agent"
! grep -q 'libcrypto\.so' "$T/ldd.agent" || fail "smbpolicyd links libcrypto: $(cat "$T/ldd.agent")"
ldd "$BIN/smbpolicy" >"$T/ldd.cli"
grep -q 'libcrypto\.so' "$T/ldd.cli" || fail "smbpolicy does not link libcrypto"

# mapped PID REGEX: whether a file matching REGEX is mapped in PID (no
# pipe: with pipefail, grep -q ending early would fail it).
mapped() { awk -v re="$2" '$6 ~ re { found = 1 } END { exit !found }' "/proc/$1/maps"; }
# applied: wait up to 20 s for the daemon's first apply (LastApplied set).
applied() {
	local i
	for i in $(seq 200); do
		busctl --address="$BUS" get-property "$AGENT_NAME" "$AGENT_PATH" "$AGENT_NAME" \
			LastApplied 2>/dev/null | grep -q 't [1-9]' && return 0
		sleep 0.1
	done
	fail "no apply: $(tail -n 20 "$T/agent.log")"
}

step "a daemon on a local policy maps neither libcrypto nor the module"
start_bus
make_root "$T/root"
start_agent --root "$T/root" --policy "$AGENT_POLICY" --interval 0
applied
! mapped "$AGENT_PID" 'libcrypto[.]so' || fail "libcrypto mapped on a local policy"
! mapped "$AGENT_PID" '/bundle[.]so$' || fail "bundle module mapped on a local policy"
kill "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null || true

step "a daemon on a --source maps both once it verified a bundle"
setup_store
sp keygen --out "$T/k1" >/dev/null
cp "$T/k1.pub" "$T/trust/"
sp publish "$T/www" --key "$T/k1" >/dev/null
url=file://$T/www/groups/@paris.bundle
: >"$T/agent.log"
start_agent --root "$T/root" --source "$url" --trusted-keys "$T/trust" \
	--state "$T/src/agent.db" --interval 0
wait_log "accepted policy bundle serial"
mapped "$AGENT_PID" '/lib/smbpolicy/bundle[.]so$' || fail "bundle module not mapped"
mapped "$AGENT_PID" 'libcrypto[.]so' || fail "libcrypto not mapped with --source"
kill "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null || true

step "make install: the module beside plugins/, found by the installed agent"
R=$T/inst
B=$(cd "$BIN/.." && pwd)
san=
[[ $B == *asan* ]] && san=1
make -s -C "$TOP" BUILD="$B" SANITIZE="$san" install DESTDIR="$R" PREFIX=/usr >"$T/make.log" 2>&1 ||
	fail "make install: $(tail -n 20 "$T/make.log")"
[ -s "$R/usr/lib/smbpolicy/bundle.so" ] || fail "not installed: usr/lib/smbpolicy/bundle.so"
[ ! -e "$R/usr/lib/smbpolicy/plugins/bundle.so" ] || fail "the module is among the plugins"
mkdir -p "$T/root2/etc/samba"
printf '[global]\n\tworkgroup = TEST\n' >"$T/root2/etc/samba/smb.conf"
"$R/usr/bin/smbpolicyd" --once --root "$T/root2" --plugin-dir "$T/plugins" --source "$url" \
	--trusted-keys "$T/trust" >"$T/once.out" 2>&1 || fail "installed agent: $(cat "$T/once.out")"
grep -q 'accepted policy bundle serial' "$T/once.out" || fail "installed agent: $(cat "$T/once.out")"

step "without the module, --source fails and says why"
mkdir -p "$T/empty" "$T/root3/etc/samba"
printf '[global]\n\tworkgroup = TEST\n' >"$T/root3/etc/samba/smb.conf"
rc=0
SMBPOLICY_MODULE_DIR=$T/empty "$BIN/smbpolicyd" --once --root "$T/root3" --plugin-dir "$T/plugins" \
	--source "$url" --trusted-keys "$T/trust" >"$T/none.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "--source without the module succeeded: $(cat "$T/none.out")"
grep -q "cannot load the bundle verifier $T/empty/bundle.so" "$T/none.out" ||
	fail "no reason given: $(cat "$T/none.out")"
echo PASS
