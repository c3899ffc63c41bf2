/* fuzz_safetensors.c — the input is a whole safetensors file: header length,
 * JSON header and data section. Accepted tensors are read back in full. */
#include <stdlib.h>

#include "ls/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    LsStHeader h;
    LsError e;
    if (ls_st_parse_header(data, size, size, "fuzz.safetensors", &h, &e) != LS_OK) return 0;
    float buf[64];
    for (size_t i = 0; i < h.n; i++) {
        const LsTensor *t = &h.tensors[i];
        if (!t->data || t->file_offset + t->nbytes > size) abort(); /* whole file given: data must be in it */
        size_t n = t->nbytes / ls_dtype_size(t->dtype);
        for (size_t off = 0; off < n; off += 64)
            ls_tensor_to_f32(t, off, n - off < 64 ? n - off : 64, buf);
        if (n) (void)ls_tensor_get(t, n - 1);
    }
    ls_st_header_free(&h);
    return 0;
}
