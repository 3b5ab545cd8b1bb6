/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UVIOMMU_APPS_JSON_H
#define UVIOMMU_APPS_JSON_H

/*
 * A minimal streaming JSON writer for the tools' --json output: one
 * compact object per run. Keys are passed with each value; inside arrays
 * the key is NULL. Strings are escaped (bytes outside printable ASCII
 * become \u00XX), 64-bit addresses are written as "0x..." strings.
 */

#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json {
	FILE *out;
	int depth;
	int has_items[JSON_MAX_DEPTH];
};

void json_init(struct json *j, FILE *out);
void json_object_begin(struct json *j, const char *key);
void json_object_end(struct json *j);
void json_array_begin(struct json *j, const char *key);
void json_array_end(struct json *j);
void json_uint(struct json *j, const char *key, uint64_t value);
void json_double(struct json *j, const char *key, double value);
void json_hex(struct json *j, const char *key, uint64_t value);
void json_string(struct json *j, const char *key, const char *value);
void json_bool(struct json *j, const char *key, int value);
void json_null(struct json *j, const char *key);
/* Ends the document with a newline. */
void json_finish(struct json *j);

#endif
