# bash completion for smbpolicy(1).  Self-contained: works with or without
# the bash-completion package.
#
# Completes verbs, sub-verbs, options and, from the store the command line
# names (--store, else $SMBPOLICY_STORE), policy, group and host names by
# asking `smbpolicy ... list` (its text tables: first column, header
# skipped).  Never writes anything: only reading verbs are run.

_smbpolicy_names() { # VERB...: first column of `smbpolicy [--store S] VERB... list`
	local store=() i
	for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
		[[ ${COMP_WORDS[i]} == --store ]] && store=(--store "${COMP_WORDS[i + 1]}")
	done
	"${COMP_WORDS[0]}" "${store[@]}" "$@" 2>/dev/null | awk 'NR > 1 { print $1 }'
}

_smbpolicy_files() {
	compopt -o filenames 2>/dev/null
	COMPREPLY=($(compgen -f -- "$cur"))
}

_smbpolicy() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local words=("${COMP_WORDS[@]}") cword=$COMP_CWORD

	local verbs="catalog validate import list show history diff rollback group host link rsop targets plan apply status drift"
	local common="--help --json --store"
	local -A subverbs=(
		[group]="add rm list block-inheritance"
		[host]="add move rm list"
		[link]="add rm list"
	)

	case $prev in
	--store)
		_smbpolicy_files
		return
		;;
	--comment | --order | --version)
		return
		;;
	esac

	# Find the verb and sub-verb, skipping global options.
	local i verb="" sub="" argn=0
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		--store) ((i++)) ;;
		--comment | --order | --version) ((i++)) ;;
		-*) ;;
		*)
			if [[ -z $verb ]]; then
				verb=${words[i]}
			elif [[ -n ${subverbs[$verb]:-} && -z $sub ]]; then
				sub=${words[i]}
			else
				((argn++))
			fi
			;;
		esac
	done

	if [[ -z $verb ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$common --version" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$verbs" -- "$cur"))
		fi
		return
	fi
	if [[ -n ${subverbs[$verb]:-} && -z $sub ]]; then
		COMPREPLY=($(compgen -W "${subverbs[$verb]}" -- "$cur"))
		return
	fi

	local opts=$common
	case $verb${sub:+ $sub} in
	import) opts+=" --comment" ;;
	show) opts+=" --version" ;;
	diff) opts+=" --exit-code" ;;
	rsop) opts+=" --xml" ;;
	plan | apply | status | drift) opts+=" --local --bus --root --policy --host --plugin-dir --state --verbose" ;;
	targets) opts+=" --plugin-dir" ;;
	"link add") opts+=" --order --enforced --disabled" ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		return
	fi

	# Positional arguments: what the argn-th one of this verb is.
	local what=""
	case "$verb${sub:+ $sub}:$argn" in
	validate:* | import:0) _smbpolicy_files; return ;;
	show:0 | history:0 | diff:0 | rollback:0 | "link add:0" | "link rm:0") what=policy ;;
	"group rm:0" | "group block-inheritance:0" | "link add:1" | "link rm:1" | "link list:0" | \
		"host add:1" | "host move:1") what=group ;;
	"group block-inheritance:1") COMPREPLY=($(compgen -W "on off" -- "$cur")); return ;;
	"host move:0" | "host rm:0" | rsop:0) what=host ;;
	esac
	case $what in
	policy) COMPREPLY=($(compgen -W "$(_smbpolicy_names list)" -- "$cur")) ;;
	group) COMPREPLY=($(compgen -W "$(_smbpolicy_names group list)" -- "$cur")) ;;
	host) COMPREPLY=($(compgen -W "$(_smbpolicy_names host list)" -- "$cur")) ;;
	esac
}
complete -F _smbpolicy smbpolicy
