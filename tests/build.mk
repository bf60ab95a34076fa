# tests/build.mk - unit tests (cmocka), fuzz harnesses (libFuzzer), benches.
#
# Unit tests: tests/unit/test_NAME.c -> $(BUILD)/tests/test_NAME, linked with
# every static library of the project (STATIC_LIBS, highest level first) and
# cmocka.  A test may #include the .c under test to reach static functions.
# Fuzzers: tests/fuzz/fuzz_NAME.c -> $(BUILD)/fuzz/fuzz_NAME, linked with
# FUZZ_SRCS built with coverage instrumentation (clang).
# Benches: bench/bench_NAME.c -> $(BUILD)/bench/bench_NAME.

ALL_PKG_LIBS = $(call pkglibs,$(PKGS)) -lm -lpthread
UNIT_TESTS += $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
BENCHES    += $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/bench_*.c))

$(BUILD)/tests/%: tests/unit/%.c $(STATIC_LIBS)
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-unused-function $< -o $@ $(LDFLAGS) -Wl,--as-needed \
		-Wl,--start-group $(STATIC_LIBS) -Wl,--end-group $(ALL_PKG_LIBS)

$(BUILD)/bench/%: bench/%.c $(STATIC_LIBS)
	@mkdir -p $(dir $@)
	@echo "  BENCH   $@"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $< -o $@ $(LDFLAGS) -Wl,--as-needed -Wl,--start-group $(STATIC_LIBS) -Wl,--end-group $(ALL_PKG_LIBS)

# Fuzzing always uses its own build dir and clang.
FUZZ_DIR := build-fuzz
FUZZ_SRCS += $(LIB_SRCS)
FUZZ_OBJS = $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(FUZZ_SRCS))
FUZZERS += $(patsubst tests/fuzz/%.c,$(FUZZ_DIR)/%,$(wildcard tests/fuzz/fuzz_*.c))

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $@"
	$(Q)$(FUZZ_CC) $(subst -fsanitize=fuzzer,-fsanitize=fuzzer-no-link,$(FUZZ_CFLAGS)) -MMD -MP -c $< -o $@

$(FUZZ_DIR)/libfuzz.a: $(FUZZ_OBJS)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_DIR)/libfuzz.a
	@echo "  FUZZ    $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $< -o $@ -Wl,--as-needed $(FUZZ_DIR)/libfuzz.a $(ALL_PKG_LIBS)

-include $(shell find $(FUZZ_DIR)/obj -name '*.d' 2>/dev/null)
