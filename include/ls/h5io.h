/* ls/h5io.h — typed reads and writes over HDF5 (serial or parallel): scalar
 * string / int64 / uint64 / double attributes, string-list attributes (1-D
 * HDF5 string arrays), dataset opens with a shape check, and the file's
 * schema version. Every HDF5 call goes through LS_H5_CHECK, which turns a
 * failure into an LsError naming the file, the object path and the call;
 * HDF5's own error printing is silenced (ls_h5_quiet) since we report.
 * Layout of the files: docs/hdf5-layout.md. */
#ifndef LS_H5IO_H
#define LS_H5IO_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "ls/common.h"

/* The layout version this build writes and reads (root attribute
 * `schema_version`). 2: lists (models, target_words) are string arrays. */
#define LS_H5_SCHEMA_VERSION 2

/* Any extent, for ls_h5_dataset_open_shape's want[]. */
#define LS_H5_ANY UINT64_MAX

/* Evaluates an HDF5 call; when it returns a negative value, fills e with
 * "FILE: OBJECT[/name | attribute 'name']: CALL failed (HDF5: detail)" and
 * yields LS_ERR, else LS_OK. obj is the object the call works on (its file
 * and path name the place), name the link or attribute it concerns (or NULL).
 * Capture a handle with an assignment: LS_H5_CHECK(a = H5Aopen(o, n, P), o, n, e). */
#define LS_H5_CHECK(call, obj, name, e) (((call) < 0) ? ls_h5_fail_call((e), #call, (obj), (name)) : LS_OK)
int ls_h5_fail_call(LsError *e, const char *call, hid_t obj, const char *name);

/* "FILE: /path" of obj, with "/name" (a link) or " attribute 'name'" (attr != 0) added. */
const char *ls_h5_where(hid_t obj, const char *name, int attr, char *buf, size_t n);

/* Silences HDF5's automatic error printing on this thread (we report). */
void ls_h5_quiet(void);

/* Opens an existing file with serial HDF5 (read-only unless writable). */
hid_t ls_h5_file_open(const char *path, int writable, LsError *e);
/* Checks the root attribute schema_version against LS_H5_SCHEMA_VERSION;
 * path names the file in the message. */
int ls_h5_check_schema(hid_t file, const char *path, LsError *e);

/* ---- attributes (writes: collective in parallel HDF5, every rank passes the same value) */
int ls_h5_attr_str(hid_t obj, const char *name, const char *value, LsError *e);
int ls_h5_attr_i64(hid_t obj, const char *name, int64_t value, LsError *e);
int ls_h5_attr_u64(hid_t obj, const char *name, uint64_t value, LsError *e);
int ls_h5_attr_f64(hid_t obj, const char *name, double value, LsError *e);
/* A list of n strings: a 1-D array of variable-length UTF-8 strings. */
int ls_h5_attr_strs(hid_t obj, const char *name, const char *const *v, size_t n, LsError *e);

/* What an attribute holds. */
typedef enum { LS_H5_KIND_INT, LS_H5_KIND_FLOAT, LS_H5_KIND_STR, LS_H5_KIND_STRS, LS_H5_KIND_OTHER } LsH5Kind;

/* *has = 1 when obj has the attribute. */
int ls_h5_attr_has(hid_t obj, const char *name, int *has, LsError *e);
int ls_h5_attr_kind(hid_t obj, const char *name, LsH5Kind *kind, LsError *e);
/* Reads a scalar attribute (a missing one, or one of another kind, is an
 * error naming it). *out of ls_h5_attr_get_str is a heap string. */
int ls_h5_attr_get_str(hid_t obj, const char *name, char **out, LsError *e);
int ls_h5_attr_get_i64(hid_t obj, const char *name, int64_t *out, LsError *e);
int ls_h5_attr_get_u64(hid_t obj, const char *name, uint64_t *out, LsError *e);
int ls_h5_attr_get_f64(hid_t obj, const char *name, double *out, LsError *e);
/* Reads a string list (1-D, fixed- or variable-length strings) into a heap
 * array of *n heap strings; free with ls_h5_strs_free. */
int ls_h5_attr_get_strs(hid_t obj, const char *name, char ***out, size_t *n, LsError *e);
void ls_h5_strs_free(char **v, size_t n);

/* ---- links and datasets ---------------------------------------------------- */

/* *exists = 1 when every link along path (relative to loc) exists; a missing
 * parent group is "no" (H5Lexists alone fails on it). */
int ls_h5_link_exists(hid_t loc, const char *path, int *exists, LsError *e);

/* Opens dataset path of loc and checks its rank and dims: want[i] ==
 * LS_H5_ANY (or want NULL) accepts any extent; the dims are stored in
 * dims (if non-NULL, ndims entries). Errors name the file and the path
 * ("... is missing", "dimension 0 is 2, expected 3"). Close with H5Dclose. */
hid_t ls_h5_dataset_open_shape(hid_t loc, const char *path, int ndims, const uint64_t *want, uint64_t *dims,
                               LsError *e);
/* Checks the element type class of a dataset (H5T_INTEGER, H5T_FLOAT, ...). */
int ls_h5_dataset_check_class(hid_t ds, H5T_class_t want, LsError *e);
/* Reads the whole dataset into buf (elements of mem_type); an empty one reads nothing. */
int ls_h5_dataset_read_all(hid_t ds, hid_t mem_type, void *buf, LsError *e);

#endif
