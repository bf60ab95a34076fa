# endpoint/build.mk - the reference SMB endpoint.
#
# libsmbref.a: the protocol core shared by smbrefd, the reference client and
#   the fuzzers (SMB2 wire format, NTLM, SPNEGO, crypto, users file): every
#   endpoint/*.c that is not a server file below.
# libsmbrefd.a: the server's files (dispatcher, commands, enforcement,
#   transports), so unit tests can link them; smbrefd.c holds only main/run.
# $(BUILD)/bin/smbrefd: the server.
SMBREFD_MAIN := endpoint/smbrefd.c
SMBREFD_SRCS := endpoint/config.c endpoint/conn.c endpoint/crypto_pool.c endpoint/dispatch.c endpoint/enforce.c \
	endpoint/file_info.c endpoint/file_ops.c endpoint/ioctl.c endpoint/misc_ops.c \
	endpoint/negotiate.c endpoint/query_dir.c endpoint/ratelimit.c endpoint/server.c endpoint/session.c \
	endpoint/transport_tcp.c endpoint/tree.c endpoint/vfs.c endpoint/transport_quic.c \
	endpoint/transport_rdma.c
# Kerberos (kerberos.c, through SPNEGO) needs MIT GSS-API: every program
# that links libsmbref (tests and fuzzers too, via PKGS) links krb5-gssapi.
PKGS += krb5-gssapi librdmacm libibverbs libfabric
SMBREF_LIBS = $(call pkglibs,libcrypto krb5-gssapi libngtcp2_crypto_gnutls libngtcp2 gnutls librdmacm libibverbs libfabric)
SMBREF_SRCS := $(filter-out $(SMBREFD_MAIN) $(SMBREFD_SRCS),$(wildcard endpoint/*.c))
SMBREF_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(SMBREF_SRCS))
SMBREFD_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(SMBREFD_SRCS))
LIBSMBREF := $(BUILD)/lib/libsmbref.a
LIBSMBREFD := $(BUILD)/lib/libsmbrefd.a
SMBREFD := $(BUILD)/bin/smbrefd

$(LIBSMBREF): $(SMBREF_OBJS)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIBSMBREFD): $(SMBREFD_OBJS)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

SMBREFD_LINK = $(LIBSMBREFD) $(LIBSMBREF) $(BUILD)/lib/libsmbaudit.a $(BUILD)/lib/libsmbpolicy.a

$(SMBREFD): $(BUILD)/obj/$(SMBREFD_MAIN:.c=.o) $(LIBSMBREFD) $(LIBSMBREF) $(BUILD)/lib/libsmbaudit.a \
		$(BUILD)/lib/libsmbpolicy.a
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) $< -o $@ $(LDFLAGS) -Wl,--as-needed -Wl,--start-group $(SMBREFD_LINK) \
		-Wl,--end-group $(call pkglibs,libxml-2.0 sqlite3 libgcrypt libsystemd) $(SMBREF_LIBS) -lpthread

STATIC_LIBS += $(LIBSMBREFD) $(LIBSMBREF)
BINS += $(SMBREFD)
FUZZ_SRCS += $(SMBREF_SRCS) $(SMBREFD_SRCS)

# Load generator of bench/endpoint.sh (not a bench_* program: bench/run
# does not start it by itself).
ENDPOINT_LOADGEN := $(BUILD)/bench/endpoint_loadgen
$(ENDPOINT_LOADGEN): bench/endpoint_loadgen.c $(LIBSMBREF) $(BUILD)/lib/libsmbpolicy.a
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $< -o $@ $(LDFLAGS) $(LIBSMBREF) $(BUILD)/lib/libsmbpolicy.a \
		$(SMBREF_LIBS) -lpthread
BENCHES += $(ENDPOINT_LOADGEN)
include endpoint/client.mk
