/*
 * test_agent_source_curl.c - libcurl loaded at run time (agent/source_curl.c):
 * every entry of the table is filled, a second load hands out the same
 * table, and the loaded library works (version string, an easy handle, a
 * header list).  The test binary itself does not link libcurl (--as-needed
 * drops it: nothing refers to it), so what runs here is the dlopen()ed copy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../agent/source_curl.c"

static void test_table_filled(void **state) {
	(void)state;
	const CurlApi *a = NULL, *b = NULL;
	const char *why = NULL;
	assert_int_equal(source_curl_load(&a, &why), 0);
	assert_non_null(a);
	for (size_t i = 0; i < ELEMENTSOF(curl_symbols); i++) {
		void *f = NULL;
		memcpy(&f, (const char *)a + curl_symbols[i].offset, sizeof(f));
		assert_non_null(f);
	}
	/* Every member of the table has a row. */
	assert_int_equal(ELEMENTSOF(curl_symbols) * sizeof(void *), sizeof(CurlApi));
	assert_int_equal(source_curl_load(&b, NULL), 0);
	assert_ptr_equal(a, b);
}

static void test_library_works(void **state) {
	(void)state;
	const CurlApi *cu = NULL;
	assert_int_equal(source_curl_load(&cu, NULL), 0);
	assert_int_equal(cu->global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	CURL *h = cu->easy_init();
	assert_non_null(h);
	assert_int_equal(cu->easy_setopt(h, CURLOPT_URL, "file:///nonexistent"), CURLE_OK);
	assert_int_equal(cu->easy_setopt(h, CURLOPT_TIMEOUT, 5L), CURLE_OK);
	assert_int_equal(cu->easy_perform(h), CURLE_FILE_COULDNT_READ_FILE);
	long code = -1;
	assert_int_equal(cu->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code), CURLE_OK);
	assert_int_equal(code, 0);
	assert_string_equal(cu->easy_strerror(CURLE_OK), "No error");
	struct curl_slist *l = cu->slist_append(NULL, "If-None-Match: \"x\"");
	assert_non_null(l);
	cu->slist_free_all(l);
	cu->easy_reset(h);
	cu->easy_cleanup(h);
	cu->global_cleanup();
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_filled),
		cmocka_unit_test(test_library_works),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
