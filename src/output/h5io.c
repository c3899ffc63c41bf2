/* h5io.c — typed HDF5 reads and writes (ls/h5io.h): one check for every
 * call, errors that name the file, the object and the call. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ls/h5io.h"
#include "ls/version.h"

/* ---- the check ------------------------------------------------------------- */

void ls_h5_quiet(void) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

const char *ls_h5_where(hid_t obj, const char *name, int attr, char *buf, size_t n) {
    char file[512] = "(no file)", path[512] = "";
    H5I_type_t t = obj >= 0 ? H5Iget_type(obj) : H5I_BADID;
    if (t != H5I_BADID && H5Fget_name(obj, file, sizeof file) < 0) snprintf(file, sizeof file, "(no file)");
    if (t == H5I_FILE || (t != H5I_BADID && H5Iget_name(obj, path, sizeof path) <= 0))
        snprintf(path, sizeof path, "/");
    if (t == H5I_BADID)
        snprintf(buf, n, "%s", name ? name : "(no HDF5 object)");
    else if (!name)
        snprintf(buf, n, "%s: %s", file, path);
    else if (attr)
        snprintf(buf, n, "%s: %s attribute '%s'", file, path, name);
    else if (name[0] == '/')
        snprintf(buf, n, "%s: %s", file, name);
    else
        snprintf(buf, n, "%s: %s%s%s", file, path, strcmp(path, "/") ? "/" : "", name);
    return buf;
}

/* The innermost HDF5 error of the current stack (the most specific reason). */
static herr_t first_error(unsigned n, const H5E_error2_t *err, void *out) {
    if (n == 0 && err->desc && *err->desc) snprintf(out, 200, " (HDF5: %s)", err->desc);
    return 0;
}

int ls_h5_fail_call(LsError *e, const char *call, hid_t obj, const char *name) {
    char where[1100], detail[200] = "";
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, first_error, detail);
    const char *eq = strstr(call, " = "); /* "a = H5Aopen(...)": name the call */
    if (eq && eq < strchr(call, '(')) call = eq + 3;
    int attr = !strncmp(call, "H5A", 3);
    return ls_fail(e, "%s: %.*s failed%s", ls_h5_where(obj, name, attr, where, sizeof where),
                   (int)strcspn(call, "("), call, detail);
}

/* ---- files ------------------------------------------------------------------- */

hid_t ls_h5_file_open(const char *path, int writable, LsError *e) {
    ls_h5_quiet();
    if (access(path, writable ? R_OK | W_OK : R_OK) != 0) {
        ls_fail(e, "%s: cannot open: %s", path, strerror(errno));
        return H5I_INVALID_HID;
    }
    hid_t f = H5Fopen(path, writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) ls_fail(e, "%s: cannot open as an HDF5 file%s", path, writable ? " for writing" : "");
    return f;
}

int ls_h5_check_schema(hid_t file, const char *path, LsError *e) {
    int has = 0;
    int64_t v = 0;
    if (ls_h5_attr_has(file, "schema_version", &has, e)) return LS_ERR;
    if (!has)
        return ls_fail(e,
                       "%s: no root attribute schema_version: not a logits-study output file (this build, "
                       "logits-study %s, reads schema version %d)",
                       path, LS_VERSION, LS_H5_SCHEMA_VERSION);
    if (ls_h5_attr_get_i64(file, "schema_version", &v, e)) return LS_ERR;
    if (v != LS_H5_SCHEMA_VERSION)
        return ls_fail(e,
                       "%s: schema version %lld, but this build (logits-study %s) reads schema version %d "
                       "only (docs/hdf5-layout.md); use the logits-study version that wrote it, or rerun the "
                       "study with this one",
                       path, (long long)v, LS_VERSION, LS_H5_SCHEMA_VERSION);
    return LS_OK;
}

/* ---- attribute writes ---------------------------------------------------------- */

/* Creates (replacing) attribute name of obj with type and space, and writes v. */
static int write_attr(hid_t obj, const char *name, hid_t type, hid_t space, const void *v, LsError *e) {
    htri_t has = -1;
    hid_t a = H5I_INVALID_HID;
    int rc = LS_H5_CHECK(has = H5Aexists(obj, name), obj, name, e);
    if (!rc && has > 0) rc = LS_H5_CHECK(H5Adelete(obj, name), obj, name, e);
    if (!rc) rc = LS_H5_CHECK(a = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT), obj, name, e);
    if (!rc) rc = LS_H5_CHECK(H5Awrite(a, type, v), obj, name, e);
    if (a >= 0 && H5Aclose(a) < 0 && !rc) rc = ls_h5_fail_call(e, "H5Aclose", obj, name);
    return rc ? LS_ERR : LS_OK;
}

static int write_scalar(hid_t obj, const char *name, hid_t type, const void *v, LsError *e) {
    hid_t sp = H5Screate(H5S_SCALAR);
    if (sp < 0) return ls_h5_fail_call(e, "H5Screate", obj, name);
    int rc = write_attr(obj, name, type, sp, v, e);
    H5Sclose(sp);
    return rc ? LS_ERR : LS_OK;
}

/* A variable-length UTF-8 string type; close with H5Tclose. */
static hid_t vlen_utf8(hid_t obj, const char *name, LsError *e) {
    hid_t t = H5I_INVALID_HID;
    if (LS_H5_CHECK(t = H5Tcopy(H5T_C_S1), obj, name, e) ||
        LS_H5_CHECK(H5Tset_size(t, H5T_VARIABLE), obj, name, e) ||
        LS_H5_CHECK(H5Tset_cset(t, H5T_CSET_UTF8), obj, name, e)) {
        if (t >= 0) H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

int ls_h5_attr_str(hid_t obj, const char *name, const char *value, LsError *e) {
    hid_t t = vlen_utf8(obj, name, e);
    if (t < 0) return LS_ERR;
    const char *v = value ? value : "";
    int rc = write_scalar(obj, name, t, &v, e);
    H5Tclose(t);
    return rc ? LS_ERR : LS_OK;
}

int ls_h5_attr_i64(hid_t obj, const char *name, int64_t value, LsError *e) {
    return write_scalar(obj, name, H5T_NATIVE_INT64, &value, e);
}

int ls_h5_attr_u64(hid_t obj, const char *name, uint64_t value, LsError *e) {
    return write_scalar(obj, name, H5T_NATIVE_UINT64, &value, e);
}

int ls_h5_attr_f64(hid_t obj, const char *name, double value, LsError *e) {
    return write_scalar(obj, name, H5T_NATIVE_DOUBLE, &value, e);
}

int ls_h5_attr_strs(hid_t obj, const char *name, const char *const *v, size_t n, LsError *e) {
    hid_t t = vlen_utf8(obj, name, e);
    if (t < 0) return LS_ERR;
    hsize_t dims[1] = {n};
    hid_t sp = H5I_INVALID_HID;
    int rc = LS_H5_CHECK(sp = H5Screate_simple(1, dims, NULL), obj, name, e);
    const char **buf = ls_malloc((n ? n : 1) * sizeof *buf);
    for (size_t i = 0; i < n; i++)
        buf[i] = v[i] ? v[i] : "";
    if (!rc) rc = write_attr(obj, name, t, sp, buf, e);
    free(buf);
    if (sp >= 0) H5Sclose(sp);
    H5Tclose(t);
    return rc ? LS_ERR : LS_OK;
}

/* ---- attribute reads --------------------------------------------------------- */

/* An open attribute with its file type, class and number of elements (rank
 * 0 or 1, else n_dims is reported). */
typedef struct {
    hid_t a, type;
    H5T_class_t cls;
    int rank;
    hsize_t n;
} Attr;

static void attr_close(Attr *at) {
    if (at->type >= 0) H5Tclose(at->type);
    if (at->a >= 0) H5Aclose(at->a);
}

static int attr_open(hid_t obj, const char *name, Attr *at, LsError *e) {
    at->a = at->type = H5I_INVALID_HID;
    int has = 0;
    if (ls_h5_attr_has(obj, name, &has, e)) return LS_ERR;
    if (!has) {
        char where[1100];
        return ls_fail(e, "%s is missing", ls_h5_where(obj, name, 1, where, sizeof where));
    }
    hid_t sp = H5I_INVALID_HID;
    int rc = LS_H5_CHECK(at->a = H5Aopen(obj, name, H5P_DEFAULT), obj, name, e) ||
             LS_H5_CHECK(at->type = H5Aget_type(at->a), obj, name, e) ||
             LS_H5_CHECK(at->cls = H5Tget_class(at->type), obj, name, e) ||
             LS_H5_CHECK(sp = H5Aget_space(at->a), obj, name, e) ||
             LS_H5_CHECK(at->rank = H5Sget_simple_extent_ndims(sp), obj, name, e);
    hssize_t np = 0;
    if (!rc) rc = LS_H5_CHECK(np = H5Sget_simple_extent_npoints(sp), obj, name, e);
    at->n = (hsize_t)np;
    if (sp >= 0) H5Sclose(sp);
    if (rc) attr_close(at);
    return rc ? LS_ERR : LS_OK;
}

static LsH5Kind kind_of(const Attr *at) {
    if (at->rank == 0 || (at->rank == 1 && at->n == 1 && at->cls != H5T_STRING)) {
        if (at->cls == H5T_INTEGER) return LS_H5_KIND_INT;
        if (at->cls == H5T_FLOAT) return LS_H5_KIND_FLOAT;
        if (at->cls == H5T_STRING) return LS_H5_KIND_STR;
    }
    if (at->rank == 1 && at->cls == H5T_STRING) return LS_H5_KIND_STRS;
    return LS_H5_KIND_OTHER;
}

static const char *kind_name(LsH5Kind k) {
    static const char *const names[] = {"an integer", "a number", "a string", "a list of strings",
                                        "of an unsupported type or shape"};
    return names[k];
}

/* Opens the attribute and checks it holds `want`. */
static int attr_open_kind(hid_t obj, const char *name, LsH5Kind want, Attr *at, LsError *e) {
    if (attr_open(obj, name, at, e)) return LS_ERR;
    LsH5Kind k = kind_of(at);
    if (k == want || (want == LS_H5_KIND_FLOAT && k == LS_H5_KIND_INT)) return LS_OK;
    attr_close(at);
    char where[1100];
    return ls_fail(e, "%s is %s, expected %s", ls_h5_where(obj, name, 1, where, sizeof where), kind_name(k),
                   kind_name(want));
}

int ls_h5_attr_has(hid_t obj, const char *name, int *has, LsError *e) {
    htri_t h = -1;
    *has = 0;
    if (LS_H5_CHECK(h = H5Aexists(obj, name), obj, name, e)) return LS_ERR;
    *has = h > 0;
    return LS_OK;
}

int ls_h5_attr_kind(hid_t obj, const char *name, LsH5Kind *kind, LsError *e) {
    Attr at;
    if (attr_open(obj, name, &at, e)) return LS_ERR;
    *kind = kind_of(&at);
    attr_close(&at);
    return LS_OK;
}

static int read_number(hid_t obj, const char *name, LsH5Kind want, hid_t mem, void *out, LsError *e) {
    Attr at;
    if (attr_open_kind(obj, name, want, &at, e)) return LS_ERR;
    int rc = LS_H5_CHECK(H5Aread(at.a, mem, out), obj, name, e);
    attr_close(&at);
    return rc ? LS_ERR : LS_OK;
}

int ls_h5_attr_get_i64(hid_t obj, const char *name, int64_t *out, LsError *e) {
    return read_number(obj, name, LS_H5_KIND_INT, H5T_NATIVE_INT64, out, e);
}

int ls_h5_attr_get_u64(hid_t obj, const char *name, uint64_t *out, LsError *e) {
    return read_number(obj, name, LS_H5_KIND_INT, H5T_NATIVE_UINT64, out, e);
}

int ls_h5_attr_get_f64(hid_t obj, const char *name, double *out, LsError *e) {
    return read_number(obj, name, LS_H5_KIND_FLOAT, H5T_NATIVE_DOUBLE, out, e);
}

/* Reads the n strings of an open string attribute into out[0..n) (heap strings). */
static int read_strings(hid_t obj, const char *name, const Attr *at, char **out, LsError *e) {
    htri_t vlen = -1;
    H5T_cset_t cset = H5T_CSET_ERROR;
    hid_t mt = H5I_INVALID_HID;
    int rc = LS_H5_CHECK(vlen = H5Tis_variable_str(at->type), obj, name, e) ||
             LS_H5_CHECK(cset = H5Tget_cset(at->type), obj, name, e) ||
             LS_H5_CHECK(mt = H5Tcopy(H5T_C_S1), obj, name, e) ||
             LS_H5_CHECK(H5Tset_cset(mt, cset), obj, name, e);
    size_t n = (size_t)at->n;
    if (!rc && vlen > 0) {
        char **v = ls_calloc(n ? n : 1, sizeof *v);
        rc = LS_H5_CHECK(H5Tset_size(mt, H5T_VARIABLE), obj, name, e) ||
             LS_H5_CHECK(H5Aread(at->a, mt, v), obj, name, e);
        for (size_t i = 0; i < n; i++) {
            out[i] = rc ? NULL : ls_strdup(v[i] ? v[i] : "");
            if (v[i]) H5free_memory(v[i]);
        }
        free(v);
    } else if (!rc) {
        size_t len = H5Tget_size(at->type), stride = 0;
        if (len == 0 || ls_mul_size(len + 1, n ? n : 1, &stride))
            rc = ls_fail(e, "attribute '%s': bad string size %zu", name, len);
        char *buf = rc ? NULL : ls_calloc(stride, 1);
        if (!rc)
            rc = LS_H5_CHECK(H5Tset_size(mt, len + 1), obj, name, e) ||
                 LS_H5_CHECK(H5Tset_strpad(mt, H5T_STR_NULLTERM), obj, name, e) ||
                 LS_H5_CHECK(H5Aread(at->a, mt, buf), obj, name, e);
        for (size_t i = 0; !rc && i < n; i++)
            out[i] = ls_strdup(buf + i * (len + 1));
        free(buf);
    }
    if (mt >= 0) H5Tclose(mt);
    return rc ? LS_ERR : LS_OK;
}

int ls_h5_attr_get_str(hid_t obj, const char *name, char **out, LsError *e) {
    *out = NULL;
    Attr at;
    if (attr_open_kind(obj, name, LS_H5_KIND_STR, &at, e)) return LS_ERR;
    int rc = read_strings(obj, name, &at, out, e);
    attr_close(&at);
    return rc ? LS_ERR : LS_OK;
}

int ls_h5_attr_get_strs(hid_t obj, const char *name, char ***out, size_t *n, LsError *e) {
    *out = NULL;
    *n = 0;
    Attr at;
    if (attr_open_kind(obj, name, LS_H5_KIND_STRS, &at, e)) return LS_ERR;
    char **v = ls_calloc(at.n ? (size_t)at.n : 1, sizeof *v);
    int rc = read_strings(obj, name, &at, v, e);
    attr_close(&at);
    if (rc) {
        ls_h5_strs_free(v, (size_t)at.n);
        return LS_ERR;
    }
    *out = v;
    *n = (size_t)at.n;
    return LS_OK;
}

void ls_h5_strs_free(char **v, size_t n) {
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

/* ---- datasets ---------------------------------------------------------------- */

/* 1 if every link along path exists (H5Lexists fails on a missing parent group), else 0; <0 on error. */
static htri_t path_exists(hid_t loc, const char *path) {
    char part[1024];
    for (const char *p = path; (p = strchr(p + 1, '/')) != NULL;) {
        snprintf(part, sizeof part, "%.*s", (int)(p - path), path);
        htri_t h = H5Lexists(loc, part, H5P_DEFAULT);
        if (h <= 0) return h;
    }
    return H5Lexists(loc, path, H5P_DEFAULT);
}

int ls_h5_link_exists(hid_t loc, const char *path, int *exists, LsError *e) {
    htri_t has = 0;
    *exists = 0;
    if (LS_H5_CHECK(has = path_exists(loc, path), loc, path, e)) return LS_ERR;
    *exists = has > 0;
    return LS_OK;
}

hid_t ls_h5_dataset_open_shape(hid_t loc, const char *path, int ndims, const uint64_t *want, uint64_t *dims,
                               LsError *e) {
    char where[1100];
    int has = 0;
    if (ls_h5_link_exists(loc, path, &has, e)) return H5I_INVALID_HID;
    if (!has) {
        ls_fail(e, "%s is missing", ls_h5_where(loc, path, 0, where, sizeof where));
        return H5I_INVALID_HID;
    }
    hid_t ds = H5I_INVALID_HID, sp = H5I_INVALID_HID;
    int nd = -1;
    hsize_t d[H5S_MAX_RANK] = {0};
    int rc = LS_H5_CHECK(ds = H5Dopen2(loc, path, H5P_DEFAULT), loc, path, e) ||
             LS_H5_CHECK(sp = H5Dget_space(ds), loc, path, e) ||
             LS_H5_CHECK(nd = H5Sget_simple_extent_ndims(sp), loc, path, e) ||
             LS_H5_CHECK(H5Sget_simple_extent_dims(sp, d, NULL), loc, path, e);
    if (sp >= 0) H5Sclose(sp);
    if (!rc && nd != ndims)
        rc = ls_fail(e, "%s has %d dimensions, expected %d", ls_h5_where(loc, path, 0, where, sizeof where),
                     nd, ndims);
    for (int i = 0; !rc && i < ndims; i++) {
        if (want && want[i] != LS_H5_ANY && d[i] != want[i])
            rc = ls_fail(e, "%s: dimension %d is %llu, expected %llu",
                         ls_h5_where(loc, path, 0, where, sizeof where), i, (unsigned long long)d[i],
                         (unsigned long long)want[i]);
        else if (dims)
            dims[i] = d[i];
    }
    if (rc && ds >= 0) H5Dclose(ds);
    return rc ? H5I_INVALID_HID : ds;
}

int ls_h5_dataset_check_class(hid_t ds, H5T_class_t want, LsError *e) {
    hid_t t = H5I_INVALID_HID;
    H5T_class_t c = H5T_NO_CLASS;
    int rc = LS_H5_CHECK(t = H5Dget_type(ds), ds, NULL, e) || LS_H5_CHECK(c = H5Tget_class(t), ds, NULL, e);
    if (t >= 0) H5Tclose(t);
    if (!rc && c != want) {
        char where[1100];
        rc = ls_fail(e, "%s has the wrong element type (expected %s)",
                     ls_h5_where(ds, NULL, 0, where, sizeof where),
                     want == H5T_INTEGER ? "an integer type"
                     : want == H5T_FLOAT ? "a floating-point type"
                                         : "another type");
    }
    return rc ? LS_ERR : LS_OK;
}

int ls_h5_dataset_read_all(hid_t ds, hid_t mem_type, void *buf, LsError *e) {
    hid_t sp = H5I_INVALID_HID;
    hssize_t n = 0;
    int rc = LS_H5_CHECK(sp = H5Dget_space(ds), ds, NULL, e) ||
             LS_H5_CHECK(n = H5Sget_simple_extent_npoints(sp), ds, NULL, e);
    if (sp >= 0) H5Sclose(sp);
    if (!rc && n > 0)
        rc = LS_H5_CHECK(H5Dread(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf), ds, NULL, e);
    return rc ? LS_ERR : LS_OK;
}
