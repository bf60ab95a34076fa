# tests/integration/private_bus.bash - a private system-like dbus-daemon,
# sourced by tests/integration/agent_lib.bash, the demo's agent part
# (scripts/demo.d/30-agent.sh) and bench/agent.sh, so all three run the
# agent on the same bus policy.
#
# Gives: private_bus_start DIR: writes DIR/bus.conf, starts dbus-daemon
# listening on DIR/bus.sock, sets PRIVATE_BUS (its address) and
# PRIVATE_BUS_PID; returns non-zero when dbus-daemon failed.  Needs $TOP.
# The bus config is like the system bus (deny by default) and includes the
# shipped dist/dbus/org.smbpolicy.Agent1.conf, so that file is what is used
# (BUS_EXTRA_CONF: more config lines, e.g. another service's <include>).
# Must never: listen anywhere but a path socket in DIR; print anything.

private_bus_start() {
	local dir=$1 out
	chmod 755 "$dir"
	cat >"$dir/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$dir/bus.sock</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  <policy user="root">
    <allow eavesdrop="true"/>
    <allow eavesdrop="true" send_type="signal"/>
    <allow send_type="method_call" send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
  <include>$TOP/dist/dbus/org.smbpolicy.Agent1.conf</include>
  ${BUS_EXTRA_CONF:-}
</busconfig>
CONF
	out=$(dbus-daemon --config-file="$dir/bus.conf" --fork --print-address=1 --print-pid=1) || return 1
	PRIVATE_BUS=$(echo "$out" | sed -n 1p)
	PRIVATE_BUS_PID=$(echo "$out" | sed -n 2p)
}
