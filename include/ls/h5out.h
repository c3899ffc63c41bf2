/* ls/h5out.h — the parallel HDF5 writer: one file opened by all ranks with
 * MPI-IO, datasets chunked + deflate (readable without plugins), rows written
 * collectively as unions of row ranges (ranks with nothing to write take part
 * with an empty selection). Layout: docs/hdf5-layout.md. */
#ifndef LS_H5OUT_H
#define LS_H5OUT_H

#include <hdf5.h>
#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "ls/common.h"
#include "ls/h5io.h" /* typed attributes, the check macro */

typedef struct {
    hid_t file;
    hid_t dxpl; /* collective transfer */
    MPI_Comm comm;
    int rank;
    char *path;
} LsH5;

/* Row ranges [start, start + count) along dimension 0, in the order the rows
 * sit in the memory buffer. */
typedef struct {
    uint64_t start, count;
} LsRowRange;

/* Creates (truncates) path collectively. */
int ls_h5_create(LsH5 *h, const char *path, MPI_Comm comm, LsError *e);
/* Opens an existing file for writing collectively (resume). */
int ls_h5_open(LsH5 *h, const char *path, MPI_Comm comm, LsError *e);
int ls_h5_close(LsH5 *h, LsError *e);
/* Flushes metadata and data to disk (collective). */
int ls_h5_flush(LsH5 *h, LsError *e);

/* Creates group path (collective) and returns it (close with H5Gclose). */
hid_t ls_h5_group(LsH5 *h, const char *path, LsError *e);

/* Creates a dataset of rank 1 or 2 with dims, element type `type`, with
 * description and unit attributes; chunked + deflate when non-empty. */
hid_t ls_h5_dataset(LsH5 *h, hid_t loc, const char *name, hid_t type, int ndims, const uint64_t *dims,
                    const char *description, const char *unit, LsError *e);

/* The same without a filter, contiguous: raw writes into it never touch the
 * file's metadata, so a run killed while writing leaves the file readable
 * (only the rows being written are undefined, and resume rewrites them). */
hid_t ls_h5_dataset_raw(LsH5 *h, hid_t loc, const char *name, hid_t type, int ndims, const uint64_t *dims,
                        const char *description, const char *unit, LsError *e);

/* A raw float32 dataset whose every element is NaN until written. */
hid_t ls_h5_dataset_raw_nan(LsH5 *h, hid_t loc, const char *name, int ndims, const uint64_t *dims,
                            const char *description, const char *unit, LsError *e);

/* Opens an existing dataset of loc and checks its dims (ndims, dims; ls_h5_dataset_open_shape). */
hid_t ls_h5_dataset_open(LsH5 *h, hid_t loc, const char *name, int ndims, const uint64_t *dims, LsError *e);

/* Reads rows [start, start + count) of a dataset (this rank alone). */
int ls_h5_read_rows(LsH5 *h, hid_t dset, hid_t mem_type, uint64_t start, uint64_t count, void *buf,
                    LsError *e);

/* Collective write of rows: ranges (n may be 0) of a dataset whose row width
 * (product of dims beyond the first) is implied by the dataset; buf holds the
 * selected rows packed in range order, elements of mem_type. */
int ls_h5_write_rows(LsH5 *h, hid_t dset, hid_t mem_type, const LsRowRange *ranges, size_t n, const void *buf,
                     LsError *e);

/* The compound type of an occurrence row: memory layout of LsOccurrence
 * (ls/targets.h), the /models/<m>/occurrences table. Close with H5Tclose; negative on failure. */
hid_t ls_h5_occurrence_type(void);

/* A fixed-length UTF-8 string type of n bytes (NUL-padded); close with H5Tclose; negative on failure. */
hid_t ls_h5_str_type(size_t n);

#endif
