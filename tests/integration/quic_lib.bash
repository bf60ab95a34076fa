# tests/integration/quic_lib.bash - helpers for the quic_*.sh tests, the
# QUIC demo part and bench/quic.sh (sourced after lib.sh; not a test).
#
#   quic_peer_build          build tests/quic-peer (Go, offline, Debian's
#                            quic-go) into $QUIC_PEER; skips when Go or
#                            quic-go is missing
#   quic_certs               a CA, a second "evil" CA, the server cert
#                            (ECDSA P-256, serverAuth, SAN localhost) and
#                            client certs under $T/pki: alice (clientAuth,
#                            CA), eve (clientAuth, evil CA), noeku (serverAuth
#                            only, CA); chains NAME.chain.pem = leaf + CA
#   quic_sha256 PEM          sha256:<hex> of a certificate's DER
#   quic_policy FILE ID=VALUE...  policy serving QUIC with the test server
#                            cert; a VALUE with '|' becomes a list
#   quic_start POLICY        smbrefd on tcp + quic (127.0.0.1): $PORT,
#                            $QPORT, $AUDIT, $EP_LOG, $EP_PID
#   quic_peer ARGS...        run the peer against 127.0.0.1:$QPORT
#   quic_events ID           audit lines with that event id

QUIC_PEER=${QUIC_PEER:-$T/quic-peer}
PKI=$T/pki
mkdir -p "$T/share"
[ -f "$T/users" ] || printf 'alice:Secret-1\nbob:Other-2\n' >"$T/users"

quic_peer_build() {
	command -v go >/dev/null || skip "golang-go not installed (scripts/deps)"
	[ -d /usr/share/gocode/src/github.com/lucas-clemente/quic-go ] ||
		skip "golang-github-lucas-clemente-quic-go-dev not installed (scripts/deps)"
	[ -x "$QUIC_PEER" ] && return 0
	local gp=$T/gopath
	mkdir -p "$gp/src/quicpeer"
	cp "$TOP/tests/quic-peer/main.go" "$gp/src/quicpeer/"
	(cd "$gp/src/quicpeer" &&
		GO111MODULE=off GOPATH="$gp:/usr/share/gocode" GOCACHE="${GOCACHE:-${HOME:-/tmp}/.cache/go-build}" \
			GOFLAGS= go build -o "$QUIC_PEER" .) || fail "quic-peer does not build"
}

_quic_ext() { # NAME EKU: extension file
	cat >"$PKI/$1.ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=$2
subjectAltName=DNS:localhost
EOF
}

_quic_ca() { # NAME SUBJECT
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
		-subj "$2" -keyout "$PKI/$1.key" -out "$PKI/$1.pem" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
		2>/dev/null
}

_quic_leaf() { # NAME CA SUBJECT EKU
	_quic_ext "$1" "$4"
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$3" \
		-keyout "$PKI/$1.key" -out "$PKI/$1.csr" 2>/dev/null
	openssl x509 -req -in "$PKI/$1.csr" -CA "$PKI/$2.pem" -CAkey "$PKI/$2.key" -CAcreateserial \
		-days 30 -extfile "$PKI/$1.ext" -out "$PKI/$1.pem" 2>/dev/null
	cat "$PKI/$1.pem" "$PKI/$2.pem" >"$PKI/$1.chain.pem"
}

quic_certs() {
	[ -f "$PKI/alice.chain.pem" ] && return 0
	mkdir -p "$PKI"
	_quic_ca ca "/O=Example Corp/CN=Example Client CA"
	_quic_ca evil "/O=Evil Inc/CN=Evil CA"
	_quic_leaf server ca "/CN=localhost" serverAuth
	_quic_leaf alice ca "/O=Example Corp/CN=alice" clientAuth
	_quic_leaf eve evil "/O=Evil Inc/CN=eve" clientAuth
	_quic_leaf noeku ca "/O=Example Corp/CN=noeku" serverAuth
}

quic_sha256() {
	echo "sha256:$(openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)"
}

quic_policy() {
	local file=$1; shift
	{
		echo '<?xml version="1.0" encoding="UTF-8"?>'
		echo '<policy xmlns="urn:smbpolicy:policy:1" name="quic-test">'
		echo '  <setting id="server.transport.quic.enabled">true</setting>'
		echo "  <setting id=\"server.quic.certificate\">$PKI/server.pem</setting>"
		echo "  <setting id=\"server.quic.key\">$PKI/server.key</setting>"
		local kv id v item
		for kv in "$@"; do
			id=${kv%%=*} v=${kv#*=}
			if [[ $id == *.allow || $id == *.block ]]; then
				printf '  <setting id="%s">' "$id"
				local IFS='|'
				for item in $v; do printf '<item>%s</item>' "$item"; done
				unset IFS
				echo '</setting>'
			else
				printf '  <setting id="%s">%s</setting>\n' "$id" "$v"
			fi
		done
		echo '</policy>'
	} >"$file"
}

quic_start() {
	local policy=$1; shift
	PORT=$(free_port)
	QPORT=$(free_port)
	AUDIT=$T/audit-$PORT.json
	EP_LOG=$T/smbrefd-$PORT.log
	start_bg "$EP_LOG" "$BIN/smbrefd" --policy "$policy" --listen "tcp:127.0.0.1:$PORT" \
		--listen "quic:127.0.0.1:$QPORT" --share "share=$T/share" --users "$T/users" \
		--audit-log "$AUDIT" --host testhost "$@"
	EP_PID=$BG_PID
	wait_port "$PORT" || { cat "$EP_LOG" >&2; fail "smbrefd did not start"; }
}

quic_peer() {
	timeout 60 "$QUIC_PEER" -addr "127.0.0.1:$QPORT" "$@"
}

quic_events() {
	[ -f "$AUDIT" ] || { echo 0; return; }
	grep -c "\"event_id\":$1," "$AUDIT" || true
}
