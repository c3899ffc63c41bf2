/* h5out.c — parallel HDF5 writer (MPI-IO, collective transfers). */
#include <math.h>
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

/* The file access list: MPI-IO on comm, collective metadata reads and writes. */
static hid_t mpio_fapl(MPI_Comm comm, const char *path, LsError *e) {
    hid_t fapl = H5I_INVALID_HID;
    if (LS_H5_CHECK(fapl = H5Pcreate(H5P_FILE_ACCESS), -1, path, e) ||
        LS_H5_CHECK(H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL), -1, path, e) ||
        LS_H5_CHECK(H5Pset_all_coll_metadata_ops(fapl, 1), -1, path, e) ||
        LS_H5_CHECK(H5Pset_coll_metadata_write(fapl, 1), -1, path, e)) {
        if (fapl >= 0) H5Pclose(fapl);
        return H5I_INVALID_HID;
    }
    return fapl;
}

static int open_common(LsH5 *h, const char *path, MPI_Comm comm, int create, LsError *e) {
    memset(h, 0, sizeof *h);
    h->file = H5I_INVALID_HID;
    h->dxpl = H5I_INVALID_HID;
    h->comm = comm;
    MPI_Comm_rank(comm, &h->rank);
    ls_h5_quiet(); /* errors are reported through LsError */
    hid_t fapl = mpio_fapl(comm, path, e);
    if (fapl >= 0) {
        h->file =
            create ? H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl) : H5Fopen(path, H5F_ACC_RDWR, fapl);
        H5Pclose(fapl);
    }
    /* every rank must agree on success, else one rank would wait in the next collective */
    int ok = h->file >= 0, all_ok = 0;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, comm);
    if (!all_ok) {
        if (h->file >= 0) H5Fclose(h->file);
        h->file = H5I_INVALID_HID;
        return ls_fail(e, "%s: cannot %s the HDF5 output file (check the folder exists and is writable%s)",
                       path, create ? "create" : "open", create ? "" : ", and that it is an HDF5 file");
    }
    if (LS_H5_CHECK(h->dxpl = H5Pcreate(H5P_DATASET_XFER), h->file, NULL, e) ||
        LS_H5_CHECK(H5Pset_dxpl_mpio(h->dxpl, H5FD_MPIO_COLLECTIVE), h->file, NULL, e)) {
        LsError ignore;
        ls_h5_close(h, &ignore);
        return LS_ERR;
    }
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
    return LS_H5_CHECK(H5Fflush(h->file, H5F_SCOPE_GLOBAL), h->file, NULL, e);
}

int ls_h5_close(LsH5 *h, LsError *e) {
    int rc = LS_OK;
    if (h->dxpl >= 0) H5Pclose(h->dxpl);
    if (h->file >= 0 && H5Fclose(h->file) < 0) rc = ls_fail(e, "%s: closing the HDF5 file failed", h->path);
    free(h->path);
    memset(h, 0, sizeof *h);
    h->file = H5I_INVALID_HID;
    h->dxpl = H5I_INVALID_HID;
    return rc ? LS_ERR : LS_OK;
}

hid_t ls_h5_group(LsH5 *h, const char *path, LsError *e) {
    hid_t lcpl = H5I_INVALID_HID, g = H5I_INVALID_HID;
    int has = 0;
    int rc = LS_H5_CHECK(lcpl = H5Pcreate(H5P_LINK_CREATE), h->file, path, e) ||
             LS_H5_CHECK(H5Pset_create_intermediate_group(lcpl, 1), h->file, path, e) ||
             ls_h5_link_exists(h->file, path, &has, e);
    if (!rc && has > 0)
        rc = LS_H5_CHECK(g = H5Gopen2(h->file, path, H5P_DEFAULT), h->file, path, e);
    else if (!rc)
        rc = LS_H5_CHECK(g = H5Gcreate2(h->file, path, lcpl, H5P_DEFAULT, H5P_DEFAULT), h->file, path, e);
    if (lcpl >= 0) H5Pclose(lcpl);
    return rc ? H5I_INVALID_HID : g;
}

/* The creation list: contiguous and allocated early (raw; float32 NaN until
 * written with nan_fill), or chunked + deflate. */
static hid_t dataset_dcpl(hid_t loc, const char *name, hid_t type, int ndims, const uint64_t *dims,
                          int filtered, int nan_fill, LsError *e) {
    hid_t dcpl = H5I_INVALID_HID;
    hsize_t ch[2];
    const float nan = NAN;
    int empty = 0, rc = LS_H5_CHECK(dcpl = H5Pcreate(H5P_DATASET_CREATE), loc, name, e);
    for (int i = 0; i < ndims; i++)
        empty |= dims[i] == 0;
    if (!rc && nan_fill) rc = LS_H5_CHECK(H5Pset_fill_value(dcpl, H5T_NATIVE_FLOAT, &nan), loc, name, e);
    if (!rc && !empty && !filtered) {
        rc = LS_H5_CHECK(H5Pset_layout(dcpl, H5D_CONTIGUOUS), loc, name, e) ||
             LS_H5_CHECK(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY), loc, name, e) ||
             (nan_fill && LS_H5_CHECK(H5Pset_fill_time(dcpl, H5D_FILL_TIME_ALLOC), loc, name, e));
    } else if (!rc && !empty) {
        chunk_dims(ndims, dims, H5Tget_size(type), ch);
        /* parallel writes to filtered datasets need space allocated at creation */
        rc = LS_H5_CHECK(H5Pset_chunk(dcpl, ndims, ch), loc, name, e) ||
             LS_H5_CHECK(H5Pset_deflate(dcpl, 4), loc, name, e) ||
             LS_H5_CHECK(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY), loc, name, e) ||
             LS_H5_CHECK(H5Pset_fill_time(dcpl, H5D_FILL_TIME_ALLOC), loc, name, e);
    }
    if (rc && dcpl >= 0) H5Pclose(dcpl);
    return rc ? H5I_INVALID_HID : dcpl;
}

static hid_t make_dataset(LsH5 *h, hid_t loc, const char *name, hid_t type, int ndims, const uint64_t *dims,
                          const char *description, const char *unit, int filtered, int nan_fill, LsError *e) {
    (void)h;
    hsize_t d[2] = {dims[0], ndims > 1 ? dims[1] : 1};
    hid_t space = H5I_INVALID_HID, dcpl = dataset_dcpl(loc, name, type, ndims, dims, filtered, nan_fill, e),
          ds = H5I_INVALID_HID;
    int rc =
        dcpl < 0 || LS_H5_CHECK(space = H5Screate_simple(ndims, d, NULL), loc, name, e) ||
        LS_H5_CHECK(ds = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), loc, name, e) ||
        ls_h5_attr_str(ds, "description", description, e) || ls_h5_attr_str(ds, "unit", unit, e);
    if (dcpl >= 0) H5Pclose(dcpl);
    if (space >= 0) H5Sclose(space);
    if (rc && ds >= 0) H5Dclose(ds);
    return rc ? H5I_INVALID_HID : ds;
}

hid_t ls_h5_dataset(LsH5 *h, hid_t loc, const char *name, hid_t type, int ndims, const uint64_t *dims,
                    const char *description, const char *unit, LsError *e) {
    return make_dataset(h, loc, name, type, ndims, dims, description, unit, 1, 0, e);
}

hid_t ls_h5_dataset_raw(LsH5 *h, hid_t loc, const char *name, hid_t type, int ndims, const uint64_t *dims,
                        const char *description, const char *unit, LsError *e) {
    return make_dataset(h, loc, name, type, ndims, dims, description, unit, 0, 0, e);
}

hid_t ls_h5_dataset_raw_nan(LsH5 *h, hid_t loc, const char *name, int ndims, const uint64_t *dims,
                            const char *description, const char *unit, LsError *e) {
    return make_dataset(h, loc, name, H5T_IEEE_F32LE, ndims, dims, description, unit, 0, 1, e);
}

hid_t ls_h5_dataset_open(LsH5 *h, hid_t loc, const char *name, int ndims, const uint64_t *dims, LsError *e) {
    (void)h;
    return ls_h5_dataset_open_shape(loc, name, ndims, dims, NULL, e);
}

/* The extent of a rank-1 or rank-2 dataset: rows and row width (1 for rank 1). */
static int row_extent(hid_t dset, hid_t *fs, int *nd, hsize_t *rows, hsize_t *width, LsError *e) {
    hsize_t dims[2] = {0, 1};
    *fs = H5I_INVALID_HID;
    int rc = LS_H5_CHECK(*fs = H5Dget_space(dset), dset, NULL, e) ||
             LS_H5_CHECK(*nd = H5Sget_simple_extent_ndims(*fs), dset, NULL, e);
    if (!rc && (*nd < 1 || *nd > 2)) {
        char where[1100];
        rc = ls_fail(e, "%s has %d dimensions, expected 1 or 2",
                     ls_h5_where(dset, NULL, 0, where, sizeof where), *nd);
    }
    if (!rc) rc = LS_H5_CHECK(H5Sget_simple_extent_dims(*fs, dims, NULL), dset, NULL, e);
    if (rc && *fs >= 0) H5Sclose(*fs);
    *rows = dims[0];
    *width = *nd > 1 ? dims[1] : 1;
    return rc ? LS_ERR : LS_OK;
}

int ls_h5_read_rows(LsH5 *h, hid_t dset, hid_t mem_type, uint64_t start, uint64_t count, void *buf,
                    LsError *e) {
    (void)h;
    hid_t fs, ms = H5I_INVALID_HID;
    int nd;
    hsize_t rows, width;
    if (row_extent(dset, &fs, &nd, &rows, &width, e)) return LS_ERR;
    hsize_t st[2] = {start, 0}, cn[2] = {count, width};
    int rc = LS_OK;
    if (count && width)
        rc = LS_H5_CHECK(H5Sselect_hyperslab(fs, H5S_SELECT_SET, st, NULL, cn, NULL), dset, NULL, e) ||
             LS_H5_CHECK(ms = H5Screate_simple(nd, cn, NULL), dset, NULL, e) ||
             LS_H5_CHECK(H5Dread(dset, mem_type, ms, fs, H5P_DEFAULT, buf), dset, NULL, e);
    if (ms >= 0) H5Sclose(ms);
    H5Sclose(fs);
    if (rc)
        ls_fail_prefix(e, "reading rows [%llu, %llu)", (unsigned long long)start,
                       (unsigned long long)(start + count));
    return rc ? LS_ERR : LS_OK;
}

/* Selects the union of the ranges in fs (sorted by start, inside rows); *total: rows selected. */
static int select_ranges(LsH5 *h, hid_t dset, hid_t fs, hsize_t rows, hsize_t width, const LsRowRange *r,
                         size_t n, hsize_t *total, LsError *e) {
    *total = 0;
    if (LS_H5_CHECK(H5Sselect_none(fs), dset, NULL, e)) return LS_ERR;
    for (size_t i = 0; i < n; i++) {
        if (r[i].count == 0) continue;
        if (r[i].start + r[i].count > rows)
            return ls_fail(e, "%s: rows [%llu, %llu) outside a dataset of %llu rows", h->path,
                           (unsigned long long)r[i].start, (unsigned long long)(r[i].start + r[i].count),
                           (unsigned long long)rows);
        /* H5S_SELECT_OR orders the file selection by position; the buffer must follow the
         * same order, which holds because callers pass ranges sorted by start (checked) */
        if (i && r[i - 1].count && r[i].start < r[i - 1].start + r[i - 1].count)
            return ls_fail(e, "%s: row ranges passed out of order", h->path);
        hsize_t start[2] = {r[i].start, 0}, count[2] = {r[i].count, width};
        if (LS_H5_CHECK(H5Sselect_hyperslab(fs, H5S_SELECT_OR, start, NULL, count, NULL), dset, NULL, e))
            return LS_ERR;
        *total += r[i].count;
    }
    return LS_OK;
}

int ls_h5_write_rows(LsH5 *h, hid_t dset, hid_t mem_type, const LsRowRange *r, size_t n, const void *buf,
                     LsError *e) {
    hid_t fs, ms = H5I_INVALID_HID;
    int nd;
    hsize_t rows, width, total = 0;
    if (row_extent(dset, &fs, &nd, &rows, &width, e)) return LS_ERR;
    if (rows == 0 || width == 0) { /* nothing to write, on any rank (same dims everywhere) */
        H5Sclose(fs);
        return LS_OK;
    }
    static const char dummy[16];
    int rc = select_ranges(h, dset, fs, rows, width, r, n, &total, e);
    hsize_t mdims[2] = {total, width};
    if (!rc) rc = LS_H5_CHECK(ms = H5Screate_simple(nd, mdims, NULL), dset, NULL, e);
    if (!rc && total == 0) rc = LS_H5_CHECK(H5Sselect_none(ms), dset, NULL, e);
    if (!rc)
        rc = LS_H5_CHECK(H5Dwrite(dset, mem_type, ms, fs, h->dxpl, total ? buf : (const void *)dummy), dset,
                         NULL, e);
    if (ms >= 0) H5Sclose(ms);
    H5Sclose(fs);
    if (rc) ls_fail_prefix(e, "collective write of %llu rows", (unsigned long long)total);
    return rc ? LS_ERR : LS_OK;
}

/* Closes t and returns H5I_INVALID_HID when a step of building it failed. */
static hid_t built(hid_t t, int failed) {
    if (failed && t >= 0) H5Tclose(t);
    return failed ? H5I_INVALID_HID : t;
}

hid_t ls_h5_str_type(size_t n) {
    hid_t t = H5Tcopy(H5T_C_S1);
    return built(t, t < 0 || H5Tset_size(t, n ? n : 1) < 0 || H5Tset_strpad(t, H5T_STR_NULLPAD) < 0 ||
                        H5Tset_cset(t, H5T_CSET_UTF8) < 0);
}

hid_t ls_h5_occurrence_type(void) {
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(LsOccurrence));
    return built(t, t < 0 || H5Tinsert(t, "sample", HOFFSET(LsOccurrence, sample), H5T_NATIVE_INT64) < 0 ||
                        H5Tinsert(t, "position", HOFFSET(LsOccurrence, position), H5T_NATIVE_INT32) < 0 ||
                        H5Tinsert(t, "word", HOFFSET(LsOccurrence, word), H5T_NATIVE_INT16) < 0 ||
                        H5Tinsert(t, "form", HOFFSET(LsOccurrence, form), H5T_NATIVE_INT16) < 0 ||
                        H5Tinsert(t, "n_tokens", HOFFSET(LsOccurrence, n_tokens), H5T_NATIVE_INT16) < 0 ||
                        H5Tinsert(t, "logprob", HOFFSET(LsOccurrence, logprob), H5T_NATIVE_FLOAT) < 0 ||
                        H5Tinsert(t, "rank_first", HOFFSET(LsOccurrence, rank_first), H5T_NATIVE_INT32) < 0 ||
                        H5Tinsert(t, "aligned", HOFFSET(LsOccurrence, aligned), H5T_NATIVE_INT8) < 0);
}
