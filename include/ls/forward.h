/* ls/forward.h — the decoder prefill (transformers' Qwen2, Llama, Qwen3 and
 * Gemma 3 *ForCausalLM up to the final norm; src/forward/decoder.c), written
 * once against the backend interface, with Megatron-style tensor parallelism
 * over an LsComm. */
#ifndef LS_FORWARD_H
#define LS_FORWARD_H

#include "ls/backend.h"
#include "ls/comm.h"
#include "ls/model.h"

/* Row-parallel sums in one order for every tp. o_proj and down_proj add
 * partial products over their input columns; added in another order (one
 * GEMM at tp = 1, per-rank GEMMs plus an all-reduce at tp > 1) they differ by
 * fp32 rounding, which 24+ layers amplify. Instead the input columns are cut
 * into LS_TP_SLICES canonical slices (slice j: heads [j H / S, (j+1) H / S),
 * intermediate columns [j f / S, (j+1) f / S)), each slice's product is a GEMM
 * of its own, and the products are added in one fixed balanced binary tree
 * over the slices. With tp dividing S (both powers of two) a rank holds a
 * whole subtree: it adds it locally and the TP group adds the ranks' subtrees
 * in the same tree (LsComm.allreduce_sum_tree_f32). The vocabulary is cut
 * into S canonical slices too (slice j: ids [j V / S, (j+1) V / S), a rank
 * holding slices [r S/tp, (r+1) S/tp)): the head's softmax partials are taken
 * per slice and merged in slice order (src/metrics), so the log-sum-exp does
 * not depend on tp either. tp = 1, 2 and 4 thus give bitwise the same
 * statistics on the CPU backend. The ordered sums are used when the backend
 * has linear_cols, the comm has allreduce_sum_tree_f32 and tp divides S;
 * otherwise (CUDA/NCCL, tp = 3, ...) one GEMM and a plain all-reduce, equal
 * to tp = 1 up to fp32 rounding. */
/* S = 4: tp = 1, 2, 4 bit-identical at a cost below run-to-run noise; 8 slices
 * (o_proj cut into 1-2 heads) were ~10% slower at tp = 1 on the CPU
 * (bench/tp_scaling, docs/parallelism.md) */
#define LS_TP_SLICES 4
#define LS_TP_SLICES_LOG2 2

/* Backend memory of one layer; the optional parts NULL where the config has
 * none. Norm weights of Gemma are stored as (1 + w). */
typedef struct {
    LsWeight qkv;        /* [(H + 2 Hkv) hd local, d] fused q/k/v (with bias when qkv_bias) */
    LsWeight o;          /* [d, H hd local] row-parallel */
    LsWeight gate_up;    /* [2 f local, d] fused gate/up (with bias when mlp_bias) */
    LsWeight down;       /* [d, f local] row-parallel */
    float *in_norm;      /* [d] */
    float *post_norm;    /* [d] */
    float *q_norm;       /* [hd] (qk_norm) */
    float *k_norm;       /* [hd] (qk_norm) */
    float *pre_ff_norm;  /* [d] (sandwich_norms) */
    float *post_ff_norm; /* [d] (sandwich_norms) */
    float *o_b, *down_b; /* [d] row-parallel biases, added after the all-reduce */
    int sliding;         /* sliding-window layer (Gemma 3): window and local RoPE */
} LsLayer;

/* RoPE of one layer type: the backend's rope with theta (inv_freq NULL), or
 * the inverse frequencies [hd / 2] of a scaled type in backend memory, with
 * cos/sin multiplied by attn_factor. */
typedef struct {
    double theta;
    float *inv_freq;
    float attn_factor;
} LsRopeTable;

typedef struct {
    const LsModel *model;
    LsBackend *be;
    LsComm *tp; /* NULL = no tensor parallelism */
    int tp_rank, tp_size;
    LsAttnShape attn; /* this rank's heads */
    size_t f_local;   /* intermediate columns held here */
    int64_t v0, nv;   /* vocab rows [v0, v0 + nv) held here (embedding and head) */
    LsWeight embed;   /* [nv, d] */
    LsWeight head;    /* [nv, d]; shares embed's storage when tied */
    int head_is_embed;
    float *final_norm;   /* [d] */
    LsLayer *layers;     /* [L] */
    LsRopeTable rope[2]; /* [0] full-attention layers, [1] sliding-window layers */
    size_t max_tokens;
    size_t head_rows; /* rows per head_partials call the backend sized for (0: src/metrics chooses) */
    /* activation arena, sized for max_tokens once */
    void *arena;
    float *x, *h, *qkv, *att, *gu, *act; /* backend memory */
    float *y;                            /* [T, d] Gemma's post-norm outputs (NULL elsewhere) */
    int32_t *ids_dev, *pos_dev, *seqoff_dev;
    /* row-parallel sums (above): ordered = 1 when in the fixed tree order;
     * nslices slices on this rank (S / tp), o_cut / down_cut / v_cut
     * [nslices + 1] their local column (vocab row) offsets, tree
     * [log2 nslices] scratch [max_tokens, d] */
    int ordered, nslices;
    size_t *o_cut, *down_cut, *v_cut;
    float *tree[LS_TP_SLICES_LOG2];
} LsForward;

/* Loads this rank's slices of the weights into the backend and sizes the
 * activation arena for batches of at most max_tokens tokens. */
int ls_forward_init(LsForward *f, const LsModel *m, LsBackend *be, LsComm *tp, size_t max_tokens, LsError *e);
/* Runs the decoder over a packed batch: nseq sequences, seq_off [nseq+1]
 * offsets into ids [T] (T = seq_off[nseq] <= max_tokens); each sequence
 * starts at position 0 and attends causally within itself only. On return
 * f->h [T, d] (backend memory) holds the final-norm hidden states. */
int ls_forward_batch(LsForward *f, const int32_t *ids, const int32_t *seq_off, int nseq, LsError *e);
void ls_forward_free(LsForward *f);

/* RoPE inverse frequencies inv [hd / 2] of r as transformers'
 * modeling_rope_utils.py computes them (default, linear, llama3, yarn), and
 * the factor its cos/sin are multiplied by (yarn's attention factor, else 1). */
void ls_rope_inv_freq(const LsRope *r, int hd, float *inv, float *attn_factor);

/* Model FLOPs of a prefill of T tokens in sequences of the given lengths
 * (2 per multiply-add; linear layers, attention scores/values and the head). */
double ls_forward_flops(const LsModelConfig *c, const int32_t *seq_off, int nseq);

#endif
