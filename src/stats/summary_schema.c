/* summary_schema.c — field lists and compound types of the /summary tables
 * (docs/hdf5-layout.md, ## /summary). */
#include "summary_schema.h"

#include "ls/h5io.h"
#include "ls/h5out.h"

#define FLD(T, f, k)                                                                                         \
    { #f, offsetof(T, f), k }

static const LsField GROUP_FIELDS[] = {
    FLD(LsSumGroup, model, LS_F_I16),
    FLD(LsSumGroup, word, LS_F_I16),
    FLD(LsSumGroup, group, LS_F_I8),
    FLD(LsSumGroup, n_samples, LS_F_I64),
    FLD(LsSumGroup, answer_tokens, LS_F_I64),
    FLD(LsSumGroup, occurrences, LS_F_I64),
    FLD(LsSumGroup, occurrences_aligned, LS_F_I64),
    FLD(LsSumGroup, per_1k, LS_F_F64),
    FLD(LsSumGroup, share_containing, LS_F_F64),
    FLD(LsSumGroup, logprob_mean, LS_F_F64),
    FLD(LsSumGroup, logprob_median, LS_F_F64),
    FLD(LsSumGroup, logprob_sd, LS_F_F64),
    FLD(LsSumGroup, logprob_ci_lo, LS_F_F64),
    FLD(LsSumGroup, logprob_ci_hi, LS_F_F64),
    FLD(LsSumGroup, logprob_reason, LS_F_I8),
    FLD(LsSumGroup, prob_mean, LS_F_F64),
    FLD(LsSumGroup, prob_median, LS_F_F64),
    FLD(LsSumGroup, prob_sd, LS_F_F64),
    FLD(LsSumGroup, prob_ci_lo, LS_F_F64),
    FLD(LsSumGroup, prob_ci_hi, LS_F_F64),
    FLD(LsSumGroup, prob_reason, LS_F_I8),
    FLD(LsSumGroup, propensity_mean, LS_F_F64),
    FLD(LsSumGroup, propensity_n, LS_F_I64),
    FLD(LsSumGroup, propensity_sample_mean, LS_F_F64),
    FLD(LsSumGroup, propensity_sample_median, LS_F_F64),
    FLD(LsSumGroup, propensity_sample_sd, LS_F_F64),
    FLD(LsSumGroup, propensity_ci_lo, LS_F_F64),
    FLD(LsSumGroup, propensity_ci_hi, LS_F_F64),
    FLD(LsSumGroup, propensity_reason, LS_F_I8),
    FLD(LsSumGroup, entropy_occ_mean, LS_F_F64),
    FLD(LsSumGroup, entropy_occ_ci_lo, LS_F_F64),
    FLD(LsSumGroup, entropy_occ_ci_hi, LS_F_F64),
    FLD(LsSumGroup, entropy_occ_reason, LS_F_I8),
    FLD(LsSumGroup, entropy_all_mean, LS_F_F64),
};

static const LsField CORRECT_FIELDS[] = {
    FLD(LsSumCorrect, model, LS_F_I16),          FLD(LsSumCorrect, word, LS_F_I16),
    FLD(LsSumCorrect, variable, LS_F_I8),        FLD(LsSumCorrect, n_correct, LS_F_I64),
    FLD(LsSumCorrect, n_incorrect, LS_F_I64),    FLD(LsSumCorrect, mean_correct, LS_F_F64),
    FLD(LsSumCorrect, mean_incorrect, LS_F_F64), FLD(LsSumCorrect, welch_t, LS_F_F64),
    FLD(LsSumCorrect, welch_df, LS_F_F64),       FLD(LsSumCorrect, welch_p, LS_F_F64),
    FLD(LsSumCorrect, welch_q, LS_F_F64),        FLD(LsSumCorrect, welch_reason, LS_F_I8),
    FLD(LsSumCorrect, mwu_u, LS_F_F64),          FLD(LsSumCorrect, mwu_p, LS_F_F64),
    FLD(LsSumCorrect, mwu_q, LS_F_F64),          FLD(LsSumCorrect, mwu_method, LS_F_I8),
    FLD(LsSumCorrect, mwu_reason, LS_F_I8),      FLD(LsSumCorrect, rank_biserial, LS_F_F64),
    FLD(LsSumCorrect, cohen_d, LS_F_F64),        FLD(LsSumCorrect, cohen_d_reason, LS_F_I8),
};

static const LsField LEVEL_FIELDS[] = {
    FLD(LsSumLevel, model, LS_F_I16),         FLD(LsSumLevel, word, LS_F_I16),
    FLD(LsSumLevel, variable, LS_F_I8),       FLD(LsSumLevel, n, LS_F_I64),
    FLD(LsSumLevel, n_by_level, LS_F_I64x5),  FLD(LsSumLevel, mean_by_level, LS_F_F64x5),
    FLD(LsSumLevel, spearman_rho, LS_F_F64),  FLD(LsSumLevel, spearman_p, LS_F_F64),
    FLD(LsSumLevel, spearman_q, LS_F_F64),    FLD(LsSumLevel, spearman_reason, LS_F_I8),
    FLD(LsSumLevel, kruskal_h, LS_F_F64),     FLD(LsSumLevel, kruskal_df, LS_F_F64),
    FLD(LsSumLevel, kruskal_p, LS_F_F64),     FLD(LsSumLevel, kruskal_q, LS_F_F64),
    FLD(LsSumLevel, kruskal_reason, LS_F_I8), FLD(LsSumLevel, kruskal_method, LS_F_I8),
};

static const LsField PAIR_FIELDS[] = {
    FLD(LsSumPair, model_a, LS_F_I16),        FLD(LsSumPair, model_b, LS_F_I16),
    FLD(LsSumPair, word, LS_F_I16),           FLD(LsSumPair, n_pairs, LS_F_I64),
    FLD(LsSumPair, mean_a, LS_F_F64),         FLD(LsSumPair, mean_b, LS_F_F64),
    FLD(LsSumPair, diff_mean, LS_F_F64),      FLD(LsSumPair, diff_median, LS_F_F64),
    FLD(LsSumPair, diff_sd, LS_F_F64),        FLD(LsSumPair, diff_ci_lo, LS_F_F64),
    FLD(LsSumPair, diff_ci_hi, LS_F_F64),     FLD(LsSumPair, diff_reason, LS_F_I8),
    FLD(LsSumPair, wilcoxon_w, LS_F_F64),     FLD(LsSumPair, wilcoxon_p, LS_F_F64),
    FLD(LsSumPair, wilcoxon_q, LS_F_F64),     FLD(LsSumPair, wilcoxon_method, LS_F_I8),
    FLD(LsSumPair, wilcoxon_reason, LS_F_I8), FLD(LsSumPair, wilcoxon_r, LS_F_F64),
};

static const LsField PRIMARY_FIELDS[] = {
    FLD(LsSumPrimary, model_a, LS_F_I16),     FLD(LsSumPrimary, model_b, LS_F_I16),
    FLD(LsSumPrimary, word, LS_F_I16),        FLD(LsSumPrimary, test, LS_F_I8),
    FLD(LsSumPrimary, n, LS_F_I64),           FLD(LsSumPrimary, n_clusters, LS_F_I64),
    FLD(LsSumPrimary, estimate, LS_F_F64),    FLD(LsSumPrimary, se, LS_F_F64),
    FLD(LsSumPrimary, ci_lo, LS_F_F64),       FLD(LsSumPrimary, ci_hi, LS_F_F64),
    FLD(LsSumPrimary, ci_method, LS_F_I8),    FLD(LsSumPrimary, wald_lo, LS_F_F64),
    FLD(LsSumPrimary, wald_hi, LS_F_F64),     FLD(LsSumPrimary, ratio, LS_F_F64),
    FLD(LsSumPrimary, ratio_lo, LS_F_F64),    FLD(LsSumPrimary, ratio_hi, LS_F_F64),
    FLD(LsSumPrimary, geomean_a, LS_F_F64),   FLD(LsSumPrimary, geomean_b, LS_F_F64),
    FLD(LsSumPrimary, z, LS_F_F64),           FLD(LsSumPrimary, p_wald, LS_F_F64),
    FLD(LsSumPrimary, p, LS_F_F64),           FLD(LsSumPrimary, p_method, LS_F_I8),
    FLD(LsSumPrimary, p_resamples, LS_F_I64), FLD(LsSumPrimary, q, LS_F_F64),
    FLD(LsSumPrimary, reason, LS_F_I8),       FLD(LsSumPrimary, eligible, LS_F_I8),
};

static const LsField LENGTH_FIELDS[] = {
    FLD(LsSumLength, group, LS_F_I8),           FLD(LsSumLength, kept, LS_F_I64),
    FLD(LsSumLength, skipped, LS_F_I64),        FLD(LsSumLength, rate, LS_F_F64),
    FLD(LsSumLength, truncated, LS_F_I64),      FLD(LsSumLength, windowed, LS_F_I64),
    FLD(LsSumLength, truncated_rate, LS_F_F64), FLD(LsSumLength, windowed_rate, LS_F_F64),
};

#define TABLE(var, nm, T, F) const LsTable var = {nm, F, sizeof F / sizeof F[0], sizeof(T)}
TABLE(LS_TABLE_GROUPS, "groups", LsSumGroup, GROUP_FIELDS);
TABLE(LS_TABLE_CORRECT, "correctness", LsSumCorrect, CORRECT_FIELDS);
TABLE(LS_TABLE_LEVELS, "levels", LsSumLevel, LEVEL_FIELDS);
TABLE(LS_TABLE_PAIRS, "model_pairs", LsSumPair, PAIR_FIELDS);
TABLE(LS_TABLE_PRIMARY, "primary", LsSumPrimary, PRIMARY_FIELDS);
TABLE(LS_TABLE_LENGTH, "length_policy", LsSumLength, LENGTH_FIELDS);

static hid_t field_type(LsFieldKind k, int packed) {
    hsize_t five = 5;
    switch (k) {
    case LS_F_I8:
        return H5Tcopy(packed ? H5T_STD_I8LE : H5T_NATIVE_INT8);
    case LS_F_I16:
        return H5Tcopy(packed ? H5T_STD_I16LE : H5T_NATIVE_INT16);
    case LS_F_I64:
        return H5Tcopy(packed ? H5T_STD_I64LE : H5T_NATIVE_INT64);
    case LS_F_F64:
        return H5Tcopy(packed ? H5T_IEEE_F64LE : H5T_NATIVE_DOUBLE);
    case LS_F_I64x5:
        return H5Tarray_create2(packed ? H5T_STD_I64LE : H5T_NATIVE_INT64, 1, &five);
    case LS_F_F64x5:
        return H5Tarray_create2(packed ? H5T_IEEE_F64LE : H5T_NATIVE_DOUBLE, 1, &five);
    case LS_F_S32:
        return ls_h5_str_type(32);
    }
    return H5I_INVALID_HID;
}

hid_t ls_table_type(const LsTable *t, int packed) {
    hid_t c = H5Tcreate(H5T_COMPOUND, t->row_size);
    for (size_t i = 0; i < t->n_fields; i++) {
        hid_t ft = field_type(t->fields[i].kind, packed);
        H5Tinsert(c, t->fields[i].name, t->fields[i].offset, ft);
        H5Tclose(ft);
    }
    if (packed) H5Tpack(c);
    return c;
}

const char *ls_reduce_reason_name(int reason) {
    if (reason == LS_REDUCE_NO_FORMS) return "no_single_token_form";
    return ls_stats_reason_name((LsStatReason)reason);
}

const char *ls_reduce_group_name(int group) {
    static const char *const names[LS_GROUP_COUNT] = {"level1",  "level2",    "level3",  "level4", "level5",
                                                      "correct", "incorrect", "unknown", "all"};
    return group >= 0 && group < LS_GROUP_COUNT ? names[group] : "unknown_group";
}

const char *ls_reduce_variable_name(int variable) {
    return variable == LS_VAR_PROPENSITY ? "propensity"
           : variable == LS_VAR_OCC_PROB ? "occurrence_prob"
                                         : "unknown";
}

const char *ls_reduce_method_name(int method) {
    return ls_stats_method_name((LsStatMethod)method);
}

const char *ls_reduce_primary_name(int test) {
    static const char *const names[LS_PRIMARY_COUNT] = {"pair_effect", "level_trend", "correctness"};
    return test >= 0 && test < LS_PRIMARY_COUNT ? names[test] : "unknown";
}

int ls_table_write(LsH5 *h, hid_t g, const LsTable *t, const void *rows, size_t n, const char *desc,
                   LsError *e) {
    hid_t ft = ls_table_type(t, 1), mt = ls_table_type(t, 0);
    uint64_t dims[1] = {n};
    hid_t ds = ls_h5_dataset(h, g, t->name, ft, 1, dims, desc, "see docs/hdf5-layout.md", e);
    int rc = LS_OK;
    if (ds < 0) {
        rc = LS_ERR;
    } else {
        if (n) rc = LS_H5_CHECK(H5Dwrite(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows), ds, NULL, e);
        H5Dclose(ds);
    }
    H5Tclose(ft);
    H5Tclose(mt);
    return rc ? LS_ERR : LS_OK;
}
