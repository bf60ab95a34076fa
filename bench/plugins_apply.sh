#!/usr/bin/env bash
# bench/plugins_apply.sh - cost of one plugin apply (plan + validate +
# atomic write + verify) in a scratch root, alternating two policies so every
# run really changes something, beside the peer's bare minimum for the same
# job from the same run: samba vs `testparm -s` of the same smb.conf plus a
# cp; nftables vs `nft -f` of the same ruleset (both inside a private network
# namespace).  Target (issue 5): apply to all plugins <= 500 ms.
set -euo pipefail
TOP=${TOP:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${BIN:-$TOP/build/bin}
export SMBPOLICY_PLUGIN_DIR=${SMBPOLICY_PLUGIN_DIR:-$TOP/build/plugins}
export SMBPOLICY_SCHEMA_DIR=${SMBPOLICY_SCHEMA_DIR:-$TOP/schema}
PLUGIN=$BIN/smbpolicy-plugin
N=${BENCH_N:-20}
T=$(mktemp -d /tmp/smbpolicy-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT
[ -x "$PLUGIN" ] || { echo "plugins_apply: $PLUGIN missing (make build-all)"; exit 1; }

ms() { echo $(( ($2 - $1) / 1000000 / N )); }

R=$T/root
mkdir -p "$R/etc/samba"
printf '[global]\n\tworkgroup = BENCH\n\n[data]\n\tpath = /srv\n' >"$R/etc/samba/smb.conf"
printf 'server.signing.required = true\nserver.dialect.min = 3.1.1\nfirewall.netbios.legacy = false\n' >"$T/a"
printf 'server.signing.required = false\nserver.dialect.min = 2.0.2\nfirewall.netbios.legacy = true\n' >"$T/b"

t0=$(date +%s%N)
for i in $(seq "$N"); do
	p=$T/a; [ $((i % 2)) -eq 0 ] && p=$T/b
	"$PLUGIN" --root "$R" --settings "$p" samba apply >/dev/null 2>&1
done
t1=$(date +%s%N)
for _ in $(seq "$N"); do
	testparm -s "$R/etc/samba/smb.conf" >/dev/null 2>&1
	cp "$R/etc/samba/smb.conf" "$T/copy.conf"
done
t2=$(date +%s%N)
echo "samba apply (plan+testparm+write+verify): $(ms "$t0" "$t1") ms; peer floor (testparm -s + cp): $(ms "$t1" "$t2") ms"

if unshare -n true 2>/dev/null; then
	cat >"$T/nft.sh" <<EOF
set -eu
printf 'table inet bench {\n chain input {\n  type filter hook input priority 0; policy accept;\n  udp dport 137 drop\n  tcp dport 139 drop\n  tcp dport 445 accept\n }\n}\n' >"$T/rules.nft"
t0=\$(date +%s%N)
for i in \$(seq $N); do
	p=$T/a; [ \$((i % 2)) -eq 0 ] && p=$T/b
	"$PLUGIN" --settings "\$p" --set server.transport.tcp.enabled=true --set server.transport.tcp.port=445 nftables apply >/dev/null 2>&1
done
t1=\$(date +%s%N)
for i in \$(seq $N); do nft -f "$T/rules.nft"; done
t2=\$(date +%s%N)
echo "nftables apply (plan+check+commit+verify): \$(( (t1 - t0) / 1000000 / $N )) ms; peer floor (nft -f): \$(( (t2 - t1) / 1000000 / $N )) ms"
EOF
	unshare -n bash "$T/nft.sh"
else
	echo "nftables: skipped (no network namespace here)"
fi
