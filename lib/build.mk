# lib/build.mk - libsmbpolicy (static): catalog, policy, store, rsop, utils.
LIB_SRCS := $(wildcard lib/*.c)
LIB_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
LIBSMBPOLICY := $(BUILD)/lib/libsmbpolicy.a
LIB_LIBS = $(call pkglibs,libxml-2.0 sqlite3 libcrypto)

$(LIBSMBPOLICY): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
STATIC_LIBS += $(LIBSMBPOLICY)
