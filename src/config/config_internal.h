/* config_internal.h — shared by the key table (keys.c) and the YAML reader
 * and overrides (config.c). */
#ifndef LS_CONFIG_INTERNAL_H
#define LS_CONFIG_INTERNAL_H

#include <stddef.h>

#include "ls/config.h"

/* The key with this YAML name, or NULL. */
const LsRunCfgKey *cfg_key_by_yaml(const char *name, size_t len);
/* The key for a command-line option ("--top-k", "top_k", "out"), or NULL. */
const LsRunCfgKey *cfg_key_by_flag(const char *opt);

/* Stores the text value of a scalar key (path, template, integers, enum,
 * flag) into cfg; on error a message without location in msg. Paths are
 * stored as given. */
int cfg_set_scalar(const LsRunCfgKey *k, LsRunConfig *cfg, const char *text, char *msg, size_t cap);

/* Every key's default. */
void cfg_set_defaults(LsRunConfig *cfg);

/* Checks target words (valid, unique); on error *bad is the bad entry. */
int cfg_targets_check(char *const *t, size_t n, char *msg, size_t cap, size_t *bad);
/* A model name: [A-Za-z0-9_.-]+. */
int cfg_model_name_ok(const char *s);
/* YAML 1.2 core-schema booleans only. */
int cfg_parse_bool(const char *s, bool *out);
/* Surface forms from bit masks (case: lower 1, capitalized 2, upper 4;
 * leading space: with 2, without 1), in canonical order. */
void cfg_set_forms(LsRunConfig *cfg, unsigned case_mask, unsigned space_mask);

void cfg_free_strings(char **v, size_t n);
/* Splits a comma list into heap strings (empty items kept, so they can be reported). */
char **cfg_split_commas(const char *s, size_t *n);

#endif
