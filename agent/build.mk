# agent/build.mk - smbpolicyd and libsmbagent.a.
#
# libsmbagent.a: the apply engine, plugin host, state DB, report model, its
# D-Bus marshalling, the bundle source (libcurl, dlopen()ed only for
# --source: agent/source_curl.c, so neither binary links it) and the journal helpers;
# linked into smbpolicyd and into
# the CLI (`smbpolicy plan|apply|status|drift`, `--local` runs the engine
# in-process), so both run the same cycle.  smbpolicyd adds the daemon
# parts: main/Context, the D-Bus object, the drift watch.
AGENT_DAEMON_SRCS := agent/smbpolicyd.c agent/bus.c agent/drift.c agent/collector.c
AGENT_LIB_SRCS := $(filter-out $(AGENT_DAEMON_SRCS),$(wildcard agent/*.c))
AGENT_LIB_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(AGENT_LIB_SRCS))
AGENT_DAEMON_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(filter $(wildcard agent/*.c),$(AGENT_DAEMON_SRCS)))
LIBSMBAGENT := $(BUILD)/lib/libsmbagent.a
SMBPOLICYD := $(BUILD)/bin/smbpolicyd
AGENT_LIBS = $(call pkglibs,libxml-2.0 sqlite3 libcrypto libsystemd)

AGENT_CPPFLAGS := -Iagent -Iplugins
$(AGENT_LIB_OBJS) $(AGENT_DAEMON_OBJS) $(BUILD)/obj/cli/cmd_agent.o: CPPFLAGS += $(AGENT_CPPFLAGS)
$(BUILD)/tests/test_agent_%: CPPFLAGS += $(AGENT_CPPFLAGS)

$(LIBSMBAGENT): $(AGENT_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

STATIC_LIBS += $(LIBSMBAGENT)

# audit/ and lib/ build.mk are read after this file: name their libraries
# literally.  The collector uses libsmbaudit (audit DB, ingestion).
AGENT_LINK_LIBS = $(LIBSMBAGENT) $(BUILD)/lib/libsmbaudit.a $(BUILD)/lib/libsmbpolicy.a
$(SMBPOLICYD): $(AGENT_DAEMON_OBJS) $(LIBSMBAGENT) $(BUILD)/lib/libsmbaudit.a $(BUILD)/lib/libsmbpolicy.a
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) $(AGENT_DAEMON_OBJS) -o $@ $(LDFLAGS) -Wl,--as-needed \
		$(AGENT_LINK_LIBS) $(AGENT_LIBS)

BINS += $(SMBPOLICYD)

# The CLI's agent verbs (cli/cmd_agent.c) need libsmbagent.a and libsystemd:
# cli/build.mk links $(LIBSMBPOLICY) $(LIB_LIBS), so widen both for that one
# target (the agent library must come first).
$(BUILD)/bin/smbpolicy: $(LIBSMBAGENT)
$(BUILD)/bin/smbpolicy: LIBSMBPOLICY := $(LIBSMBAGENT) $(BUILD)/lib/libsmbpolicy.a
$(BUILD)/bin/smbpolicy: LIB_LIBS += $(call pkglibs,libsystemd)
