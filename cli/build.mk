# cli/build.mk - the `smbpolicy` binary (every .c file in cli/), its man
# page (scdoc) and bash completion.  lib/build.mk is read after this file, so
# libsmbpolicy.a is named literally in prerequisites (the recipe's
# $(LIBSMBPOLICY) is expanded late; agent/build.mk widens it for this target).
CLI_SRCS := $(wildcard cli/*.c)
CLI_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(CLI_SRCS))
SMBPOLICY_BIN := $(BUILD)/bin/smbpolicy
SMBPOLICY_MAN := $(BUILD)/man/smbpolicy.1
BINS += $(SMBPOLICY_BIN)
INSTALL_TARGETS += install-cli

$(SMBPOLICY_BIN): $(CLI_OBJS) $(BUILD)/lib/libsmbpolicy.a
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $(CLI_OBJS) -o $@ $(LIBSMBPOLICY) $(LIB_LIBS)

$(SMBPOLICY_MAN): dist/man/smbpolicy.1.scd
	@mkdir -p $(dir $@)
	@echo "  SCDOC   $@"
	$(Q)scdoc <$< >$@

build-all: $(SMBPOLICY_MAN)

install-cli: $(SMBPOLICY_MAN)
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 0644 $(SMBPOLICY_MAN) $(DESTDIR)$(PREFIX)/share/man/man1/smbpolicy.1
	install -m 0644 dist/completion/smbpolicy.bash \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/smbpolicy

.PHONY: install-cli
