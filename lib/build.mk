# lib/build.mk - libsmbpolicy (static): catalog, policy, store, rsop, utils.
#
# Only keys.c, bundle.c and publish.c use OpenSSL's libcrypto (SHA-256 is
# libgcrypt's, through digest.c), so a program that links none of them does
# not link it:
# smbpolicyd, whose bundle verification is agent/bundle_module.c's shared
# object (agent/build.mk).
LIB_SRCS := $(wildcard lib/*.c)
LIB_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
LIBSMBPOLICY := $(BUILD)/lib/libsmbpolicy.a
PKGS += libgcrypt
LIB_LIBS = $(call pkglibs,libxml-2.0 sqlite3 libgcrypt libcrypto)

$(LIBSMBPOLICY): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
STATIC_LIBS += $(LIBSMBPOLICY)
