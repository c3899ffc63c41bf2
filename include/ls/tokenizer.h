/* ls/tokenizer.h — HF `tokenizer.json` BPE tokenizers, identical to HF `tokenizers`.
 *
 * Loads a model directory's tokenizer.json (and tokenizer_config.json when present) — byte-level BPE
 * (Qwen2/2.5/3, DeepSeek-R1-Distill-Qwen, Llama-3.x, SmolLM2) and SentencePiece-style BPE with byte
 * fallback (Gemma 3, Llama 2) — or builds one from a GGUF file's metadata, and encodes / decodes
 * exactly as `tokenizers` does:
 *
 *   text ─ added tokens (non-normalized, leftmost-longest) ─ normalizer (NFC, Replace, Prepend)
 *        ─ added tokens (normalized) ─ Metaspace ─ Split regexes (PCRE2, UTF + Unicode properties)
 *        ─ BPE by merge rank (on bytes for byte-level; on characters with "<0xXX>" byte fallback)
 *        ─ post-processor (TemplateProcessing: BOS) when add_special is set.
 *
 * Components the loader does not implement are rejected with a message naming them; the
 * tokenizer never encodes with a silently different pipeline.
 *
 * Input text must be valid UTF-8 (HF's Python API can only receive str, so invalid UTF-8 has
 * no reference behaviour): ls_tokenizer_encode returns an error naming the byte offset.
 *
 * An LsTokenizer is not thread-safe (it owns a word cache and regex match data): use one per
 * thread. Ids are int32_t.
 */
#ifndef LS_TOKENIZER_H
#define LS_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "ls/common.h"

typedef struct LsTokenizer LsTokenizer;

/* Loads a model's tokenizer from path:
 *   a folder with tokenizer.json: it and tokenizer_config.json (optional), even when a GGUF is there too;
 *   a folder without one: its single *.gguf file (several are an error);
 *   a .gguf file: its tokenizer.ggml.* metadata (ls_tokenizer_load_gguf);
 *   any other file: a tokenizer.json.
 * Errors name the file and the JSON key path (e.g. "model.merges[12]") or the GGUF key. */
int ls_tokenizer_load(LsTokenizer **out, const char *path, LsError *e);
/* The tokenizer transformers builds from a GGUF file (see ls_tokenizer_from_vocab), from its path or
 * from a parsed file (ls/gguf.h; the fuzz target parses buffers). */
int ls_tokenizer_load_gguf(LsTokenizer **out, const char *gguf_path, LsError *e);
typedef struct LsGguf LsGguf;
int ls_tokenizer_from_gguf(LsTokenizer **out, const LsGguf *gguf, LsError *e);
/* Same from a tokenizer.json path, or from bytes in memory (name is used in messages). */
int ls_tokenizer_load_file(LsTokenizer **out, const char *json_path, LsError *e);
int ls_tokenizer_load_bytes(LsTokenizer **out, const char *json, size_t len, const char *name, LsError *e);
void ls_tokenizer_free(LsTokenizer *tok);

/* A vocabulary as llama.cpp's GGUF metadata describes it (tokenizer.ggml.*), with no dependency on
 * the file format: arrays as stored, lengths as stored (checked against n_tokens). */
typedef struct {
    const char *s;
    size_t len;
} LsTokText;
typedef struct {
    const char *model; /* tokenizer.ggml.model: "gpt2" (byte-level BPE) or "llama" (SentencePiece BPE) */
    const char *pre;   /* tokenizer.ggml.pre (gpt2 only; NULL = "default") */
    const char *arch;  /* general.architecture: gemma, gemma2, gemma3 select Gemma's variant; may be NULL */
    const LsTokText *tokens;
    size_t n_tokens;
    const float *scores; /* NULL when absent */
    size_t n_scores;
    const int64_t *types; /* token_type (1 normal, 2 unknown, 3 control, 4 user-defined, 6 byte) or NULL */
    size_t n_types;
    const LsTokText *merges; /* "a b"; NULL when absent (llama: derived from the vocabulary) */
    size_t n_merges;
    int64_t bos_id, eos_id, unk_id, pad_id; /* -1 when absent */
    int add_bos, add_eos, add_space_prefix; /* -1 when absent */
} LsVocab;

/* Builds the tokenizer transformers builds from the same GGUF metadata (integrations/gguf: the
 * vocabulary handed to GPT2Tokenizer, GemmaTokenizer or LlamaTokenizer, control tokens special, user-
 * defined ones added, BOS/EOS by the add_* flags) and loads it like a tokenizer.json. gpt2 pre-
 * tokenizers: qwen2, deepseek-r1-qwen, llama-bpe, llama3, llama-v3 (the regexes transformers uses),
 * smollm, gpt2, default (llama.cpp's llama-vocab.cpp); any other is refused by name. name is used in
 * messages (e.g. the GGUF path); errors name the tokenizer.ggml key and index at fault. */
int ls_tokenizer_from_vocab(LsTokenizer **out, const LsVocab *v, const char *name, LsError *e);

/* Encodes text[0..len) (UTF-8). add_special: apply the post-processor (e.g. prepend BOS),
 * like `tokenizers`' add_special_tokens. Special-token strings in the text are always matched
 * (as `tokenizers` does by default). *ids is a heap array (free it), *n its length. */
int ls_tokenizer_encode(LsTokenizer *tok, const char *text, size_t len, int add_special, int32_t **ids,
                        size_t *n, LsError *e);

/* Decodes ids to text like `tokenizers`' decode(ids, skip_special_tokens=False): the raw bytes
 * of every token concatenated, invalid UTF-8 replaced by U+FFFD per maximal subpart (Rust's
 * String::from_utf8_lossy). Ids that name no token are skipped, as `tokenizers` does.
 * *out is a NUL-terminated heap string, *outlen its length. */
int ls_tokenizer_decode(const LsTokenizer *tok, const int32_t *ids, size_t n, char **out, size_t *outlen);

/* Raw bytes one token decodes to (before UTF-8 repair); NULL (and *len = 0) for an unknown id.
 * The byte span of token i in the raw decoded text is [sum of lens before i, + len_i). */
const uint8_t *ls_tokenizer_token_bytes(const LsTokenizer *tok, int32_t id, size_t *len);
/* lens[i] = number of raw bytes ids[i] decodes to (0 for an unknown id). */
void ls_tokenizer_byte_lens(const LsTokenizer *tok, const int32_t *ids, size_t n, size_t *lens);

/* Token string (vocabulary form, e.g. "Ġwait", or an added token's content) ↔ id.
 * token_to_id returns -1 when absent; id_to_token returns NULL. */
int32_t ls_tokenizer_token_to_id(const LsTokenizer *tok, const char *token, size_t len);
const char *ls_tokenizer_id_to_token(const LsTokenizer *tok, int32_t id);
/* Id of the model token whose raw bytes are exactly bytes[0..len) (e.g. " wait"), or -1. */
int32_t ls_tokenizer_bytes_to_id(const LsTokenizer *tok, const void *bytes, size_t len);
/* Whether id is an added token marked special (skipped by skip_special_tokens). */
int ls_tokenizer_is_special(const LsTokenizer *tok, int32_t id);

/* 1 + the largest id of the model vocabulary and the added tokens. */
size_t ls_tokenizer_vocab_size(const LsTokenizer *tok);
/* bos/eos ids from tokenizer_config.json (bos_token / eos_token), or -1. */
int32_t ls_tokenizer_bos_id(const LsTokenizer *tok);
int32_t ls_tokenizer_eos_id(const LsTokenizer *tok);

/* SHA-256 of the tokenizer.json bytes (for a GGUF vocabulary: of everything it is built from), as 64
 * lowercase hex digits (NUL-terminated). */
const char *ls_tokenizer_sha256(const LsTokenizer *tok);

/* Token ids from a file: integers separated by whitespace and/or single commas, or a JSON array
 * "[1, 2, 3]". Errors name the file and the line ("ids.txt:3: expected a non-negative integer token
 * id ('x1')"). *ids is a heap array (free it; non-NULL even when *n is 0). */
int ls_token_ids_read(const char *path, int32_t **ids, size_t *n, LsError *e);

/* The first id whose token differs between a and b (a token string, or
 * present in one and absent in the other), or -1 when both give every token
 * the same id (models that share a vocabulary can be compared position by
 * position, ls/divergence.h). */
int32_t ls_tokenizer_first_difference(const LsTokenizer *a, const LsTokenizer *b);

/* SHA-256 of any buffer into 32 bytes (used for the tokenizer hash; exposed for tests). */
void ls_sha256(const void *data, size_t len, uint8_t out[32]);

#endif
