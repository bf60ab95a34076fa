/*
 * report_bus.c - Report <-> D-Bus marshalling and the bus connection
 * helper shared by smbpolicyd and the CLI.
 *
 * Invariants: see report_bus.h.  Must never: send enum numbers on the wire.
 */
#include "report_bus.h"

int report_bus_append(sd_bus_message *m, const Report *r) {
	int k = sd_bus_message_open_container(m, 'r', "ssssttbuua(sss)a(ssssss)");
	if (k < 0)
		return k;
	k = sd_bus_message_append(m, "ssssttbuu", report_kind_to_string(r->kind), r->host,
				  r->policy, r->version, (uint64_t)r->started_usec,
				  (uint64_t)r->finished_usec, (int)r->compliant, r->changed, r->failed);
	if (k < 0)
		return k;
	k = sd_bus_message_open_container(m, 'a', "(sss)");
	for (size_t i = 0; k >= 0 && i < r->n_plugins; i++)
		k = sd_bus_message_append(m, "(sss)", r->plugins[i].name,
					  report_plugin_status_to_string(r->plugins[i].status),
					  r->plugins[i].message);
	if (k >= 0)
		k = sd_bus_message_close_container(m);
	if (k >= 0)
		k = sd_bus_message_open_container(m, 'a', "(ssssss)");
	for (size_t i = 0; k >= 0 && i < r->n_settings; i++) {
		const ReportSetting *s = &r->settings[i];
		k = sd_bus_message_append(m, "(ssssss)", s->plugin, s->setting, s->target, s->actual,
					  s->desired, report_setting_status_to_string(s->status));
	}
	if (k >= 0)
		k = sd_bus_message_close_container(m);
	if (k >= 0)
		k = sd_bus_message_close_container(m);
	return k;
}

static int read_plugins(sd_bus_message *m, Report *r) {
	int k = sd_bus_message_enter_container(m, 'a', "(sss)");
	if (k < 0)
		return k;
	const char *name, *status, *message;
	while ((k = sd_bus_message_read(m, "(sss)", &name, &status, &message)) > 0) {
		int st = report_plugin_status_from_string(status);
		if (st < 0)
			return -EBADMSG;
		k = report_add_plugin(r, name, st, message);
		if (k < 0)
			return k;
	}
	return k < 0 ? k : sd_bus_message_exit_container(m);
}

static int read_settings(sd_bus_message *m, Report *r) {
	int k = sd_bus_message_enter_container(m, 'a', "(ssssss)");
	if (k < 0)
		return k;
	const char *plugin, *id, *target, *actual, *desired, *status;
	while ((k = sd_bus_message_read(m, "(ssssss)", &plugin, &id, &target, &actual, &desired,
					&status)) > 0) {
		int st = report_setting_status_from_string(status);
		if (st < 0)
			return -EBADMSG;
		k = report_add_setting(r, plugin, id, target, actual, desired, st);
		if (k < 0)
			return k;
	}
	return k < 0 ? k : sd_bus_message_exit_container(m);
}

int report_bus_read(sd_bus_message *m, Report **ret) {
	int k = sd_bus_message_enter_container(m, 'r', "ssssttbuua(sss)a(ssssss)");
	if (k <= 0)
		return k < 0 ? k : -EBADMSG;
	const char *kind, *host, *policy, *version;
	uint64_t started, finished;
	int compliant;
	uint32_t changed, failed;
	k = sd_bus_message_read(m, "ssssttbuu", &kind, &host, &policy, &version, &started,
				&finished, &compliant, &changed, &failed);
	if (k < 0)
		return k;
	int rk = report_kind_from_string(kind);
	if (rk < 0)
		return -EBADMSG;
	_cleanup_(report_freep) Report *r = NULL;
	k = report_new(rk, host, policy, version, &r);
	if (k < 0)
		return k;
	r->started_usec = started;
	r->finished_usec = finished;
	r->compliant = compliant;
	r->changed = changed;
	r->failed = failed;
	k = read_plugins(m, r);
	if (k >= 0)
		k = read_settings(m, r);
	if (k >= 0)
		k = sd_bus_message_exit_container(m);
	if (k < 0)
		return k;
	*ret = TAKE_PTR(r);
	return 0;
}

int agent_bus_open(const char *spec, sd_bus **ret) {
	if (!spec || streq(spec, "system"))
		return sd_bus_open_system(ret);
	if (streq(spec, "session"))
		return sd_bus_open_user(ret);
	sd_bus *b = NULL;
	int k = sd_bus_new(&b);
	if (k < 0)
		return k;
	k = sd_bus_set_address(b, spec);
	if (k >= 0)
		k = sd_bus_set_bus_client(b, 1);
	if (k >= 0)
		k = sd_bus_start(b);
	if (k < 0) {
		sd_bus_unref(b);
		return k;
	}
	*ret = b;
	return 0;
}
