/* gguf.c — GGUF reader (versions 2 and 3): header, metadata, tensor infos.
 *
 * A cursor walks the buffer; every read checks that its bytes are inside the
 * file and names the byte offset where it failed. Nothing is copied but keys,
 * tensor names and the tables that index them.
 */
#define _POSIX_C_SOURCE 200809L
#include "ls/gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define GGUF_NAME_FMT "%.200s"              /* hostile names are cut in messages */
#define GGUF_MAX_STRING ((uint64_t)1 << 30) /* one string */
#define GGUF_DEFAULT_ALIGNMENT 32

struct LsGguf {
    char *path;
    const unsigned char *buf;
    size_t len;
    void *map;          /* ls_gguf_open: the private mapping (unmapped at close); else NULL */
    unsigned char *mut; /* writable view of buf (the mapping, or ls_gguf_parse_writable's buffer) */
    uint32_t version;
    size_t alignment;
    size_t data_start;
    LsGgufKv *kv;
    size_t n_kv;
    LsGgufTensor *tensors;
    size_t n_tensors;
    const LsGgufKv **kv_sorted;          /* by key */
    const LsGgufTensor **tensors_sorted; /* by name */
};

/* ---- ggml types ----------------------------------------------------------- */

typedef struct {
    const char *name;
    uint16_t elems, bytes;
} GgmlTypeInfo;

/* Indexed by ggml type id (ggml.h / gguf-py GGML_QUANT_SIZES); gaps are ids
 * ggml removed. */
static const GgmlTypeInfo ggml_types[] = {
    [0] = {"F32", 1, 4},         [1] = {"F16", 1, 2},         [2] = {"Q4_0", 32, 18},
    [3] = {"Q4_1", 32, 20},      [6] = {"Q5_0", 32, 22},      [7] = {"Q5_1", 32, 24},
    [8] = {"Q8_0", 32, 34},      [9] = {"Q8_1", 32, 40},      [10] = {"Q2_K", 256, 84},
    [11] = {"Q3_K", 256, 110},   [12] = {"Q4_K", 256, 144},   [13] = {"Q5_K", 256, 176},
    [14] = {"Q6_K", 256, 210},   [15] = {"Q8_K", 256, 292},   [16] = {"IQ2_XXS", 256, 66},
    [17] = {"IQ2_XS", 256, 74},  [18] = {"IQ3_XXS", 256, 98}, [19] = {"IQ1_S", 256, 50},
    [20] = {"IQ4_NL", 32, 18},   [21] = {"IQ3_S", 256, 110},  [22] = {"IQ2_S", 256, 82},
    [23] = {"IQ4_XS", 256, 136}, [24] = {"I8", 1, 1},         [25] = {"I16", 1, 2},
    [26] = {"I32", 1, 4},        [27] = {"I64", 1, 8},        [28] = {"F64", 1, 8},
    [29] = {"IQ1_M", 256, 56},   [30] = {"BF16", 1, 2},       [34] = {"TQ1_0", 256, 54},
    [35] = {"TQ2_0", 256, 66},   [39] = {"MXFP4", 32, 17},
};

const char *ls_ggml_type_name(uint32_t t) {
    return t < LS_ARRAY_LEN(ggml_types) ? ggml_types[t].name : NULL;
}
size_t ls_ggml_block_elems(uint32_t t) {
    return t < LS_ARRAY_LEN(ggml_types) ? ggml_types[t].elems : 0;
}
size_t ls_ggml_block_bytes(uint32_t t) {
    return t < LS_ARRAY_LEN(ggml_types) ? ggml_types[t].bytes : 0;
}

static const char *const gguf_type_names[] = {"u8",   "i8",     "u16",   "i16", "u32", "i32", "f32",
                                              "bool", "string", "array", "u64", "i64", "f64"};

const char *ls_gguf_type_name(LsGgufType t) {
    return (unsigned)t < LS_ARRAY_LEN(gguf_type_names) ? gguf_type_names[t] : "?";
}

/* Bytes of one scalar value; 0 for string / array / unknown. */
static size_t gguf_scalar_size(uint32_t t) {
    static const unsigned char sz[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return t < sizeof sz ? sz[t] : 0;
}

/* ---- cursor --------------------------------------------------------------- */

typedef struct {
    const unsigned char *buf;
    size_t len, pos;
    const char *fname;
    LsError *e;
} Cur;

/* Checks that n more bytes are there; what names the field in the message. */
static int cur_need(Cur *c, uint64_t n, const char *what) {
    if (n > c->len - c->pos)
        return ls_fail(c->e, "%s: truncated at byte %zu: %s needs %llu bytes, %zu left in the file", c->fname,
                       c->pos, what, (unsigned long long)n, c->len - c->pos);
    return LS_OK;
}

static uint64_t load_le(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static int cur_u32(Cur *c, const char *what, uint32_t *v) {
    if (cur_need(c, 4, what)) return LS_ERR;
    *v = (uint32_t)load_le(c->buf + c->pos, 4);
    c->pos += 4;
    return LS_OK;
}

static int cur_u64(Cur *c, const char *what, uint64_t *v) {
    if (cur_need(c, 8, what)) return LS_ERR;
    *v = load_le(c->buf + c->pos, 8);
    c->pos += 8;
    return LS_OK;
}

/* A string: u64 length + bytes inside the file. */
static int cur_str(Cur *c, const char *what, LsGgufStr *s) {
    size_t at = c->pos;
    uint64_t n;
    if (cur_u64(c, what, &n)) return LS_ERR;
    if (n > GGUF_MAX_STRING)
        return ls_fail(c->e, "%s: %s at byte %zu: length %llu is larger than the limit of %llu bytes",
                       c->fname, what, at, (unsigned long long)n, (unsigned long long)GGUF_MAX_STRING);
    if (n > c->len - c->pos)
        return ls_fail(c->e, "%s: %s at byte %zu: length %llu runs past the end of the file (%zu bytes)",
                       c->fname, what, at, (unsigned long long)n, c->len);
    s->s = (const char *)c->buf + c->pos;
    s->len = (size_t)n;
    c->pos += (size_t)n;
    return LS_OK;
}

/* A key or tensor name: non-empty, valid UTF-8, no NUL; returned as a heap copy. */
static int cur_name(Cur *c, const char *what, char **out) {
    size_t at = c->pos;
    LsGgufStr s = {0};
    if (cur_str(c, what, &s)) return LS_ERR;
    size_t bad;
    if (s.len == 0) return ls_fail(c->e, "%s: %s at byte %zu is empty", c->fname, what, at);
    if (memchr(s.s, 0, s.len))
        return ls_fail(c->e, "%s: %s at byte %zu contains a NUL byte", c->fname, what, at);
    if (!ls_utf8_valid((const unsigned char *)s.s, s.len, &bad))
        return ls_fail(c->e, "%s: %s at byte %zu: invalid UTF-8 at byte %zu", c->fname, what, at,
                       at + 8 + bad);
    *out = ls_malloc(s.len + 1);
    memcpy(*out, s.s, s.len);
    (*out)[s.len] = '\0';
    return LS_OK;
}

/* ---- metadata ------------------------------------------------------------- */

/* Reads the value of kv (type already read) and checks it. */
static int gguf_read_value(Cur *c, LsGgufKv *kv) {
    const char *k = kv->key;
    uint32_t t = kv->type;
    kv->n = 1;
    kv->elem_type = kv->type;
    if (t == LS_GGUF_ARRAY) {
        size_t at = c->pos;
        uint32_t et;
        uint64_t n;
        if (cur_u32(c, "array element type", &et) || cur_u64(c, "array length", &n))
            return ls_fail_prefix(c->e, "key '" GGUF_NAME_FMT "'", k);
        if (et == LS_GGUF_ARRAY)
            return ls_fail(c->e, "%s: key '" GGUF_NAME_FMT "' at byte %zu: nested arrays are not supported",
                           c->fname, k, at);
        if (et > LS_GGUF_F64)
            return ls_fail(c->e, "%s: key '" GGUF_NAME_FMT "' at byte %zu: unknown array element type %u",
                           c->fname, k, at, et);
        kv->elem_type = (LsGgufType)et;
        kv->n = n;
        /* Each element takes at least one byte (strings 8): bounds the count by the file. */
        size_t min = et == LS_GGUF_STRING ? 8 : gguf_scalar_size(et);
        if (n > (c->len - c->pos) / min)
            return ls_fail(c->e,
                           "%s: key '" GGUF_NAME_FMT
                           "' at byte %zu: array of %llu %s elements runs past the end "
                           "of the file (%zu bytes)",
                           c->fname, k, at, (unsigned long long)n, ls_gguf_type_name(et), c->len);
    } else if (t > LS_GGUF_F64) {
        return ls_fail(c->e, "%s: key '" GGUF_NAME_FMT "' at byte %zu: unknown value type %u", c->fname, k,
                       kv->offset, t);
    }
    kv->value = c->buf + c->pos;
    if (kv->elem_type == LS_GGUF_STRING) {
        kv->strs = ls_malloc((size_t)(kv->n ? kv->n : 1) * sizeof *kv->strs);
        for (uint64_t i = 0; i < kv->n; i++)
            if (cur_str(c, "string value", &kv->strs[i]))
                return ls_fail_prefix(c->e, "key '" GGUF_NAME_FMT "' element %llu", k, (unsigned long long)i);
        return LS_OK;
    }
    size_t sz = gguf_scalar_size(kv->elem_type), nb = (size_t)kv->n * sz; /* n bounded above */
    size_t at = c->pos;
    if (cur_need(c, nb, "value")) return ls_fail_prefix(c->e, "key '" GGUF_NAME_FMT "'", k);
    if (kv->elem_type == LS_GGUF_BOOL)
        for (size_t i = 0; i < nb; i++)
            if (c->buf[at + i] > 1)
                return ls_fail(c->e, "%s: key '" GGUF_NAME_FMT "' at byte %zu: bool value %u is not 0 or 1",
                               c->fname, k, at + i, c->buf[at + i]);
    c->pos += nb;
    return LS_OK;
}

static int cmp_kv_ptr(const void *a, const void *b) {
    return strcmp((*(const LsGgufKv *const *)a)->key, (*(const LsGgufKv *const *)b)->key);
}
static int cmp_tensor_ptr(const void *a, const void *b) {
    return strcmp((*(const LsGgufTensor *const *)a)->name, (*(const LsGgufTensor *const *)b)->name);
}

static int gguf_read_kvs(LsGguf *g, Cur *c) {
    for (size_t i = 0; i < g->n_kv; i++) {
        LsGgufKv *kv = &g->kv[i];
        kv->offset = c->pos;
        uint32_t t;
        if (cur_name(c, "metadata key", (char **)&kv->key)) return LS_ERR;
        if (cur_u32(c, "value type", &t)) return ls_fail_prefix(c->e, "key '" GGUF_NAME_FMT "'", kv->key);
        kv->type = (LsGgufType)t;
        if (gguf_read_value(c, kv)) return LS_ERR;
    }
    g->kv_sorted = ls_malloc((g->n_kv ? g->n_kv : 1) * sizeof *g->kv_sorted);
    for (size_t i = 0; i < g->n_kv; i++)
        g->kv_sorted[i] = &g->kv[i];
    qsort(g->kv_sorted, g->n_kv, sizeof *g->kv_sorted, cmp_kv_ptr);
    for (size_t i = 1; i < g->n_kv; i++)
        if (strcmp(g->kv_sorted[i - 1]->key, g->kv_sorted[i]->key) == 0) {
            const LsGgufKv *a = g->kv_sorted[i - 1], *b = g->kv_sorted[i];
            return ls_fail(c->e, "%s: metadata key '" GGUF_NAME_FMT "' at byte %zu is repeated at byte %zu",
                           c->fname, a->key, a->offset < b->offset ? a->offset : b->offset,
                           a->offset < b->offset ? b->offset : a->offset);
        }
    return LS_OK;
}

static int gguf_read_alignment(LsGguf *g, LsError *e) {
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    const LsGgufKv *kv = ls_gguf_kv_find(g, "general.alignment");
    if (!kv) return LS_OK;
    if (kv->type != LS_GGUF_U32)
        return ls_fail(e, "%s: key 'general.alignment' at byte %zu: type %s, expected u32", g->path,
                       kv->offset, ls_gguf_type_name(kv->type));
    uint32_t a = (uint32_t)load_le(kv->value, 4);
    if (a == 0 || (a & (a - 1)) != 0)
        return ls_fail(e, "%s: key 'general.alignment' at byte %zu: %u is not a power of two", g->path,
                       kv->offset, a);
    g->alignment = a;
    return LS_OK;
}

/* ---- tensor infos --------------------------------------------------------- */

static int gguf_read_tensor_info(LsGguf *g, Cur *c, LsGgufTensor *t) {
    t->info_offset = c->pos;
    if (cur_name(c, "tensor name", (char **)&t->name)) return LS_ERR;
#define TFAIL(at, ...)                                                                                       \
    do {                                                                                                     \
        ls_fail(c->e, __VA_ARGS__);                                                                          \
        return ls_fail_prefix(c->e, "%s: tensor '" GGUF_NAME_FMT "' at byte %zu", c->fname, t->name,         \
                              (size_t)(at));                                                                 \
    } while (0)
    size_t at = c->pos;
    uint32_t nd;
    if (cur_u32(c, "n_dims", &nd)) return ls_fail_prefix(c->e, "tensor '" GGUF_NAME_FMT "'", t->name);
    if (nd < 1 || nd > 4) TFAIL(at, "n_dims = %u is outside 1..4", nd);
    t->n_dims = (int)nd;
    int64_t numel = 1;
    int overflow = 0;
    for (int d = 0; d < 4; d++)
        t->ne[d] = 1;
    for (uint32_t d = 0; d < nd; d++) {
        at = c->pos;
        uint64_t v;
        if (cur_u64(c, "dimension", &v)) return ls_fail_prefix(c->e, "tensor '" GGUF_NAME_FMT "'", t->name);
        if (v > (uint64_t)INT64_MAX)
            TFAIL(at, "ne[%u] = %llu is negative as int64", d, (unsigned long long)v);
        t->ne[d] = (int64_t)v;
        if (__builtin_mul_overflow(numel, t->ne[d], &numel)) overflow = 1;
    }
    at = c->pos;
    uint32_t ty;
    if (cur_u32(c, "tensor type", &ty)) return ls_fail_prefix(c->e, "tensor '" GGUF_NAME_FMT "'", t->name);
    size_t be = ls_ggml_block_elems(ty), bb = ls_ggml_block_bytes(ty);
    if (!be) TFAIL(at, "unknown ggml type id %u", ty);
    t->ggml_type = ty;
    if (overflow) TFAIL(t->info_offset, "the element count of its dims overflows int64");
    if (t->ne[0] % (int64_t)be != 0)
        TFAIL(t->info_offset, "ne[0] = %lld is not a multiple of the %s block size %zu", (long long)t->ne[0],
              ls_ggml_type_name(ty), be);
    size_t nbytes;
    if (ls_mul_size((size_t)numel / be, bb, &nbytes) != 0 || nbytes > (size_t)INT64_MAX)
        TFAIL(t->info_offset, "%lld elements of %s overflow the size of a tensor", (long long)numel,
              ls_ggml_type_name(ty));
    t->nbytes = nbytes;
    at = c->pos;
    if (cur_u64(c, "tensor offset", &t->offset))
        return ls_fail_prefix(c->e, "tensor '" GGUF_NAME_FMT "'", t->name);
    if (t->offset % g->alignment != 0)
        TFAIL(at, "data offset %llu is not a multiple of the alignment %zu", (unsigned long long)t->offset,
              g->alignment);
#undef TFAIL
    return LS_OK;
}

static int cmp_tensor_offset(const void *a, const void *b) {
    const LsGgufTensor *x = *(const LsGgufTensor *const *)a, *y = *(const LsGgufTensor *const *)b;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}

/* Spans inside the data section, no two overlapping; fills data pointers. */
static int gguf_place_tensors(LsGguf *g, LsError *e) {
    size_t data_len = g->len - g->data_start;
    const LsGgufTensor **by_off = ls_malloc((g->n_tensors ? g->n_tensors : 1) * sizeof *by_off);
    for (size_t i = 0; i < g->n_tensors; i++)
        by_off[i] = &g->tensors[i];
    qsort(by_off, g->n_tensors, sizeof *by_off, cmp_tensor_offset);
    int rc = LS_OK;
    for (size_t i = 0; i < g->n_tensors && rc == LS_OK; i++) {
        const LsGgufTensor *t = by_off[i];
        if (t->offset > data_len || t->nbytes > data_len - t->offset)
            rc = ls_fail(e,
                         "%s: tensor '" GGUF_NAME_FMT
                         "' at byte %zu: truncated: data [%llu, +%zu) runs past the "
                         "end of the data section at byte %zu (%zu bytes)",
                         g->path, t->name, t->info_offset, (unsigned long long)t->offset, t->nbytes,
                         g->data_start, data_len);
        else if (i > 0 && by_off[i - 1]->offset + by_off[i - 1]->nbytes > t->offset)
            rc = ls_fail(e,
                         "%s: tensor '" GGUF_NAME_FMT
                         "' at byte %zu: data [%llu, +%zu) overlaps tensor '" GGUF_NAME_FMT "' [%llu, +%zu)",
                         g->path, t->name, t->info_offset, (unsigned long long)t->offset, t->nbytes,
                         by_off[i - 1]->name, (unsigned long long)by_off[i - 1]->offset,
                         by_off[i - 1]->nbytes);
    }
    free(by_off);
    for (size_t i = 0; i < g->n_tensors && rc == LS_OK; i++) {
        LsGgufTensor *t = &g->tensors[i];
        t->file_offset = g->data_start + (size_t)t->offset;
        t->data = g->buf + t->file_offset;
    }
    return rc;
}

static int gguf_read_tensors(LsGguf *g, Cur *c) {
    for (size_t i = 0; i < g->n_tensors; i++)
        if (gguf_read_tensor_info(g, c, &g->tensors[i])) return LS_ERR;
    g->tensors_sorted = ls_malloc((g->n_tensors ? g->n_tensors : 1) * sizeof *g->tensors_sorted);
    for (size_t i = 0; i < g->n_tensors; i++)
        g->tensors_sorted[i] = &g->tensors[i];
    qsort(g->tensors_sorted, g->n_tensors, sizeof *g->tensors_sorted, cmp_tensor_ptr);
    for (size_t i = 1; i < g->n_tensors; i++)
        if (strcmp(g->tensors_sorted[i - 1]->name, g->tensors_sorted[i]->name) == 0)
            return ls_fail(c->e, "%s: tensor name '" GGUF_NAME_FMT "' at byte %zu is also at byte %zu",
                           c->fname, g->tensors_sorted[i]->name, g->tensors_sorted[i]->info_offset,
                           g->tensors_sorted[i - 1]->info_offset);
    /* Data starts at the next multiple of the alignment. */
    size_t pad = (g->alignment - c->pos % g->alignment) % g->alignment;
    if (g->n_tensors == 0 && c->pos == c->len) pad = 0; /* metadata-only file without padding */
    if (pad > c->len - c->pos)
        return ls_fail(c->e, "%s: truncated at byte %zu: the data section starts at byte %zu (alignment %zu)",
                       c->fname, c->len, c->pos + pad, g->alignment);
    g->data_start = c->pos + pad;
    return gguf_place_tensors(g, c->e);
}

/* ---- parse / open --------------------------------------------------------- */

static int gguf_read_header(LsGguf *g, Cur *c) {
    if (c->len < 4 || memcmp(c->buf, "GGUF", 4) != 0)
        return ls_fail(c->e, "%s: not a GGUF file: the magic at byte 0 is not \"GGUF\"", c->fname);
    c->pos = 4;
    uint64_t nt, nkv;
    if (cur_u32(c, "version", &g->version)) return LS_ERR;
    if (g->version != 2 && g->version != 3)
        return ls_fail(c->e, "%s: version %u at byte 4 is not supported (expected 2 or 3)", c->fname,
                       g->version);
    if (cur_u64(c, "tensor count", &nt) || cur_u64(c, "metadata count", &nkv)) return LS_ERR;
    /* A tensor info takes at least 8+1+4+8+4+8 bytes, a key-value pair 8+1+4+1. */
    if (nt > (c->len - c->pos) / 33)
        return ls_fail(c->e, "%s: tensor count %llu at byte 8 cannot fit in the file (%zu bytes)", c->fname,
                       (unsigned long long)nt, c->len);
    if (nkv > (c->len - c->pos) / 14)
        return ls_fail(c->e, "%s: metadata count %llu at byte 16 cannot fit in the file (%zu bytes)",
                       c->fname, (unsigned long long)nkv, c->len);
    g->n_tensors = (size_t)nt;
    g->n_kv = (size_t)nkv;
    g->kv = ls_calloc(g->n_kv ? g->n_kv : 1, sizeof *g->kv);
    g->tensors = ls_calloc(g->n_tensors ? g->n_tensors : 1, sizeof *g->tensors);
    return LS_OK;
}

int ls_gguf_parse(LsGguf **out, const unsigned char *buf, size_t len, const char *fname, LsError *e) {
    *out = NULL;
    LsGguf *g = ls_calloc(1, sizeof *g);
    g->path = ls_strdup(fname);
    g->buf = buf;
    g->len = len;
    Cur c = {buf, len, 0, g->path, e};
    if (gguf_read_header(g, &c) || gguf_read_kvs(g, &c) || gguf_read_alignment(g, e) ||
        gguf_read_tensors(g, &c)) {
        ls_gguf_close(g);
        return LS_ERR;
    }
    *out = g;
    return LS_OK;
}

int ls_gguf_open(LsGguf **out, const char *path, LsError *e) {
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ls_fail(e, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ls_fail(e, "%s: not a regular file", path);
    }
    size_t len = (size_t)st.st_size;
    if (len == 0) {
        close(fd);
        return ls_fail(e, "%s: not a GGUF file: the file is empty", path);
    }
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    int err = errno;
    close(fd);
    if (p == MAP_FAILED) return ls_fail(e, "%s: mmap of %zu bytes failed: %s", path, len, strerror(err));
    if (ls_gguf_parse(out, p, len, path, e) != LS_OK) {
        munmap(p, len);
        return LS_ERR;
    }
    (*out)->map = p;
    (*out)->mut = p;
    return LS_OK;
}

void ls_gguf_close(LsGguf *g) {
    if (!g) return;
    for (size_t i = 0; i < g->n_kv; i++) {
        free((char *)g->kv[i].key);
        free(g->kv[i].strs);
    }
    for (size_t i = 0; i < g->n_tensors; i++)
        free((char *)g->tensors[i].name);
    free(g->kv);
    free(g->tensors);
    free(g->kv_sorted);
    free(g->tensors_sorted);
    if (g->map) munmap(g->map, g->len);
    free(g->path);
    free(g);
}

const char *ls_gguf_file(const LsGguf *g) {
    return g->path;
}
uint32_t ls_gguf_version(const LsGguf *g) {
    return g->version;
}
size_t ls_gguf_alignment(const LsGguf *g) {
    return g->alignment;
}
size_t ls_gguf_kv_count(const LsGguf *g) {
    return g->n_kv;
}
const LsGgufKv *ls_gguf_kv_at(const LsGguf *g, size_t i) {
    return i < g->n_kv ? &g->kv[i] : NULL;
}
size_t ls_gguf_tensor_count(const LsGguf *g) {
    return g->n_tensors;
}
const LsGgufTensor *ls_gguf_tensor_at(const LsGguf *g, size_t i) {
    return i < g->n_tensors ? &g->tensors[i] : NULL;
}

const LsGgufKv *ls_gguf_kv_find(const LsGguf *g, const char *key) {
    size_t lo = 0, hi = g->kv_sorted ? g->n_kv : 0;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(g->kv_sorted[mid]->key, key);
        if (c == 0) return g->kv_sorted[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const LsGgufTensor *ls_gguf_tensor_find(const LsGguf *g, const char *name) {
    size_t lo = 0, hi = g->tensors_sorted ? g->n_tensors : 0;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(g->tensors_sorted[mid]->name, name);
        if (c == 0) return g->tensors_sorted[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

void *ls_gguf_data_mut(LsGguf *g, const LsGgufTensor *t) {
    return g->mut ? g->mut + t->file_offset : NULL;
}

int ls_gguf_parse_writable(LsGguf **out, unsigned char *buf, size_t len, const char *fname, LsError *e) {
    if (ls_gguf_parse(out, buf, len, fname, e) != LS_OK) return LS_ERR;
    (*out)->mut = buf;
    return LS_OK;
}
