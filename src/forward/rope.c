/* rope.c — RoPE inverse frequencies of the scaled types, as transformers'
 * modeling_rope_utils.py computes them (fp32 tensors, Python-float bounds):
 * linear (_compute_linear_scaling_rope_parameters), llama3
 * (_compute_llama3_parameters) and yarn (_compute_yarn_parameters). */
#include <math.h>

#include "ls/forward.h"

/* base^(2i / dim) as torch computes `base ** (arange(0, dim, 2).float() / dim)` */
static float rope_pos_freq(double base, int i, int dim) {
    return (float)pow(base, (double)((float)(2 * i) / (float)dim));
}

static void rope_llama3(const LsRope *r, int dim, float *inv) {
    const double two_pi = 2.0 * M_PI, old = r->original_max_position_embeddings;
    const double low_wl = old / r->low_freq_factor, high_wl = old / r->high_freq_factor;
    const float factor = (float)r->factor;
    for (int i = 0; i < dim / 2; i++) {
        float f = 1.0f / rope_pos_freq(r->theta, i, dim);
        float wl = (float)(two_pi / f); /* wavelen = 2 pi / inv_freq */
        float g = wl > low_wl ? f / factor : f;
        if (!(wl < high_wl) && !(wl > low_wl)) { /* medium band: smooth between the two */
            float smooth =
                (float)((old / wl - r->low_freq_factor) / (r->high_freq_factor - r->low_freq_factor));
            g = (1.0f - smooth) * g / factor + smooth * g;
        }
        inv[i] = g;
    }
}

/* dimension whose wavelength makes num_rot rotations over max_pos positions */
static double yarn_correction_dim(double num_rot, int dim, double base, double max_pos) {
    return (dim * log(max_pos / (num_rot * 2 * M_PI))) / (2 * log(base));
}

static void rope_yarn(const LsRope *r, int dim, float *inv) {
    const double omp = r->original_max_position_embeddings;
    double low = yarn_correction_dim(r->beta_fast, dim, r->theta, omp);
    double high = yarn_correction_dim(r->beta_slow, dim, r->theta, omp);
    if (r->truncate) {
        low = floor(low);
        high = ceil(high);
    }
    low = low > 0 ? low : 0;
    high = high < dim - 1 ? high : dim - 1;
    if (low == high) high += 0.001; /* prevent singularity */
    const float factor = (float)r->factor;
    for (int i = 0; i < dim / 2; i++) {
        float pf = rope_pos_freq(r->theta, i, dim);
        float extra = 1.0f / pf, inter = 1.0f / (factor * pf);
        float ramp = (float)(((float)i - low) / (high - low));
        ramp = ramp < 0 ? 0 : ramp > 1 ? 1 : ramp;
        float ef = 1.0f - ramp; /* extrapolation share */
        inv[i] = inter * (1.0f - ef) + extra * ef;
    }
}

void ls_rope_inv_freq(const LsRope *r, int hd, float *inv, float *attn_factor) {
    *attn_factor = 1.0f;
    switch (r->type) {
    case LS_ROPE_LLAMA3:
        rope_llama3(r, hd, inv);
        return;
    case LS_ROPE_YARN:
        rope_yarn(r, hd, inv);
        *attn_factor = (float)r->attention_factor;
        return;
    default:
        for (int i = 0; i < hd / 2; i++)
            inv[i] = 1.0f / rope_pos_freq(r->theta, i, hd);
        if (r->type == LS_ROPE_LINEAR)
            for (int i = 0; i < hd / 2; i++)
                inv[i] /= (float)r->factor;
    }
}
