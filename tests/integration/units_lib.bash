# tests/integration/units_lib.bash - checks every shipped systemd unit must
# pass (sourced after lib.sh by the *_units.sh / *_unit.sh tests).
#
#   unit_verify ROOT UNIT...          systemd-analyze verify --root=ROOT with
#                                     ROOT's man pages: no error, no warning
#   unit_exposure_at_most FILE MAX    systemd-analyze security --offline of
#                                     the unit file: its score is <= MAX
#
# Invariants: both fail the test (fail) with systemd-analyze's own words;
# their logs stay in $T (verify.log, security.log).
# Never: start, enable or load a unit on this machine.

unit_verify() { # ROOT UNIT...
	local root=$1; shift
	MANPATH=$root/usr/share/man systemd-analyze verify --root="$root" "$@" >"$T/verify.log" 2>&1 ||
		fail "verify: $(cat "$T/verify.log")"
	[ ! -s "$T/verify.log" ] || fail "verify warnings: $(cat "$T/verify.log")"
}

unit_exposure_at_most() { # FILE MAX
	local file=$1 max=$2 name score
	name=$(basename "$file")
	systemd-analyze security --offline=yes "$file" >"$T/security.log" 2>&1 || true
	score=$(sed -n "s/.*Overall exposure level for ${name//./\\.}: \([0-9.]*\).*/\1/p" "$T/security.log")
	[ -n "$score" ] || fail "no score: $(tail -n 5 "$T/security.log")"
	echo "$name exposure $score"
	awk -v s="$score" -v m="$max" 'BEGIN { exit !(s <= m) }' || fail "exposure $score > $max"
}
