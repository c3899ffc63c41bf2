/* test_h5io.c — the typed HDF5 API (ls/h5io.h): values round-trip (string
 * lists in both string layouts h5py writes), and every failure is an error
 * that names the file, the object path and the HDF5 call or the problem. */
#include "ls/common.h"
#include "ls/h5io.h"

#include <criterion/criterion.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[64];

/* A fresh file with a group /g and a 2 x 3 int32 dataset /g/d. */
static hid_t make_file(void) {
    snprintf(path, sizeof path, "/tmp/ls_test_h5io_%d_XXXXXX", (int)getpid());
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    ls_h5_quiet();
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(f >= 0);
    hid_t g = H5Gcreate2(f, "/g", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dims[2] = {2, 3};
    hid_t sp = H5Screate_simple(2, dims, NULL);
    hid_t d = H5Dcreate2(g, "d", H5T_NATIVE_INT32, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(g >= 0 && d >= 0);
    H5Dclose(d);
    H5Sclose(sp);
    H5Gclose(g);
    return f;
}

static void expect_msg(const LsError *e, const char *a, const char *b, const char *c) {
    cr_expect(strstr(e->msg, a) != NULL, "'%s' lacks '%s'", e->msg, a);
    if (b) cr_expect(strstr(e->msg, b) != NULL, "'%s' lacks '%s'", e->msg, b);
    if (c) cr_expect(strstr(e->msg, c) != NULL, "'%s' lacks '%s'", e->msg, c);
}

Test(h5io, attributes_round_trip) {
    hid_t f = make_file();
    LsError e = {{0}};
    const char *list[] = {"baseline", "sft", "rl-ü"};
    cr_assert(!ls_h5_attr_str(f, "s", "héllo", &e) && !ls_h5_attr_i64(f, "i", -5, &e) &&
                  !ls_h5_attr_u64(f, "u", UINT64_MAX, &e) && !ls_h5_attr_f64(f, "x", 0.25, &e) &&
                  !ls_h5_attr_strs(f, "l", list, 3, &e) && !ls_h5_attr_strs(f, "empty", NULL, 0, &e) &&
                  !ls_h5_attr_i64(f, "i", 6, &e), /* replaced */
              "%s", e.msg);
    char *s = NULL, **v = NULL;
    size_t n = 9;
    int64_t i = 0;
    uint64_t u = 0;
    double x = 0;
    cr_assert(!ls_h5_attr_get_str(f, "s", &s, &e) && !ls_h5_attr_get_i64(f, "i", &i, &e) &&
                  !ls_h5_attr_get_u64(f, "u", &u, &e) && !ls_h5_attr_get_f64(f, "x", &x, &e),
              "%s", e.msg);
    cr_expect_str_eq(s, "héllo");
    cr_expect_eq(i, 6);
    cr_expect_eq(u, UINT64_MAX);
    cr_expect_eq(x, 0.25);
    free(s);
    cr_assert(!ls_h5_attr_get_strs(f, "l", &v, &n, &e), "%s", e.msg);
    cr_assert_eq(n, 3);
    for (size_t k = 0; k < n; k++)
        cr_expect_str_eq(v[k], list[k]);
    ls_h5_strs_free(v, n);
    cr_assert(!ls_h5_attr_get_strs(f, "empty", &v, &n, &e), "%s", e.msg);
    cr_expect_eq(n, 0);
    ls_h5_strs_free(v, n);
    LsH5Kind k;
    cr_assert(!ls_h5_attr_kind(f, "l", &k, &e));
    cr_expect_eq(k, LS_H5_KIND_STRS);
    cr_assert(!ls_h5_attr_kind(f, "x", &k, &e));
    cr_expect_eq(k, LS_H5_KIND_FLOAT);
    H5Fclose(f);
    unlink(path);
}

/* A list of fixed-length strings (h5py's np.array([...], dtype="S8")) reads the same. */
Test(h5io, fixed_length_string_list) {
    hid_t f = make_file();
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, 4);
    H5Tset_strpad(t, H5T_STR_NULLPAD);
    hsize_t n3 = 3;
    hid_t sp = H5Screate_simple(1, &n3, NULL);
    hid_t a = H5Acreate2(f, "l", t, sp, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(H5Awrite(a, t,
                       "ab\0\0wait"
                       "so\0\0") >= 0);
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    LsError e = {{0}};
    char **v;
    size_t n;
    cr_assert(!ls_h5_attr_get_strs(f, "l", &v, &n, &e), "%s", e.msg);
    cr_assert_eq(n, 3);
    cr_expect_str_eq(v[0], "ab");
    cr_expect_str_eq(v[1], "wait");
    cr_expect_str_eq(v[2], "so");
    ls_h5_strs_free(v, n);
    H5Fclose(f);
    unlink(path);
}

Test(h5io, errors_name_file_path_and_problem) {
    hid_t f = make_file();
    hid_t g = H5Gopen2(f, "/g", H5P_DEFAULT);
    LsError e = {{0}};
    int64_t i;
    char *s;
    char **v;
    size_t n;
    cr_assert(!ls_h5_attr_str(g, "name", "x", &e) && !ls_h5_attr_str(f, "models", "a,b", &e));
    cr_expect_eq(ls_h5_attr_get_i64(g, "missing", &i, &e), LS_ERR);
    expect_msg(&e, path, "/g attribute 'missing'", "is missing");
    cr_expect_eq(ls_h5_attr_get_i64(g, "name", &i, &e), LS_ERR);
    expect_msg(&e, path, "/g attribute 'name'", "is a string, expected an integer");
    /* a schema-1 list (one comma-joined string) is not a list */
    cr_expect_eq(ls_h5_attr_get_strs(f, "models", &v, &n, &e), LS_ERR);
    expect_msg(&e, path, ": / attribute 'models'", "expected a list of strings");
    cr_expect_eq(ls_h5_attr_get_str(g, "missing", &s, &e), LS_ERR);
    /* a failed HDF5 call: the call and the object are named (the file is read-only) */
    H5Gclose(g);
    H5Fclose(f);
    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    g = H5Gopen2(f, "/g", H5P_DEFAULT);
    cr_expect_eq(ls_h5_attr_i64(g, "new", 1, &e), LS_ERR);
    expect_msg(&e, path, "/g attribute 'new'", "H5Acreate2 failed");
    cr_expect_eq(ls_h5_attr_strs(g, "name", (const char *[]){"a"}, 1, &e), LS_ERR);
    expect_msg(&e, "/g attribute 'name'", "H5Adelete failed", "(HDF5: ");
    H5Gclose(g);
    H5Fclose(f);
    unlink(path);
}

Test(h5io, check_macro_names_call_and_path) {
    hid_t f = make_file();
    LsError e = {{0}};
    hid_t d = H5I_INVALID_HID;
    cr_expect_eq(LS_H5_CHECK(d = H5Dopen2(f, "/g/nope", H5P_DEFAULT), f, "/g/nope", &e), LS_ERR);
    expect_msg(&e, path, ": /g/nope: H5Dopen2 failed", "(HDF5: ");
    hid_t g = H5Gopen2(f, "/g", H5P_DEFAULT);
    cr_expect_eq(LS_H5_CHECK(H5Gopen2(g, "sub", H5P_DEFAULT), g, "sub", &e), LS_ERR);
    expect_msg(&e, ": /g/sub: H5Gopen2 failed", NULL, NULL);
    cr_expect_eq(LS_H5_CHECK(d = H5Dopen2(g, "d", H5P_DEFAULT), g, "d", &e), LS_OK);
    H5Dclose(d);
    H5Gclose(g);
    H5Fclose(f);
    unlink(path);
}

Test(h5io, dataset_shape_checks) {
    hid_t f = make_file();
    LsError e = {{0}};
    uint64_t dims[2] = {0, 0}, want[2] = {2, LS_H5_ANY}, bad[2] = {3, 3};
    hid_t d = ls_h5_dataset_open_shape(f, "/g/d", 2, want, dims, &e);
    cr_assert(d >= 0, "%s", e.msg);
    cr_expect(dims[0] == 2 && dims[1] == 3);
    cr_expect_eq(ls_h5_dataset_check_class(d, H5T_FLOAT, &e), LS_ERR);
    expect_msg(&e, path, "/g/d has the wrong element type", "floating-point");
    H5Dclose(d);
    cr_expect_lt(ls_h5_dataset_open_shape(f, "/g/d", 2, bad, NULL, &e), 0);
    expect_msg(&e, path, "/g/d: dimension 0 is 2, expected 3", NULL);
    cr_expect_lt(ls_h5_dataset_open_shape(f, "/g/d", 1, NULL, NULL, &e), 0);
    expect_msg(&e, "/g/d has 2 dimensions, expected 1", NULL, NULL);
    cr_expect_lt(ls_h5_dataset_open_shape(f, "/h/x", 1, NULL, NULL, &e), 0);
    expect_msg(&e, path, ": /h/x is missing", NULL);
    H5Fclose(f);
    unlink(path);
}

Test(h5io, schema_version_checked) {
    hid_t f = make_file();
    LsError e = {{0}};
    cr_expect_eq(ls_h5_check_schema(f, "x.h5", &e), LS_ERR);
    expect_msg(&e, "x.h5: no root attribute schema_version", "reads schema version 2", NULL);
    cr_assert(!ls_h5_attr_i64(f, "schema_version", 1, &e));
    cr_expect_eq(ls_h5_check_schema(f, "x.h5", &e), LS_ERR);
    expect_msg(&e, "x.h5: schema version 1, but this build", "reads schema version 2 only", NULL);
    cr_assert(!ls_h5_attr_i64(f, "schema_version", LS_H5_SCHEMA_VERSION, &e));
    cr_expect_eq(ls_h5_check_schema(f, "x.h5", &e), LS_OK, "%s", e.msg);
    H5Fclose(f);
    unlink(path);
    cr_expect_lt(ls_h5_file_open("/nonexistent/y.h5", 0, &e), 0);
    expect_msg(&e, "/nonexistent/y.h5: cannot open", NULL, NULL);
}
