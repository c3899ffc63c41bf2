/* json.c — strict JSON parsing shared by the loaders. */
#include "ls/json.h"

#include <string.h>

int ls_json_parse_strict(const char *text, size_t len, const char *fname, const char *region, size_t base,
                         json_t **out, LsError *e) {
    *out = NULL;
    size_t bad;
    if (!ls_utf8_valid((const unsigned char *)text, len, &bad))
        return ls_fail(e, "%s: %sbyte %zu: invalid UTF-8 (byte 0x%02x)", fname, region, base + bad,
                       (unsigned char)text[bad]);
    const char *z = memchr(text, '\0', len);
    if (z)
        return ls_fail(e, "%s: %sbyte %zu: NUL byte in the JSON text", fname, region,
                       base + (size_t)(z - text));
    json_error_t je;
    *out = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!*out)
        return ls_fail(e, "%s: %sbyte %zu (line %d, column %d): invalid JSON: %s", fname, region,
                       base + (size_t)je.position, je.line, je.column, je.text);
    return LS_OK;
}

const char *ls_json_type_name(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number with a fraction or exponent";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}
