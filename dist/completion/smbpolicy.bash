# bash completion for smbpolicy(1).  Self-contained: works with or without
# the bash-completion package.
#
# Verbs, sub-verbs and options are read from the binary's own --help (so a
# verb added to cli/smbpolicy.c is completed without editing this file);
# policy, group and host names come from the store the command line names
# (--store, else $SMBPOLICY_STORE) through `smbpolicy ... list` (first
# column of the text table, header skipped).  Never writes anything: only
# --help and reading verbs are run.
# shellcheck disable=SC2207  # COMPREPLY=($(compgen ...)) is the completion idiom

# _smbpolicy_run ARGS...: the smbpolicy being completed, stderr dropped.
_smbpolicy_run() { "${COMP_WORDS[0]}" "$@" 2>/dev/null; }

_smbpolicy_verbs() {
	_smbpolicy_run --help | awk '/^Verbs:/ { on = 1; next } on && /^  [a-z]/ { print $1 }'
}

# _smbpolicy_subverbs VERB: the sub-verbs listed by `smbpolicy VERB --help`
# (empty for a plain verb, whose help starts with "usage: smbpolicy").
_smbpolicy_subverbs() {
	_smbpolicy_run "$1" --help | awk -v v="$1" '$1 == v && NF > 1 { print $2 }'
}

# _smbpolicy_options VERB [SUB]: "--opt" or "--opt=ARG" (takes an argument)
# per line, from the Options section of the verb's help.
_smbpolicy_options() {
	_smbpolicy_run "$@" --help |
		awk '/^Options:/ { on = 1; next }
		     on && /^  -/ { for (i = 1; i <= NF; i++) if ($i ~ /^--/) {
				o = $i; sub(/,$/, "", o); sub(/[[=].*/, "", o)
				print (i < NF && $(i + 1) ~ /^[A-Z]|[|]/) ? o "=ARG" : o; break } }'
}

_smbpolicy_names() { # VERB...: first column of `smbpolicy [--store S] VERB... list`
	local store=() i
	for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
		[[ ${COMP_WORDS[i]} == --store ]] && store=(--store "${COMP_WORDS[i + 1]}")
	done
	_smbpolicy_run "${store[@]}" "$@" | awk 'NR > 1 { print $1 }'
}

_smbpolicy_files() {
	compopt -o filenames 2>/dev/null
	COMPREPLY=($(compgen -f -- "$cur"))
}

_smbpolicy() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local words=("${COMP_WORDS[@]}") cword=$COMP_CWORD

	# Find the verb and sub-verb, skipping options and their arguments.
	local i verb="" sub="" subs="" argn=0 opts="" takes_arg=""
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		--store) ((i++)) ;;
		-*) [[ " $takes_arg " == *" ${words[i]} "* ]] && ((i++)) ;;
		*)
			if [[ -z $verb ]]; then
				verb=${words[i]}
				subs=$(_smbpolicy_subverbs "$verb")
			elif [[ -n $subs && -z $sub ]]; then
				sub=${words[i]}
			else
				((argn++))
				continue
			fi
			opts=$(_smbpolicy_options "$verb" ${sub:+"$sub"})
			takes_arg=$(sed -n 's/=ARG$//p' <<<"$opts" | tr '\n' ' ')
			;;
		esac
	done

	case $prev in
	--store)
		_smbpolicy_files
		return
		;;
	--group) # rsop, report, publish: a group of the store
		COMPREPLY=($(compgen -W "$(_smbpolicy_names group list)" -- "$cur"))
		return
		;;
	esac
	[[ -n $prev && " $takes_arg " == *" $prev "* ]] && return

	if [[ -z $verb ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--help --json --store --version" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(_smbpolicy_verbs)" -- "$cur"))
		fi
		return
	fi
	if [[ -n $subs && -z $sub ]]; then
		COMPREPLY=($(compgen -W "$subs" -- "$cur"))
		return
	fi
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(sed 's/=ARG$//' <<<"$opts")" -- "$cur"))
		return
	fi

	# Positional arguments of the store verbs: what the argn-th one is.
	case "$verb${sub:+ $sub}:$argn" in
	show:0 | history:0 | diff:0 | rollback:0 | "link add:0" | "link rm:0")
		COMPREPLY=($(compgen -W "$(_smbpolicy_names list)" -- "$cur")) ;;
	"group rm:0" | "group block-inheritance:0" | "link add:1" | "link rm:1" | "link list:0" | \
		"host add:1" | "host move:1")
		COMPREPLY=($(compgen -W "$(_smbpolicy_names group list)" -- "$cur")) ;;
	"group block-inheritance:1") COMPREPLY=($(compgen -W "on off" -- "$cur")) ;;
	"host move:0" | "host rm:0" | rsop:0)
		COMPREPLY=($(compgen -W "$(_smbpolicy_names host list)" -- "$cur")) ;;
	"group add:"* | "host add:0" | "group list:"* | "host list:"* | list:* | catalog:*) ;;
	*) _smbpolicy_files ;;
	esac
}
complete -F _smbpolicy smbpolicy
