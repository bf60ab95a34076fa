# demo: smbpolicy probe
#
# Measures over the wire what two servers enforce and compares both with
# fs1's resultant policy ($DEMO/fs1.rsop.xml from part 10; schema/policies/
# strict.xml when absent): the demo smbrefd of part 20 ($DEMO/smbrefd.port,
# user demo) and a demo Samba started here on a loopback port with a weak
# smb.conf (signing auto, SMB2_02 allowed, guest mapping, no encryption).
# Prints the measurements side by side with the policy, then each
# `smbpolicy probe --against` verdict (the Samba one lists the differing
# setting ids and exits 1).  smbd's pid goes to $DEMO/pids.
# Needs: $BIN, $TOP, $DEMO (set by scripts/demo); smbd for the Samba half.
set -euo pipefail
policy=$DEMO/fs1.rsop.xml
[ -f "$policy" ] || policy=$TOP/schema/policies/strict.xml
pr=$DEMO/probe
mkdir -p "$pr"
free_port() {
	local p
	for _ in $(seq 1 100); do
		p=$((20000 + RANDOM % 12000)) # below the ephemeral ports
		(exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo "$p"; return 0; }
	done
	return 1
}
targets=()

if [ -f "$DEMO/smbrefd.port" ]; then
	printf 'Demo-Passw0rd\n' >"$pr/smbrefd.pw"
	targets+=("smbrefd //127.0.0.1:$(cat "$DEMO/smbrefd.port")/share demo $pr/smbrefd.pw")
else
	echo "(no demo smbrefd: part 20 did not run)"
fi

if command -v smbd >/dev/null; then
	sp=$(free_port)
	s=$pr/samba
	mkdir -p "$s"/{share,private,lock,state,cache,run,log}
	chmod 0755 "$DEMO" "$pr" "$s"
	# shellcheck source=/dev/null
	source "$TOP/tests/integration/samba_lib.bash"
	{
		T=$s samba_global "$sp" "$s/run"
		cat <<CONF
	# weak on purpose
	server signing = auto
	server smb encrypt = off
	map to guest = Bad User
[share]
	path = $s/share
	read only = yes
CONF
	} >"$s/smb.conf"
	printf 'Demo-Passw0rd\nDemo-Passw0rd\n' | smbpasswd -c "$s/smb.conf" -a -s root >/dev/null
	setsid smbd -F --no-process-group --debug-stdout -d 0 -s "$s/smb.conf" >"$s/smbd.log" 2>&1 &
	echo $! >>"$DEMO/pids"
	for _ in $(seq 1 300); do (exec 3<>/dev/tcp/127.0.0.1/"$sp") 2>/dev/null && break; sleep 0.1; done
	printf 'Demo-Passw0rd\n' >"$pr/samba.pw"
	echo "demo Samba (weak smb.conf) on 127.0.0.1:$sp"
	targets+=("samba //127.0.0.1:$sp/share root $pr/samba.pw")
else
	echo "(smbd not installed: no demo Samba)"
fi

names=()
for t in "${targets[@]}"; do
	read -r name unc user pw <<<"$t"
	echo "\$ smbpolicy probe $unc --user $user --password-file $pw --against $policy --json"
	"$BIN/smbpolicy" probe "$unc" --user "$user" --password-file "$pw" --against "$policy" --json \
		>"$pr/$name.json" || true
	names+=("$name")
done
[ ${#names[@]} -gt 0 ] || exit 0

echo
echo "--- measured, side by side with the policy ($policy)"
/usr/bin/python3 - "$policy" "$pr" "${names[@]}" <<'PY'
import json, sys, xml.etree.ElementTree as ET
policy, d, names = sys.argv[1], sys.argv[2], sys.argv[3:]
ns = {"p": "urn:smbpolicy:policy:1"}
pol = {}
for s in ET.parse(policy).getroot().findall("p:setting", ns):
    items = [i.text for i in s.findall("p:item", ns)]
    pol[s.get("id")] = ",".join(items) if items else (s.text or "").strip()
res = {n: json.load(open(f"{d}/{n}.json")) for n in names}
def yn(v): return "?" if v is None else ("yes" if v else "no")
rows = [
    ("server.dialect.min / max", lambda p: pol.get("server.dialect.min", "default") + " .. " + pol.get("server.dialect.max", "default"),
     lambda j: " ".join(k for k, v in j["dialects"].items() if v) or "none"),
    ("server.signing.required", lambda p: pol.get("server.signing.required", "default"),
     lambda j: f'{yn(j["signing_required"])} (unsigned refused: {yn(j["unsigned_refused"])})'),
    ("server.encryption.required", lambda p: pol.get("server.encryption.required", "default"),
     lambda j: f'{yn(j["encryption_required"])} (unencrypted refused: {yn(j["unencrypted_refused"])})'),
    ("server.encryption.ciphers", lambda p: pol.get("server.encryption.ciphers", "default"),
     lambda j: ",".join(j.get("cipher_order") or [k for k, v in j["ciphers"].items() if v]) or "-"),
    ("server.guest.allowed", lambda p: pol.get("server.guest.allowed", "default"),
     lambda j: f'guest {yn(j["guest_allowed"])}, anonymous {yn(j["anonymous_allowed"])}'),
    ("server.auth-rate-limiter.delay-ms", lambda p: pol.get("server.auth-rate-limiter.delay-ms", "default"),
     lambda j: "?" if j["failed_login_delay_ms"] is None else f'{j["failed_login_delay_ms"]} ms'),
]
w = [36, max(len(pv(pol)) for _, pv, _ in rows) + 2] + [36] * len(names)
print("".join(h.ljust(x) for h, x in zip(["setting", "policy"] + names, w)))
for label, pv, obs in rows:
    print("".join(c.ljust(x) for c, x in zip([label, pv(pol)] + [obs(res[n]["probe"]) for n in names], w)))
print()
for n in names:
    diffs = res[n].get("differences", [])
    if diffs:
        print(f"{n}: DIFFERS from the policy in {len(diffs)} setting(s) (probe exits 1):")
        for x in diffs:
            print(f"    {x['setting']}: {x['message']}")
    else:
        print(f"{n}: agrees with the policy on every measured server setting (probe exits 0)")
PY
