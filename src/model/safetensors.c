/* safetensors.c — safetensors files (single or sharded), mmapped read-only.
 *
 * On-disk format (https://github.com/huggingface/safetensors):
 *
 *   [0, 8)            u64 little-endian N = header length
 *   [8, 8+N)          UTF-8 JSON object: for each tensor
 *                       "name": {"dtype": "BF16", "shape": [d0, ...], "data_offsets": [begin, end]}
 *                     and optionally "__metadata__": {"key": "string", ...}
 *   [8+N, file_len)   data section; offsets are relative to its start
 *
 * The header is hostile until validated: every rule of ls_st_parse_header is
 * checked and every error names the file and a byte offset. Tensor data is
 * never copied and never read through typed pointers (it may be unaligned).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ls/json.h"
#include "ls/model.h"

#define LS_ST_MAX_HEADER ((size_t)100 * 1000 * 1000) /* 100 MB */
#define LS_ST_INDEX_MAX ((size_t)100 * 1000 * 1000)
#define LS_ST_NAME_FMT "%.200s" /* hostile names are cut in messages */

/* Valid safetensors dtypes that Qwen2 checkpoints do not use: rejected with a
 * message that says so (rather than "unknown"). */
static const char *const st_unsupported_dtypes[] = {
    "F64",  "I64",     "I32",     "I16",     "I8",      "U64",     "U32", "U16", "U8",
    "BOOL", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4",  "C64"};

static int st_dtype_parse(const char *s, LsDType *t) {
    if (strcmp(s, "F32") == 0)
        *t = LS_DT_F32;
    else if (strcmp(s, "F16") == 0)
        *t = LS_DT_F16;
    else if (strcmp(s, "BF16") == 0)
        *t = LS_DT_BF16;
    else
        return -1;
    return 0;
}

/* ---- header ------------------------------------------------------------- */

/* Byte offset (absolute, in the file) of "key": in the header text, for
 * messages; falls back to the header start. Only called on error paths. */
static size_t st_key_offset(const unsigned char *hdr, size_t hlen, const char *key) {
    size_t k = strlen(key);
    if (k + 2 > hlen) return 8;
    for (size_t i = 0; i + k + 2 <= hlen; i++) {
        if (hdr[i] != '"' || hdr[i + k + 1] != '"' || memcmp(hdr + i + 1, key, k) != 0) continue;
        size_t j = i + k + 2;
        while (j < hlen && (hdr[j] == ' ' || hdr[j] == '\t' || hdr[j] == '\n' || hdr[j] == '\r'))
            j++;
        if (j < hlen && hdr[j] == ':') return 8 + i;
    }
    return 8;
}

typedef struct {
    const char *name;
    LsDType dtype;
    int ndim;
    int64_t shape[LS_MAX_DIMS];
    size_t begin, end; /* relative to the data section */
} StEntry;

static int st_cmp_offset(const void *a, const void *b) {
    const StEntry *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int st_cmp_tensor_name(const void *a, const void *b) {
    const LsTensor *x = a, *y = b;
    return strcmp(x->name, y->name);
}

/* Formats shape as "[a,b,c]" into buf. */
static const char *st_shape_str(char *buf, size_t cap, const int64_t *shape, int ndim) {
    size_t o = 0;
    o += (size_t)snprintf(buf + o, cap - o, "[");
    for (int i = 0; i < ndim && o < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%lld", i ? "," : "", (long long)shape[i]);
    if (o < cap) snprintf(buf + o, cap - o, "]");
    return buf;
}

/* Validates one tensor entry `name: val` of the header hdr[0..hlen). */
static int st_parse_entry(const char *fname, const unsigned char *hdr, size_t hlen, const char *name,
                          json_t *val, StEntry *out, LsError *e) {
#define ENTRY_FAIL(...)                                                                                      \
    do {                                                                                                     \
        ls_fail(e, __VA_ARGS__);                                                                             \
        return ls_fail_prefix(e, "%s: header at byte %zu: tensor '" LS_ST_NAME_FMT "'", fname,               \
                              st_key_offset(hdr, hlen, name), name);                                         \
    } while (0)
    if (!json_is_object(val)) ENTRY_FAIL("entry is not a JSON object");
    const char *key;
    json_t *v;
    json_object_foreach(val, key, v) {
        if (strcmp(key, "dtype") != 0 && strcmp(key, "shape") != 0 && strcmp(key, "data_offsets") != 0)
            ENTRY_FAIL("unexpected key '" LS_ST_NAME_FMT "' (allowed: dtype, shape, data_offsets)", key);
    }
    json_t *jd = json_object_get(val, "dtype"), *js = json_object_get(val, "shape"),
           *jo = json_object_get(val, "data_offsets");
    if (!jd) ENTRY_FAIL("missing key 'dtype'");
    if (!js) ENTRY_FAIL("missing key 'shape'");
    if (!jo) ENTRY_FAIL("missing key 'data_offsets'");

    /* dtype */
    if (!json_is_string(jd)) ENTRY_FAIL("'dtype' is not a string");
    const char *ds = json_string_value(jd);
    if (st_dtype_parse(ds, &out->dtype) != 0) {
        for (size_t i = 0; i < LS_ARRAY_LEN(st_unsupported_dtypes); i++)
            if (strcmp(ds, st_unsupported_dtypes[i]) == 0)
                ENTRY_FAIL("dtype '%s' is not supported (only F32, F16, BF16)", ds);
        ENTRY_FAIL("unknown dtype '" LS_ST_NAME_FMT "' (expected F32, F16 or BF16)", ds);
    }

    /* shape: at most LS_MAX_DIMS non-negative integers */
    if (!json_is_array(js)) ENTRY_FAIL("'shape' is not an array");
    size_t nd = json_array_size(js);
    if (nd > LS_MAX_DIMS) ENTRY_FAIL("shape has %zu dims, more than %d", nd, LS_MAX_DIMS);
    out->ndim = (int)nd;
    size_t numel = 1;
    int overflow = 0;
    for (size_t i = 0; i < nd; i++) {
        json_t *d = json_array_get(js, i);
        if (!json_is_integer(d)) ENTRY_FAIL("shape[%zu] is not an integer", i);
        json_int_t x = json_integer_value(d);
        if (x < 0) ENTRY_FAIL("shape[%zu] = %lld is negative", i, (long long)x);
        out->shape[i] = (int64_t)x;
        if (ls_mul_size(numel, (size_t)x, &numel) != 0) overflow = 1;
    }
    for (size_t i = nd; i < LS_MAX_DIMS; i++)
        out->shape[i] = 0;
    size_t nbytes = 0;
    if (!overflow && ls_mul_size(numel, ls_dtype_size(out->dtype), &nbytes) != 0) overflow = 1;
    char sb[128];
    st_shape_str(sb, sizeof sb, out->shape, out->ndim);
    if (overflow) ENTRY_FAIL("shape %s x %s overflows the size of a tensor", sb, ds);

    /* data_offsets: [begin, end], 0 <= begin <= end */
    if (!json_is_array(jo) || json_array_size(jo) != 2)
        ENTRY_FAIL("'data_offsets' is not an array of two integers");
    json_t *jb = json_array_get(jo, 0), *je = json_array_get(jo, 1);
    if (!json_is_integer(jb) || !json_is_integer(je))
        ENTRY_FAIL("'data_offsets' is not an array of two integers");
    json_int_t b = json_integer_value(jb), en = json_integer_value(je);
    if (b < 0 || en < 0) ENTRY_FAIL("data_offsets [%lld, %lld] are negative", (long long)b, (long long)en);
    if (b > en) ENTRY_FAIL("data_offsets [%lld, %lld] end before they begin", (long long)b, (long long)en);
    out->begin = (size_t)b;
    out->end = (size_t)en;
    if (out->end - out->begin != nbytes)
        ENTRY_FAIL("data_offsets [%zu, %zu] span %zu bytes but shape %s x %s = %zu bytes", out->begin,
                   out->end, out->end - out->begin, sb, ds, nbytes);
    out->name = name;
    return LS_OK;
#undef ENTRY_FAIL
}

int ls_st_parse_header(const unsigned char *buf, size_t len, size_t file_len, const char *fname,
                       LsStHeader *out, LsError *e) {
    memset(out, 0, sizeof *out);
    if (len > file_len)
        return ls_fail(e, "%s: buffer of %zu bytes is longer than the file (%zu)", fname, len, file_len);
    if (file_len < 8)
        return ls_fail(e, "%s: truncated: file is %zu bytes, shorter than the 8-byte header length at byte 0",
                       fname, file_len);
    if (len < 8) return ls_fail(e, "%s: only %zu bytes of the header length at byte 0 available", fname, len);
    uint64_t hlen64 = ls_load_u64le(buf);
    if (hlen64 > LS_ST_MAX_HEADER)
        return ls_fail(e, "%s: header length %llu at byte 0 is larger than the limit of %zu bytes", fname,
                       (unsigned long long)hlen64, LS_ST_MAX_HEADER);
    size_t hlen = (size_t)hlen64;
    if (hlen > file_len - 8)
        return ls_fail(e,
                       "%s: truncated: header length %zu at byte 0 runs past the end of the file (%zu bytes)",
                       fname, hlen, file_len);
    if (hlen > len - 8)
        return ls_fail(e, "%s: header of %zu bytes at byte 8 not fully available (%zu bytes given)", fname,
                       hlen, len);
    const unsigned char *hdr = buf + 8;
    size_t data_start = 8 + hlen, data_len = file_len - data_start;

    json_t *root;
    if (ls_json_parse_strict((const char *)hdr, hlen, fname, "header at ", 8, &root, e)) return LS_ERR;
    if (!json_is_object(root)) {
        json_decref(root);
        return ls_fail(e, "%s: header at byte 8: not a JSON object", fname);
    }

    size_t n_keys = json_object_size(root);
    StEntry *ent = ls_calloc(n_keys ? n_keys : 1, sizeof *ent);
    size_t n = 0, names_len = 0;
    const char *key;
    json_t *val;
    int rc = LS_OK;
    json_object_foreach(root, key, val) {
        if (strcmp(key, "__metadata__") == 0) {
            if (!json_is_object(val)) {
                rc = ls_fail(e, "%s: header at byte %zu: '__metadata__' is not an object", fname,
                             st_key_offset(hdr, hlen, key));
                goto done;
            }
            const char *mk;
            json_t *mv;
            json_object_foreach(val, mk, mv) {
                if (!json_is_string(mv)) {
                    rc = ls_fail(e,
                                 "%s: header at byte %zu: '__metadata__': value of '" LS_ST_NAME_FMT
                                 "' is not a string",
                                 fname, st_key_offset(hdr, hlen, mk), mk);
                    goto done;
                }
            }
            continue;
        }
        if (st_parse_entry(fname, hdr, hlen, key, val, &ent[n], e) != LS_OK) {
            rc = LS_ERR;
            goto done;
        }
        names_len += strlen(key) + 1;
        n++;
    }

    /* Spans in offset order must tile [0, data_len) exactly. */
    qsort(ent, n, sizeof *ent, st_cmp_offset);
    size_t expect = 0;
    for (size_t i = 0; i < n; i++) {
        if (ent[i].begin < expect) {
            rc = ls_fail(e,
                         "%s: header at byte %zu: tensor '" LS_ST_NAME_FMT
                         "': data_offsets [%zu, %zu] overlap "
                         "tensor '" LS_ST_NAME_FMT "' which ends at %zu",
                         fname, st_key_offset(hdr, hlen, ent[i].name), ent[i].name, ent[i].begin, ent[i].end,
                         ent[i - 1].name, expect);
            goto done;
        }
        if (ent[i].begin > expect) {
            rc = ls_fail(e,
                         "%s: header at byte %zu: tensor '" LS_ST_NAME_FMT
                         "': data_offsets [%zu, %zu] leave a gap "
                         "of %zu bytes after offset %zu",
                         fname, st_key_offset(hdr, hlen, ent[i].name), ent[i].name, ent[i].begin, ent[i].end,
                         ent[i].begin - expect, expect);
            goto done;
        }
        expect = ent[i].end;
    }
    if (expect != data_len) {
        rc =
            ls_fail(e,
                    "%s: data section at byte %zu: tensors cover %zu bytes but the data section is %zu bytes "
                    "(file is %zu bytes)",
                    fname, data_start, expect, data_len, file_len);
        goto done;
    }

    /* Output, sorted by name. */
    out->n = n;
    out->data_start = data_start;
    out->tensors = ls_calloc(n ? n : 1, sizeof *out->tensors);
    out->names = ls_malloc(names_len ? names_len : 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        LsTensor *t = &out->tensors[i];
        size_t k = strlen(ent[i].name) + 1;
        memcpy(out->names + o, ent[i].name, k);
        t->name = out->names + o;
        o += k;
        t->dtype = ent[i].dtype;
        t->ndim = ent[i].ndim;
        memcpy(t->shape, ent[i].shape, sizeof t->shape);
        t->nbytes = ent[i].end - ent[i].begin;
        t->file = fname;
        t->file_offset = data_start + ent[i].begin;
        t->data = (t->file_offset + t->nbytes <= len) ? (const void *)(buf + t->file_offset) : NULL;
    }
    qsort(out->tensors, n, sizeof *out->tensors, st_cmp_tensor_name);

done:
    free(ent);
    json_decref(root);
    if (rc != LS_OK) ls_st_header_free(out);
    return rc;
}

void ls_st_header_free(LsStHeader *h) {
    if (!h) return;
    free(h->tensors);
    free(h->names);
    memset(h, 0, sizeof *h);
}

/* ---- index -------------------------------------------------------------- */

static int st_cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct {
    char *tensor, *shard;
} StPair;

static int st_cmp_pair(const void *a, const void *b) {
    return strcmp(((const StPair *)a)->tensor, ((const StPair *)b)->tensor);
}

/* Shard names must be plain file names in the checkpoint folder. */
static const char *st_shard_name_problem(const char *s, size_t len) {
    if (len == 0) return "is empty";
    if (strlen(s) != len) return "contains a NUL byte";
    if (len > 255) return "is longer than 255 bytes";
    if (strchr(s, '/')) return "contains '/' (must be a plain file name)";
    if (strchr(s, '\\')) return "contains '\\' (must be a plain file name)";
    if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0) return "is '.' or '..' (must be a plain file name)";
    return NULL;
}

int ls_st_parse_index(const char *text, size_t len, const char *fname, LsStIndex *out, LsError *e) {
    memset(out, 0, sizeof *out);
    json_t *root;
    if (ls_json_parse_strict(text, len, fname, "", 0, &root, e)) return LS_ERR;
    int rc = LS_OK;
    StPair *pairs = NULL;
    if (!json_is_object(root)) {
        rc = ls_fail(e, "%s: not a JSON object", fname);
        goto done;
    }
    json_t *meta = json_object_get(root, "metadata");
    if (meta && !json_is_object(meta) && !json_is_null(meta)) {
        rc = ls_fail(e, "%s: 'metadata' is not an object", fname);
        goto done;
    }
    json_t *wm = json_object_get(root, "weight_map");
    if (!wm) {
        rc = ls_fail(e, "%s: missing key 'weight_map'", fname);
        goto done;
    }
    if (!json_is_object(wm)) {
        rc = ls_fail(e, "%s: 'weight_map' is not an object", fname);
        goto done;
    }
    size_t n = json_object_size(wm);
    if (n == 0) {
        rc = ls_fail(e, "%s: 'weight_map' is empty", fname);
        goto done;
    }
    out->tensor = ls_calloc(n, sizeof *out->tensor);
    out->shard = ls_calloc(n, sizeof *out->shard);
    const char *key;
    json_t *val;
    size_t i = 0;
    json_object_foreach(wm, key, val) {
        if (!json_is_string(val)) {
            rc = ls_fail(e, "%s: weight_map['" LS_ST_NAME_FMT "']: shard is not a string", fname, key);
            goto done;
        }
        const char *s = json_string_value(val);
        const char *why = st_shard_name_problem(s, json_string_length(val));
        if (why) {
            rc = ls_fail(e, "%s: weight_map['" LS_ST_NAME_FMT "']: shard name '" LS_ST_NAME_FMT "' %s", fname,
                         key, s, why);
            goto done;
        }
        out->tensor[i] = ls_strdup(key);
        out->shard[i] = ls_strdup(s);
        out->n = ++i;
    }

    /* Sort (tensor, shard) pairs by tensor name. */
    pairs = ls_malloc(n * sizeof *pairs);
    for (size_t a = 0; a < n; a++) {
        pairs[a].tensor = out->tensor[a];
        pairs[a].shard = out->shard[a];
    }
    qsort(pairs, n, sizeof *pairs, st_cmp_pair);
    for (size_t a = 0; a < n; a++) {
        out->tensor[a] = pairs[a].tensor;
        out->shard[a] = pairs[a].shard;
    }

    /* Distinct shard names, sorted. */
    char **sh = ls_malloc(n * sizeof *sh);
    memcpy(sh, out->shard, n * sizeof *sh);
    qsort(sh, n, sizeof *sh, st_cmp_str);
    size_t ns = 0;
    for (size_t a = 0; a < n; a++)
        if (ns == 0 || strcmp(sh[ns - 1], sh[a]) != 0) sh[ns++] = sh[a];
    out->shards = ls_malloc(ns * sizeof *out->shards);
    for (size_t a = 0; a < ns; a++)
        out->shards[a] = ls_strdup(sh[a]);
    out->n_shards = ns;
    free(sh);

done:
    free(pairs);
    json_decref(root);
    if (rc != LS_OK) ls_st_index_free(out);
    return rc;
}

void ls_st_index_free(LsStIndex *ix) {
    if (!ix) return;
    for (size_t i = 0; i < ix->n; i++) {
        if (ix->tensor) free(ix->tensor[i]);
        if (ix->shard) free(ix->shard[i]);
    }
    for (size_t i = 0; i < ix->n_shards; i++)
        free(ix->shards[i]);
    free(ix->tensor);
    free(ix->shard);
    free(ix->shards);
    memset(ix, 0, sizeof *ix);
}

/* ---- files -------------------------------------------------------------- */

typedef struct {
    char *path;
    void *map; /* NULL when len == 0 */
    size_t len;
    LsStHeader h;
} StFile;

struct LsSafetensors {
    StFile *files;
    size_t n_files;
    const LsTensor **by_name; /* [n], every tensor of every file, sorted by name */
    size_t n;
    void *owner; /* ls_st_adopt: what holds the tensors' data, released at close */
    void (*release)(void *owner);
};

static int st_file_open(StFile *f, const char *path, LsError *e) {
    memset(f, 0, sizeof *f);
    f->path = ls_strdup(path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ls_fail(e, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ls_fail(e, "%s: not a regular file", path);
    }
    f->len = (size_t)st.st_size;
    if (f->len > 0) {
        void *p = mmap(NULL, f->len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int err = errno;
            close(fd);
            return ls_fail(e, "%s: mmap of %zu bytes failed: %s", path, f->len, strerror(err));
        }
        f->map = p;
    }
    close(fd);
    static const unsigned char empty[1] = {0};
    const unsigned char *buf = f->map ? (const unsigned char *)f->map : empty;
    if (ls_st_parse_header(buf, f->len, f->len, f->path, &f->h, e) != LS_OK) return LS_ERR;
    for (size_t i = 0; i < f->h.n; i++)
        f->h.tensors[i].file = f->path; /* data set by the parser */
    return LS_OK;
}

static void st_file_close(StFile *f) {
    if (f->map) munmap(f->map, f->len);
    ls_st_header_free(&f->h);
    free(f->path);
    memset(f, 0, sizeof *f);
}

static int st_cmp_tensor_ptr(const void *a, const void *b) {
    const LsTensor *x = *(const LsTensor *const *)a, *y = *(const LsTensor *const *)b;
    return strcmp(x->name, y->name);
}

/* Builds the name-sorted table over all files; rejects a name in two files. */
static int st_build_table(LsSafetensors *st, LsError *e) {
    size_t n = 0;
    for (size_t i = 0; i < st->n_files; i++)
        n += st->files[i].h.n;
    st->by_name = ls_malloc((n ? n : 1) * sizeof *st->by_name);
    size_t k = 0;
    for (size_t i = 0; i < st->n_files; i++)
        for (size_t j = 0; j < st->files[i].h.n; j++)
            st->by_name[k++] = &st->files[i].h.tensors[j];
    qsort(st->by_name, n, sizeof *st->by_name, st_cmp_tensor_ptr);
    st->n = n;
    for (size_t i = 1; i < n; i++)
        if (strcmp(st->by_name[i - 1]->name, st->by_name[i]->name) == 0)
            return ls_fail(e, "%s: tensor '" LS_ST_NAME_FMT "' is also in %s", st->by_name[i]->file,
                           st->by_name[i]->name, st->by_name[i - 1]->file);
    return LS_OK;
}

int ls_st_open_file(LsSafetensors **out, const char *path, LsError *e) {
    *out = NULL;
    LsSafetensors *st = ls_calloc(1, sizeof *st);
    st->files = ls_calloc(1, sizeof *st->files);
    st->n_files = 1;
    if (st_file_open(&st->files[0], path, e) != LS_OK || st_build_table(st, e) != LS_OK) {
        ls_st_close(st);
        return LS_ERR;
    }
    *out = st;
    return LS_OK;
}

static int st_index_find(const LsStIndex *ix, const char *name) {
    size_t lo = 0, hi = ix->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(ix->tensor[mid], name);
        if (c == 0) return (int)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static int st_open_index(LsSafetensors **out, const char *dir, const char *ipath, LsError *e) {
    char *text = NULL;
    size_t len = 0;
    if (ls_read_file(ipath, LS_ST_INDEX_MAX, &text, &len, e) != LS_OK) return LS_ERR;
    LsStIndex ix;
    int rc = ls_st_parse_index(text, len, ipath, &ix, e);
    free(text);
    if (rc != LS_OK) return LS_ERR;

    LsSafetensors *st = ls_calloc(1, sizeof *st);
    st->files = ls_calloc(ix.n_shards, sizeof *st->files);
    for (size_t s = 0; s < ix.n_shards; s++) {
        char *p = ls_path_join(dir, ix.shards[s]);
        rc = st_file_open(&st->files[s], p, e);
        st->n_files = s + 1;
        free(p);
        if (rc != LS_OK) {
            ls_fail_prefix(e, "%s: shard '%s'", ipath, ix.shards[s]);
            goto fail;
        }
        /* Every tensor of this shard must be in the index, mapped to this shard. */
        const LsStHeader *h = &st->files[s].h;
        for (size_t j = 0; j < h->n; j++) {
            int k = st_index_find(&ix, h->tensors[j].name);
            if (k < 0) {
                rc = ls_fail(e, "%s: tensor '" LS_ST_NAME_FMT "' at byte %zu is not listed in %s",
                             st->files[s].path, h->tensors[j].name, h->tensors[j].file_offset, ipath);
                goto fail;
            }
            if (strcmp(ix.shard[k], ix.shards[s]) != 0) {
                rc = ls_fail(e, "%s: tensor '" LS_ST_NAME_FMT "' at byte %zu is mapped to shard '%s' by %s",
                             st->files[s].path, h->tensors[j].name, h->tensors[j].file_offset, ix.shard[k],
                             ipath);
                goto fail;
            }
        }
    }
    /* Every tensor of the index must be in its shard. */
    for (size_t k = 0; k < ix.n; k++) {
        size_t s = 0;
        while (s < ix.n_shards && strcmp(ix.shards[s], ix.shard[k]) != 0)
            s++;
        const LsStHeader *h = &st->files[s].h;
        size_t lo = 0, hi = h->n;
        int found = 0;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            int c = strcmp(h->tensors[mid].name, ix.tensor[k]);
            if (c == 0) {
                found = 1;
                break;
            }
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (!found) {
            rc = ls_fail(e,
                         "%s: tensor '" LS_ST_NAME_FMT "' is listed in shard '%s' but %s does not contain it",
                         ipath, ix.tensor[k], ix.shard[k], st->files[s].path);
            goto fail;
        }
    }
    if (st_build_table(st, e) != LS_OK) goto fail;
    ls_st_index_free(&ix);
    *out = st;
    return LS_OK;
fail:
    ls_st_index_free(&ix);
    ls_st_close(st);
    return LS_ERR;
}

int ls_st_open_dir(LsSafetensors **out, const char *dir, LsError *e) {
    *out = NULL;
    char *ipath = ls_path_join(dir, "model.safetensors.index.json");
    struct stat sb;
    int rc;
    if (stat(ipath, &sb) == 0) {
        rc = st_open_index(out, dir, ipath, e);
    } else {
        char *p = ls_path_join(dir, "model.safetensors");
        if (stat(p, &sb) != 0)
            rc = ls_fail(e, "%s: no model.safetensors or model.safetensors.index.json in this folder", dir);
        else
            rc = ls_st_open_file(out, p, e);
        free(p);
    }
    free(ipath);
    return rc;
}

const LsTensor *ls_st_find(const LsSafetensors *st, const char *name) {
    size_t lo = 0, hi = st->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(st->by_name[mid]->name, name);
        if (c == 0) return st->by_name[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

size_t ls_st_count(const LsSafetensors *st) {
    return st->n;
}

const LsTensor *ls_st_at(const LsSafetensors *st, size_t i) {
    return i < st->n ? st->by_name[i] : NULL;
}

int ls_st_adopt(LsSafetensors **out, const char *path, LsStHeader *h, void *owner, void (*release)(void *),
                LsError *e) {
    LsSafetensors *st = ls_calloc(1, sizeof *st);
    st->files = ls_calloc(1, sizeof *st->files);
    st->n_files = 1;
    st->files[0].path = ls_strdup(path);
    st->files[0].h = *h;
    memset(h, 0, sizeof *h);
    for (size_t i = 0; i < st->files[0].h.n; i++)
        st->files[0].h.tensors[i].file = st->files[0].path;
    st->owner = owner;
    st->release = release;
    if (st_build_table(st, e) != LS_OK) {
        ls_st_close(st);
        *out = NULL;
        return LS_ERR;
    }
    *out = st;
    return LS_OK;
}

void ls_st_close(LsSafetensors *st) {
    if (!st) return;
    if (st->release) st->release(st->owner);
    for (size_t i = 0; i < st->n_files; i++)
        st_file_close(&st->files[i]);
    free(st->files);
    free(st->by_name);
    free(st);
}
