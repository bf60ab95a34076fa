# agent/build.mk - smbpolicyd, libsmbagent.a and the bundle module.
#
# libsmbagent.a: the apply engine, plugin host, state DB, report model, its
# D-Bus marshalling, the bundle source and the journal helpers; linked into
# smbpolicyd and into the CLI (`smbpolicy plan|apply|status|drift`,
# `--local` runs the engine in-process), so both run the same cycle.
# smbpolicyd adds the daemon parts: main/Context, the D-Bus object, the
# drift watch.
#
# What only --source needs is loaded at run time, so an agent on a local
# policy neither links nor maps it (issue 5, idle RSS): libcurl
# (agent/source_curl.c) and the bundle module $(BUILD)/lib/smbpolicy/bundle.so
# (agent/bundle_module.c + lib/bundle.c, lib/keys.c and OpenSSL's libcrypto
# behind them; agent/source_bundle.c loads it, installed as
# $(PREFIX)/lib/smbpolicy/bundle.so beside plugins/).  smbpolicyd links
# no OpenSSL: lib/digest.c hashes policies with libgcrypt, which libsystemd
# maps anyway.
AGENT_DAEMON_SRCS := agent/smbpolicyd.c agent/bus.c agent/drift.c agent/collector.c
AGENT_MODULE_SRCS := agent/bundle_module.c
AGENT_LIB_SRCS := $(filter-out $(AGENT_DAEMON_SRCS) $(AGENT_MODULE_SRCS),$(wildcard agent/*.c))
AGENT_LIB_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(AGENT_LIB_SRCS))
AGENT_DAEMON_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(filter $(wildcard agent/*.c),$(AGENT_DAEMON_SRCS)))
LIBSMBAGENT := $(BUILD)/lib/libsmbagent.a
SMBPOLICYD := $(BUILD)/bin/smbpolicyd
AGENT_LIBS = $(call pkglibs,libxml-2.0 sqlite3 libgcrypt libsystemd)

AGENT_CPPFLAGS := -Iagent -Iplugins
$(AGENT_LIB_OBJS) $(AGENT_DAEMON_OBJS) $(BUILD)/obj/cli/cmd_agent.o: CPPFLAGS += $(AGENT_CPPFLAGS)
AGENT_MODULE_CPPFLAGS := -DSMBPOLICY_MODULEDIR=\"$(PREFIX)/lib/smbpolicy\"
$(BUILD)/obj/agent/source_bundle.o $(BUILD)/tests/test_agent_source_bundle: CPPFLAGS += $(AGENT_MODULE_CPPFLAGS)
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

# The bundle module: exports only its table (bundle_module.map); lib/build.mk
# is read later, so its library list is named in the recipe only.
BUNDLE_MODULE := $(BUILD)/lib/smbpolicy/bundle.so
$(BUNDLE_MODULE): $(BUILD)/obj/agent/bundle_module.o $(BUILD)/lib/libsmbpolicy.a agent/bundle_module.map
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) -shared -o $@ $< $(LDFLAGS) -Wl,--version-script=agent/bundle_module.map \
		-Wl,-z,defs $(BUILD)/lib/libsmbpolicy.a $(LIB_LIBS) -lc

# Built with the binaries that load it; the unit tests of the source load
# it from $(BUILD)/tests/../lib/smbpolicy.
build-all tests-build: $(BUNDLE_MODULE)
INSTALL_TARGETS += install-agent-module
install-agent-module: $(BUNDLE_MODULE)
	install -d $(DESTDIR)$(PREFIX)/lib/smbpolicy
	install -m 0644 $(BUNDLE_MODULE) $(DESTDIR)$(PREFIX)/lib/smbpolicy/
.PHONY: install-agent-module

# The CLI's agent verbs (cli/cmd_agent.c) need libsmbagent.a and libsystemd:
# cli/build.mk links $(LIBSMBPOLICY) $(LIB_LIBS), so widen both for that one
# target (the agent library must come first).
$(BUILD)/bin/smbpolicy: $(LIBSMBAGENT)
$(BUILD)/bin/smbpolicy: LIBSMBPOLICY := $(LIBSMBAGENT) $(BUILD)/lib/libsmbpolicy.a
$(BUILD)/bin/smbpolicy: LIB_LIBS += $(call pkglibs,libsystemd)
