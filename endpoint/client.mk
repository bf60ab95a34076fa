# endpoint/client.mk - the reference client tool (included by
# endpoint/build.mk).  The client library itself (client.c,
# client_policy.c, probe.c) is part of libsmbref.a through build.mk's
# wildcard; smbrefc's main lives in endpoint/tools/ so it stays out of it.
# `smbpolicy probe` (cli/cmd_probe.c) links the same library.
SMBREFC := $(BUILD)/bin/smbrefc
SMBREFC_LINK = $(LIBSMBREF) $(BUILD)/lib/libsmbaudit.a $(BUILD)/lib/libsmbpolicy.a

$(SMBREFC): $(BUILD)/obj/endpoint/tools/smbrefc.o $(LIBSMBREF) $(BUILD)/lib/libsmbaudit.a \
		$(BUILD)/lib/libsmbpolicy.a
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) $< -o $@ $(LDFLAGS) -Wl,--as-needed -Wl,--start-group $(SMBREFC_LINK) \
		-Wl,--end-group $(call pkglibs,libxml-2.0 sqlite3 libgcrypt libsystemd) $(SMBREF_LIBS) -lpthread

BINS += $(SMBREFC)

# smbpolicy probe: the CLI links the protocol core too.
$(BUILD)/bin/smbpolicy: $(LIBSMBREF)
$(BUILD)/bin/smbpolicy: LIB_LIBS += $(LIBSMBREF) $(BUILD)/lib/libsmbaudit.a $(BUILD)/lib/libsmbpolicy.a $(SMBREF_LIBS)
