/* ls/forward.h — the Qwen2 decoder prefill (transformers' Qwen2ForCausalLM
 * up to the final norm), written once against the backend interface, with
 * Megatron-style tensor parallelism over an LsComm. */
#ifndef LS_FORWARD_H
#define LS_FORWARD_H

#include "ls/backend.h"
#include "ls/comm.h"
#include "ls/model.h"

typedef struct {
    LsWeight qkv;     /* [(H + 2 Hkv) hd local, d] fused q/k/v with bias */
    LsWeight o;       /* [d, H hd local] row-parallel */
    LsWeight gate_up; /* [2 f local, d] fused gate/up */
    LsWeight down;    /* [d, f local] row-parallel */
    float *in_norm;   /* [d] */
    float *post_norm; /* [d] */
} LsLayer;

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
    float *final_norm; /* [d] */
    LsLayer *layers;   /* [L] */
    size_t max_tokens;
    /* activation arena, sized for max_tokens once */
    void *arena;
    float *x, *h, *qkv, *att, *gu, *act; /* backend memory */
    int32_t *ids_dev, *pos_dev, *seqoff_dev;
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

/* Model FLOPs of a prefill of T tokens in sequences of the given lengths
 * (2 per multiply-add; linear layers, attention scores/values and the head). */
double ls_forward_flops(const LsModelConfig *c, const int32_t *seq_off, int nseq);

#endif
