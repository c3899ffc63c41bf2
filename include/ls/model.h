/* ls/model.h — Hugging Face checkpoints: config.json, safetensors (single file
 * or sharded with model.safetensors.index.json), and the decoder weight set (Qwen2, Llama, Qwen3, Gemma 3).
 *
 * Everything read from disk is hostile until validated: every error names the
 * file and the byte offset or JSON key. Tensor data stays in the mmapped files
 * (never copied, never read through typed pointers: it may be unaligned).
 */
#ifndef LS_MODEL_H
#define LS_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "ls/common.h"

/* Storage types of weights: the float types of safetensors, and the ggml
 * block-quantized types read from GGUF files (ls/quant.h: block sizes and
 * the dequantizers). */
typedef enum {
    LS_DT_F32 = 0,
    LS_DT_F16 = 1,
    LS_DT_BF16 = 2,
    LS_DT_Q8_0 = 3,
    LS_DT_Q4_0 = 4,
    LS_DT_Q4_1 = 5,
    LS_DT_Q5_0 = 6,
    LS_DT_Q5_1 = 7,
    LS_DT_Q4_K = 8,
    LS_DT_Q5_K = 9,
    LS_DT_Q6_K = 10,
} LsDType;
#define LS_DT_COUNT 11

/* Bytes per element of the float types; 0 for the block-quantized types
 * (use ls_dtype_block_bytes / ls_dtype_block_elems of ls/quant.h). */
size_t ls_dtype_size(LsDType t);
const char *ls_dtype_name(LsDType t);

#define LS_MAX_DIMS 4

/* One tensor as stored: row-major, shape[0] outermost. data points into an
 * mmapped file (possibly unaligned). */
typedef struct {
    const char *name; /* owned by the LsSafetensors it came from */
    LsDType dtype;
    int ndim;
    int64_t shape[LS_MAX_DIMS];
    const void *data;
    size_t nbytes;
    const char *file;   /* file it lives in, for messages */
    size_t file_offset; /* absolute byte offset of data in that file */
} LsTensor;

/* Parsed safetensors header (no data access). Used by the loader and the fuzzer. */
typedef struct {
    LsTensor *tensors; /* sorted by name */
    size_t n;
    size_t data_start; /* 8 + header length */
    char *names;       /* storage for tensor names */
} LsStHeader;

/* Parses and validates the header of a safetensors file held in buf[0..len)
 * (the whole file, or at least its header: data spans are checked against
 * file_len). Rules: header length <= 100 MB and inside the file; a JSON object
 * of valid UTF-8 without duplicate keys; each entry has a known dtype, a shape
 * of non-negative ints whose product x dtype size (overflow-checked) equals
 * its data_offsets span; spans sorted by offset, contiguous from 0,
 * non-overlapping and covering the data section exactly. "__metadata__" must
 * be an object of strings. fname is used in messages only. */
int ls_st_parse_header(const unsigned char *buf, size_t len, size_t file_len, const char *fname,
                       LsStHeader *out, LsError *e);
void ls_st_header_free(LsStHeader *h);

/* A checkpoint: one or more mmapped safetensors shards. */
typedef struct LsSafetensors LsSafetensors;

/* Opens dir/model.safetensors.index.json if present (shard names must be
 * plain file names, every tensor in exactly one shard, the shard's header
 * must agree with the index), else dir/model.safetensors. */
int ls_st_open_dir(LsSafetensors **out, const char *dir, LsError *e);
/* Opens one safetensors file. */
int ls_st_open_file(LsSafetensors **out, const char *path, LsError *e);
/* Serves tensors that another loader parsed (the GGUF reader): takes the
 * tensor table h (names, shapes, data pointers; h is emptied) and owner,
 * which holds the data and is released with release(owner) at ls_st_close
 * (also on failure). A name twice is an error naming path. */
int ls_st_adopt(LsSafetensors **out, const char *path, LsStHeader *h, void *owner, void (*release)(void *),
                LsError *e);
const LsTensor *ls_st_find(const LsSafetensors *st, const char *name);
size_t ls_st_count(const LsSafetensors *st);
const LsTensor *ls_st_at(const LsSafetensors *st, size_t i);
void ls_st_close(LsSafetensors *st);

/* Parses model.safetensors.index.json text: fills parallel arrays of tensor
 * names and shard file names (validated as described above). Used by the
 * loader and the fuzzer. */
typedef struct {
    size_t n;
    char **tensor; /* sorted by tensor name */
    char **shard;
    size_t n_shards;
    char **shards; /* distinct shard names, sorted */
} LsStIndex;
int ls_st_parse_index(const char *text, size_t len, const char *fname, LsStIndex *out, LsError *e);
void ls_st_index_free(LsStIndex *ix);

/* The decoder families the forward pass computes (src/forward/decoder.c), as
 * in transformers' modeling_<name>.py. */
typedef enum { LS_ARCH_QWEN2 = 0, LS_ARCH_LLAMA = 1, LS_ARCH_QWEN3 = 2, LS_ARCH_GEMMA3 = 3 } LsArch;
const char *ls_arch_name(LsArch a); /* "qwen2", "llama", "qwen3", "gemma3_text" */

typedef enum { LS_ACT_SILU = 0, LS_ACT_GELU_TANH = 1 } LsAct; /* silu; gelu_pytorch_tanh */

/* RoPE types of transformers' modeling_rope_utils.py that we compute. */
typedef enum { LS_ROPE_DEFAULT = 0, LS_ROPE_LINEAR = 1, LS_ROPE_LLAMA3 = 2, LS_ROPE_YARN = 3 } LsRopeType;
const char *ls_rope_type_name(LsRopeType t);

/* One RoPE setting (rope_parameters, or rope_theta + rope_scaling), with the
 * defaults transformers fills in (standardize_rope_params). Unused fields 0. */
typedef struct {
    LsRopeType type;
    double theta;                         /* rope_theta */
    double factor;                        /* linear / llama3 / yarn */
    double low_freq_factor;               /* llama3 */
    double high_freq_factor;              /* llama3 */
    int original_max_position_embeddings; /* llama3 / yarn (default max_position_embeddings) */
    double attention_factor;              /* yarn: cos/sin multiplier (derived when absent); else 1 */
    double beta_fast, beta_slow;          /* yarn (default 32, 1) */
    int truncate;                         /* yarn (default true) */
} LsRope;

/* config.json of a supported decoder (Qwen2, Llama, Qwen3, Gemma 3 text),
 * both spellings (rope_theta + rope_scaling, or rope_parameters; Gemma 3:
 * rope_local_base_freq + sliding_window_pattern, or per-layer-type
 * rope_parameters + layer_types). Anything our forward pass would compute
 * differently from transformers (other model types, MoE, vision towers,
 * activations, RoPE types) is rejected, naming the key. A loader of another
 * format (GGUF) fills the same fields: every field is plain data. */
typedef struct {
    LsArch arch;
    int hidden_size;         /* d */
    int intermediate_size;   /* f */
    int num_hidden_layers;   /* L */
    int num_attention_heads; /* H */
    int num_key_value_heads; /* Hkv */
    int head_dim;            /* hd (from config, else the architecture's default: d / H, Gemma 3 256) */
    int vocab_size;          /* V */
    int max_position_embeddings;
    float rms_norm_eps;
    double rope_theta; /* = rope.theta (full-attention layers) */
    int tie_word_embeddings;
    LsDType torch_dtype;
    int bos_token_id, eos_token_id; /* -1 if absent */
    char *model_type;
    char *text; /* the config.json text, recorded in the output file (another format: JSON of its own) */

    /* architecture switches (defaults from the family's Config class) */
    LsRope rope;       /* full-attention layers */
    LsRope rope_local; /* sliding-window layers (Gemma 3 rope_local_base_freq); = rope elsewhere */
    int qkv_bias;      /* q/k/v_proj have biases (Qwen2 always; attention_bias elsewhere) */
    int o_bias;        /* o_proj has a bias (attention_bias; Qwen2 never) */
    int mlp_bias;      /* gate/up/down_proj have biases (Llama mlp_bias) */
    int qk_norm;       /* per-head RMSNorm of q and k before RoPE (Qwen3, Gemma 3) */
    /* RMSNorm scales by (1 + w) (Gemma): the stored w + 1 at load. A loader whose norm weights
     * already hold 1 + w (llama.cpp's Gemma GGUF; transformers subtracts 1 reading them) keeps
     * them as they are and sets this 0 */
    int norm_plus_one;
    int sandwich_norms; /* Gemma 3: norms after attention and around the MLP (4 per layer) */
    LsAct hidden_act;   /* MLP gate activation */
    float embed_scale;  /* embeddings multiplied by this (fp32): 1, Gemma sqrt(hidden) */
    double attn_scale;  /* attention scores scale: head_dim^-0.5, Gemma query_pre_attn_scalar^-0.5 */
    double final_logit_softcapping; /* logits = c tanh(logits / c); 0 = none */
    int sliding_window;             /* keys within this many positions (incl. the query); 0 = none */
    unsigned char *layer_sliding;   /* [L] 1 = sliding_attention layer; NULL = all full attention */
} LsModelConfig;

int ls_config_parse(LsModelConfig *c, const char *text, size_t len, const char *fname, LsError *e);
/* Sets the switches that follow from c->arch and the shapes (hidden_size,
 * head_dim) as transformers' Config classes default them: biases, qk_norm,
 * Gemma's norms, hidden_act, embed_scale, attn_scale (Gemma:
 * query_pre_attn_scalar 256), tie_word_embeddings. ls_config_parse calls it
 * before reading the keys that override them; a loader of another format
 * (GGUF) fills arch and the shapes, calls it, then sets what its metadata
 * says (RoPE, sliding window, layer_sliding, soft-capping, ...). */
void ls_config_arch_defaults(LsModelConfig *c);
int ls_config_load(LsModelConfig *c, const char *path, LsError *e);
void ls_config_free(LsModelConfig *c);

/* Decoder weights (names as in transformers' *ForCausalLM state dicts).
 * Shapes (out, in) as nn.Linear stores them; absent ones NULL. */
typedef struct {
    const LsTensor *in_norm;       /* input_layernorm.weight [d] */
    const LsTensor *q_w, *q_b;     /* [H*hd, d], [H*hd] (bias: qkv_bias) */
    const LsTensor *k_w, *k_b;     /* [Hkv*hd, d], [Hkv*hd] */
    const LsTensor *v_w, *v_b;     /* [Hkv*hd, d], [Hkv*hd] */
    const LsTensor *q_norm;        /* self_attn.q_norm.weight [hd] (qk_norm) */
    const LsTensor *k_norm;        /* self_attn.k_norm.weight [hd] (qk_norm) */
    const LsTensor *o_w, *o_b;     /* [d, H*hd], [d] (bias: o_bias) */
    const LsTensor *post_norm;     /* post_attention_layernorm.weight [d] */
    const LsTensor *pre_ff_norm;   /* pre_feedforward_layernorm.weight [d] (sandwich_norms) */
    const LsTensor *post_ff_norm;  /* post_feedforward_layernorm.weight [d] (sandwich_norms) */
    const LsTensor *gate_w, *up_w; /* [f, d] */
    const LsTensor *gate_b, *up_b; /* [f] (mlp_bias) */
    const LsTensor *down_w;        /* [d, f] */
    const LsTensor *down_b;        /* [d] (mlp_bias) */
} LsLayerWeights;

typedef struct {
    char *dir;
    LsModelConfig cfg;
    LsSafetensors *st;
    const LsTensor *embed;      /* model.embed_tokens.weight [V, d] */
    const LsTensor *final_norm; /* model.norm.weight [d] */
    const LsTensor *lm_head;    /* lm_head.weight [V, d], = embed when tied */
    LsLayerWeights *layers;     /* [L] */
} LsModel;

/* The config of a model path, without reading weights: dir/config.json, or
 * the metadata of a .gguf file (ls/gguf.h). */
int ls_model_config_load(LsModelConfig *c, const char *path, LsError *e);

/* Loads dir/config.json and the safetensors (or a .gguf file: ls/gguf.h), and checks that every tensor the
 * architecture needs is present with the expected shape and a float dtype. */
int ls_model_open(LsModel *m, const char *dir, LsError *e);
void ls_model_close(LsModel *m);

/* Converts n consecutive elements starting at element off to fp32 (any
 * stored dtype; quantized types are dequantized as ggml does, fastest when
 * off and n are on block boundaries — a whole row is whole blocks). */
void ls_tensor_to_f32(const LsTensor *t, size_t off, size_t n, float *out);

/* Reads element i of a weight tensor as fp32 (any stored dtype). */
static inline float ls_tensor_get(const LsTensor *t, size_t i) {
    const unsigned char *p = (const unsigned char *)t->data;
    switch (t->dtype) {
    case LS_DT_BF16:
        return ls_bf16_to_f32(ls_load_u16(p + 2 * i));
    case LS_DT_F16:
        return ls_f16_to_f32(ls_load_u16(p + 2 * i));
    case LS_DT_F32:
        return ls_load_f32(p + 4 * i);
    default: {
        float v;
        ls_tensor_to_f32(t, i, 1, &v);
        return v;
    }
    }
}

/* ---- random-weight checkpoints (src/model/tiny_model.c) -------------------
 * A valid Qwen2 checkpoint with random weights, for tests and benchmarks that
 * must not depend on downloaded models: config.json with the keys
 * transformers' Qwen2Config writes (format of transformers 5.23) and one
 * model.safetensors laid out as the reference writer does (header padded with
 * spaces to a multiple of 8, tensors sorted by name, data contiguous in that
 * order). Deterministic for a seed: tensor `name` draws from its own stream,
 * splitmix64 seeded with seed ^ FNV-1a-64(name), turned into N(0,1) by
 * Box–Muller (u in (0,1] from the top 53 bits), scaled as
 * tests/oracle/make_fixtures.py's randomise(): norms 1 + 0.2 z, biases 0.3 z,
 * embedding / lm_head 1.0 z, other matrices 1.5 z / sqrt(in), then rounded to
 * the storage dtype (round-to-nearest-even). */
typedef struct {
    int layers, hidden, heads, kv_heads;
    int head_dim; /* 0 = hidden / heads (and no head_dim key in config.json) */
    int intermediate;
    int vocab;   /* 0 = 151936 with a tokenizer, else 1024 */
    int max_pos; /* max_position_embeddings */
    double rope_theta;
    double rms_norm_eps;
    int tie; /* tie_word_embeddings */
    LsDType dtype;
    uint64_t seed;
    const char *tokenizer_dir; /* copy tokenizer.json (+ tokenizer_config.json) from here; NULL = none */
    int force;                 /* replace an existing checkpoint folder that this writer made */
} LsTinySpec;

/* Defaults: 2 layers, hidden 64, 4 heads, 2 KV heads, intermediate 128, bf16,
 * untied, rope_theta 1e6, rms_norm_eps 1e-6, max_pos 32768, seed 0. */
void ls_tiny_spec_default(LsTinySpec *s);
/* Validates the spec (messages name the option: "--heads 3 does not divide
 * --hidden 64 ..."); fills s->vocab when 0. Reads the tokenizer when given. */
int ls_tiny_spec_check(LsTinySpec *s, LsError *e);
/* Writes the checkpoint to out_dir atomically: everything is written into a
 * temporary sibling folder, fsynced, opened with ls_model_open as a check,
 * then renamed to out_dir, so an interrupted run leaves no partial
 * checkpoint. Every checkpoint holds a marker file, .logits-study-tiny-model;
 * out_dir may be absent or empty; a non-empty out_dir is replaced only with
 * s->force and only if it holds that marker (a folder this function wrote). */
int ls_tiny_model_write(const char *out_dir, const LsTinySpec *s, LsError *e);

#endif
