#!/usr/bin/env bash
# tests/integration/cli_completion.sh - dist/completion/smbpolicy.bash
# completes verbs, sub-verbs, options and, from a real store, policy, group
# and host names (it runs the built smbpolicy, found as COMP_WORDS[0]).
source "$(dirname "$0")/lib.sh"

SP=$BIN/smbpolicy
[ -x "$SP" ] || fail "$SP not built"
export SMBPOLICY_STORE=$T/store.db
# shellcheck source=/dev/null
source "$TOP/dist/completion/smbpolicy.bash"

# complete WORDS...: the last word is the one being completed; prints the
# sorted candidates on one line.
complete_line() {
	COMP_WORDS=("$SP" "$@")
	COMP_CWORD=$(($# ))
	COMPREPLY=()
	_smbpolicy
	printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}
expect() { # WANT WORDS...
	local want=$1; shift
	local got
	got=$(complete_line "$@")
	[ "$got" = "$want" ] || fail "completing '$*': got '$got', want '$want'"
}

cat >"$T/p.xml" <<'XML'
<policy xmlns="urn:smbpolicy:policy:1" name="strictish">
  <setting id="server.signing.required">true</setting>
</policy>
XML
"$SP" import "$T/p.xml" >/dev/null
"$SP" group add /paris >/dev/null
"$SP" host add fs1 /paris >/dev/null

step "verbs and sub-verbs"
expect "history host" h
expect "rollback" ro
expect "rsop" rs
expect "ingest list" audit ""
expect "--samba --samba-host" audit ingest --sam
expect "--local" plan --lo
expect "add block-inheritance list rm" group ""
expect "move" host m
expect "--help --json --store --version" --
step "options per verb"
expect "--enforced" link add strictish /paris --e
expect "--xml" rsop fs1 --x
expect "--comment" import x.xml --c
expect "strictish" link add --order 3 ""
expect "" show --version ""
expect "--order" link add --or
step "names from the store"
expect "strictish" show s
expect "/ /paris" link add strictish ""
expect "fs1" rsop f
expect "/paris" rsop --group /p
expect "off on" group block-inheritance /paris ""
expect "fs1" --store "$SMBPOLICY_STORE" host rm ""
step "every verb of 'smbpolicy --help' is completed and in smbpolicy(1)"
verbs=$("$SP" --help | awk '/^Verbs:/ { on = 1; next } on && /^  [a-z]/ { print $1 }')
[ -n "$verbs" ] || fail "no verbs in smbpolicy --help"
for v in $verbs; do
	[[ " $(complete_line "$v") " == *" $v "* ]] ||
		fail "verb '$v' is not completed: add it to dist/completion/smbpolicy.bash"
	grep -Eq "^\\*${v}[* ]" "$TOP/dist/man/smbpolicy.1.scd" ||
		fail "verb '$v' is not documented: add it to dist/man/smbpolicy.1.scd"
done
step "files"
expect "$T/p.xml" import "$T/p."
echo PASS
