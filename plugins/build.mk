# plugins/build.mk - one shared object per target behind plugins/plugin.h:
# $(BUILD)/plugins/{samba,ksmbd,cifs,nftables,endpoint}.so, each built from
# plugins/NAME.c + plugin_util.c (+ the libsmbpolicy objects it uses, all
# -fPIC), exporting only `smbpolicy_plugin`.  Also libsmbplugin.a
# (plugin_util) for unit tests, and smbpolicy-plugin, the command that runs
# one plugin's ops by hand (tests, debugging).
PLUGIN_NAMES := $(filter-out plugin_util plugin_run,$(basename $(notdir $(wildcard plugins/*.c))))
PLUGIN_UTIL_OBJS := $(BUILD)/obj/plugins/plugin_util.o
LIBSMBPLUGIN := $(BUILD)/lib/libsmbplugin.a
# nftables.so does not link libnftables: it loads it for each nft run
# (nftables.c, lib/dlsyms.c), so an idle agent does not map it.
CPPFLAGS += -Iplugins
FUZZ_CFLAGS += -Iplugins

$(LIBSMBPLUGIN): $(PLUGIN_UTIL_OBJS)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/plugins/%.so: $(BUILD)/obj/plugins/%.o $(PLUGIN_UTIL_OBJS) $(LIBSMBPOLICY)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) -shared -o $@ $(BUILD)/obj/plugins/$*.o $(PLUGIN_UTIL_OBJS) $(LDFLAGS) \
		-Wl,--version-script=plugins/plugin.map -Wl,-z,defs $(LIBSMBPOLICY) \
		$(PLUGIN_LIBS_$*) -lc

$(BUILD)/bin/smbpolicy-plugin: $(BUILD)/obj/plugins/plugin_run.o $(LIBSMBPLUGIN) $(LIBSMBPOLICY)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) -o $@ $< $(LDFLAGS) $(LIBSMBPLUGIN) $(LIBSMBPOLICY) $(LIB_LIBS) -ldl

PLUGINS += $(patsubst %,$(BUILD)/plugins/%.so,$(PLUGIN_NAMES))
STATIC_LIBS += $(LIBSMBPLUGIN)
BINS += $(BUILD)/bin/smbpolicy-plugin
FUZZ_SRCS += plugins/plugin_util.c
.SECONDARY: $(patsubst %,$(BUILD)/obj/plugins/%.o,$(PLUGIN_NAMES) plugin_run)
