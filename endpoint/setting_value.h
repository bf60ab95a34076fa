/*
 * setting_value.h - turning a setting's effective value (a strv from
 * policy_effective_values() or the catalog default) into a C field, and
 * filling a struct from a table of setting id -> field -> parser.  Shared
 * by smbrefd's Config (config.c) and the client's ClientPolicy
 * (client_policy.c), whose tables are the only places setting ids appear.
 *
 * Invariants: a parser either sets its field or leaves it as it was and
 * returns -errno; a field holding memory (string, strv) is replaced, the
 * old value freed.
 * Must never: invent a default (values are the catalog's or the policy's).
 */
#pragma once

#include <stddef.h>

#include "catalog.h"
#include "policy.h"

typedef int (*SettingValueParser)(char *const *value, void *field);

/* One row: a setting id, the offset of its field, the parser for it. */
typedef struct SettingField {
	const char *id;
	size_t offset;
	SettingValueParser parse;
} SettingField;

/* "true"/"false" -> bool. */
int setting_value_bool(char *const *value, void *field);
/* 0..65535 -> unsigned. */
int setting_value_uint(char *const *value, void *field);
/* One string (none: "") -> char *, owned. */
int setting_value_string(char *const *value, void *field);
/* Any list -> char **, owned copy. */
int setting_value_strv(char *const *value, void *field);
/* Dialect name ("3.1.1") -> uint16_t wire id. */
int setting_value_dialect(char *const *value, void *field);

/* Parse the policy document at path against cat (diagnostics printed to
 * stderr) and compute its effective values (borrowed from *ret_pol and
 * cat, see policy_effective_values()).  0 or -errno; on success the caller
 * owns *ret_pol and the *ret_values vector. */
int setting_value_read_policy(const Catalog *cat, const char *path, Policy **ret_pol, char ****ret_values);

/* Fill obj from the n rows of table: each row's value from values (as
 * policy_effective_values() returns them, indexed like cat), or the
 * catalog default when values is NULL.  On a failure prints one line to
 * stderr naming source (the policy file) and the setting, "value not
 * usable by READER" for a refused value, and returns -errno. */
int setting_value_apply(const SettingField *table, size_t n, const Catalog *cat, char ***values, void *obj,
			const char *source, const char *reader);
