# tests/integration/lib.sh - sourced by every integration test.
#
# Gives: $TOP (source tree), $BIN (binaries under test, ASan build in
# `make check`), $T (this test's scratch dir, removed by the runner),
# free_port, wait_port, start_bg (remembers pids; all killed on exit),
# fail MSG, skip MSG, pass.  Servers listen on 127.0.0.1 / ::1 only.
set -euo pipefail
TOP=${SMBPOLICY_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BIN=${SMBPOLICY_BIN:-$TOP/build/bin}
PLUGIN_DIR=${SMBPOLICY_PLUGIN_DIR:-$TOP/build/plugins}
export SMBPOLICY_SCHEMA_DIR=${SMBPOLICY_SCHEMA_DIR:-$TOP/schema}
T=${TEST_TMP:-$(mktemp -d /tmp/smbpolicy-test.XXXXXX)}
mkdir -p "$T"
_pids=()

cleanup_bg() {
	local p
	for p in "${_pids[@]:-}"; do
		[ -n "$p" ] && kill "$p" 2>/dev/null || true
	done
	for p in "${_pids[@]:-}"; do
		[ -n "$p" ] && wait "$p" 2>/dev/null || true
	done
}
trap cleanup_bg EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "skipped: $*"; exit 77; }
step() { echo "--- $*"; }

# A TCP port nobody listens on (127.0.0.1), from a range tests alone use:
# 20000-31999, below the kernel's ephemeral ports (ip_local_port_range,
# 32768-60999), so an outgoing connection of another test cannot hold it
# when the server binds.
free_port() {
	local p
	for _ in $(seq 1 200); do
		p=$((20000 + RANDOM % 12000))
		if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
			echo "$p"; return 0
		fi
	done
	return 1
}

# wait_port PORT [SECONDS]: until something accepts on 127.0.0.1:PORT.
wait_port() {
	local port=$1 limit=${2:-20} i
	for i in $(seq 1 $((limit * 10))); do
		(exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && return 0
		sleep 0.1
	done
	fail "nothing listens on 127.0.0.1:$port after ${limit}s"
}

# start_bg LOGFILE CMD...: run in background, remember the pid in $BG_PID.
start_bg() {
	local log=$1; shift
	"$@" >"$log" 2>&1 &
	BG_PID=$!
	_pids+=("$BG_PID")
}
