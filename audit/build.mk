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
