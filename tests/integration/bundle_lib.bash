# tests/integration/bundle_lib.bash - sourced by tests/integration/bundle_*.sh
# after lib.sh: a store with a group tree, signing keys, a real nginx on
# 127.0.0.1 serving the publishing directory, and smbpolicyd runs that pull
# their group's bundle.
#
# Gives: sp ARGS... (smbpolicy on $T/store.db), set_policy MIN_DIALECT
# (imports policy "site", linked at /paris), start_nginx DIR (sets
# NGINX_PORT, NGINX_LOG, URL; TLS_PORT serves the same over https with a
# self-signed certificate with lines "STATUS BODY_BYTES URI IF_NONE_MATCH"),
# agent [ARGS...] (smbpolicyd --once under $T/root with only the samba
# plugin, output in $T/agent.out; returns its exit status), applied_min
# (the "server min protocol" smbpolicyd wrote into the Samba include),
# serve FILE (atomically replace the bundle nginx serves for /paris),
# last_access (nginx's last access line).
# The agent runs with only the samba plugin (under --root), so nothing of
# the host (nftables, modules) is touched; it needs the host's network to
# reach nginx, so unlike the agent_*.sh tests it is not in a namespace.

sp() { "$BIN/smbpolicy" --store "$T/store.db" "$@"; }

set_policy() {
	cat >"$T/site.xml" <<EOF
<policy xmlns="urn:smbpolicy:policy:1" name="site">
  <setting id="server.dialect.min">$1</setting>
</policy>
EOF
	sp import "$T/site.xml" >/dev/null
}

setup_store() {
	sp group add /paris >/dev/null
	set_policy 3.0
	sp link add site /paris >/dev/null
	mkdir -p "$T/plugins" "$T/root/etc/samba" "$T/trust"
	ln -sf "$PLUGIN_DIR/samba.so" "$T/plugins/samba.so"
	printf '[global]\n\tworkgroup = TEST\n' >"$T/root/etc/samba/smb.conf"
}

start_nginx() {
	command -v nginx >/dev/null || PATH=$PATH:/usr/sbin
	command -v nginx >/dev/null || fail "nginx is not installed (scripts/deps installs it)"
	NGINX_PORT=$(free_port)
	TLS_PORT=$(free_port)
	local d=$T/nginx
	mkdir -p "$d"
	# A self-signed certificate no agent trusts (TLS verification test).
	[ -f "$d/cert.pem" ] || openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		-nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
		-keyout "$d/key.pem" -out "$d/cert.pem" 2>/dev/null || fail "openssl req failed"
	NGINX_LOG=$d/access.log
	cat >"$d/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 64; }
http {
	log_format t '\$status \$body_bytes_sent \$request_uri "\$http_if_none_match"';
	access_log $NGINX_LOG t;
	client_body_temp_path $d;
	proxy_temp_path $d;
	fastcgi_temp_path $d;
	uwsgi_temp_path $d;
	scgi_temp_path $d;
	server {
		listen 127.0.0.1:$NGINX_PORT;
		root $1;
	}
	server {
		listen 127.0.0.1:$TLS_PORT ssl;
		ssl_certificate $d/cert.pem;
		ssl_certificate_key $d/key.pem;
		root $1;
	}
}
EOF
	start_bg "$d/out.log" nginx -e "$d/error.log" -c "$d/nginx.conf" -p "$d"
	local i
	for i in $(seq 1 100); do
		(exec 3<>/dev/tcp/127.0.0.1/"$NGINX_PORT") 2>/dev/null && break
		kill -0 "$BG_PID" 2>/dev/null || break
		sleep 0.1
	done
	if ! (exec 3<>/dev/tcp/127.0.0.1/"$NGINX_PORT") 2>/dev/null; then
		cat "$d/error.log" "$d/out.log" >&2
		# The port was taken between free_port and bind: once more.
		[ "${2:-0}" -lt 3 ] || fail "nginx did not start"
		kill "$BG_PID" 2>/dev/null || true
		start_nginx "$1" $((${2:-0} + 1))
		return
	fi
	URL=http://127.0.0.1:$NGINX_PORT/groups/@paris.bundle
}

agent() {
	local rc=0
	"$BIN/smbpolicyd" --once --root "$T/root" --plugin-dir "$T/plugins" \
		--source "$URL" --trusted-keys "$T/trust" "$@" >"$T/agent.out" 2>&1 || rc=$?
	cat "$T/agent.out" >>"$T/agent.log"
	return $rc
}

applied_min() {
	sed -n 's/^[[:space:]]*server min protocol = //p' "$T/root/etc/samba/smbpolicy.conf"
}

serve() {
	cp "$1" "$T/www/groups/.serve.tmp"
	mv "$T/www/groups/.serve.tmp" "$T/www/groups/@paris.bundle"
}

last_access() { tail -n 1 "$NGINX_LOG"; }
