/* gguf_meta.c — typed access to GGUF metadata, and its JSON rendering.
 * Values are read from the (validated) file bytes, little-endian, unaligned. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ls/gguf.h"

#define GGUF_KEY_FMT "%.200s"

static uint64_t le(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static int is_int_type(LsGgufType t) {
    return t <= LS_GGUF_I32 || t == LS_GGUF_U64 || t == LS_GGUF_I64;
}
static int is_float_type(LsGgufType t) {
    return t == LS_GGUF_F32 || t == LS_GGUF_F64;
}

/* Element i of a numeric array / scalar as int64; 0 on success, -1 when a u64 exceeds INT64_MAX. */
static int elem_int(const LsGgufKv *kv, uint64_t i, int64_t *out) {
    const unsigned char *p = kv->value;
    switch (kv->elem_type) {
    case LS_GGUF_U8:
        *out = p[i];
        return 0;
    case LS_GGUF_I8:
        *out = (int8_t)p[i];
        return 0;
    case LS_GGUF_U16:
        *out = (uint16_t)le(p + 2 * i, 2);
        return 0;
    case LS_GGUF_I16:
        *out = (int16_t)(uint16_t)le(p + 2 * i, 2);
        return 0;
    case LS_GGUF_U32:
        *out = (uint32_t)le(p + 4 * i, 4);
        return 0;
    case LS_GGUF_I32:
        *out = (int32_t)(uint32_t)le(p + 4 * i, 4);
        return 0;
    case LS_GGUF_U64: {
        uint64_t u = le(p + 8 * i, 8);
        if (u > (uint64_t)INT64_MAX) return -1;
        *out = (int64_t)u;
        return 0;
    }
    case LS_GGUF_I64:
        *out = (int64_t)le(p + 8 * i, 8);
        return 0;
    default:
        return -1;
    }
}

static double elem_float(const LsGgufKv *kv, uint64_t i) {
    const unsigned char *p = kv->value;
    if (kv->elem_type == LS_GGUF_F32) {
        uint32_t u = (uint32_t)le(p + 4 * i, 4);
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    if (kv->elem_type == LS_GGUF_F64) {
        uint64_t u = le(p + 8 * i, 8);
        double d;
        memcpy(&d, &u, 8);
        return d;
    }
    int64_t v = 0;
    if (kv->elem_type == LS_GGUF_U64) return (double)le(p + 8 * i, 8);
    elem_int(kv, i, &v);
    return (double)v;
}

/* Finds key; 0 if absent; LS_ERR unless (array ? kv is an array : kv is a scalar) with an element type
 * accepted by ok(). want names the expected type for the message. */
static int get_kv(const LsGguf *g, const char *key, int array, int (*ok)(LsGgufType), const char *want,
                  const LsGgufKv **out, LsError *e) {
    const LsGgufKv *kv = ls_gguf_kv_find(g, key);
    if (!kv) return 0;
    int is_arr = kv->type == LS_GGUF_ARRAY;
    if (is_arr != array || !ok(kv->elem_type)) {
        char found[48];
        if (is_arr)
            snprintf(found, sizeof found, "array of %s", ls_gguf_type_name(kv->elem_type));
        else
            snprintf(found, sizeof found, "%s", ls_gguf_type_name(kv->type));
        return ls_fail(e, "%s: key '" GGUF_KEY_FMT "' at byte %zu: type %s, expected %s%s", ls_gguf_file(g),
                       key, kv->offset, found, array ? "an array of " : "", want);
    }
    *out = kv;
    return 1;
}

static int ok_str(LsGgufType t) {
    return t == LS_GGUF_STRING;
}
static int ok_bool(LsGgufType t) {
    return t == LS_GGUF_BOOL;
}
static int ok_num(LsGgufType t) {
    return is_int_type(t) || is_float_type(t);
}

static int int_range_fail(const LsGguf *g, const LsGgufKv *kv, uint64_t i, LsError *e) {
    return ls_fail(e, "%s: key '" GGUF_KEY_FMT "' at byte %zu: element %llu is larger than INT64_MAX",
                   ls_gguf_file(g), kv->key, kv->offset, (unsigned long long)i);
}

int ls_gguf_get_str(const LsGguf *g, const char *key, LsGgufStr *out, LsError *e) {
    const LsGgufKv *kv = NULL;
    int r = get_kv(g, key, 0, ok_str, "string", &kv, e);
    if (r == 1) *out = kv->strs[0];
    return r;
}

int ls_gguf_get_int(const LsGguf *g, const char *key, int64_t *out, LsError *e) {
    const LsGgufKv *kv = NULL;
    int r = get_kv(g, key, 0, is_int_type, "an integer", &kv, e);
    if (r == 1 && elem_int(kv, 0, out) != 0) return int_range_fail(g, kv, 0, e);
    return r;
}

int ls_gguf_get_float(const LsGguf *g, const char *key, double *out, LsError *e) {
    const LsGgufKv *kv = NULL;
    int r = get_kv(g, key, 0, ok_num, "a number", &kv, e);
    if (r == 1) *out = elem_float(kv, 0);
    return r;
}

int ls_gguf_get_bool(const LsGguf *g, const char *key, int *out, LsError *e) {
    const LsGgufKv *kv = NULL;
    int r = get_kv(g, key, 0, ok_bool, "bool", &kv, e);
    if (r == 1) *out = kv->value[0] != 0;
    return r;
}

int ls_gguf_get_str_array(const LsGguf *g, const char *key, const LsGgufStr **items, size_t *n, LsError *e) {
    const LsGgufKv *kv = NULL;
    int r = get_kv(g, key, 1, ok_str, "string", &kv, e);
    if (r == 1) {
        *items = kv->strs;
        *n = (size_t)kv->n;
    }
    return r;
}

int ls_gguf_get_int_array(const LsGguf *g, const char *key, int64_t **items, size_t *n, LsError *e) {
    const LsGgufKv *kv = NULL;
    int r = get_kv(g, key, 1, is_int_type, "integers", &kv, e);
    if (r != 1) return r;
    int64_t *v = ls_malloc((size_t)(kv->n ? kv->n : 1) * sizeof *v);
    for (uint64_t i = 0; i < kv->n; i++)
        if (elem_int(kv, i, &v[i]) != 0) {
            free(v);
            return int_range_fail(g, kv, i, e);
        }
    *items = v;
    *n = (size_t)kv->n;
    return 1;
}

int ls_gguf_get_float_array(const LsGguf *g, const char *key, float **items, size_t *n, LsError *e) {
    const LsGgufKv *kv = NULL;
    int r = get_kv(g, key, 1, ok_num, "numbers", &kv, e);
    if (r != 1) return r;
    float *v = ls_malloc((size_t)(kv->n ? kv->n : 1) * sizeof *v);
    for (uint64_t i = 0; i < kv->n; i++)
        v[i] = (float)elem_float(kv, i);
    *items = v;
    *n = (size_t)kv->n;
    return 1;
}

/* ---- JSON ------------------------------------------------------------------ */

static json_t *json_of_str(LsGgufStr s) {
    json_t *j = json_stringn(s.s, s.len); /* NULL for invalid UTF-8 or embedded NUL */
    return j ? j : json_string("<not valid UTF-8>");
}

static json_t *json_of_elem(const LsGgufKv *kv, uint64_t i) {
    if (kv->elem_type == LS_GGUF_STRING) return json_of_str(kv->strs[i]);
    if (kv->elem_type == LS_GGUF_BOOL) return json_boolean(kv->value[i]);
    if (kv->elem_type == LS_GGUF_U64) {
        uint64_t u = le(kv->value + 8 * i, 8);
        return u > (uint64_t)INT64_MAX ? json_real((double)u) : json_integer((json_int_t)u);
    }
    if (is_int_type(kv->elem_type)) {
        int64_t v = 0;
        elem_int(kv, i, &v);
        return json_integer((json_int_t)v);
    }
    double d = elem_float(kv, i);
    return isfinite(d) ? json_real(d) : json_null();
}

char *ls_gguf_metadata_json(const LsGguf *g, size_t max_array) {
    json_t *root = json_object();
    for (size_t k = 0; k < ls_gguf_kv_count(g); k++) {
        const LsGgufKv *kv = ls_gguf_kv_at(g, k);
        json_t *v;
        if (kv->type != LS_GGUF_ARRAY) {
            v = json_of_elem(kv, 0);
        } else if (kv->n <= max_array) {
            v = json_array();
            for (uint64_t i = 0; i < kv->n; i++)
                json_array_append_new(v, json_of_elem(kv, i));
        } else {
            v = json_pack("{s:s, s:s, s:I}", "type", "array", "element_type",
                          ls_gguf_type_name(kv->elem_type), "length", (json_int_t)kv->n);
        }
        json_object_set_new(root, kv->key, v);
    }
    char *s = json_dumps(root, JSON_PRESERVE_ORDER | JSON_INDENT(2));
    json_decref(root);
    char *out = ls_strdup(s ? s : "{}");
    free(s);
    return out;
}
