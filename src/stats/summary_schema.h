/* summary_schema.h — the HDF5 compound types of the /summary tables, built
 * from one field list per table so that the writer (reduce.c) and the reader
 * (summary_read.c) cannot disagree. Not installed. */
#ifndef LS_SUMMARY_SCHEMA_H
#define LS_SUMMARY_SCHEMA_H

#include <hdf5.h>
#include <stddef.h>

#include "ls/h5out.h"
#include "ls/reduce.h"

/* The in-memory compound type of a table (native types, the struct layout);
 * packed = 1 gives the on-disk type (packed, little-endian). Close with H5Tclose. */
hid_t ls_table_type(const LsTable *t, int packed);

/* Writes n rows of table t as the dataset t->name of group g (compressed, with description). */
int ls_table_write(LsH5 *h, hid_t g, const LsTable *t, const void *rows, size_t n, const char *desc,
                   LsError *e);

#endif
