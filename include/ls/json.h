/* ls/json.h — strict JSON parsing shared by the loaders (jansson): valid
 * UTF-8, no NUL bytes, no duplicate keys; errors name the file and the byte. */
#ifndef LS_JSON_H
#define LS_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "ls/common.h"

/* Parses text[0..len) into *out. Messages read "FNAME: REGIONbyte B: ...",
 * with B = base + the offset in text (region e.g. "header at " for a JSON
 * header that starts at byte base of its file, or ""). */
int ls_json_parse_strict(const char *text, size_t len, const char *fname, const char *region, size_t base,
                         json_t **out, LsError *e);

/* "an object", "an array", "a string", "an integer", "a number with a fraction
 * or exponent", "a boolean", "null": for messages about wrong types. */
const char *ls_json_type_name(const json_t *v);

#endif
