/* h5out.c — parallel HDF5 writer (MPI-IO, collective transfers). */
#include <stdlib.h>
#include <string.h>

#include "ls/h5out.h"
#include "ls/targets.h"

/* Chunk of about 1 MiB of rows (at least 1 row, at most the dataset). */
static void chunk_dims(int ndims, const uint64_t *dims, size_t esize, hsize_t *chunk) {
    size_t row = esize;
    for (int i = 1; i < ndims; i++) {
        chunk[i] = dims[i];
        row *= dims[i] ? dims[i] : 1;
    }
    hsize_t rows = (hsize_t)((1u << 20) / (row ? row : 1));
    if (rows < 1) rows = 1;
    chunk[0] = rows < dims[0] ? rows : dims[0];
}

static int open_common(LsH5 *h, const char *path, MPI_Comm comm, int create, LsError *e) {
    memset(h, 0, sizeof *h);
    h->file = H5I_INVALID_HID;
    h->dxpl = H5I_INVALID_HID;
    h->comm = comm;
    MPI_Comm_rank(comm, &h->rank);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* errors are reported through LsError */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
    H5Pset_all_coll_metadata_ops(fapl, 1);
    H5Pset_coll_metadata_write(fapl, 1);
    h->file = create ? H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl) : H5Fopen(path, H5F_ACC_RDWR, fapl);
    H5Pclose(fapl);
    /* every rank must agree on success, else one rank would wait in the next collective */
    int ok = h->file >= 0, all_ok = 0;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, comm);
    if (!all_ok) {
        if (h->file >= 0) H5Fclose(h->file);
        h->file = H5I_INVALID_HID;
        return ls_fail(e, "%s: cannot %s the HDF5 output file (check the folder exists and is writable%s)",
                       path, create ? "create" : "open", create ? "" : ", and that it is an HDF5 file");
    }
    h->dxpl = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(h->dxpl, H5FD_MPIO_COLLECTIVE);
    h->path = ls_strdup(path);
    return LS_OK;
}

int ls_h5_create(LsH5 *h, const char *path, MPI_Comm comm, LsError *e) {
    return open_common(h, path, comm, 1, e);
}

int ls_h5_open(LsH5 *h, const char *path, MPI_Comm comm, LsError *e) {
    return open_common(h, path, comm, 0, e);
}

int ls_h5_flush(LsH5 *h, LsError *e) {
    LS_H5_CHECK(H5Fflush(h->file, H5F_SCOPE_GLOBAL), e);
    return LS_OK;
}

int ls_h5_close(LsH5 *h, LsError *e) {
    int rc = LS_OK;
    if (h->dxpl >= 0) H5Pclose(h->dxpl);
    if (h->file >= 0 && H5Fclose(h->file) < 0) rc = ls_fail(e, "%s: closing the HDF5 file failed", h->path);
    free(h->path);
    memset(h, 0, sizeof *h);
    h->file = H5I_INVALID_HID;
    h->dxpl = H5I_INVALID_HID;
    return rc;
}

hid_t ls_h5_group(LsH5 *h, const char *path, LsError *e) {
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t g = H5Lexists(h->file, path, H5P_DEFAULT) > 0
                  ? H5Gopen2(h->file, path, H5P_DEFAULT)
                  : H5Gcreate2(h->file, path, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    H5Pclose(lcpl);
    if (g < 0) ls_fail(e, "%s: cannot create group %s", h->path, path);
    return g;
}

static hid_t make_dataset(LsH5 *h, hid_t loc, const char *name, hid_t type, int ndims, const uint64_t *dims,
                          const char *description, const char *unit, int filtered, LsError *e) {
    hsize_t d[2] = {dims[0], ndims > 1 ? dims[1] : 1}, ch[2];
    hid_t space = H5Screate_simple(ndims, d, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    int empty = 0;
    for (int i = 0; i < ndims; i++)
        empty |= d[i] == 0;
    if (!empty && !filtered) {
        H5Pset_layout(dcpl, H5D_CONTIGUOUS);
        H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
    } else if (!empty) {
        chunk_dims(ndims, dims, H5Tget_size(type), ch);
        H5Pset_chunk(dcpl, ndims, ch);
        H5Pset_deflate(dcpl, 4);
        /* parallel writes to filtered datasets need space allocated at creation */
        H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
        H5Pset_fill_time(dcpl, H5D_FILL_TIME_ALLOC);
    }
    hid_t ds = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Sclose(space);
    if (ds < 0) {
        ls_fail(e, "%s: cannot create dataset %s", h->path, name);
        return H5I_INVALID_HID;
    }
    if (ls_h5_attr_str(ds, "description", description, e) || ls_h5_attr_str(ds, "unit", unit, e)) {
        H5Dclose(ds);
        return H5I_INVALID_HID;
    }
    return ds;
}

hid_t ls_h5_dataset(LsH5 *h, hid_t loc, const char *name, hid_t type, int ndims, const uint64_t *dims,
                    const char *description, const char *unit, LsError *e) {
    return make_dataset(h, loc, name, type, ndims, dims, description, unit, 1, e);
}

hid_t ls_h5_dataset_raw(LsH5 *h, hid_t loc, const char *name, hid_t type, int ndims, const uint64_t *dims,
                        const char *description, const char *unit, LsError *e) {
    return make_dataset(h, loc, name, type, ndims, dims, description, unit, 0, e);
}

hid_t ls_h5_dataset_open(LsH5 *h, hid_t loc, const char *name, int ndims, const uint64_t *dims, LsError *e) {
    hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
    if (ds < 0) {
        ls_fail(e, "%s: dataset %s is missing", h->path, name);
        return H5I_INVALID_HID;
    }
    hid_t sp = H5Dget_space(ds);
    hsize_t d[4] = {0};
    int nd = H5Sget_simple_extent_ndims(sp);
    if (nd == ndims) H5Sget_simple_extent_dims(sp, d, NULL);
    H5Sclose(sp);
    int ok = nd == ndims;
    for (int i = 0; ok && i < ndims; i++)
        ok = d[i] == dims[i];
    if (!ok) {
        H5Dclose(ds);
        ls_fail(e, "%s: dataset %s has shape [%llu%s] where [%llu%s] was expected", h->path, name,
                (unsigned long long)d[0], nd > 1 ? ", ..." : "", (unsigned long long)dims[0],
                ndims > 1 ? ", ..." : "");
        return H5I_INVALID_HID;
    }
    return ds;
}

int ls_h5_read_rows(LsH5 *h, hid_t dset, hid_t mem_type, uint64_t start, uint64_t count, void *buf,
                    LsError *e) {
    hid_t fs = H5Dget_space(dset);
    int nd = H5Sget_simple_extent_ndims(fs);
    hsize_t dims[2] = {0, 1};
    H5Sget_simple_extent_dims(fs, dims, NULL);
    hsize_t width = nd > 1 ? dims[1] : 1;
    if (count == 0 || width == 0) {
        H5Sclose(fs);
        return LS_OK;
    }
    hsize_t st[2] = {start, 0}, cn[2] = {count, width};
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, st, NULL, cn, NULL);
    hid_t ms = H5Screate_simple(nd, cn, NULL);
    herr_t r = H5Dread(dset, mem_type, ms, fs, H5P_DEFAULT, buf);
    H5Sclose(ms);
    H5Sclose(fs);
    if (r < 0)
        return ls_fail(e, "%s: reading rows [%llu, %llu) failed", h->path, (unsigned long long)start,
                       (unsigned long long)(start + count));
    return LS_OK;
}

int ls_h5_attr_get_str(hid_t obj, const char *name, char **out, LsError *e) {
    *out = NULL;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return ls_fail(e, "attribute %s is missing", name);
    hid_t ft = H5Aget_type(a);
    int rc = LS_OK;
    if (H5Tget_class(ft) != H5T_STRING) {
        rc = ls_fail(e, "attribute %s is not a string", name);
    } else if (H5Tis_variable_str(ft) > 0) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(ft));
        char *v = NULL;
        if (H5Aread(a, mt, &v) < 0) {
            rc = ls_fail(e, "attribute %s cannot be read", name);
        } else {
            *out = ls_strdup(v ? v : "");
            H5free_memory(v);
        }
        H5Tclose(mt);
    } else {
        size_t n = H5Tget_size(ft);
        char *v = ls_calloc(n + 1, 1);
        if (H5Aread(a, ft, v) < 0) {
            free(v);
            rc = ls_fail(e, "attribute %s cannot be read", name);
        } else {
            *out = v;
        }
    }
    H5Tclose(ft);
    H5Aclose(a);
    return rc;
}

int ls_h5_attr_get_i64(hid_t obj, const char *name, int64_t *out, LsError *e) {
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return ls_fail(e, "attribute %s is missing", name);
    herr_t r = H5Aread(a, H5T_NATIVE_INT64, out);
    H5Aclose(a);
    return r < 0 ? ls_fail(e, "attribute %s is not an integer", name) : LS_OK;
}

int ls_h5_write_rows(LsH5 *h, hid_t dset, hid_t mem_type, const LsRowRange *r, size_t n, const void *buf,
                     LsError *e) {
    hid_t fs = H5Dget_space(dset);
    int nd = H5Sget_simple_extent_ndims(fs);
    hsize_t dims[2] = {0, 1};
    H5Sget_simple_extent_dims(fs, dims, NULL);
    hsize_t width = nd > 1 ? dims[1] : 1, total = 0;
    if (dims[0] == 0 || width == 0) { /* nothing to write, on any rank (same dims everywhere) */
        H5Sclose(fs);
        return LS_OK;
    }
    H5Sselect_none(fs);
    for (size_t i = 0; i < n; i++) {
        if (r[i].count == 0) continue;
        if (r[i].start + r[i].count > dims[0]) {
            H5Sclose(fs);
            return ls_fail(e, "%s: rows [%llu, %llu) outside a dataset of %llu rows", h->path,
                           (unsigned long long)r[i].start, (unsigned long long)(r[i].start + r[i].count),
                           (unsigned long long)dims[0]);
        }
        hsize_t start[2] = {r[i].start, 0}, count[2] = {r[i].count, width};
        H5Sselect_hyperslab(fs, H5S_SELECT_OR, start, NULL, count, NULL);
        total += r[i].count;
    }
    hsize_t mdims[2] = {total, width};
    hid_t ms = H5Screate_simple(nd, mdims, NULL);
    if (total == 0) H5Sselect_none(ms);
    /* H5S_SELECT_OR orders the file selection by position; the buffer must follow the same
     * order, which holds because callers pass ranges sorted by start (checked). */
    for (size_t i = 1; i < n; i++)
        if (r[i].count && r[i - 1].count && r[i].start < r[i - 1].start + r[i - 1].count) {
            H5Sclose(ms);
            H5Sclose(fs);
            return ls_fail(e, "%s: row ranges passed out of order", h->path);
        }
    static const char dummy[16];
    herr_t st = H5Dwrite(dset, mem_type, ms, fs, h->dxpl, total ? buf : (const void *)dummy);
    H5Sclose(ms);
    H5Sclose(fs);
    if (st < 0)
        return ls_fail(e, "%s: collective write of %llu rows failed", h->path, (unsigned long long)total);
    return LS_OK;
}

static int write_attr(hid_t obj, const char *name, hid_t type, const void *v, LsError *e) {
    if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
    herr_t st = a >= 0 ? H5Awrite(a, type, v) : -1;
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
    if (st < 0) return ls_fail(e, "cannot write HDF5 attribute %s", name);
    return LS_OK;
}

int ls_h5_attr_str(hid_t obj, const char *name, const char *value, LsError *e) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    const char *v = value ? value : "";
    int rc = write_attr(obj, name, t, &v, e);
    H5Tclose(t);
    return rc;
}

int ls_h5_attr_i64(hid_t obj, const char *name, int64_t value, LsError *e) {
    return write_attr(obj, name, H5T_NATIVE_INT64, &value, e);
}

int ls_h5_attr_f64(hid_t obj, const char *name, double value, LsError *e) {
    return write_attr(obj, name, H5T_NATIVE_DOUBLE, &value, e);
}

hid_t ls_h5_str_type(size_t n) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, n ? n : 1);
    H5Tset_strpad(t, H5T_STR_NULLPAD);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

hid_t ls_h5_occurrence_type(void) {
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(LsOccurrence));
    H5Tinsert(t, "sample", HOFFSET(LsOccurrence, sample), H5T_NATIVE_INT64);
    H5Tinsert(t, "position", HOFFSET(LsOccurrence, position), H5T_NATIVE_INT32);
    H5Tinsert(t, "word", HOFFSET(LsOccurrence, word), H5T_NATIVE_INT16);
    H5Tinsert(t, "form", HOFFSET(LsOccurrence, form), H5T_NATIVE_INT16);
    H5Tinsert(t, "n_tokens", HOFFSET(LsOccurrence, n_tokens), H5T_NATIVE_INT16);
    H5Tinsert(t, "logprob", HOFFSET(LsOccurrence, logprob), H5T_NATIVE_FLOAT);
    H5Tinsert(t, "rank_first", HOFFSET(LsOccurrence, rank_first), H5T_NATIVE_INT32);
    H5Tinsert(t, "aligned", HOFFSET(LsOccurrence, aligned), H5T_NATIVE_INT8);
    return t;
}
