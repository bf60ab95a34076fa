/*
 * source.c - the agent's bundle source (contract in source.h): libcurl
 * transfer (libcurl loaded at run time: source_curl.h), verification
 * through lib/bundle and lib/keys (in a module loaded at run time, with
 * OpenSSL behind it: source_bundle.h), the cache directory and the backoff
 * schedule.
 *
 * Invariants: the curl handle is kept between polls (connection reuse);
 * every transfer starts from a reset request state (body, ETag, headers);
 * refusals and failures are logged here, once, with the URL and reason.
 * Must never: turn TLS verification off, or touch the cache for a bundle
 * that did not pass every check.
 */
#include "source.h"

#include <sys/stat.h>
#include <syslog.h>

#include "journal.h"
#include "source_bundle.h"
#include "source_curl.h"
#include "splay.h"
#include "strbuf.h"

#define DEFAULT_CONNECT_TIMEOUT_SEC 10
#define DEFAULT_TIMEOUT_SEC 60
#define DEFAULT_BACKOFF_MIN_USEC (30ULL * 1000000ULL)
#define DEFAULT_BACKOFF_MAX_USEC (3600ULL * 1000000ULL)
#define ETAG_MAX 256

/* What the cache's "state" file records about the applied bundle. */
typedef struct SourceState {
	char *url;
	char *etag;
	uint64_t serial;
	char sha256[65];
	char *group;
} SourceState;

struct Source {
	char *url, *trusted_keys, *cache_dir, *ca_file;
	char *bundle_path, *policy_path, *state_path;
	unsigned connect_timeout, timeout;
	uint64_t backoff_min, backoff_max;

	const CurlApi *api;
	const BundleApi *bundle;
	CURL *curl;
	SourceState state;
	unsigned failures;
	uint64_t next_attempt_usec; /* CLOCK_MONOTONIC; 0: now */

	/* the current transfer */
	StrBuf body;
	bool too_big;
	char etag[ETAG_MAX];
	long status;
	size_t body_bytes;
};

static void source_state_clear(SourceState *st) {
	free(st->url);
	free(st->etag);
	free(st->group);
	*st = (SourceState){};
}

void source_free(Source *s) {
	if (!s)
		return;
	if (s->curl) {
		s->api->easy_cleanup(s->curl);
		s->api->global_cleanup();
	}
	source_state_clear(&s->state);
	strbuf_free(&s->body);
	free(s->url);
	free(s->trusted_keys);
	free(s->cache_dir);
	free(s->ca_file);
	free(s->bundle_path);
	free(s->policy_path);
	free(s->state_path);
	free(s);
}

/* State file lines "KEY VALUE"; a file for another URL counts as none. */
static int state_load(Source *s) {
	_cleanup_free_ char *text = NULL;
	int r = read_file(s->state_path, 64 * 1024, &text, NULL);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	SourceState st = {};
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *v = strchr(l, ' ');
		if (!v)
			continue;
		*v++ = 0;
		long long n;
		if (streq(l, "url"))
			free(st.url), st.url = strdup(v);
		else if (streq(l, "etag"))
			free(st.etag), st.etag = strdup(v);
		else if (streq(l, "group"))
			free(st.group), st.group = strdup(v);
		else if (streq(l, "serial") && parse_int64(v, &n) >= 0 && n > 0)
			st.serial = (uint64_t)n;
		else if (streq(l, "sha256") && strlen(v) == 64)
			memcpy(st.sha256, v, 65);
	}
	if (!streq_ptr(st.url, s->url) || access(s->policy_path, R_OK) < 0) {
		source_state_clear(&st);
		return 0;
	}
	s->state = st;
	return 0;
}

static int state_save(Source *s, const SourceState *st) {
	_cleanup_(strbuf_free) StrBuf b = {};
	strbuf_printf(&b, "url %s\n", st->url);
	if (st->etag && *st->etag)
		strbuf_printf(&b, "etag %s\n", st->etag);
	strbuf_printf(&b, "serial %llu\nsha256 %s\ngroup %s\n", (unsigned long long)st->serial,
		      st->sha256, st->group);
	if (b.failed)
		return -ENOMEM;
	return write_file_atomic(s->state_path, b.data, b.len, 0600);
}

static char *dup_or_null(const char *s, bool *failed) {
	char *d = s ? strdup(s) : NULL;
	if (s && !d)
		*failed = true;
	return d;
}

static bool url_has_scheme(const char *url) {
	static const char *const schemes[] = { "https://", "http://", "file://" };
	for (size_t i = 0; i < ELEMENTSOF(schemes); i++)
		if (startswith(url, schemes[i]))
			return true;
	return false;
}

char *source_default_cache_dir(const char *state_path) {
	const char *slash = strrchr(state_path, '/');
	if (!slash)
		return strdup("bundle");
	return strdup_printf("%.*s/bundle", (int)(slash - state_path), state_path);
}

int source_new(const SourceConfig *cfg, Source **ret) {
	if (!cfg->url || !url_has_scheme(cfg->url) || !cfg->trusted_keys || !cfg->cache_dir)
		return -EINVAL;
	_cleanup_(source_freep) Source *s = calloc(1, sizeof(Source));
	if (!s)
		return -ENOMEM;
	bool failed = false;
	s->url = dup_or_null(cfg->url, &failed);
	s->trusted_keys = dup_or_null(cfg->trusted_keys, &failed);
	s->cache_dir = dup_or_null(cfg->cache_dir, &failed);
	s->ca_file = dup_or_null(cfg->ca_file, &failed);
	s->bundle_path = strdup_printf("%s/bundle", cfg->cache_dir);
	s->policy_path = strdup_printf("%s/policy.xml", cfg->cache_dir);
	s->state_path = strdup_printf("%s/state", cfg->cache_dir);
	if (failed || !s->bundle_path || !s->policy_path || !s->state_path)
		return -ENOMEM;
	s->connect_timeout = cfg->connect_timeout_sec ? cfg->connect_timeout_sec
						      : DEFAULT_CONNECT_TIMEOUT_SEC;
	s->timeout = cfg->timeout_sec ? cfg->timeout_sec : DEFAULT_TIMEOUT_SEC;
	s->backoff_min = cfg->backoff_min_usec ? cfg->backoff_min_usec : DEFAULT_BACKOFF_MIN_USEC;
	s->backoff_max = cfg->backoff_max_usec ? cfg->backoff_max_usec : DEFAULT_BACKOFF_MAX_USEC;
	if (s->backoff_max < s->backoff_min)
		s->backoff_max = s->backoff_min;
	const char *why = NULL, *module = NULL;
	int r = source_curl_load(&s->api, &why);
	if (r < 0) {
		journal_log(JOURNAL_AGENT, LOG_ERR, &(JournalFields){ .path = SOURCE_CURL_LIBRARY },
			    "cannot load %s, which --source needs: %s", SOURCE_CURL_LIBRARY,
			    why ? why : strerror(-r));
		return r;
	}
	r = source_bundle_load(&s->bundle, &module, &why);
	if (r < 0) {
		journal_log(JOURNAL_AGENT, LOG_ERR, &(JournalFields){ .path = module },
			    "cannot load the bundle verifier %s, which --source needs: %s", module,
			    why ? why : r == -EPROTO ? "built for another smbpolicyd" : strerror(-r));
		return r;
	}
	if (s->api->global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -ENOMEM;
	if (!(s->curl = s->api->easy_init())) {
		s->api->global_cleanup();
		return -ENOMEM;
	}
	r = state_load(s);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(s);
	return 0;
}

static size_t on_body(char *data, size_t size, size_t n, void *userdata) {
	Source *s = userdata;
	size_t len = size * n;
	if (s->body.len + len > BUNDLE_MAX_BYTES) {
		s->too_big = true;
		return 0; /* aborts the transfer */
	}
	strbuf_append_len(&s->body, data, len);
	return s->body.failed ? 0 : len;
}

static size_t on_header(char *data, size_t size, size_t n, void *userdata) {
	Source *s = userdata;
	size_t len = size * n;
	if (len > 5 && strncmp(data, "HTTP/", 5) == 0)
		s->etag[0] = 0; /* a new response (after a redirect): its own ETag only */
	else if (len > 5 && strncasecmp(data, "etag:", 5) == 0) {
		const char *v = data + 5, *end = data + len;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
			end--;
		size_t vl = (size_t)(end - v);
		bool printable = true;
		for (const char *p = v; p < end; p++)
			printable = printable && (unsigned char)*p >= 0x20 && *p != 0x7f;
		if (printable && vl < sizeof(s->etag)) {
			memcpy(s->etag, v, vl);
			s->etag[vl] = 0;
		}
	}
	return len;
}


/* curl result -> -errno for the caller. */
static int curl_errno(CURLcode c) {
	static const struct {
		CURLcode code;
		int error;
	} map[] = {
		{ CURLE_OPERATION_TIMEDOUT, -ETIMEDOUT },
		{ CURLE_COULDNT_CONNECT, -ECONNREFUSED },
		{ CURLE_COULDNT_RESOLVE_HOST, -EHOSTUNREACH },
		{ CURLE_FILE_COULDNT_READ_FILE, -ENOENT },
		{ CURLE_OUT_OF_MEMORY, -ENOMEM },
		{ CURLE_PEER_FAILED_VERIFICATION, -EPERM },
		{ CURLE_SSL_CACERT_BADFILE, -EPERM },
		{ CURLE_FILESIZE_EXCEEDED, -EFBIG },
	};
	for (size_t i = 0; i < ELEMENTSOF(map); i++)
		if (map[i].code == c)
			return map[i].error;
	return -EIO;
}

/* The transfer proper, with the request headers hdrs (borrowed). */
static int source_perform(Source *s, bool https, struct curl_slist *hdrs) {
	const CurlApi *cu = s->api;
	CURL *h = s->curl;
	char errbuf[CURL_ERROR_SIZE] = "";
	if (cu->easy_setopt(h, CURLOPT_URL, s->url) != CURLE_OK ||
	    cu->easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http,file") != CURLE_OK ||
	    cu->easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, https ? "https" : "https,http") !=
		    CURLE_OK)
		return -EINVAL;
	cu->easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	cu->easy_setopt(h, CURLOPT_MAXREDIRS, 3L);
	cu->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	cu->easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)s->connect_timeout);
	cu->easy_setopt(h, CURLOPT_TIMEOUT, (long)s->timeout);
	cu->easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	cu->easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (s->ca_file)
		cu->easy_setopt(h, CURLOPT_CAINFO, s->ca_file);
	cu->easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)BUNDLE_MAX_BYTES);
	cu->easy_setopt(h, CURLOPT_USERAGENT, "smbpolicyd");
	cu->easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	cu->easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	cu->easy_setopt(h, CURLOPT_WRITEDATA, s);
	cu->easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	cu->easy_setopt(h, CURLOPT_HEADERDATA, s);
	cu->easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	CURLcode c = cu->easy_perform(h);
	cu->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &s->status);
	s->body_bytes = s->body.len;
	if (c != CURLE_OK) {
		int r = s->too_big ? -EFBIG : s->body.failed ? -ENOMEM : curl_errno(c);
		journal_log(JOURNAL_AGENT, LOG_WARNING, &(JournalFields){ .path = s->url },
			    "cannot fetch the policy bundle from %s: %s", s->url,
			    s->too_big ? "larger than a bundle may be"
				       : *errbuf ? errbuf : cu->easy_strerror(c));
		return r;
	}
	bool ok = s->status == 0 || s->status == 200 || s->status == 304;
	if (!ok) {
		journal_log(JOURNAL_AGENT, LOG_WARNING, &(JournalFields){ .path = s->url },
			    "cannot fetch the policy bundle from %s: HTTP status %ld", s->url,
			    s->status);
		return s->status == 404 || s->status == 410 ? -ENOENT : -EIO;
	}
	return 0;
}

/* One transfer into s->body; sets s->status (0 for file://). */
static int source_transfer(Source *s) {
	strbuf_free(&s->body);
	s->too_big = false;
	s->etag[0] = 0;
	s->status = 0;
	s->body_bytes = 0;
	CURL *h = s->curl;
	const CurlApi *cu = s->api;
	cu->easy_reset(h);
	bool https = startswith(s->url, "https://");
	struct curl_slist *hdrs = NULL;
	if (s->state.etag && s->state.serial > 0) {
		_cleanup_free_ char *h1 = strdup_printf("If-None-Match: %s", s->state.etag);
		if (!h1 || !(hdrs = cu->slist_append(NULL, h1)))
			return -ENOMEM;
	}
	int r = source_perform(s, https, hdrs);
	cu->slist_free_all(hdrs);
	return r;
}

/* Write the accepted bundle, its policy, then the state (the commit). */
static int source_keep(Source *s, const Bundle *b) {
	SourceState st = { .url = s->url, .etag = s->etag, .serial = b->serial, .group = b->group };
	memcpy(st.sha256, b->payload_sha256, sizeof(st.sha256));
	/* Created here, not in source_new(): its parent (the agent's state
	 * directory) may not exist before the engine has started. */
	if (mkdir(s->cache_dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	int r = write_file_atomic(s->bundle_path, s->body.data, s->body.len, 0600);
	if (r >= 0)
		r = write_file_atomic(s->policy_path, b->payload, b->payload_len, 0600);
	if (r >= 0)
		r = state_save(s, &st);
	if (r < 0)
		return r;
	source_state_clear(&s->state);
	s->state.url = strdup(s->url);
	s->state.etag = *s->etag ? strdup(s->etag) : NULL;
	s->state.group = strdup(b->group);
	s->state.serial = b->serial;
	memcpy(s->state.sha256, b->payload_sha256, sizeof(s->state.sha256));
	return s->state.url && s->state.group ? 0 : -ENOMEM;
}

/* Verify s->body and apply the serial and group rules. */
static int source_check(Source *s, Bundle **ret) {
	const BundleApi *bu = s->bundle;
	KeyRing ring = {};
	int r = bu->key_ring_load(s->trusted_keys, &ring);
	if (r < 0) {
		journal_log(JOURNAL_AGENT, LOG_ERR, &(JournalFields){ .path = s->trusted_keys },
			    "cannot read the trusted keys %s: %s", s->trusted_keys,
			    r == -EBADMSG ? "no Ed25519 public key in it" : strerror(-r));
		return r;
	}
	_cleanup_(source_bundle_freep) Bundle *b = NULL;
	r = bu->verify(s->body.data ? s->body.data : "", s->body.len, &ring,
		       now_usec() / 1000000ULL, &b);
	bu->key_ring_clear(&ring);
	if (r >= 0 && b->type != BUNDLE_POLICY)
		r = BUNDLE_E_MALFORMED;
	if (r >= 0 && s->state.group && !streq(s->state.group, b->group))
		r = BUNDLE_E_WRONG_GROUP;
	if (r >= 0)
		r = bu->check_serial(b, s->state.serial, s->state.sha256);
	if (r < 0) {
		char kept[64] = "no bundle taken from this source yet";
		if (s->state.serial > 0)
			snprintf(kept, sizeof(kept), "keeping the last good policy (serial %llu)",
				 (unsigned long long)s->state.serial);
		journal_log(JOURNAL_AGENT, LOG_WARNING, &(JournalFields){ .path = s->url },
			    "refusing the policy bundle from %s: %s; %s", s->url, bu->strerror(r),
			    kept);
		return r;
	}
	*ret = TAKE_PTR(b);
	return r;
}

static void source_backoff(Source *s) {
	uint64_t d = s->backoff_min;
	for (unsigned i = 1; i < s->failures && d < s->backoff_max; i++)
		d *= 2;
	if (d > s->backoff_max)
		d = s->backoff_max;
	/* "Equal jitter": half the delay fixed, half random. */
	s->next_attempt_usec = now_mono_usec() + d / 2 + splay_first_usec(d / 2, splay_random());
}

int source_update(Source *s) {
	if (s->next_attempt_usec && now_mono_usec() < s->next_attempt_usec)
		return -EAGAIN;
	int r = source_transfer(s);
	_cleanup_(source_bundle_freep) Bundle *b = NULL;
	if (r >= 0 && s->status == 304)
		r = SOURCE_UNCHANGED;
	else if (r >= 0 && (r = source_check(s, &b)) == 0) {
		r = source_keep(s, b);
		if (r < 0)
			journal_log(JOURNAL_AGENT, LOG_ERR, &(JournalFields){ .path = s->cache_dir },
				    "cannot keep the policy bundle in %s: %s", s->cache_dir,
				    strerror(-r));
		else {
			journal_log(JOURNAL_AGENT, LOG_NOTICE, &(JournalFields){ .path = s->url },
				    "accepted policy bundle serial %llu for group %s from %s (key %s)",
				    (unsigned long long)b->serial, b->group, s->url, b->key_id);
			r = SOURCE_CHANGED;
		}
	} else if (r == 1) {
		/* The applied bundle again (e.g. file:// has no ETag): remember a
		 * new ETag so the next poll is a 304. */
		if (*s->etag && !streq_ptr(s->etag, s->state.etag)) {
			free(s->state.etag);
			s->state.etag = strdup(s->etag);
			(void)state_save(s, &s->state);
		}
		r = SOURCE_UNCHANGED;
	}
	if (r < 0) {
		s->failures++;
		source_backoff(s);
	} else {
		s->failures = 0;
		s->next_attempt_usec = 0;
	}
	return r;
}

void source_retry_now(Source *s) {
	s->next_attempt_usec = 0;
}

void source_defer(Source *s, uint64_t usec) {
	s->next_attempt_usec = now_mono_usec() + usec;
}

const char *source_policy_path(const Source *s) {
	return s->policy_path;
}

bool source_has_policy(const Source *s) {
	return s->state.serial > 0;
}

uint64_t source_serial(const Source *s) {
	return s->state.serial;
}

long source_last_status(const Source *s) {
	return s->status;
}

size_t source_last_body_bytes(const Source *s) {
	return s->body_bytes;
}
