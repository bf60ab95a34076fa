# dist/build.mk - system integration files: the agent's systemd unit, D-Bus
# bus policy, activation file and introspection XML, polkit action, and the smbpolicyd(8) man
# page (scdoc -> $(BUILD)/man).  The unit names /usr/bin; install rewrites
# that to $(PREFIX)/bin.  (smbpolicy(1) and completion: cli/build.mk; report
# timer units: audit/build.mk.)
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
