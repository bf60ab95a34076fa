#!/usr/bin/env bash
# bench/endpoint.sh - issue 4's benchmark: Samba's smbd and smbrefd side by
# side in one run, both SMB 3.0-3.1.1 with signing required and AES-128-GCM
# encryption required (reject unencrypted), on loopback:
#   1. smbclient (SMB 3.1.1, AES-128-GCM) downloading a 1 GiB cached file to
#      /dev/null: throughput, and server CPU seconds per GiB (/proc/PID/stat,
#      smbd's forked children included); BENCH_ROUNDS (3) rounds, one get
#      per server each, alternating, medians reported (one get varies by
#      +-20% on a shared machine);
#   2. NTLMv2 session setups per second from one client process
#      (build/bench/endpoint_loadgen: connect, negotiate 3.1.1, SPNEGO/NTLMv2
#      setup, close), and server CPU per setup;
#   3. memory (PSS) with N idle authenticated connections (N=BENCH_IDLE,
#      10000; smbd forks a process per connection, so it gets
#      BENCH_IDLE_SMBD=1000 and the per-connection figure is what compares);
#   4. p50/p99 of a correct login while 300 wrong-password attempts per
#      second hit the server (BENCH_ATTACK_RATE, BENCH_ATTACK_SECONDS).
# Figures go to stdout; record them in bench/RESULTS.md ("Endpoint").
# Environment: BIN (build/bin), TOP; BENCH_SIZE_MB (1024), BENCH_ROUNDS (3).
set -euo pipefail
TOP=${TOP:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${BIN:-$TOP/build/bin}
LOADGEN=${LOADGEN:-$(dirname "$BIN")/bench/endpoint_loadgen}
export SMBPOLICY_SCHEMA_DIR=${SMBPOLICY_SCHEMA_DIR:-$TOP/schema}
SIZE_MB=${BENCH_SIZE_MB:-1024}
ROUNDS=${BENCH_ROUNDS:-3}
IDLE=${BENCH_IDLE:-10000}
IDLE_SMBD=${BENCH_IDLE_SMBD:-1000}
RATE=${BENCH_ATTACK_RATE:-300}
ATTACK_S=${BENCH_ATTACK_SECONDS:-10}
for t in smbd smbclient pdbedit; do
	command -v $t >/dev/null || { echo "endpoint bench: $t missing, skipped"; exit 0; }
done
[ -x "$BIN/smbrefd" ] && [ -x "$LOADGEN" ] || { echo "endpoint bench: build smbrefd and $LOADGEN first"; exit 1; }
# A /dev/null that is a regular file (something replaced it) makes every
# get write 1 GiB into memory: the figures would measure that instead.
[ -c /dev/null ] || { echo "endpoint bench: /dev/null is not a character device" >&2; exit 1; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

W=$(mktemp -d /tmp/smbpolicy-bench-endpoint.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT

free_port() {
	local p
	for _ in $(seq 1 200); do
		p=$((20000 + RANDOM % 12000))
		(exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo "$p"; return 0; }
	done
	return 1
}
wait_port() {
	for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done
	echo "nothing listens on $1" >&2; return 1
}
# CPU ticks of a server: the process, its reaped children, its live children.
cpu_ticks() {
	local p=$1 t
	t=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$p/stat")
	for c in $(pgrep -P "$p" || true); do
		t=$((t + $(awk '{print $14 + $15}' "/proc/$c/stat" 2>/dev/null || echo 0)))
	done
	echo "$t"
}
# PSS in KiB of a server and its children.
pss_kib() {
	local total=0
	for p in "$1" $(pgrep -P "$1" || true); do
		total=$((total + $(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)))
	done
	echo "$total"
}
HZ=$(getconf CLK_TCK)

mkdir -p "$W/share" "$W/smbd"/{private,lock,state,cache,run,log}
head -c $((SIZE_MB * 1024 * 1024)) /dev/zero >"$W/share/big"
cat "$W/share/big" >/dev/null
# smbd maps the SMB user to a Unix account: root, so no account is created
user=root pass=Bench-Passw0rd

# --- Samba smbd
SMBD_PORT=$(free_port)
# shellcheck source=/dev/null
source "$TOP/tests/integration/samba_lib.bash"
{
	T=$W/smbd samba_global "$SMBD_PORT" "$W/smbd/run"
	cat <<EOF
	workgroup = WORKGROUP
	netbios name = BENCHSMBD
	server signing = mandatory
	server smb encrypt = required
	server smb3 encryption algorithms = AES-128-GCM, AES-128-CCM
	server min protocol = SMB3_00
	server max protocol = SMB3_11
	map to guest = Never
	restrict anonymous = 2
	disable netbios = yes
	max log size = 1000
[share]
	path = $W/share
	read only = no
EOF
} >"$W/smbd/smb.conf"
chmod 755 "$W" "$W/share"
printf '%s\n%s\n' "$pass" "$pass" | pdbedit -s "$W/smbd/smb.conf" -a -u "$user" -t >/dev/null
# its own session: smbd signals its whole process group when it stops,
# which would otherwise end this script with status 143 in cleanup
setsid smbd -s "$W/smbd/smb.conf" -F --no-process-group -d 0 >"$W/smbd.out" 2>&1 &
SMBD_PID=$!
pids+=("$SMBD_PID")

# --- smbrefd
REF_PORT=$(free_port)
cat >"$W/policy.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<policy xmlns="urn:smbpolicy:policy:1" name="bench">
  <setting id="server.signing.required">true</setting>
  <setting id="server.encryption.required">true</setting>
  <setting id="server.encryption.reject-unencrypted">true</setting>
  <setting id="server.encryption.ciphers"><item>aes-128-gcm</item><item>aes-128-ccm</item></setting>
  <setting id="server.dialect.min">3.0</setting>
  <setting id="server.dialect.max">3.1.1</setting>
  <setting id="server.auth-rate-limiter.enabled">true</setting>
  <setting id="server.auth-rate-limiter.delay-ms">2000</setting>
</policy>
EOF
printf '%s:%s\n' "$user" "$pass" >"$W/users"
"$BIN/smbrefd" --policy "$W/policy.xml" --listen "tcp:127.0.0.1:$REF_PORT" --share "share=$W/share" \
	--users "$W/users" >"$W/smbrefd.out" 2>&1 &
REF_PID=$!
pids+=("$REF_PID")
wait_port "$SMBD_PORT"
wait_port "$REF_PORT"

echo "endpoint bench: smbd $(smbd --version | cut -d' ' -f2) pid $SMBD_PID port $SMBD_PORT," \
	"smbrefd pid $REF_PID port $REF_PORT; $(nproc) cores"
declare -A R

# 1. throughput + CPU per GiB: ROUNDS alternating gets, medians
median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
declare -A MBS CPU
for round in $(seq 1 "$ROUNDS"); do
	for srv in smbd smbrefd; do
		if [ $srv = smbd ]; then port=$SMBD_PORT pid=$SMBD_PID; else port=$REF_PORT pid=$REF_PID; fi
		c0=$(cpu_ticks "$pid")
		t0=$(date +%s%N)
		smbclient //127.0.0.1/share -p "$port" -U "$user%$pass" --client-protection=encrypt \
			--option='client min protocol=SMB3_11' \
			--option='client smb3 encryption algorithms=AES-128-GCM' -c 'get big /dev/null' >"$W/get.out" 2>&1 ||
			{ cat "$W/get.out"; echo "get from $srv failed"; exit 1; }
		t1=$(date +%s%N)
		sleep 0.5
		c1=$(cpu_ticks "$pid")
		mbs=$(echo "scale=1; $SIZE_MB * 1048576 / (($t1 - $t0) / 1000)" | bc)
		cpu=$(echo "scale=3; ($c1 - $c0) / $HZ * 1024 / $SIZE_MB" | bc)
		MBS[$srv]+="$mbs " CPU[$srv]+="$cpu "
		echo "get ${SIZE_MB} MiB, round $round  $srv: $mbs MB/s, server CPU $cpu s/GiB"
	done
done
for srv in smbd smbrefd; do
	R[$srv.mbs]=$(echo "${MBS[$srv]}" | median)
	R[$srv.cpu]=$(echo "${CPU[$srv]}" | median)
	echo "get ${SIZE_MB} MiB, median of $ROUNDS  $srv: ${R[$srv.mbs]} MB/s, server CPU ${R[$srv.cpu]} s/GiB"
done

# 2. session setups per second
for srv in smbd smbrefd; do
	if [ $srv = smbd ]; then port=$SMBD_PORT pid=$SMBD_PID; else port=$REF_PORT pid=$REF_PID; fi
	c0=$(cpu_ticks "$pid")
	out=$("$LOADGEN" setups 127.0.0.1 "$port" "$user" "$pass" 5)
	sleep 0.5
	c1=$(cpu_ticks "$pid")
	n=$(echo "$out" | awk '{print $2}')
	R[$srv.setups]=$(echo "$out" | awk '{print $4}')
	R[$srv.setup_ms]=$(echo "scale=2; ($c1 - $c0) * 1000 / $HZ / ($n + 0.0001)" | bc)
	echo "session setups  $srv: ${R[$srv.setups]}/s, server CPU ${R[$srv.setup_ms]} ms/setup ($out)"
done

# 3. idle authenticated connections
for srv in smbd smbrefd; do
	if [ $srv = smbd ]; then port=$SMBD_PORT pid=$SMBD_PID n=$IDLE_SMBD; else port=$REF_PORT pid=$REF_PID n=$IDLE; fi
	base=$(pss_kib "$pid")
	fifo=$W/idle.fifo
	rm -f "$fifo"; mkfifo "$fifo"
	"$LOADGEN" idle 127.0.0.1 "$port" "$user" "$pass" "$n" <"$fifo" >"$W/idle.out" 2>&1 &
	lg=$!
	exec 7>"$fifo"
	for _ in $(seq 1 1800); do grep -q ready "$W/idle.out" 2>/dev/null && break; sleep 0.2; done
	sleep 1
	got=$(awk '/ready/ {print $2}' "$W/idle.out")
	used=$(pss_kib "$pid")
	exec 7>&-
	wait "$lg" || true
	R[$srv.idle_mb]=$(echo "scale=1; $used / 1024" | bc)
	R[$srv.idle_kib]=$(echo "scale=1; ($used - $base) / (${got:-0} + 0.0001)" | bc)
	echo "idle            $srv: ${got:-0} authenticated connections, ${R[$srv.idle_mb]} MB PSS," \
		"${R[$srv.idle_kib]} KiB per connection"
	R[$srv.idle_n]=${got:-0}
	sleep 2
done
R[smbd.idle_10k]=$(echo "scale=0; ${R[smbd.idle_kib]} * 10000 / 1024" | bc)

# 4. correct-login latency under a wrong-password flood
for srv in smbd smbrefd; do
	if [ $srv = smbd ]; then port=$SMBD_PORT; else port=$REF_PORT; fi
	"$LOADGEN" wrong 127.0.0.1 "$port" "$user" "$pass" "$RATE" "$ATTACK_S" >"$W/wrong.out" 2>&1 &
	att=$!
	sleep 1
	out=$("$LOADGEN" latency 127.0.0.1 "$port" "$user" "$pass" $(((ATTACK_S - 2) * 40)))
	wait "$att" || true
	R[$srv.p50]=$(echo "$out" | awk '{print $5}')
	R[$srv.p99]=$(echo "$out" | awk '{print $7}')
	echo "login under ${RATE}/s wrong passwords  $srv: $out; attacker: $(cat "$W/wrong.out")"
	sleep 3
done

verdict() { if [ "$(echo "$1" | bc)" = 1 ]; then echo met; else echo "NOT met"; fi; }
echo
echo "| figure | smbd | smbrefd | target | verdict |"
echo "|---|---|---|---|---|"
echo "| get 1 GiB, MB/s (median of $ROUNDS) | ${R[smbd.mbs]} | ${R[smbrefd.mbs]} | >= 1.5x smbd | $(verdict "${R[smbrefd.mbs]} >= 1.5 * ${R[smbd.mbs]}") |"
echo "| server CPU s/GiB (median of $ROUNDS) | ${R[smbd.cpu]} | ${R[smbrefd.cpu]} | <= 0.5x smbd | $(verdict "${R[smbrefd.cpu]} <= 0.5 * ${R[smbd.cpu]}") |"
echo "| NTLMv2 session setups/s | ${R[smbd.setups]} | ${R[smbrefd.setups]} | >= 2x smbd | $(verdict "${R[smbrefd.setups]} >= 2 * ${R[smbd.setups]}") |"
echo "| server CPU ms/setup | ${R[smbd.setup_ms]} | ${R[smbrefd.setup_ms]} | - | - |"
echo "| PSS, idle authenticated conns | ${R[smbd.idle_mb]} MB for ${R[smbd.idle_n]} (~${R[smbd.idle_10k]} MB per 10k) | ${R[smbrefd.idle_mb]} MB for ${R[smbrefd.idle_n]} | <= 100 MB for 10k | $(verdict "${R[smbrefd.idle_n]} >= 10000 && ${R[smbrefd.idle_mb]} <= 100") |"
echo "| correct login p50 / p99 ms under ${RATE}/s wrong | ${R[smbd.p50]} / ${R[smbd.p99]} | ${R[smbrefd.p50]} / ${R[smbrefd.p99]} | p99 <= 50 ms | $(verdict "${R[smbrefd.p99]} <= 50") |"
