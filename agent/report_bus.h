/*
 * report_bus.h - a Report on D-Bus, one struct value of signature
 * REPORT_BUS_SIGNATURE:
 *   (s kind, s host, s policy, s version, t started_usec, t finished_usec,
 *    b compliant, u changed, u failed,
 *    a(sss) plugins: name, status, message,
 *    a(ssssss) settings: plugin, id, target, actual, desired, status)
 * Status names are report.c's (stable strings, not enum numbers), so the
 * wire format does not change when an enum grows.
 *
 * Invariants: report_bus_read(report_bus_append(r)) == r; a message that
 * does not match the signature, or carries an unknown kind/status, is
 * refused with -EBADMSG and nothing is returned.
 * Must never: put enum numbers on the wire, or change this signature
 * without changing dist/dbus/org.smbpolicy.Agent1.xml (a test compares).
 */
#pragma once

#include <systemd/sd-bus.h>

#include "report.h"

#define REPORT_BUS_SIGNATURE "(ssssttbuua(sss)a(ssssss))"

/* Names of the D-Bus API (org.smbpolicy.Agent1), shared by daemon and CLI. */
#define AGENT_BUS_NAME "org.smbpolicy.Agent1"
#define AGENT_BUS_PATH "/org/smbpolicy/Agent1"
#define AGENT_BUS_INTERFACE "org.smbpolicy.Agent1"
#define AGENT_POLKIT_ACTION "org.smbpolicy.agent.apply"

int report_bus_append(sd_bus_message *m, const Report *r);
int report_bus_read(sd_bus_message *m, Report **ret);

/* Connect to "system", "session" or a D-Bus address (unix:path=...). */
int agent_bus_open(const char *spec, sd_bus **ret);
