# demo: Policy store and resultant policy
# shellcheck shell=bash
#
# Imports the example policies into the demo store ($SMBPOLICY_STORE), builds
# a small group tree with a host fs1, links policies (one enforced), prints
# fs1's resultant policy with the source of every value, and leaves
# $DEMO/fs1.rsop.xml (`smbpolicy rsop fs1 --xml`) for the later parts.
# Needs: $BIN, $TOP, $DEMO, SMBPOLICY_STORE (set by scripts/demo).
set -euo pipefail
sp() { echo "\$ smbpolicy $*"; "$BIN/smbpolicy" "$@"; }

for f in "$TOP"/schema/policies/*.xml; do
	sp import "$f" --comment demo
done
sp list
echo
sp group add /paris
sp group add /paris/fileservers
sp host add fs1 /paris/fileservers
sp link add windows-2025-defaults /
sp link add legacy-compat /paris
sp link add strict /paris/fileservers --enforced
sp link list
echo
sp rsop fs1
"$BIN/smbpolicy" rsop fs1 --xml >"$DEMO/fs1.rsop.xml"
sp validate "$DEMO/fs1.rsop.xml"
echo "resultant policy of fs1 written to $DEMO/fs1.rsop.xml"
