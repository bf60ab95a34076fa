# dist/build.mk - system integration files: the agent's systemd unit, D-Bus
# bus policy, activation file and introspection XML, polkit action, and the smbpolicyd(8) man
# page (scdoc -> $(BUILD)/man).  The unit names /usr/bin; install rewrites
# that to $(PREFIX)/bin.  (smbpolicy(1) and completion: cli/build.mk; report
# timer units: audit/build.mk.)
# Also the reference endpoint's pieces: smbrefd.service and the man pages
# smbrefd(8), smbrefc(1), smbpolicy-plugin(8) (install-dist-endpoint).
SMBPOLICYD_MAN := $(BUILD)/man/smbpolicyd.8
INSTALL_TARGETS += install-dist-agent

$(SMBPOLICYD_MAN): dist/man/smbpolicyd.8.scd
	@mkdir -p $(dir $@)
	scdoc <$< >$@

build-all: $(SMBPOLICYD_MAN)

install-dist-agent: $(SMBPOLICYD_MAN)
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system \
		$(DESTDIR)$(PREFIX)/share/dbus-1/system.d \
		$(DESTDIR)$(PREFIX)/share/dbus-1/interfaces \
		$(DESTDIR)$(PREFIX)/share/dbus-1/system-services \
		$(DESTDIR)$(PREFIX)/share/polkit-1/actions \
		$(DESTDIR)$(PREFIX)/share/man/man8
	sed 's|/usr/bin/|$(PREFIX)/bin/|' dist/systemd/smbpolicyd.service \
		>$(DESTDIR)$(PREFIX)/lib/systemd/system/smbpolicyd.service
	chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/smbpolicyd.service
	install -m 0644 dist/dbus/org.smbpolicy.Agent1.conf $(DESTDIR)$(PREFIX)/share/dbus-1/system.d/
	install -m 0644 dist/dbus/org.smbpolicy.Agent1.xml $(DESTDIR)$(PREFIX)/share/dbus-1/interfaces/
	install -m 0644 dist/dbus/org.smbpolicy.Agent1.service \
		$(DESTDIR)$(PREFIX)/share/dbus-1/system-services/
	install -m 0644 dist/polkit/org.smbpolicy.policy $(DESTDIR)$(PREFIX)/share/polkit-1/actions/
	install -m 0644 $(SMBPOLICYD_MAN) $(DESTDIR)$(PREFIX)/share/man/man8/smbpolicyd.8

.PHONY: install-dist-agent

# The reference endpoint: its unit and the man pages of smbrefd, smbrefc
# and smbpolicy-plugin.
ENDPOINT_MANS := $(BUILD)/man/smbrefd.8 $(BUILD)/man/smbrefc.1 $(BUILD)/man/smbpolicy-plugin.8
INSTALL_TARGETS += install-dist-endpoint

$(ENDPOINT_MANS): $(BUILD)/man/%: dist/man/%.scd
	@mkdir -p $(dir $@)
	scdoc <$< >$@.tmp && mv $@.tmp $@

build-all: $(ENDPOINT_MANS)

install-dist-endpoint: $(ENDPOINT_MANS)
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/man/man8
	sed 's|/usr/bin/|$(PREFIX)/bin/|' dist/systemd/smbrefd.service \
		>$(DESTDIR)$(PREFIX)/lib/systemd/system/smbrefd.service
	chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/smbrefd.service
	install -m 0644 $(BUILD)/man/smbrefd.8 $(BUILD)/man/smbpolicy-plugin.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 $(BUILD)/man/smbrefc.1 $(DESTDIR)$(PREFIX)/share/man/man1/

.PHONY: install-dist-endpoint
