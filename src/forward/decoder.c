/* decoder.c — the decoder prefill of Qwen2, Llama, Qwen3 and Gemma 3 text,
 * mirroring transformers' modeling_{qwen2,llama,qwen3,gemma3}.py (*Model.forward)
 * line by line, written once against the backend interface. The families
 * differ by switches of LsModelConfig: biases, per-head q/k norms (Qwen3,
 * Gemma 3), RoPE type and base per layer type, sliding-window layers, Gemma's
 * (1 + w) norms (a weight transform at load), its four norms per layer, scaled
 * embeddings, GELU-tanh MLP, attention scale and soft-capping.
 * Tensor parallelism (Megatron): q/k/v and gate/up are column-parallel (heads
 * / intermediate split over the TP ranks), o_proj and down_proj row-parallel
 * followed by an all-reduce (their biases added once, after it); the
 * embedding is vocab-parallel (each rank looks up its vocab rows, then
 * all-reduce). The row-parallel sums are added in one fixed order whatever tp
 * (ls/forward.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ls/forward.h"
#include "ls/lens.h"

static int tp_allreduce(LsForward *f, float *buf, size_t n, LsError *e) {
    if (!f->tp || f->tp->size == 1) return LS_OK;
    if (f->tp->allreduce_sum_f32(f->tp, buf, n) != 0)
        return ls_fail(e, "tensor-parallel all-reduce of %zu floats failed", n);
    return LS_OK;
}

/* y [T, n] = x W^T summed over the TP group, W row-parallel ([n, k local]);
 * cut [nslices + 1]: the local column offsets of the canonical slices. */
static int row_parallel(LsForward *f, float *y, const float *x, const LsWeight *w, const size_t *cut,
                        size_t T, LsError *e) {
    LsBackend *be = f->be;
    const size_t n = w->n;
    if (!f->ordered) {
        be->linear(be, y, x, w, T, 0);
        return tp_allreduce(f, y, T * n, e);
    }
    /* the slices' products on a stack: after slice j, pairs of equal-sized
     * subtrees are merged (as many as trailing zero bits of j + 1) */
    float *slot[LS_TP_SLICES_LOG2 + 1];
    int depth = 0;
    for (int j = 0; j < f->nslices; j++) {
        slot[depth] = depth == 0 ? y : f->tree[depth - 1];
        be->linear_cols(be, slot[depth], x, w, T, cut[j], cut[j + 1]);
        depth++;
        for (int m = j + 1; m % 2 == 0; m /= 2, depth--)
            be->add(be, slot[depth - 2], slot[depth - 1], T * n);
    }
    if (f->tp && f->tp->size > 1 && f->tp->allreduce_sum_tree_f32(f->tp, y, T * n) != 0)
        return ls_fail(e, "tensor-parallel all-reduce (tree order) of %zu floats failed", T * n);
    return LS_OK;
}

/* A 1-D weight in backend memory; a norm weight of Gemma becomes (1 + w), as
 * Gemma3RMSNorm computes `1.0 + self.weight.float()` (fp32). */
static float *load_vec(LsForward *f, const LsTensor *t, int plus_one, LsError *e) {
    size_t n = (size_t)t->shape[0];
    float *host = ls_malloc(n * sizeof(float));
    ls_tensor_to_f32(t, 0, n, host);
    for (size_t i = 0; plus_one && i < n; i++)
        host[i] = 1.0f + host[i];
    float *dev = f->be->alloc(f->be, n * sizeof(float), e);
    if (dev) f->be->to_device(f->be, dev, host, n * sizeof(float));
    free(host);
    return dev;
}

/* Bytes of the activation arena for T tokens (SIZE_MAX when that overflows). */
static size_t arena_bytes(size_t T, size_t floats_per_token) {
    size_t floats, bytes;
    if (ls_mul_size(T, floats_per_token, &floats) || ls_mul_size(floats, sizeof(float), &bytes) ||
        ls_add_size(bytes, 3 * (T + 1) * sizeof(int32_t), &bytes))
        return SIZE_MAX;
    return bytes;
}

/* Stored bytes per element of a weight (quantized types: block bytes / block elements). */
static double stored_bytes_per_elem(const LsTensor *t) {
    double n = 1.0;
    for (int i = 0; i < t->ndim; i++)
        n *= (double)t->shape[i];
    return n > 0 ? (double)t->nbytes / n : 4.0;
}

/* What batches of this rank's slice of the model need of the backend. */
static LsBatchShape batch_shape(const LsForward *f, const LsModel *m, size_t qkvw) {
    const LsModelConfig *c = &m->cfg;
    const LsLayerWeights *w = &m->layers[0];
    const size_t d = (size_t)c->hidden_size, qrows = (size_t)f->attn.H * (size_t)f->attn.hd;
    size_t per_layer = d * (qkvw + qrows + 3 * f->f_local), k = d;
    if (qrows > k) k = qrows;
    if (f->f_local > k) k = f->f_local;
    int tied = m->lm_head == m->embed;
    size_t vocab = (size_t)f->nv * d * (tied ? 1 : 2);
    /* layer 0's storage types stand for every layer's (a GGUF may mix them) */
    double layer_bytes =
        (double)d *
        ((double)qkvw * stored_bytes_per_elem(w->q_w) + (double)qrows * stored_bytes_per_elem(w->o_w) +
         (double)f->f_local * (2.0 * stored_bytes_per_elem(w->gate_w) + stored_bytes_per_elem(w->down_w)));
    double vocab_bytes = (double)f->nv * (double)d *
                         (stored_bytes_per_elem(m->embed) + (tied ? 0.0 : stored_bytes_per_elem(m->lm_head)));
    return (LsBatchShape){.tokens = f->max_tokens,
                          .weight_elems = (size_t)c->num_hidden_layers * per_layer + vocab,
                          .weight_bytes = (size_t)((double)c->num_hidden_layers * layer_bytes + vocab_bytes),
                          .gemm_k = k,
                          .vocab = (size_t)f->nv,
                          .heads = f->attn.H,
                          .head_dim = f->attn.hd};
}

/* Backend memory for batches of T tokens: weights, the backend's scratch and the arena. */
static size_t batch_bytes(LsBackend *be, LsBatchShape s, size_t T, size_t arena_per_token) {
    s.tokens = T;
    size_t need = be->mem_needed(be, &s), arena = arena_bytes(T, arena_per_token);
    return ls_add_size(need, arena, &need) ? SIZE_MAX : need;
}

/* Refuses a batch_tokens whose buffers cannot fit in the backend's memory,
 * before anything is allocated, naming the largest batch_tokens that fits. */
static int check_batch_memory(LsForward *f, const LsBatchShape *s, size_t arena_per_token, LsError *e) {
    LsBackend *be = f->be;
    size_t avail = be->mem_available && be->mem_needed ? be->mem_available(be) : 0;
    if (!avail) return LS_OK; /* unknown: allocation failures still name the size */
    size_t need = batch_bytes(be, *s, s->tokens, arena_per_token);
    if (need <= avail) return LS_OK;
    const double GiB = 1073741824.0;
    size_t lo = 0, hi = s->tokens; /* largest T with batch_bytes(T) <= avail: in [lo, hi) */
    if (batch_bytes(be, *s, 1, arena_per_token) > avail)
        return ls_fail(e,
                       "the weights and buffers of one token need %.2f GiB of %s memory, %.2f GiB available: "
                       "the model does not fit (use more tensor-parallel ranks)",
                       (double)batch_bytes(be, *s, 1, arena_per_token) / GiB, be->name, (double)avail / GiB);
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (batch_bytes(be, *s, mid, arena_per_token) <= avail)
            lo = mid;
        else
            hi = mid;
    }
    return ls_fail(
        e,
        "batch_tokens=%zu needs %.2f GiB of %s memory, %.2f GiB available: the largest batch_tokens "
        "that fits is %zu",
        s->tokens, need == SIZE_MAX ? INFINITY : (double)need / GiB, be->name, (double)avail / GiB, lo);
}

/* The model's operations beyond Qwen2's must be ones the backend has. */
static int check_backend(const LsModel *m, const LsBackend *be, const LsAttnShape *a, LsError *e) {
    const LsModelConfig *c = &m->cfg;
    int sliding = 0;
    for (int l = 0; c->layer_sliding && l < c->num_hidden_layers; l++)
        sliding |= c->layer_sliding[l];
    const struct {
        int need, have;
        const char *what;
    } req[] = {
        {c->embed_scale != 1.0f, be->scale != NULL, "scaled embeddings"},
        {c->o_bias || c->mlp_bias, be->add_bias != NULL, "row-parallel biases"},
        {c->qk_norm, be->head_rmsnorm != NULL, "per-head q/k RMSNorm"},
        {c->hidden_act == LS_ACT_GELU_TANH, be->gelu_tanh_mul != NULL, "the GELU-tanh MLP"},
        {c->rope.type != LS_ROPE_DEFAULT || c->rope_local.type != LS_ROPE_DEFAULT, be->rope_freqs != NULL,
         "scaled RoPE"},
        {sliding && c->sliding_window > 0, (be->features & LS_FEAT_ATTN_WINDOW) != 0,
         "sliding-window attention"},
        {a->scale > 0, (be->features & LS_FEAT_ATTN_SCALE) != 0, "attention scaled by query_pre_attn_scalar"},
        {c->final_logit_softcapping > 0, (be->features & LS_FEAT_HEAD_SOFTCAP) != 0,
         "final logit soft-capping"},
    };
    for (size_t i = 0; i < LS_ARRAY_LEN(req); i++)
        if (req[i].need && !req[i].have)
            return ls_fail(e, "%s: the %s backend does not implement %s, which this %s model needs", m->dir,
                           be->name, req[i].what, ls_arch_name(c->arch));
    return LS_OK;
}

/* RoPE of one layer type: the backend's default rope from theta, or the
 * inverse frequencies of a scaled type (ls_rope_inv_freq) in backend memory. */
static int rope_table_init(LsForward *f, const LsRope *r, int hd, LsRopeTable *t, LsError *e) {
    t->theta = r->theta;
    t->attn_factor = 1.0f;
    if (r->type == LS_ROPE_DEFAULT) return LS_OK;
    size_t bytes = (size_t)(hd / 2) * sizeof(float);
    float *host = ls_malloc(bytes);
    ls_rope_inv_freq(r, hd, host, &t->attn_factor);
    t->inv_freq = f->be->alloc(f->be, bytes, e);
    if (t->inv_freq) f->be->to_device(f->be, t->inv_freq, host, bytes);
    free(host);
    return t->inv_freq ? LS_OK : LS_ERR;
}

/* One layer's weights: fused q/k/v and gate/up (column-parallel slices of this
 * rank), o_proj and down_proj (row-parallel, biases kept apart), the norms. */
static int layer_init(LsForward *f, int l, size_t q0, size_t kv0, LsError *e) {
    const LsModel *m = f->model;
    const LsModelConfig *c = &m->cfg;
    LsBackend *be = f->be;
    const LsLayerWeights *w = &m->layers[l];
    LsLayer *L = &f->layers[l];
    const LsAttnShape *a = &f->attn;
    const size_t d = (size_t)c->hidden_size, qrows = (size_t)a->H * a->hd, kvrows = (size_t)a->Hkv * a->hd;
    const size_t r0 = (size_t)f->tp_rank * f->f_local;
    const int p1 = c->norm_plus_one;
    LsWeightSlice qkv[3] = {
        {w->q_w, w->q_b, q0, qrows, 0, d},
        {w->k_w, w->k_b, kv0, kvrows, 0, d},
        {w->v_w, w->v_b, kv0, kvrows, 0, d},
    };
    LsWeightSlice o = {w->o_w, NULL, 0, d, q0, qrows};
    LsWeightSlice gu[2] = {
        {w->gate_w, w->gate_b, r0, f->f_local, 0, d},
        {w->up_w, w->up_b, r0, f->f_local, 0, d},
    };
    LsWeightSlice dn = {w->down_w, NULL, 0, d, r0, f->f_local};
    if (be->weight_load(be, &L->qkv, qkv, 3, e) || be->weight_load(be, &L->o, &o, 1, e) ||
        be->weight_load(be, &L->gate_up, gu, 2, e) || be->weight_load(be, &L->down, &dn, 1, e))
        return ls_fail_prefix(e, "%s: layer %d", m->dir, l);
    const struct {
        float **dst;
        const LsTensor *src;
        int plus_one;
    } vecs[] = {
        {&L->in_norm, w->in_norm, p1},
        {&L->post_norm, w->post_norm, p1},
        {&L->q_norm, w->q_norm, p1},
        {&L->k_norm, w->k_norm, p1},
        {&L->pre_ff_norm, w->pre_ff_norm, p1},
        {&L->post_ff_norm, w->post_ff_norm, p1},
        {&L->o_b, w->o_b, 0},
        {&L->down_b, w->down_b, 0},
    };
    for (size_t i = 0; i < LS_ARRAY_LEN(vecs); i++)
        if (vecs[i].src && !(*vecs[i].dst = load_vec(f, vecs[i].src, vecs[i].plus_one, e))) return LS_ERR;
    L->sliding = c->layer_sliding && c->layer_sliding[l] && c->sliding_window > 0;
    return LS_OK;
}

int ls_forward_init(LsForward *f, const LsModel *m, LsBackend *be, LsComm *tp, size_t max_tokens,
                    LsError *e) {
    memset(f, 0, sizeof *f);
    const LsModelConfig *c = &m->cfg;
    f->model = m;
    f->be = be;
    f->tp = tp;
    f->tp_rank = tp ? tp->rank : 0;
    f->tp_size = tp ? tp->size : 1;
    f->max_tokens = max_tokens;
    int P = f->tp_size, r = f->tp_rank;
    const int H = c->num_attention_heads, Hkv = c->num_key_value_heads, hd = c->head_dim;
    const size_t d = (size_t)c->hidden_size, fdim = (size_t)c->intermediate_size;
    if (hd > 1024 || hd % 2) return ls_fail(e, "%s: head_dim %d unsupported (even, <= 1024)", m->dir, hd);
    if (H % P) return ls_fail(e, "tp=%d does not divide num_attention_heads=%d", P, H);
    if (fdim % (size_t)P) return ls_fail(e, "tp=%d does not divide intermediate_size=%zu", P, fdim);
    if (!(c->embed_scale > 0) || !(c->attn_scale > 0))
        return ls_fail(e, "%s: embed_scale %g / attn_scale %g not set (ls_config_arch_defaults fills them)",
                       m->dir, (double)c->embed_scale, c->attn_scale);

    /* heads of this rank; KV heads split when divisible, else the ones its q heads read */
    LsAttnShape *a = &f->attn;
    a->hd = hd;
    a->H = H / P;
    a->q_head0 = r * a->H;
    a->group = H / Hkv;
    a->kv_head0 = a->q_head0 / a->group;
    a->Hkv = (a->q_head0 + a->H - 1) / a->group - a->kv_head0 + 1;
    /* 0 = the backend's 1 / sqrt(hd) (bit-compatible with the Qwen2 kernels) */
    a->scale = fabs(c->attn_scale * sqrt((double)hd) - 1.0) > 1e-12 ? (float)c->attn_scale : 0.0f;
    f->f_local = fdim / (size_t)P;
    if (check_backend(m, be, a, e)) return LS_ERR;

    /* canonical slices (ls/forward.h): this rank's are j in [r S/P, (r+1) S/P); slice j of n items
     * is [j n / S, (j+1) n / S), so the ranks' ranges are unions of slices */
    f->ordered = be->linear_cols && (P == 1 || tp->allreduce_sum_tree_f32) && LS_TP_SLICES % P == 0;
    f->nslices = f->ordered ? LS_TP_SLICES / P : 1;
    const int64_t S = (int64_t)f->nslices * P, V = c->vocab_size, j0 = (int64_t)r * f->nslices;
    f->v0 = j0 * V / S;
    f->nv = (j0 + f->nslices) * V / S - f->v0;
    f->o_cut = ls_malloc((size_t)(f->nslices + 1) * sizeof(size_t));
    f->down_cut = ls_malloc((size_t)(f->nslices + 1) * sizeof(size_t));
    f->v_cut = ls_malloc((size_t)(f->nslices + 1) * sizeof(size_t));
    for (int i = 0; i <= f->nslices; i++) {
        int64_t j = j0 + i;
        f->o_cut[i] = (size_t)(j * H / S - a->q_head0) * (size_t)hd;
        f->down_cut[i] = (size_t)(j * (int64_t)fdim / S) - (size_t)r * f->f_local;
        f->v_cut[i] = (size_t)(j * V / S - f->v0);
    }

    const size_t qrows = (size_t)a->H * hd, kvrows = (size_t)a->Hkv * hd;
    const size_t q0 = (size_t)a->q_head0 * hd, kv0 = (size_t)a->kv_head0 * hd;
    int ntree = 0; /* log2 nslices scratch buffers [T, d] for the slices' products */
    while ((1 << ntree) < f->nslices)
        ntree++;
    const size_t qkvw = qrows + 2 * kvrows, ny = c->sandwich_norms ? 1 : 0;
    const size_t arena_per_token = /* the activation arena's floats per token */
        (2 + ny + (size_t)ntree) * d + qkvw + qrows + 3 * f->f_local;
    LsBatchShape bs = batch_shape(f, m, qkvw);
    if (check_batch_memory(f, &bs, arena_per_token, e)) return ls_fail_prefix(e, "%s", m->dir);
    f->layers = ls_calloc((size_t)c->num_hidden_layers, sizeof(LsLayer));
    for (int l = 0; l < c->num_hidden_layers; l++)
        if (layer_init(f, l, q0, kv0, e)) return LS_ERR;
    if (rope_table_init(f, &c->rope, hd, &f->rope[0], e) ||
        rope_table_init(f, &c->rope_local, hd, &f->rope[1], e))
        return LS_ERR;
    LsWeightSlice emb = {m->embed, NULL, (size_t)f->v0, (size_t)f->nv, 0, d};
    if (be->weight_load(be, &f->embed, &emb, 1, e)) return LS_ERR;
    if (m->lm_head == m->embed) {
        f->head = f->embed;
        f->head_is_embed = 1;
    } else {
        LsWeightSlice hs = {m->lm_head, NULL, (size_t)f->v0, (size_t)f->nv, 0, d};
        if (be->weight_load(be, &f->head, &hs, 1, e)) return LS_ERR;
    }
    f->head.logit_softcap = (float)c->final_logit_softcapping;
    if (!(f->final_norm = load_vec(f, m->final_norm, c->norm_plus_one, e))) return LS_ERR;

    if (be->reserve && be->reserve(be, &bs, &f->head_rows, e)) return ls_fail_prefix(e, "%s", m->dir);
    /* activation arena: x, h [T, d]; qkv [T, (H+2Hkv) hd]; att [T, H hd]; gu [T, 2f]; act [T, f];
     * y [T, d] with sandwich norms */
    size_t T = max_tokens, bytes = arena_bytes(T, arena_per_token);
    if (bytes == SIZE_MAX) return ls_fail(e, "batch_tokens=%zu: activation arena size overflows", T);
    f->arena = be->alloc(be, bytes, e);
    if (!f->arena)
        return ls_fail_prefix(e, "batch_tokens=%zu needs %.1f MiB of activations; lower batch_tokens", T,
                              (double)bytes / 1048576.0);
    float *p = f->arena;
    f->x = p, p += T * d;
    f->h = p, p += T * d;
    f->qkv = p, p += T * qkvw;
    f->att = p, p += T * qrows;
    f->gu = p, p += T * 2 * f->f_local;
    f->act = p, p += T * f->f_local;
    f->y = ny ? p : NULL, p += T * d * ny;
    for (int i = 0; i < ntree; i++)
        f->tree[i] = p, p += T * d;
    int32_t *ip = (int32_t *)p;
    f->ids_dev = ip, ip += T + 1;
    f->pos_dev = ip, ip += T + 1;
    f->seqoff_dev = ip;
    return LS_OK;
}

/* q, k = apply_rotary_pos_emb(q, k, cos, sin) with the layer type's RoPE */
static void apply_rope(LsForward *f, const LsRopeTable *rt, size_t T) {
    LsBackend *be = f->be;
    const LsAttnShape *a = &f->attn;
    const size_t qkvw = (size_t)(a->H + 2 * a->Hkv) * a->hd;
    if (rt->inv_freq)
        be->rope_freqs(be, f->qkv, qkvw, f->pos_dev, T, a->H + a->Hkv, a->hd, rt->inv_freq, rt->attn_factor);
    else
        be->rope(be, f->qkv, qkvw, f->pos_dev, T, a->H + a->Hkv, a->hd, rt->theta);
}

/* out [T, d] = x W^T (+ b), W row-parallel: summed over the TP group, bias added once */
static int row_parallel_bias(LsForward *f, float *y, const float *x, const LsWeight *w, const float *b,
                             const size_t *cut, size_t T, LsError *e) {
    if (row_parallel(f, y, x, w, cut, T, e)) return LS_ERR;
    if (b) f->be->add_bias(f->be, y, b, T, w->n);
    return LS_OK;
}

/* hidden_states = residual + out, through Gemma's post-norm when it has one */
static void residual_add(LsForward *f, const float *post_norm, size_t T) {
    LsBackend *be = f->be;
    const LsModelConfig *c = &f->model->cfg;
    const size_t d = (size_t)c->hidden_size;
    if (!post_norm) {
        be->add(be, f->x, f->h, T * d);
        return;
    }
    be->rmsnorm(be, f->y, f->h, post_norm, T, d, c->rms_norm_eps);
    be->add(be, f->x, f->y, T * d);
}

/* The logit lens's rows of the residual stream x after depth k (0 = the
 * embeddings), copied to the host (ls/lens.h). */
static void lens_copy(LsForward *f, int k) {
    LsLensTap *t = f->lens;
    for (int i = 0; i < t->n; i++)
        f->be->to_host(f->be, t->resid + ((size_t)k * (size_t)t->n + (size_t)i) * t->d,
                       f->x + (size_t)t->rows[i] * t->d, t->d * sizeof(float));
}

/* One *DecoderLayer.forward: x [T, d] updated in place. */
static int decoder_layer(LsForward *f, const LsLayer *L, size_t T, int nseq, LsError *e) {
    LsBackend *be = f->be;
    const LsModelConfig *c = &f->model->cfg;
    const size_t d = (size_t)c->hidden_size;
    LsAttnShape a = f->attn;
    const size_t qkvw = (size_t)(a.H + 2 * a.Hkv) * a.hd;
    a.window = L->sliding ? c->sliding_window : 0;

    /* hidden_states = self.input_layernorm(hidden_states) */
    be->rmsnorm(be, f->h, f->x, L->in_norm, T, d, c->rms_norm_eps);
    /* q, k, v = q_proj(h), k_proj(h), v_proj(h)   qkv: [T, (H + 2 Hkv) hd] */
    be->linear(be, f->qkv, f->h, &L->qkv, T, 0);
    if (L->q_norm) { /* q = self.q_norm(q), k = self.k_norm(k), per head (Qwen3, Gemma 3) */
        be->head_rmsnorm(be, f->qkv, qkvw, T, a.H, a.hd, L->q_norm, c->rms_norm_eps);
        be->head_rmsnorm(be, f->qkv + (size_t)a.H * a.hd, qkvw, T, a.Hkv, a.hd, L->k_norm, c->rms_norm_eps);
    }
    /* q, k = apply_rotary_pos_emb(q, k, cos, sin)   (Gemma 3: the layer type's base) */
    apply_rope(f, &f->rope[L->sliding], T);
    /* attn_output = softmax(q k^T * scaling + causal / sliding mask) v   att: [T, H hd] */
    be->attention(be, f->att, f->qkv, qkvw, f->seqoff_dev, nseq, &a);
    /* hidden_states = o_proj(attn_output)   (row-parallel: partial sums, all-reduce) */
    if (row_parallel_bias(f, f->h, f->att, &L->o, L->o_b, f->o_cut, T, e)) return LS_ERR;
    /* (Gemma 3: hidden_states = self.post_attention_layernorm(hidden_states)); hidden_states += residual */
    residual_add(f, c->sandwich_norms ? L->post_norm : NULL, T);
    /* hidden_states = self.post_attention_layernorm (Gemma 3: pre_feedforward_layernorm)(hidden_states) */
    be->rmsnorm(be, f->h, f->x, c->sandwich_norms ? L->pre_ff_norm : L->post_norm, T, d, c->rms_norm_eps);
    /* mlp: down_proj(act_fn(gate_proj(h)) * up_proj(h)) */
    be->linear(be, f->gu, f->h, &L->gate_up, T, 0);
    if (c->hidden_act == LS_ACT_GELU_TANH)
        be->gelu_tanh_mul(be, f->act, f->gu, T, f->f_local);
    else
        be->swiglu(be, f->act, f->gu, T, f->f_local);
    if (row_parallel_bias(f, f->h, f->act, &L->down, L->down_b, f->down_cut, T, e)) return LS_ERR;
    /* (Gemma 3: hidden_states = self.post_feedforward_layernorm(hidden_states)); hidden_states += residual */
    residual_add(f, L->post_ff_norm, T);
    return LS_OK;
}

int ls_forward_batch(LsForward *f, const int32_t *ids, const int32_t *seq_off, int nseq, LsError *e) {
    LsBackend *be = f->be;
    const LsModelConfig *c = &f->model->cfg;
    const size_t d = (size_t)c->hidden_size, T = (size_t)seq_off[nseq];
    if (T > f->max_tokens)
        return ls_fail(e, "batch of %zu tokens exceeds batch_tokens=%zu", T, f->max_tokens);
    for (size_t t = 0; t < T; t++)
        if (ids[t] < 0 || ids[t] >= c->vocab_size)
            return ls_fail(e, "token id %d at position %zu is outside the vocabulary [0, %d)", ids[t], t,
                           c->vocab_size);
    int32_t *pos = ls_malloc((T + 1) * sizeof(int32_t));
    for (int s = 0; s < nseq; s++)
        for (int32_t t = seq_off[s]; t < seq_off[s + 1]; t++)
            pos[t] = t - seq_off[s];
    be->to_device(be, f->ids_dev, ids, T * sizeof(int32_t));
    be->to_device(be, f->pos_dev, pos, T * sizeof(int32_t));
    be->to_device(be, f->seqoff_dev, seq_off, (size_t)(nseq + 1) * sizeof(int32_t));
    free(pos);

    /* inputs_embeds = self.embed_tokens(input_ids)   x: [T, d]  (Gemma: * embed_scale, fp32) */
    be->embed(be, f->x, f->ids_dev, T, &f->embed, f->v0);
    if (tp_allreduce(f, f->x, T * d, e)) return LS_ERR;
    if (c->embed_scale != 1.0f) be->scale(be, f->x, T * d, c->embed_scale);
    if (f->lens) {
        for (int i = 0; i < f->lens->n; i++)
            if (f->lens->rows[i] < 0 || (size_t)f->lens->rows[i] >= T)
                return ls_fail(e, "logit lens row %d is outside the batch of %zu tokens", f->lens->rows[i],
                               T);
        lens_copy(f, 0);
    }

    for (int l = 0; l < c->num_hidden_layers; l++) {
        if (decoder_layer(f, &f->layers[l], T, nseq, e)) return LS_ERR;
        if (f->lens) lens_copy(f, l + 1);
    }
    /* hidden_states = self.norm(hidden_states) */
    be->rmsnorm(be, f->h, f->x, f->final_norm, T, d, c->rms_norm_eps);
    if (be->check && be->check(be, e)) return ls_fail_prefix(e, "batch of %zu tokens", T);
    return LS_OK;
}

void ls_forward_free(LsForward *f) {
    if (!f->be) return;
    LsBackend *be = f->be;
    if (f->layers) {
        for (int l = 0; l < f->model->cfg.num_hidden_layers; l++) {
            LsLayer *L = &f->layers[l];
            be->weight_free(be, &L->qkv);
            be->weight_free(be, &L->o);
            be->weight_free(be, &L->gate_up);
            be->weight_free(be, &L->down);
            float *vecs[] = {L->in_norm,     L->post_norm,    L->q_norm, L->k_norm,
                             L->pre_ff_norm, L->post_ff_norm, L->o_b,    L->down_b};
            for (size_t i = 0; i < LS_ARRAY_LEN(vecs); i++)
                if (vecs[i]) be->free(be, vecs[i]);
        }
        free(f->layers);
    }
    be->weight_free(be, &f->embed);
    if (!f->head_is_embed) be->weight_free(be, &f->head);
    if (f->final_norm) be->free(be, f->final_norm);
    for (int i = 0; i < 2; i++)
        if (f->rope[i].inv_freq) be->free(be, f->rope[i].inv_freq);
    if (f->arena) be->free(be, f->arena);
    free(f->o_cut);
    free(f->down_cut);
    free(f->v_cut);
    memset(f, 0, sizeof *f);
}

double ls_forward_flops(const LsModelConfig *c, const int32_t *seq_off, int nseq) {
    double T = seq_off[nseq], d = c->hidden_size, hd = c->head_dim;
    double H = c->num_attention_heads, Hkv = c->num_key_value_heads, fdim = c->intermediate_size;
    double per_tok = d * (H + 2 * Hkv) * hd + H * hd * d + 3 * d * fdim; /* multiply-adds per layer */
    /* causal: per sequence S(S+1)/2 query-key pairs; a sliding window of W keeps min(i + 1, W) for query i */
    double pairs = 0, pairs_win = 0, W = c->sliding_window;
    for (int s = 0; s < nseq; s++) {
        double S = seq_off[s + 1] - seq_off[s];
        pairs += S * (S + 1) / 2;
        pairs_win += S <= W ? S * (S + 1) / 2 : W * (W + 1) / 2 + (S - W) * W;
    }
    double attn = 0; /* score and value MACs per head, over the layers */
    for (int l = 0; l < c->num_hidden_layers; l++)
        attn += (c->layer_sliding && c->layer_sliding[l] && W > 0 ? pairs_win : pairs) * hd * H * 2;
    return 2.0 * (c->num_hidden_layers * T * per_tok + attn + T * d * c->vocab_size);
}
