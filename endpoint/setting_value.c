/*
 * setting_value.c - value parsers and the table-driven fill shared by
 * smbrefd's config and the client's policy (see setting_value.h).
 *
 * Invariants: a refused value leaves its field unchanged.
 * Must never: accept more than one value where one is expected.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "setting_value.h"
#include "smb2_pdu.h"
#include "util.h"

int setting_value_bool(char *const *v, void *field) {
	if (!v[0] || v[1] || (!streq(v[0], "true") && !streq(v[0], "false")))
		return -EINVAL;
	*(bool *)field = streq(v[0], "true");
	return 0;
}

int setting_value_uint(char *const *v, void *field) {
	long long n;
	if (!v[0] || v[1] || parse_int64(v[0], &n) < 0 || n < 0 || n > 65535)
		return -EINVAL;
	*(unsigned *)field = (unsigned)n;
	return 0;
}

int setting_value_string(char *const *v, void *field) {
	char *copy = strdup(v[0] ? v[0] : "");
	if (!copy || (v[0] && v[1])) {
		free(copy);
		return -EINVAL;
	}
	free(*(char **)field);
	*(char **)field = copy;
	return 0;
}

int setting_value_strv(char *const *v, void *field) {
	char **copy = strv_copy(v);
	if (!copy)
		return -ENOMEM;
	strv_free(*(char ***)field);
	*(char ***)field = copy;
	return 0;
}

int setting_value_dialect(char *const *v, void *field) {
	if (!v[0] || v[1])
		return -EINVAL;
	return smb2_dialect_from_string(v[0], field);
}

int setting_value_read_policy(const Catalog *cat, const char *path, Policy **ret_pol, char ****ret_values) {
	_cleanup_(policy_freep) Policy *pol = NULL;
	DiagList diag = {};
	int r = policy_parse_file(cat, path, &pol, &diag);
	if (r < 0) {
		diag_print(&diag, stderr);
		diag_clear(&diag);
		return r;
	}
	r = policy_effective_values(cat, pol, ret_values);
	if (r < 0)
		return r;
	*ret_pol = TAKE_PTR(pol);
	return 0;
}

int setting_value_apply(const SettingField *table, size_t n, const Catalog *cat, char ***values, void *obj,
			const char *source, const char *reader) {
	for (size_t i = 0; i < n; i++) {
		int idx = catalog_index(cat, table[i].id);
		if (idx < 0) {
			fprintf(stderr, "%s: %s: setting missing from the catalog\n", source, table[i].id);
			return -EINVAL;
		}
		char *const *v = values ? values[idx] : cat->settings[idx].default_value;
		int r = table[i].parse(v, (char *)obj + table[i].offset);
		if (r < 0) {
			fprintf(stderr, "%s: %s: value not usable by %s\n", source, table[i].id, reader);
			return r;
		}
	}
	return 0;
}
