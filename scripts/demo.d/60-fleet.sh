# demo: Fleet distribution: signed bundles over HTTP
# shellcheck shell=bash
#
# Makes a signing key, publishes one signed bundle per group of the demo
# store into $DEMO/www, serves it with nginx on a free loopback port, and
# has smbpolicyd --once (samba plugin only, under $DEMO/fleet-root) pull
# /paris/fileservers' bundle and apply it; polls again (nginx: 304, no
# body), then shows a tampered bundle refused with the policy kept.
# Needs: $BIN, $TOP, $DEMO, SMBPOLICY_STORE, PLUGIN_DIR (set by scripts/demo).
set -euo pipefail
sp() { echo "\$ smbpolicy $*"; "$BIN/smbpolicy" "$@"; }
PATH=$PATH:/usr/sbin
w=$DEMO/www r=$DEMO/fleet-root n=$DEMO/nginx
mkdir -p "$r/etc/samba" "$n" "$DEMO/trust" "$DEMO/fleet-plugins"
printf '[global]\n\tworkgroup = DEMO\n' >"$r/etc/samba/smb.conf"
ln -sf "$PLUGIN_DIR/samba.so" "$DEMO/fleet-plugins/"

sp keygen --out "$DEMO/signing.key"
cp "$DEMO/signing.key.pub" "$DEMO/trust/"
sp publish "$w" --key "$DEMO/signing.key"
sp publish "$w" --key "$DEMO/signing.key"
ls "$w" "$w/groups"
echo; sed -n '1,10p' "$w/groups/@paris@fileservers.bundle"; echo "    ..."; tail -n 1 "$w/groups/@paris@fileservers.bundle"

port=
for _ in $(seq 1 100); do
	p=$((20000 + RANDOM % 12000)) # below the ephemeral ports
	if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then port=$p; break; fi
done
cat >"$n/nginx.conf" <<CONF
daemon off; master_process off; worker_processes 1;
pid $n/nginx.pid; error_log $n/error.log;
events { worker_connections 64; }
http {
	log_format t '\$status \$body_bytes_sent \$request_uri';
	access_log $n/access.log t;
	client_body_temp_path $n; proxy_temp_path $n; fastcgi_temp_path $n;
	uwsgi_temp_path $n; scgi_temp_path $n;
	server { listen 127.0.0.1:$port; root $w; }
}
CONF
nginx -e "$n/error.log" -c "$n/nginx.conf" -p "$n" >"$n/out.log" 2>&1 &
echo $! >>"$DEMO/pids"
for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done
url=http://127.0.0.1:$port/groups/@paris@fileservers.bundle
agent() {
	echo "\$ smbpolicyd --once --root $r --source $url --trusted-keys $DEMO/trust"
	"$BIN/smbpolicyd" --once --root "$r" --plugin-dir "$DEMO/fleet-plugins" \
		--source "$url" --trusted-keys "$DEMO/trust" 2>&1 | grep -E 'bundle|compliant' | sed 's/^/    /' || true
}
echo; echo "--- the agent pulls its group's bundle, verifies and applies it"
agent
echo "nginx: $(tail -n 1 "$n/access.log")"
echo; echo "--- unchanged: a 304 without a body"
agent
echo "nginx: $(tail -n 1 "$n/access.log")"
echo; echo "--- a tampered bundle is refused; the applied policy stays"
cp "$w/groups/@paris@fileservers.bundle" "$DEMO/good.bundle"
# Same size; a newer mtime so the web server's ETag (mtime + size) changes.
sed -i 's/>true</>TRUE</' "$w/groups/@paris@fileservers.bundle"
touch -d "@$(($(date +%s) + 2))" "$w/groups/@paris@fileservers.bundle"
agent
cp "$DEMO/good.bundle" "$w/groups/@paris@fileservers.bundle"
