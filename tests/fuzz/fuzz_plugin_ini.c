/*
 * fuzz_plugin_ini.c - libFuzzer harness for the line-preserving ini editor
 * of plugins/plugin_util.c (what edits the admin's smb.conf and ksmbd.conf).
 *
 * Invariants checked beyond "no crash, no leak, no UB": after
 * plugin_ini_set(key, value) the key reads back as value; after removal it
 * is gone; plugin_ini_add keeps every byte of the original as a prefix or
 * suffix split around one inserted line.  Texts with a backslash (line
 * continuation) are only checked for crashes: a continuation at the very
 * end may swallow the line after it, which is how Samba reads it too.
 * Must never touch files.
 */
#include <stdint.h>

#include "plugin_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	char *text = strndup((const char *)data, size);
	if (!text)
		return 0;
	bool plain = !strchr(text, '\\');
	char *out = NULL, *v = NULL;
	if (plugin_ini_set(text, "global", "server signing", "mandatory", &out) == 0) {
		if (plain && (plugin_ini_get(out, "global", "serversigning", &v, NULL) < 0 || !streq(v, "mandatory")))
			abort();
		free(v);
		v = NULL;
		char *gone = NULL;
		if (plugin_ini_set(out, "global", "server signing", NULL, &gone) == 0) {
			if (plain && plugin_ini_get(gone, "global", "server signing", &v, NULL) != -ENOENT)
				abort();
			free(gone);
		}
		free(out);
		out = NULL;
	}
	if (plugin_ini_add(text, "share", "include", "/x.conf", &out) == 0) {
		size_t a = strlen(text), b = strlen(out), pre = 0, suf = 0;
		while (pre < a && text[pre] == out[pre])
			pre++;
		while (suf < a - pre && text[a - 1 - suf] == out[b - 1 - suf])
			suf++;
		if (pre + suf != a)
			abort();
		free(out);
	}
	free(v);
	free(text);
	return 0;
}
