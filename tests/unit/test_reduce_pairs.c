/* test_reduce_pairs.c — the pure helpers of ls/reduce_pairs.h: the depth at
 * which the logit lens settles (what inspect reports) and the UTF-8-safe cut
 * of a token's text. The tables themselves are checked against numpy/scipy by
 * tests/python/test_reduce_pairs.py. */
#include "ls/reduce_pairs.h"

#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

static LsSumLens row(int w, int d, double m) {
    LsSumLens r;
    memset(&r, 0, sizeof r);
    r.word = (int16_t)w, r.depth = (int16_t)d, r.logprob_mean = m;
    return r;
}

Test(reduce_pairs, settle_depth_first_within_one_nat_of_the_last) {
    /* word 0: -6, -4.5, -3.1, -2.2, -2.0 -> depth 3 (|-2.2 + 2.0| <= 1, |-3.1 + 2.0| > 1);
     * rows out of order and another word interleaved */
    LsSumLens r[] = {row(0, 4, -2.0), row(1, 0, -1.0), row(0, 0, -6.0), row(0, 2, -3.1),
                     row(0, 1, -4.5), row(1, 1, -5.0), row(0, 3, -2.2)};
    size_t n = sizeof r / sizeof r[0];
    cr_assert_eq(ls_lens_settle_depth(r, n, 0), 3);
    /* word 1: the last depth (1) is -5: depth 0 at -1 is 4 nats away -> 1 */
    cr_assert_eq(ls_lens_settle_depth(r, n, 1), 1);
    cr_assert_eq(ls_lens_settle_depth(r, n, 2), -1); /* no row */
}

Test(reduce_pairs, settle_depth_skips_nan_and_uses_the_deepest_defined) {
    LsSumLens r[] = {row(0, 0, NAN), row(0, 1, -3.5), row(0, 2, -2.8), row(0, 3, NAN)};
    cr_assert_eq(ls_lens_settle_depth(r, 4, 0), 1); /* final = -2.8 (depth 2); -3.5 is within 1 */
    LsSumLens z[] = {row(0, 0, NAN), row(0, 1, NAN)};
    cr_assert_eq(ls_lens_settle_depth(z, 2, 0), -1);
    /* exactly 1 nat counts as within */
    LsSumLens e[] = {row(0, 0, -3.0), row(0, 1, -2.0)};
    cr_assert_eq(ls_lens_settle_depth(e, 2, 0), 0);
}

Test(reduce_pairs, token_text_is_cut_at_a_character_boundary) {
    char out[LS_TOKEN_TEXT_LEN];
    ls_token_text_fit(" wait", 5, out);
    cr_assert_str_eq(out, " wait");
    cr_assert_eq(out[LS_TOKEN_TEXT_LEN - 1], 0);
    /* 30 ASCII bytes then a 3-byte character: it does not fit in 31 bytes, so it is left out whole */
    char s[64];
    memset(s, 'a', 30);
    memcpy(s + 30, "\xe2\x80\x94", 3); /* U+2014 */
    ls_token_text_fit(s, 33, out);
    cr_assert_eq(strlen(out), 30);
    /* 29 ASCII bytes then U+2014 ends exactly at byte 32 > 31: cut before it too */
    ls_token_text_fit(s + 1, 32, out);
    cr_assert_eq(strlen(out), 29);
    /* 28 + 3 = 31 bytes: kept */
    ls_token_text_fit(s + 2, 31, out);
    cr_assert_eq(strlen(out), 31);
    cr_assert_eq(memcmp(out + 28, "\xe2\x80\x94", 3), 0);
    ls_token_text_fit("", 0, out);
    cr_assert_str_eq(out, "");
}
