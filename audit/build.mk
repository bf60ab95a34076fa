# audit/build.mk - libsmbaudit (static): the audit event model and emitter
# (audit_event.c, linked by smbrefd and the reference client), ingestion
# (JSON lines, journal, smbstatus), the audit DB, compliance and the
# report writers.  Links against libsmbpolicy (util, strbuf, catalog).
# Units for scheduled reports: dist/systemd/smbpolicy-report.{service,timer}.
AUDIT_SRCS := $(wildcard audit/*.c)
AUDIT_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(AUDIT_SRCS))
LIBSMBAUDIT := $(BUILD)/lib/libsmbaudit.a
AUDIT_LIBS = $(call pkglibs,libsystemd sqlite3)
CPPFLAGS += -Iaudit
FUZZ_CFLAGS += -Iaudit

$(LIBSMBAUDIT): $(AUDIT_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
STATIC_LIBS += $(LIBSMBAUDIT)
FUZZ_SRCS += $(AUDIT_SRCS)

# The smbpolicy CLI's audit verbs (cli/cmd_audit.c, cmd_impact.c,
# cmd_report.c) use this library: link it into the binary cli/build.mk
# makes (named literally: that fragment is read after this one).
$(BUILD)/bin/smbpolicy: $(LIBSMBAUDIT)
$(BUILD)/bin/smbpolicy: LIB_LIBS += $(LIBSMBAUDIT) $(LIBSMBPOLICY) $(AUDIT_LIBS)

# Scheduled reports: the units name /usr/bin; install rewrites that to
# $(PREFIX)/bin (as dist/build.mk does for the agent).
INSTALL_TARGETS += install-audit
install-audit:
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system
	sed 's|/usr/bin/|$(PREFIX)/bin/|' dist/systemd/smbpolicy-report.service \
		>$(DESTDIR)$(PREFIX)/lib/systemd/system/smbpolicy-report.service
	chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/smbpolicy-report.service
	install -m 0644 dist/systemd/smbpolicy-report.timer $(DESTDIR)$(PREFIX)/lib/systemd/system/
.PHONY: install-audit
