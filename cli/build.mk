# cli/build.mk - the `smbpolicy` binary (every cli/*.c), its man page
# (scdoc) and bash completion.
CLI_SRCS := $(wildcard cli/*.c)
CLI_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(CLI_SRCS))
SMBPOLICY_BIN := $(BUILD)/bin/smbpolicy
SMBPOLICY_MAN := $(BUILD)/man/smbpolicy.1
BINS += $(SMBPOLICY_BIN)
INSTALL_TARGETS += install-cli

$(SMBPOLICY_BIN): $(CLI_OBJS) $(LIBSMBPOLICY)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $(CLI_OBJS) -o $@ $(LIBSMBPOLICY) $(LIB_LIBS)

$(SMBPOLICY_MAN): dist/man/smbpolicy.1.scd
	@mkdir -p $(dir $@)
	scdoc <$< >$@

build-all: $(SMBPOLICY_MAN)

install-cli: $(SMBPOLICY_MAN)
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 0644 $(SMBPOLICY_MAN) $(DESTDIR)$(PREFIX)/share/man/man1/smbpolicy.1
	install -m 0644 dist/completion/smbpolicy.bash \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/smbpolicy

.PHONY: install-cli
