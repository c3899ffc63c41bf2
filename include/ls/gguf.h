/* ls/gguf.h — GGUF files (llama.cpp's format, versions 2 and 3), mmapped.
 *
 * Layout (all little-endian; strings are u64 length + bytes, no NUL):
 *   "GGUF" u32 version, u64 n_tensors, u64 n_kv
 *   n_kv x   { string key, u32 type, value }    (array: u32 elem type, u64 n, n values)
 *   n_tensors x { string name, u32 n_dims, n_dims x u64 ne, u32 ggml type, u64 offset }
 *   padding to general.alignment (u32, default 32), then the data section;
 *   tensor offsets are relative to it.
 *
 * Everything is hostile until validated; each error names the file and the
 * byte offset of the field at fault. Tensor data is never copied and never
 * read through typed pointers (it may be unaligned).
 */
#ifndef LS_GGUF_H
#define LS_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "ls/common.h"
#include "ls/model.h"

/* Metadata value types (ids as stored). */
typedef enum {
    LS_GGUF_U8 = 0,
    LS_GGUF_I8 = 1,
    LS_GGUF_U16 = 2,
    LS_GGUF_I16 = 3,
    LS_GGUF_U32 = 4,
    LS_GGUF_I32 = 5,
    LS_GGUF_F32 = 6,
    LS_GGUF_BOOL = 7,
    LS_GGUF_STRING = 8,
    LS_GGUF_ARRAY = 9,
    LS_GGUF_U64 = 10,
    LS_GGUF_I64 = 11,
    LS_GGUF_F64 = 12,
} LsGgufType;

const char *ls_gguf_type_name(LsGgufType t);

/* A string inside the file: not NUL-terminated, valid for the file's lifetime. */
typedef struct {
    const char *s;
    size_t len;
} LsGgufStr;

/* One metadata key-value pair. */
typedef struct {
    const char *key;            /* NUL-terminated copy */
    LsGgufType type;            /* LS_GGUF_ARRAY for arrays */
    LsGgufType elem_type;       /* arrays: element type; else = type */
    uint64_t n;                 /* arrays: element count; else 1 */
    size_t offset;              /* byte offset of the key in the file (messages) */
    const unsigned char *value; /* first value byte (for arrays: first element) */
    LsGgufStr *strs;            /* strings and arrays of strings: [n] views, else NULL */
} LsGgufKv;

/* One tensor as stored. ne[0] is the innermost (contiguous) dimension, as in
 * ggml; the row-major shape is ne reversed. */
typedef struct {
    const char *name; /* NUL-terminated copy */
    uint32_t ggml_type;
    int n_dims;
    int64_t ne[4];      /* unused dims are 1 */
    uint64_t offset;    /* relative to the data section */
    size_t info_offset; /* byte offset of the tensor's info (name) in the file */
    size_t file_offset; /* absolute byte offset of the data */
    size_t nbytes;
    const void *data; /* NULL when the buffer parsed does not hold it */
} LsGgufTensor;

typedef struct LsGguf LsGguf;

/* Parses and validates a GGUF file held in buf[0..len) (not copied; must
 * outlive the result). Rules: magic, version 2 or 3; counts bounded by the
 * file size; string lengths inside the file and key strings valid UTF-8 and
 * unique; value / element type ids known, arrays not nested, bools 0 or 1;
 * general.alignment a u32 power of two; n_dims in 1..4, each ne >= 0, the
 * product (and x bytes per block) overflow-checked, ne[0] a multiple of the
 * type's block size; ggml type ids known; tensor names unique; offsets
 * multiples of the alignment, spans inside the data section and
 * non-overlapping. fname is used in messages only. */
int ls_gguf_parse(LsGguf **out, const unsigned char *buf, size_t len, const char *fname, LsError *e);
/* As ls_gguf_parse, for a writable buffer that ls_gguf_data_mut may patch
 * (the fuzzer: ls_gguf_weights on an in-memory file). */
int ls_gguf_parse_writable(LsGguf **out, unsigned char *buf, size_t len, const char *fname, LsError *e);
/* mmaps path (private, copy-on-write: ls_gguf_data_mut may patch it) and parses it. */
int ls_gguf_open(LsGguf **out, const char *path, LsError *e);
void ls_gguf_close(LsGguf *g);

const char *ls_gguf_file(const LsGguf *g);
uint32_t ls_gguf_version(const LsGguf *g);
size_t ls_gguf_alignment(const LsGguf *g);

/* ---- metadata ---------------------------------------------------------- */
size_t ls_gguf_kv_count(const LsGguf *g);
const LsGgufKv *ls_gguf_kv_at(const LsGguf *g, size_t i); /* in file order */
const LsGgufKv *ls_gguf_kv_find(const LsGguf *g, const char *key);

/* Typed getters. Return 1 when the key is present with a fitting type, 0 when
 * absent, LS_ERR (message: file, key, byte offset, found type) otherwise.
 *   str:   a STRING value (view into the file)
 *   int:   any integer type (a u64 above INT64_MAX is an error), not bool
 *   float: F32 or F64, or any integer type
 *   bool:  BOOL
 * The array getters take arrays whose elements fit as above; numeric arrays
 * are returned as heap copies (caller frees), string arrays as views
 * (valid for the file's lifetime). */
int ls_gguf_get_str(const LsGguf *g, const char *key, LsGgufStr *out, LsError *e);
int ls_gguf_get_int(const LsGguf *g, const char *key, int64_t *out, LsError *e);
int ls_gguf_get_float(const LsGguf *g, const char *key, double *out, LsError *e);
int ls_gguf_get_bool(const LsGguf *g, const char *key, int *out, LsError *e);
int ls_gguf_get_str_array(const LsGguf *g, const char *key, const LsGgufStr **items, size_t *n, LsError *e);
int ls_gguf_get_int_array(const LsGguf *g, const char *key, int64_t **items, size_t *n, LsError *e);
int ls_gguf_get_float_array(const LsGguf *g, const char *key, float **items, size_t *n, LsError *e);

/* The metadata as a JSON object text (heap, caller frees): scalars as JSON
 * values, strings as JSON strings, arrays of at most max_array elements as
 * JSON arrays, longer ones as {"type": "array", "element_type": T, "length": n}. */
char *ls_gguf_metadata_json(const LsGguf *g, size_t max_array);

/* ---- tensors ------------------------------------------------------------ */
size_t ls_gguf_tensor_count(const LsGguf *g);
const LsGgufTensor *ls_gguf_tensor_at(const LsGguf *g, size_t i); /* in file order */
const LsGgufTensor *ls_gguf_tensor_find(const LsGguf *g, const char *name);
/* Writable view of a tensor's bytes in an ls_gguf_open mapping (the pages
 * touched become private copies; the file is never written) or an
 * ls_gguf_parse_writable buffer. NULL for an ls_gguf_parse buffer. */
void *ls_gguf_data_mut(LsGguf *g, const LsGgufTensor *t);

/* ggml tensor types: name ("Q4_K"), or NULL for an unknown id; elements per
 * block and bytes per block (0 for an unknown id). */
const char *ls_ggml_type_name(uint32_t ggml_type);
size_t ls_ggml_block_elems(uint32_t ggml_type);
size_t ls_ggml_block_bytes(uint32_t ggml_type);

/* ---- models (src/model/gguf_model.c) ---------------------------------------
 * A GGUF file as a model checkpoint for the architectures qwen2, llama, qwen3
 * and gemma3. The metadata becomes the config.json that transformers derives
 * from it (integrations/ggml.py GGUF_TO_TRANSFORMERS_MAPPING), parsed by
 * ls_config_parse; ggml tensor names become transformers' names; and the
 * tensors get the transformations transformers applies when it loads a
 * GGUF: llama's Q/K rows un-permuted (whole stored rows, in the private
 * mapping), Gemma 3's norm weights minus 1 (llama.cpp stores 1 + w). */

/* 1 if path names a GGUF file (ends in ".gguf"). */
int ls_path_is_gguf(const char *path);

/* The transformers config.json (heap text) for the metadata of g. Keys read:
 * general.architecture, {arch}.block_count, .embedding_length,
 * .feed_forward_length, .attention.head_count(_kv), .attention.key_length /
 * .value_length (llama: .rope.dimension_count), .rope.freq_base,
 * .rope.scaling.type/.factor/.original_context_length,
 * .attention.layer_norm_rms_epsilon, .context_length,
 * .attention.sliding_window, .vocab_size (else the token list's length, else
 * token_embd's rows), tokenizer.ggml.bos/eos_token_id; tie_word_embeddings
 * when output.weight is absent. */
int ls_gguf_config_json(const LsGguf *g, char **out, LsError *e);

/* transformers' name of GGUF tensor gguf_name for arch ("blk.3.attn_q.weight"
 * -> "model.layers.3.self_attn.q_proj.weight"); *layer is the block number
 * (-1 outside blocks). Returns 0, or -1 when the name is not one of arch's. */
int ls_gguf_hf_name(const char *arch, const char *gguf_name, char *buf, size_t cap, int *layer);

/* The config of g: ls_gguf_config_json parsed by ls_config_parse (messages
 * name the file); cfg->text is the metadata itself as JSON (ls_gguf_metadata_json,
 * arrays over 64 elements summarised), what the output file records. */
int ls_gguf_config(const LsGguf *g, LsModelConfig *cfg, LsError *e);

/* The tensors of g under transformers' names (unknown names, blocks beyond
 * block_count and types without a dequantizer are errors), transformed as
 * transformers does, served by ls_st_find like a safetensors checkpoint.
 * Takes g (ls_gguf_open or ls_gguf_parse_writable), closed with *st, or
 * here on failure. */
int ls_gguf_weights(LsGguf *g, LsSafetensors **st, LsError *e);

/* Opens path: ls_gguf_config + ls_gguf_weights. */
int ls_gguf_model_load(const char *path, LsModelConfig *cfg, LsSafetensors **st, LsError *e);

#endif
