# tests/integration/samba_lib.bash - a scratch Samba smbd on a loopback port
# for the tests that drive the real one (sourced after lib.sh).
#
#   samba_dirs              $T/share (with hello.txt, writable by all) and
#                           smbd's own directories under $T
#   samba_global PORT PIDDIR  prints the [global] lines every scratch smbd
#                           needs; the caller adds its own lines and shares
#   samba_user CONF         adds root (password Secret123) to the passdb
#   samba_start CONF SECS   starts smbd in its own session, waits for its
#                           port; fails with its log when it exits or is slow
#
# Invariants: smbd listens only on 127.0.0.1 (interfaces = lo), keeps every
# file under $T (or the PIDDIR given), and is killed by pid through start_bg.
# Never: touch /etc/samba or the system's passdb.

samba_dirs() {
	mkdir -p "$T/share" "$T"/{private,lock,state,cache,log}
	echo hello >"$T/share/hello.txt"
	chmod 0755 "$T"; chmod 0777 "$T/share"
}

samba_global() { # PORT PIDDIR
	cat <<CONF
[global]
	server role = standalone server
	smb ports = $1
	interfaces = lo
	bind interfaces only = yes
	private dir = $T/private
	lock directory = $T/lock
	pid directory = $2
	state directory = $T/state
	cache directory = $T/cache
	log file = $T/log/log.%m
	passdb backend = tdbsam:$T/private/passdb.tdb
	server min protocol = SMB2_02
	disable spoolss = yes
	load printers = no
	printcap name = /dev/null
CONF
}

samba_user() { # CONF
	printf 'Secret123\nSecret123\n' | pdbedit -s "$1" -a -u root -t >/dev/null 2>&1 ||
		fail "pdbedit could not add the test user"
}

samba_start() { # CONF SECONDS; the port is the one in CONF ($PORT)
	local conf=$1 limit=$2 i
	# smbd signals its whole process group on exit: give it its own session.
	start_bg "$T/smbd.log" setsid smbd -F --no-process-group --debug-stdout -d 1 -s "$conf"
	# A loaded machine (2 cores, many builds) can take a while to start smbd.
	for i in $(seq $((limit * 10))); do
		(exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null && return 0
		kill -0 "$BG_PID" 2>/dev/null || { tail -20 "$T/smbd.log"; fail "smbd exited"; }
		sleep 0.1
	done
	tail -20 "$T/smbd.log"
	fail "smbd not listening on $PORT after ${limit}s"
}
