# tests/integration/agent_lib.bash - sourced by tests/integration/agent_*.sh
# after lib.sh: a private system-like dbus-daemon, a scratch root with the
# files the plugins manage, and smbpolicyd on that bus.
#
# Gives: start_bus (sets BUS, exports DBUS_SYSTEM_BUS_ADDRESS), make_root DIR,
# start_agent ARGS... (sets AGENT_PID, waits for the bus name), wait_log, bus_call
# METHOD [SIG ARGS...], as_nobody CMD..., AGENT_POLICY (strict.xml).
# The bus is private_bus.bash's (BUS_EXTRA_CONF: more config lines, e.g.
# another service's <include>).
. "$TOP/tests/integration/private_bus.bash"
AGENT_POLICY=$TOP/schema/policies/strict.xml
AGENT_NAME=org.smbpolicy.Agent1
AGENT_PATH=/org/smbpolicy/Agent1

start_bus() {
	private_bus_start "$T" || fail "dbus-daemon did not start"
	BUS=$PRIVATE_BUS
	_pids+=("$PRIVATE_BUS_PID")
	export DBUS_SYSTEM_BUS_ADDRESS=$BUS
	[ -S "$T/bus.sock" ] || fail "no bus socket"
}

# A root directory with an admin's smb.conf (comments kept by the plugin).
make_root() {
	local root=$1
	mkdir -p "$root/etc/samba" "$root/etc/ksmbd" "$root/etc/modprobe.d"
	printf '# admin smb.conf\n[global]\n\tworkgroup = TEST\n\n[share]\n\tpath = /srv\n' \
		>"$root/etc/samba/smb.conf"
}

# start_agent ARGS...: smbpolicyd on $BUS; waits until it owns the name.
# It runs in a network namespace of its own (unshare -n): the nftables
# plugin then changes that namespace's ruleset, never the host's.  The bus
# is a path socket, which works across network namespaces.
start_agent() {
	start_bg "$T/agent.log" unshare -n "$BIN/smbpolicyd" --bus "$BUS" --plugin-dir "$PLUGIN_DIR" "$@"
	AGENT_PID=$BG_PID
	local i
	for i in $(seq 1 100); do
		busctl --address="$BUS" status "$AGENT_NAME" >/dev/null 2>&1 && return 0
		kill -0 "$AGENT_PID" 2>/dev/null || { cat "$T/agent.log" >&2; fail "smbpolicyd exited"; }
		sleep 0.1
	done
	cat "$T/agent.log" >&2
	fail "smbpolicyd did not take $AGENT_NAME"
}

# wait_log PATTERN [FILE]: up to 20 s for PATTERN in the agent's log.
wait_log() {
	local i
	for i in $(seq 200); do grep -q "$1" "${2:-$T/agent.log}" && return 0; sleep 0.1; done
	fail "no '$1' in ${2:-$T/agent.log}: $(tail -n 20 "${2:-$T/agent.log}")"
}

# bus_call METHOD [SIGNATURE ARGS...]: busctl call as the current user, JSON out.
bus_call() {
	local m=$1; shift
	busctl --address="$BUS" --json=short call "$AGENT_NAME" "$AGENT_PATH" "$AGENT_NAME" "$m" "$@"
}

# as_nobody CMD...: run as uid/gid 65534 with no supplementary groups.
as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
}
