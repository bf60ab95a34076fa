/*
 * smb2_pdu.h - SMB2/3 wire format: constants, the 64-byte header, the
 * command table (structure sizes), request parsers, compound chaining,
 * credits, and a growable byte buffer for building messages.
 *
 * Shared by the server (smbrefd), the reference client and the fuzzers, so
 * it holds no server state: parsers take (body, len) and fill a plain struct
 * whose pointers borrow from the input.
 *
 * Invariants: every parser checks StructureSize, then every offset/length
 * pair against the message before filling the struct; a parser that returns
 * 0 guarantees each borrowed pointer+length lies inside the input.  Parsers
 * never allocate and never log.  All multi-byte fields are little endian
 * ([MS-SMB2] 2.1), read and written only through the helpers below.
 *
 * Must never: trust a length or offset from the wire before checking it;
 * depend on libxml2, SQLite or the server's types.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- byte order helpers ------------------------------------------------ */
static inline uint16_t smb2_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t smb2_le32(const uint8_t *p) {
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t smb2_le64(const uint8_t *p) {
	return (uint64_t)smb2_le32(p) | (uint64_t)smb2_le32(p + 4) << 32;
}
static inline void smb2_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void smb2_put32(uint8_t *p, uint32_t v) {
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void smb2_put64(uint8_t *p, uint64_t v) { smb2_put32(p, (uint32_t)v); smb2_put32(p + 4, (uint32_t)(v >> 32)); }

/* ---- protocol constants ([MS-SMB2] 2.2) -------------------------------- */
#define SMB2_HDR_SIZE 64
#define SMB2_MAGIC "\xfeSMB"
#define SMB1_MAGIC "\xffSMB"
#define SMB2_TRANSFORM_MAGIC "\xfdSMB"
#define SMB2_TRANSFORM_HDR_SIZE 52

enum {
	SMB2_NEGOTIATE = 0x00,
	SMB2_SESSION_SETUP = 0x01,
	SMB2_LOGOFF = 0x02,
	SMB2_TREE_CONNECT = 0x03,
	SMB2_TREE_DISCONNECT = 0x04,
	SMB2_CREATE = 0x05,
	SMB2_CLOSE = 0x06,
	SMB2_FLUSH = 0x07,
	SMB2_READ = 0x08,
	SMB2_WRITE = 0x09,
	SMB2_LOCK = 0x0a,
	SMB2_IOCTL = 0x0b,
	SMB2_CANCEL = 0x0c,
	SMB2_ECHO = 0x0d,
	SMB2_QUERY_DIRECTORY = 0x0e,
	SMB2_CHANGE_NOTIFY = 0x0f,
	SMB2_QUERY_INFO = 0x10,
	SMB2_SET_INFO = 0x11,
	SMB2_OPLOCK_BREAK = 0x12,
	_SMB2_COMMAND_MAX,
};

#define SMB2_FLAGS_SERVER_TO_REDIR 0x00000001u
#define SMB2_FLAGS_ASYNC_COMMAND 0x00000002u
#define SMB2_FLAGS_RELATED_OPERATIONS 0x00000004u
#define SMB2_FLAGS_SIGNED 0x00000008u
#define SMB2_FLAGS_PRIORITY_MASK 0x00000070u
#define SMB2_FLAGS_DFS_OPERATIONS 0x10000000u
#define SMB2_FLAGS_REPLAY_OPERATION 0x20000000u

/* dialects (wire values) */
#define SMB2_DIALECT_202 0x0202
#define SMB2_DIALECT_210 0x0210
#define SMB2_DIALECT_300 0x0300
#define SMB2_DIALECT_302 0x0302
#define SMB2_DIALECT_311 0x0311
#define SMB2_DIALECT_WILDCARD 0x02ff

#define SMB2_NEGOTIATE_SIGNING_ENABLED 0x0001
#define SMB2_NEGOTIATE_SIGNING_REQUIRED 0x0002

#define SMB2_GLOBAL_CAP_DFS 0x00000001u
#define SMB2_GLOBAL_CAP_LEASING 0x00000002u
#define SMB2_GLOBAL_CAP_LARGE_MTU 0x00000004u
#define SMB2_GLOBAL_CAP_MULTI_CHANNEL 0x00000008u
#define SMB2_GLOBAL_CAP_PERSISTENT_HANDLES 0x00000010u
#define SMB2_GLOBAL_CAP_DIRECTORY_LEASING 0x00000020u
#define SMB2_GLOBAL_CAP_ENCRYPTION 0x00000040u

/* negotiate contexts (2.2.3.1) */
#define SMB2_PREAUTH_INTEGRITY_CAPABILITIES 0x0001
#define SMB2_ENCRYPTION_CAPABILITIES 0x0002
#define SMB2_COMPRESSION_CAPABILITIES 0x0003
#define SMB2_NETNAME_NEGOTIATE_CONTEXT_ID 0x0005
#define SMB2_TRANSPORT_CAPABILITIES 0x0006
#define SMB2_ACCEPT_TRANSPORT_LEVEL_SECURITY 0x00000001 /* its flag (2.2.3.1.5) */
#define SMB2_RDMA_TRANSFORM_CAPABILITIES 0x0007
#define SMB2_SIGNING_CAPABILITIES 0x0008
#define SMB2_PREAUTH_HASH_SHA512 0x0001

#define SMB2_SESSION_FLAG_BINDING 0x01
#define SMB2_SESSION_FLAG_IS_GUEST 0x0001
#define SMB2_SESSION_FLAG_IS_NULL 0x0002
#define SMB2_SESSION_FLAG_ENCRYPT_DATA 0x0004

#define SMB2_SHARE_TYPE_DISK 0x01
#define SMB2_SHARE_TYPE_PIPE 0x02
#define SMB2_SHAREFLAG_ENCRYPT_DATA 0x00008000u

/* NTSTATUS values used on the wire */
#define NT_STATUS_OK 0x00000000u
#define NT_STATUS_PENDING 0x00000103u
#define NT_STATUS_NOTIFY_ENUM_DIR 0x0000010cu
#define NT_STATUS_BUFFER_OVERFLOW 0x80000005u
#define NT_STATUS_NO_MORE_FILES 0x80000006u
#define NT_STATUS_UNSUCCESSFUL 0xc0000001u
#define NT_STATUS_NOT_IMPLEMENTED 0xc0000002u
#define NT_STATUS_INVALID_INFO_CLASS 0xc0000003u
#define NT_STATUS_INFO_LENGTH_MISMATCH 0xc0000004u
#define NT_STATUS_INVALID_HANDLE 0xc0000008u
#define NT_STATUS_INVALID_PARAMETER 0xc000000du
#define NT_STATUS_NO_SUCH_FILE 0xc000000fu
#define NT_STATUS_INVALID_DEVICE_REQUEST 0xc0000010u
#define NT_STATUS_END_OF_FILE 0xc0000011u
#define NT_STATUS_MORE_PROCESSING_REQUIRED 0xc0000016u
#define NT_STATUS_NO_MEMORY 0xc0000017u
#define NT_STATUS_ACCESS_DENIED 0xc0000022u
#define NT_STATUS_BUFFER_TOO_SMALL 0xc0000023u
#define NT_STATUS_OBJECT_NAME_INVALID 0xc0000033u
#define NT_STATUS_OBJECT_NAME_NOT_FOUND 0xc0000034u
#define NT_STATUS_OBJECT_NAME_COLLISION 0xc0000035u
#define NT_STATUS_OBJECT_PATH_NOT_FOUND 0xc000003au
#define NT_STATUS_OBJECT_PATH_SYNTAX_BAD 0xc000003bu
#define NT_STATUS_SHARING_VIOLATION 0xc0000043u
#define NT_STATUS_DELETE_PENDING 0xc0000056u
#define NT_STATUS_PRIVILEGE_NOT_HELD 0xc0000061u
#define NT_STATUS_LOGON_FAILURE 0xc000006du
#define NT_STATUS_DISK_FULL 0xc000007fu
#define NT_STATUS_INSUFFICIENT_RESOURCES 0xc000009au
#define NT_STATUS_FILE_IS_A_DIRECTORY 0xc00000bau
#define NT_STATUS_NOT_SUPPORTED 0xc00000bbu
#define NT_STATUS_NETWORK_NAME_DELETED 0xc00000c9u
#define NT_STATUS_BAD_NETWORK_NAME 0xc00000ccu
#define NT_STATUS_REQUEST_NOT_ACCEPTED 0xc00000d0u
#define NT_STATUS_INTERNAL_ERROR 0xc00000e5u
#define NT_STATUS_DIRECTORY_NOT_EMPTY 0xc0000101u
#define NT_STATUS_NOT_A_DIRECTORY 0xc0000103u
#define NT_STATUS_CANCELLED 0xc0000120u
#define NT_STATUS_FILE_CLOSED 0xc0000128u
#define NT_STATUS_USER_SESSION_DELETED 0xc0000203u
#define NT_STATUS_NETWORK_SESSION_EXPIRED 0xc000035cu
#define NT_STATUS_FS_DRIVER_REQUIRED 0xc000019cu
#define NT_STATUS_NOT_FOUND 0xc0000225u
#define NT_STATUS_INVALID_NETWORK_RESPONSE 0xc00000c3u
#define NT_STATUS_FILE_INVALID 0xc0000098u
#define NT_STATUS_OBJECT_NAME_EXISTS 0x40000000u
#define NT_STATUS_INVALID_LOCK_RANGE 0xc00001a1u
#define NT_STATUS_LOCK_NOT_GRANTED 0xc0000055u
#define NT_STATUS_FILE_LOCK_CONFLICT 0xc0000054u
#define NT_STATUS_RANGE_NOT_LOCKED 0xc000007eu
#define NT_STATUS_STOPPED_ON_SYMLINK 0x8000002du
#define NT_STATUS_CANNOT_DELETE 0xc0000121u
#define NT_STATUS_NOT_SAME_DEVICE 0xc00000d4u
#define NT_STATUS_IO_DEVICE_ERROR 0xc0000185u
#define NT_STATUS_INVALID_OPLOCK_PROTOCOL 0xc00000e3u

/* ---- header --------------------------------------------------------------- */
typedef struct Smb2Header {
	uint16_t credit_charge;
	uint32_t status;     /* request: ChannelSequence/Reserved */
	uint16_t command;
	uint16_t credits;    /* request: CreditRequest; response: CreditResponse */
	uint32_t flags;
	uint32_t next_command;
	uint64_t message_id;
	uint64_t async_id;   /* only with SMB2_FLAGS_ASYNC_COMMAND */
	uint32_t process_id; /* sync only */
	uint32_t tree_id;    /* sync only */
	uint64_t session_id;
	uint8_t signature[16];
} Smb2Header;

/* Parse the 64-byte header at buf (len = bytes available from buf). Checks
 * ProtocolId and StructureSize.  -EBADMSG when malformed. */
int smb2_header_parse(const uint8_t *buf, size_t len, Smb2Header *ret);
/* Write the 64-byte header (ProtocolId, StructureSize 64 included). */
void smb2_header_build(uint8_t *buf, const Smb2Header *h);

/* Length of the compound element starting at msg (remaining len bytes):
 * NextCommand when non-zero (must be 8-aligned, >= 64 and <= len), else len.
 * -EBADMSG when NextCommand is invalid. */
int smb2_compound_next(const uint8_t *msg, size_t len, size_t *ret_elem_len);

/* ---- command table --------------------------------------------------------- */
typedef struct Smb2CommandInfo {
	const char *name;
	uint16_t request_size;  /* StructureSize a request must carry */
	uint16_t response_size; /* StructureSize of a success response */
} Smb2CommandInfo;

/* Info for a command, or NULL when the number is unknown. */
const Smb2CommandInfo *smb2_command_info(uint16_t command);
/* Check StructureSize of a request body against the table; the fixed part
 * (StructureSize & ~1) must fit in len.  -EBADMSG otherwise. */
int smb2_check_request_size(uint16_t command, const uint8_t *body, size_t len);

/* Credits a request consumes ([MS-SMB2] 3.3.5.2.5): max(1, CreditCharge). */
static inline unsigned smb2_credit_charge(const Smb2Header *h) {
	return h->credit_charge ? h->credit_charge : 1;
}
/* CreditCharge needed for a payload of n bytes (64 KiB units). */
static inline unsigned smb2_credits_for_payload(size_t n) {
	return n ? (unsigned)((n - 1) / 65536 + 1) : 1;
}

/* ---- dialect names -------------------------------------------------------------- */
/* "3.1.1" <-> 0x0311 (the policy's spelling); -EINVAL for unknown text,
 * NULL for unknown numbers.  Cipher and signing ids are crypto.h's. */
int smb2_dialect_from_string(const char *s, uint16_t *ret);
const char *smb2_dialect_to_string(uint16_t d);
/* Name of a command for logs ("CREATE"), "UNKNOWN" otherwise. */
const char *smb2_command_name(uint16_t command);

/* FILETIME (100 ns units since 1601-01-01) of a Unix timespec. */
struct timespec;
uint64_t smb2_filetime(const struct timespec *ts);
/* The current time as FILETIME. */
uint64_t smb2_filetime_now(void);

/* ---- growable output buffer ----------------------------------------------------- */
typedef struct Smb2Buf {
	uint8_t *data;
	size_t len, cap;
	bool failed; /* an allocation failed: later writes are no-ops */
} Smb2Buf;

/* Reserve n zeroed bytes at the end; returns a pointer to them, or NULL
 * (and marks the buffer failed) on ENOMEM. */
uint8_t *smb2_buf_extend(Smb2Buf *b, size_t n);
void smb2_buf_append(Smb2Buf *b, const void *p, size_t n);
/* Pad with zero bytes to a multiple of align (a power of two). */
void smb2_buf_align(Smb2Buf *b, size_t align);
int smb2_buf_reserve(Smb2Buf *b, size_t cap);
void smb2_buf_free(Smb2Buf *b);
/* Hand the data out (caller frees); the buffer is reset. */
uint8_t *smb2_buf_steal(Smb2Buf *b, size_t *ret_len);

/* ---- request parsers ([MS-SMB2] 2.2.x); body = bytes after the header,
 * msg = the whole element (header + body) since offsets count from the
 * header.  All return 0 or -EBADMSG. -------------------------------------- */
typedef struct Smb2Blob {
	const uint8_t *data;
	size_t len;
} Smb2Blob;

typedef struct Smb2NegotiateContext {
	uint16_t type;
	Smb2Blob data;
} Smb2NegotiateContext;

#define SMB2_MAX_DIALECTS 64
#define SMB2_MAX_NEG_CONTEXTS 16
typedef struct Smb2NegotiateReq {
	uint16_t security_mode;
	uint32_t capabilities;
	uint8_t client_guid[16];
	uint16_t dialects[SMB2_MAX_DIALECTS];
	size_t n_dialects;
	Smb2NegotiateContext contexts[SMB2_MAX_NEG_CONTEXTS];
	size_t n_contexts; /* only when 0x0311 is offered */
} Smb2NegotiateReq;
int smb2_parse_negotiate(const uint8_t *msg, size_t len, Smb2NegotiateReq *ret);

/* Within a context's data: the lists of ids a client offers. */
int smb2_parse_preauth_context(Smb2Blob data, uint16_t *hash_algs, size_t max, size_t *ret_n);
int smb2_parse_id_list_context(Smb2Blob data, uint16_t *ids, size_t max, size_t *ret_n);

typedef struct Smb2SessionSetupReq {
	uint8_t flags;
	uint8_t security_mode;
	uint32_t capabilities;
	uint64_t previous_session_id;
	Smb2Blob security;
} Smb2SessionSetupReq;
int smb2_parse_session_setup(const uint8_t *msg, size_t len, Smb2SessionSetupReq *ret);

typedef struct Smb2TreeConnectReq {
	uint16_t flags;
	Smb2Blob path; /* UTF-16LE \\server\share */
} Smb2TreeConnectReq;
int smb2_parse_tree_connect(const uint8_t *msg, size_t len, Smb2TreeConnectReq *ret);

typedef struct Smb2FileId {
	uint64_t persistent, volatile_;
} Smb2FileId;
#define SMB2_FILE_ID_RELATED UINT64_MAX

typedef struct Smb2CreateContext {
	Smb2Blob name, data;
} Smb2CreateContext;
#define SMB2_MAX_CREATE_CONTEXTS 16
typedef struct Smb2CreateReq {
	uint8_t oplock_level;
	uint32_t impersonation;
	uint32_t desired_access;
	uint32_t file_attributes;
	uint32_t share_access;
	uint32_t create_disposition;
	uint32_t create_options;
	Smb2Blob name; /* UTF-16LE */
	Smb2CreateContext contexts[SMB2_MAX_CREATE_CONTEXTS];
	size_t n_contexts;
} Smb2CreateReq;
int smb2_parse_create(const uint8_t *msg, size_t len, Smb2CreateReq *ret);

typedef struct Smb2CloseReq {
	uint16_t flags;
	Smb2FileId fid;
} Smb2CloseReq;
int smb2_parse_close(const uint8_t *msg, size_t len, Smb2CloseReq *ret);

typedef struct Smb2FlushReq {
	Smb2FileId fid;
} Smb2FlushReq;
int smb2_parse_flush(const uint8_t *msg, size_t len, Smb2FlushReq *ret);

typedef struct Smb2ReadReq {
	uint8_t flags;
	uint32_t length;
	uint64_t offset;
	Smb2FileId fid;
	uint32_t minimum_count;
	uint32_t channel;
} Smb2ReadReq;
int smb2_parse_read(const uint8_t *msg, size_t len, Smb2ReadReq *ret);

typedef struct Smb2WriteReq {
	uint64_t offset;
	Smb2FileId fid;
	uint32_t channel;
	uint32_t flags;
	Smb2Blob data;
} Smb2WriteReq;
int smb2_parse_write(const uint8_t *msg, size_t len, Smb2WriteReq *ret);

typedef struct Smb2QueryDirectoryReq {
	uint8_t info_class;
	uint8_t flags;
	uint32_t file_index;
	Smb2FileId fid;
	uint32_t output_buffer_length;
	Smb2Blob pattern; /* UTF-16LE */
} Smb2QueryDirectoryReq;
#define SMB2_RESTART_SCANS 0x01
#define SMB2_RETURN_SINGLE_ENTRY 0x02
#define SMB2_INDEX_SPECIFIED 0x04
#define SMB2_REOPEN 0x10
int smb2_parse_query_directory(const uint8_t *msg, size_t len, Smb2QueryDirectoryReq *ret);

#define SMB2_0_INFO_FILE 0x01
#define SMB2_0_INFO_FILESYSTEM 0x02
#define SMB2_0_INFO_SECURITY 0x03
#define SMB2_0_INFO_QUOTA 0x04
typedef struct Smb2QueryInfoReq {
	uint8_t info_type;
	uint8_t info_class;
	uint32_t output_buffer_length;
	uint32_t additional_information;
	uint32_t flags;
	Smb2FileId fid;
	Smb2Blob input;
} Smb2QueryInfoReq;
int smb2_parse_query_info(const uint8_t *msg, size_t len, Smb2QueryInfoReq *ret);

typedef struct Smb2SetInfoReq {
	uint8_t info_type;
	uint8_t info_class;
	uint32_t additional_information;
	Smb2FileId fid;
	Smb2Blob data;
} Smb2SetInfoReq;
int smb2_parse_set_info(const uint8_t *msg, size_t len, Smb2SetInfoReq *ret);

#define SMB2_IOCTL_FLAG_IS_FSCTL 0x00000001u
#define FSCTL_VALIDATE_NEGOTIATE_INFO 0x00140204u
#define FSCTL_DFS_GET_REFERRALS 0x00060194u
#define FSCTL_DFS_GET_REFERRALS_EX 0x000601b0u
#define FSCTL_PIPE_TRANSCEIVE 0x0011c017u
#define FSCTL_QUERY_NETWORK_INTERFACE_INFO 0x001401fcu
typedef struct Smb2IoctlReq {
	uint32_t ctl_code;
	Smb2FileId fid;
	Smb2Blob input;
	uint32_t max_input_response;
	uint32_t max_output_response;
	uint32_t flags;
} Smb2IoctlReq;
int smb2_parse_ioctl(const uint8_t *msg, size_t len, Smb2IoctlReq *ret);

typedef struct Smb2LockElement {
	uint64_t offset, length;
	uint32_t flags;
} Smb2LockElement;
typedef struct Smb2LockReq {
	uint16_t count;
	Smb2FileId fid;
	const uint8_t *locks; /* count * 24 bytes; read with smb2_lock_element() */
} Smb2LockReq;
int smb2_parse_lock(const uint8_t *msg, size_t len, Smb2LockReq *ret);
void smb2_lock_element(const Smb2LockReq *r, size_t i, Smb2LockElement *ret);

/* A request whose body is only StructureSize + Reserved (ECHO, LOGOFF,
 * TREE_DISCONNECT, CANCEL). */
int smb2_parse_empty(uint16_t command, const uint8_t *msg, size_t len);

/* ---- SMB1 negotiate (only to answer with the SMB2 wildcard) ------------------- */
/* Finds which SMB2 dialect strings an SMB1 NEGOTIATE offers: bit 0 "SMB 2.002",
 * bit 1 "SMB 2.???".  -EBADMSG when it is not an SMB1 NEGOTIATE. */
#define SMB1_OFFERS_SMB202 0x1
#define SMB1_OFFERS_SMB2_WILDCARD 0x2
int smb1_parse_negotiate(const uint8_t *msg, size_t len, unsigned *ret_offers);

/* ---- UTF-16LE <-> UTF-8 ------------------------------------------------------------- */
/* Convert a UTF-16LE name into a malloc'd UTF-8 string.  -EILSEQ for
 * unpaired surrogates or embedded NULs. */
int smb2_utf16_to_utf8(const uint8_t *p, size_t len, char **ret);
/* Append s as UTF-16LE to b; returns the number of bytes appended or -EILSEQ. */
int smb2_utf8_to_utf16(Smb2Buf *b, const char *s);
