/* run_lens.c — the logit lens in a run (`lens: true`, ls/lens.h): per model,
 * lens_logprob and lens_entropy hold a row per row of the occurrence table.
 * A sample's occurrences come from its token ids alone (ls_find_occurrences
 * without log-probs, as finish_model later finds them with), so before the
 * batches every sample's count is known, the datasets are made at their final
 * size, and each batch writes its samples' rows at known offsets: the file
 * does not depend on the ranks, and --resume rewrites only what it reruns.
 * A batch taps only the rows that predict an occurrence's first token. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "study_internal.h"

static size_t sample_len(const StudyModel *sm, size_t i) {
    return (size_t)(sm->enc.off[i + 1] - sm->enc.off[i]);
}

/* The occurrences of sample i (this rank's group holds its ids), in the
 * order of the occurrence table; *n of them in *occ (reused buffer). */
static void sample_occurrences(const StudyModel *sm, size_t i, LsOccurrence **occ, size_t *n, size_t *cap) {
    int32_t a0 = sm->enc.answer_start[i];
    *n = 0;
    ls_find_occurrences(&sm->ts, sm->tok, (int64_t)i, sm->ids + sm->at[i] + a0,
                        sample_len(sm, i) - (size_t)a0, a0, NULL, NULL, occ, n, cap);
}

void study_lens_count(const Study *S, const StudyModel *sm, int depths, StudyLens *L) {
    const LsShardGroup *grp = &sm->plan.groups[S->d.dp_rank];
    size_t N = sm->enc.n, n = 0, cap = 0;
    LsOccurrence *occ = NULL;
    L->depths = depths;
    L->count = ls_calloc(N + 1, sizeof *L->count);
    L->start = ls_calloc(N + 1, sizeof *L->start);
    for (size_t r = 0; S->d.tp_rank == 0 && r < grp->n_records; r++) {
        sample_occurrences(sm, grp->records[r], &occ, &n, &cap);
        L->count[grp->records[r]] = (int64_t)n;
    }
    free(occ);
    MPI_Allreduce(MPI_IN_PLACE, L->count, (int)N, MPI_INT64_T, MPI_SUM, S->d.world);
    for (size_t i = 0; i < N; i++)
        L->start[i + 1] = L->start[i] + L->count[i];
}

int study_lens_tap(const StudyModel *sm, StudyLens *L, LsForward *f, const size_t *sel, size_t nsel,
                   const StudyWindow *w, const int32_t *seq_off, LsError *e) {
    size_t n = 0, cap = 0, ntap = 0, D = (size_t)L->depths;
    LsOccurrence *occ = NULL;
    L->n_rows = L->n_rr = 0;
    for (size_t j = 0; j < nsel; j++) {
        L->n_rows += (size_t)L->count[sel[j]];
        L->n_rr += L->count[sel[j]] > 0;
    }
    L->lp = ls_malloc((L->n_rows * D + 1) * sizeof *L->lp);
    L->ent = ls_malloc((L->n_rows * D + 1) * sizeof *L->ent);
    for (size_t k = 0; k < L->n_rows * D; k++)
        L->lp[k] = L->ent[k] = NAN;
    L->rr = ls_malloc((L->n_rr + 1) * sizeof *L->rr);
    int32_t *rows = ls_malloc((L->n_rows + 1) * sizeof *rows);
    L->want = ls_malloc((L->n_rows + 1) * sizeof *L->want);
    L->dst = ls_malloc((L->n_rows + 1) * sizeof *L->dst);
    int rc = LS_OK;
    for (size_t j = 0, q0 = 0, at = 0, r = 0; rc == LS_OK && j < nsel; j++) {
        size_t i = sel[j], nw = study_windows(sm, sample_len(sm, i), NULL);
        sample_occurrences(sm, i, &occ, &n, &cap);
        if ((int64_t)n != L->count[i]) {
            rc = ls_fail(e, "model %s: sample %zu has %zu occurrences now but %lld before the batches",
                         sm->spec->name, i, n, (long long)L->count[i]);
            break;
        }
        if (n > 0) L->rr[r++] = (LsRowRange){(uint64_t)L->start[i], (uint64_t)n};
        for (size_t k = 0; k < n; k++) {
            if (!ls_lens_has_value(&occ[k])) continue;
            size_t p = (size_t)occ[k].position, q = q0;
            while (q + 1 < q0 + nw && p >= w[q].end) /* the window that scores p: from <= p < end */
                q++;
            rows[ntap] = seq_off[q] + (int32_t)(p - 1 - w[q].start);
            L->want[ntap] = sm->ids[sm->at[i] + (int64_t)p];
            L->dst[ntap++] = at + k;
        }
        q0 += nw;
        at += n;
    }
    ls_lens_tap(f, &L->tap, rows, (int)ntap);
    free(rows);
    free(occ);
    return rc;
}

int study_lens_eval(StudyLens *L, LsForward *f, LsError *e) {
    size_t n = (size_t)L->tap.n, D = (size_t)L->depths;
    if (n == 0) return LS_OK; /* the same on every rank of the TP group: the same ids */
    float *lp = ls_malloc(n * D * sizeof *lp), *ent = ls_malloc(n * D * sizeof *ent);
    int rc = ls_lens_eval(f, &L->tap, L->want, lp, ent, e);
    for (size_t k = 0; rc == LS_OK && k < n; k++) {
        memcpy(L->lp + L->dst[k] * D, lp + k * D, D * sizeof *lp);
        memcpy(L->ent + L->dst[k] * D, ent + k * D, D * sizeof *ent);
    }
    free(lp);
    free(ent);
    return rc;
}

/* Drops the batch's rows for the file. */
static void drop_rows(StudyLens *L) {
    free(L->want);
    free(L->dst);
    free(L->lp);
    free(L->ent);
    free(L->rr);
    L->want = NULL;
    L->dst = NULL;
    L->lp = L->ent = NULL;
    L->rr = NULL;
    L->n_rr = L->n_rows = 0;
}

int study_lens_write(LsH5 *h, const LsModelSets *s, StudyLens *L, int leader, LsError *e) {
    size_t nr = leader ? L->n_rr : 0;
    int rc = ls_h5_write_rows(h, s->lens_lp, H5T_NATIVE_FLOAT, L->rr, nr, L->lp, e);
    if (rc == LS_OK) rc = ls_h5_write_rows(h, s->lens_ent, H5T_NATIVE_FLOAT, L->rr, nr, L->ent, e);
    drop_rows(L);
    return rc;
}

int study_lens_check(const StudyModel *sm, const StudyLens *L, const LsShardGroup *grp,
                     const LsOccurrence *occ, size_t n_occ, LsError *e) {
    size_t N = sm->enc.n;
    int64_t *have = ls_calloc(N + 1, sizeof *have);
    for (size_t k = 0; k < n_occ; k++)
        have[occ[k].sample]++;
    int rc = LS_OK;
    for (size_t r = 0; rc == LS_OK && r < grp->n_records; r++) {
        size_t i = grp->records[r];
        if (have[i] != L->count[i])
            rc =
                ls_fail(e,
                        "model %s: sample %zu has %lld rows in the occurrence table but %lld logit-lens rows "
                        "(counted from its token ids before the batches)",
                        sm->spec->name, i, (long long)have[i], (long long)L->count[i]);
    }
    free(have);
    return rc;
}

void study_lens_free(LsForward *f, StudyLens *L) {
    if (f) ls_lens_tap_free(f, &L->tap); /* no forward pass: nothing tapped */
    drop_rows(L);
    free(L->count);
    free(L->start);
    memset(L, 0, sizeof *L);
}
