/*
 * bus.c - the org.smbpolicy.Agent1 D-Bus object (sd-bus), at
 * /org/smbpolicy/Agent1: properties, methods, signals.  The interface is
 * documented in dist/dbus/org.smbpolicy.Agent1.xml (a test compares it with
 * what this vtable introspects to).
 *
 * Every method: validate arguments -> check authorisation -> act -> map
 * errno to a D-Bus error.  Read-only methods are open to every caller;
 * Apply and Refresh need uid 0, or polkit's yes for AGENT_POLKIT_ACTION
 * when polkitd is on the bus (without polkitd, non-root is denied).
 *
 * Invariants: a denied call changes nothing and runs no plugin; signals are
 * emitted only after the cycle they describe was recorded.
 * Must never: trust the caller's uid from message fields (only the bus
 * driver's credentials), or block on interactive polkit authentication.
 */
#include <syslog.h>

#include "context.h"
#include "journal.h"
#include "report_bus.h"

#ifndef SMBPOLICY_VERSION
#define SMBPOLICY_VERSION "0.1"
#endif

static const char *mode_name(const Context *c) { return c->audit_only ? "audit-only" : "enforce"; }

static int errno_to_bus_error(sd_bus_error *error, int k, const char *what) {
	return sd_bus_error_set_errnof(error, -k, "%s: %s", what, strerror(-k));
}

/* polkit's verdict for the message's sender: 1 yes, 0 no, -errno. */
static int polkit_check(sd_bus *bus, sd_bus_message *m) {
	int has = 0;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL, *call = NULL;
	int k = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
				   "org.freedesktop.DBus", "NameHasOwner", NULL, &reply, "s",
				   "org.freedesktop.PolicyKit1");
	if (k < 0 || sd_bus_message_read(reply, "b", &has) < 0 || !has)
		return 0;
	reply = sd_bus_message_unref(reply);
	k = sd_bus_message_new_method_call(bus, &call, "org.freedesktop.PolicyKit1",
					   "/org/freedesktop/PolicyKit1/Authority",
					   "org.freedesktop.PolicyKit1.Authority",
					   "CheckAuthorization");
	if (k < 0)
		return k;
	/* subject: the caller's bus name; no details; flags 0: no interaction. */
	k = sd_bus_message_append(call, "(sa{sv})sa{ss}us", "system-bus-name", 1, "name", "s",
				  sd_bus_message_get_sender(m), AGENT_POLKIT_ACTION, 0, 0u, "");
	if (k < 0)
		return k;
	k = sd_bus_call(bus, call, 0, NULL, &reply);
	if (k < 0)
		return k;
	int authorized = 0, challenge = 0;
	if (sd_bus_message_enter_container(reply, 'r', "bba{ss}") < 0 ||
	    sd_bus_message_read(reply, "bb", &authorized, &challenge) < 0)
		return -EBADMSG;
	return authorized;
}

/* 0 when the sender may change the host; else sets AccessDenied. */
static int check_privileged(sd_bus_message *m, sd_bus_error *error) {
	_cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
	uid_t uid = (uid_t)-1;
	int k = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID | SD_BUS_CREDS_UID, &creds);
	if (k >= 0 && sd_bus_creds_get_euid(creds, &uid) < 0 && sd_bus_creds_get_uid(creds, &uid) < 0)
		uid = (uid_t)-1;
	if (uid == 0)
		return 0;
	if (polkit_check(sd_bus_message_get_bus(m), m) > 0)
		return 0;
	journal_log(JOURNAL_AGENT, LOG_NOTICE, NULL, "denied %s to %s (uid %d)",
		    sd_bus_message_get_member(m), sd_bus_message_get_sender(m), (int)uid);
	return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
				 "%s needs root or polkit authorisation for %s",
				 sd_bus_message_get_member(m), AGENT_POLKIT_ACTION);
}

static int reply_report(sd_bus_message *m, const Report *r) {
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	int k = sd_bus_message_new_method_return(m, &reply);
	if (k >= 0)
		k = report_bus_append(reply, r);
	if (k >= 0)
		k = sd_bus_send(NULL, reply, NULL);
	return k;
}

/* Run a cycle of kind and reply with its report. */
static int cycle_and_reply(Context *c, sd_bus_message *m, ReportKind kind, sd_bus_error *error) {
	const Report *r = NULL;
	if (!engine_policy_name(c->engine))
		return sd_bus_error_set(error, SD_BUS_ERROR_FAILED,
					"no policy loaded yet (waiting for the policy source)");
	int k = context_cycle(c, kind, false, &r);
	if (k < 0)
		return errno_to_bus_error(error, k, report_kind_to_string(kind));
	return reply_report(m, r);
}

static int method_plan(sd_bus_message *m, void *userdata, sd_bus_error *error) {
	return cycle_and_reply(userdata, m, REPORT_PLAN, error);
}

static int method_apply(sd_bus_message *m, void *userdata, sd_bus_error *error) {
	int k = check_privileged(m, error);
	if (k < 0)
		return k;
	return cycle_and_reply(userdata, m, REPORT_APPLY, error);
}

static int method_get_compliance(sd_bus_message *m, void *userdata, sd_bus_error *error) {
	return cycle_and_reply(userdata, m, REPORT_VERIFY, error);
}

static int method_get_status(sd_bus_message *m, void *userdata, sd_bus_error *error) {
	Context *c = userdata;
	if (!c->last)
		return cycle_and_reply(c, m, REPORT_VERIFY, error);
	return reply_report(m, c->last);
}

static int method_refresh(sd_bus_message *m, void *userdata, sd_bus_error *error) {
	Context *c = userdata;
	int k = check_privileged(m, error);
	if (k < 0)
		return k;
	k = context_refresh(c);
	if (k < 0)
		return errno_to_bus_error(error, k, "refresh");
	return sd_bus_reply_method_return(m, "b", (int)c->compliant);
}

static int method_get_resultant_policy(sd_bus_message *m, void *userdata, sd_bus_error *error) {
	Context *c = userdata;
	const char *xml = engine_policy_xml(c->engine);
	if (!xml)
		return sd_bus_error_set(error, SD_BUS_ERROR_FAILED,
					"no policy loaded yet (waiting for the policy source)");
	return sd_bus_reply_method_return(m, "s", xml);
}

static int method_list_audit_events(sd_bus_message *m, void *userdata, sd_bus_error *error) {
	Context *c = userdata;
	uint64_t since;
	uint32_t limit;
	int k = sd_bus_message_read(m, "tu", &since, &limit);
	if (k < 0)
		return k;
	if (limit > 100000)
		return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "limit above 100000");
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	k = sd_bus_message_new_method_return(m, &reply);
	if (k >= 0)
		k = collector_append_events(c->collector, reply, since, limit);
	if (k < 0)
		return errno_to_bus_error(error, k, "audit DB");
	return sd_bus_send(NULL, reply, NULL);
}

/* Property getters: one per row of the vtable below. */
#define PROPERTY_GETTER(fn, type, expr)                                                        \
	static int fn(sd_bus *bus _unused_, const char *path _unused_,                         \
		      const char *interface _unused_, const char *property _unused_,           \
		      sd_bus_message *reply, void *userdata, sd_bus_error *error _unused_) {   \
		const Context *c _unused_ = userdata;                                          \
		return sd_bus_message_append(reply, type, expr);                               \
	}
static const char *or_empty(const char *s) { return s ? s : ""; }
PROPERTY_GETTER(get_host, "s", engine_host(c->engine))
PROPERTY_GETTER(get_policy, "s", or_empty(engine_policy_name(c->engine)))
PROPERTY_GETTER(get_version, "s", or_empty(engine_policy_version(c->engine)))
PROPERTY_GETTER(get_last_applied, "t", (uint64_t)c->last_applied_usec)
PROPERTY_GETTER(get_mode, "s", mode_name(c))
PROPERTY_GETTER(get_compliant, "b", (int)c->compliant)
PROPERTY_GETTER(get_agent_version, "s", SMBPOLICY_VERSION)

static const sd_bus_vtable agent_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Host", "s", get_host, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Policy", "s", get_policy, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("Version", "s", get_version, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("LastApplied", "t", get_last_applied, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("Mode", "s", get_mode, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Compliant", "b", get_compliant, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("AgentVersion", "s", get_agent_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_METHOD_WITH_ARGS("Refresh", SD_BUS_NO_ARGS, SD_BUS_RESULT("b", compliant),
				method_refresh, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Plan", SD_BUS_NO_ARGS, SD_BUS_RESULT(REPORT_BUS_SIGNATURE, report),
				method_plan, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Apply", SD_BUS_NO_ARGS, SD_BUS_RESULT(REPORT_BUS_SIGNATURE, report),
				method_apply, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("GetResultantPolicy", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", xml),
				method_get_resultant_policy, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("GetStatus", SD_BUS_NO_ARGS,
				SD_BUS_RESULT(REPORT_BUS_SIGNATURE, report), method_get_status,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("GetCompliance", SD_BUS_NO_ARGS,
				SD_BUS_RESULT(REPORT_BUS_SIGNATURE, report), method_get_compliance,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("ListAuditEvents", SD_BUS_ARGS("t", since_usec, "u", limit),
				SD_BUS_RESULT("a(tussa{ss})", events), method_list_audit_events,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_SIGNAL_WITH_ARGS("PolicyApplied",
				SD_BUS_ARGS("s", policy, "s", version, "b", compliant, "u", changed,
					    "u", failed),
				0),
	SD_BUS_SIGNAL_WITH_ARGS("DriftDetected",
				SD_BUS_ARGS("s", plugin, "s", path, "as", settings, "b", remediated),
				0),
	SD_BUS_SIGNAL_WITH_ARGS("AuditEvent",
				SD_BUS_ARGS("t", time_usec, "u", event_id, "s", event, "s", peer,
					    "a{ss}", fields),
				0),
	SD_BUS_VTABLE_END,
};

int bus_setup(Context *c) {
	int k = agent_bus_open(c->bus_spec, &c->bus);
	if (k < 0)
		return k;
	if ((k = sd_bus_add_object_vtable(c->bus, NULL, AGENT_BUS_PATH, AGENT_BUS_INTERFACE,
					  agent_vtable, c)) < 0 ||
	    (k = sd_bus_attach_event(c->bus, c->event, SD_EVENT_PRIORITY_NORMAL)) < 0)
		return k;
	/* Exit the loop when the bus goes away (no point serving nobody). */
	(void)sd_bus_set_exit_on_disconnect(c->bus, true);
	return sd_bus_request_name(c->bus, AGENT_BUS_NAME, 0);
}

void bus_emit_policy_applied(Context *c, const Report *r) {
	(void)sd_bus_emit_signal(c->bus, AGENT_BUS_PATH, AGENT_BUS_INTERFACE, "PolicyApplied",
				 "ssbuu", r->policy, r->version, (int)r->compliant, r->changed,
				 r->failed);
}

void bus_emit_drift(Context *c, const char *plugin, const char *path, char *const *settings,
		    bool remediated) {
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	if (sd_bus_message_new_signal(c->bus, &m, AGENT_BUS_PATH, AGENT_BUS_INTERFACE,
				      "DriftDetected") < 0 ||
	    sd_bus_message_append(m, "ss", plugin, path) < 0 ||
	    sd_bus_message_append_strv(m, (char **)settings) < 0 ||
	    sd_bus_message_append(m, "b", (int)remediated) < 0)
		return;
	(void)sd_bus_send(c->bus, m, NULL);
}

void bus_emit_properties_changed(Context *c) {
	(void)sd_bus_emit_properties_changed(c->bus, AGENT_BUS_PATH, AGENT_BUS_INTERFACE, "Policy",
					     "Version", "LastApplied", "Compliant", NULL);
}
