"""Reading a logits-study results file (docs/hdf5-layout.md) with h5py.

Everything here is a reader: values come out as the C job wrote them. The only
arithmetic is unit conversion for display (exp of a log-prob), done by the
callers that plot, never to replace a number the file already holds.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import h5py
import numpy as np


#: The layout version this code reads (root attribute `schema_version`, docs/hdf5-layout.md);
#: the same as LS_H5_SCHEMA_VERSION of the C writer (include/ls/h5io.h).
SCHEMA_VERSION = 2


class IncompleteFileError(RuntimeError):
    """The file's root attribute `complete` is not 1 (a killed or running job)."""


class LayoutError(RuntimeError):
    """The file does not follow docs/hdf5-layout.md."""


class SchemaError(LayoutError):
    """The file's `schema_version` is not the one this code reads."""


def check_schema(path: str, attrs) -> None:
    """Refuses a file whose root attribute `schema_version` is not SCHEMA_VERSION."""
    v = attr_value(attrs["schema_version"]) if "schema_version" in attrs else None
    if v is None:
        raise SchemaError(f"{path}: no root attribute schema_version: not a logits-study output file "
                          f"(this analysis reads schema version {SCHEMA_VERSION})")
    if v != SCHEMA_VERSION:
        raise SchemaError(f"{path}: schema version {v}, but this analysis reads schema version {SCHEMA_VERSION} "
                          "only (docs/hdf5-layout.md); use the logits-study version that wrote it, or rerun "
                          "the study with this one")


def name_list(path: str, attrs, key: str) -> list[str]:
    """A list attribute (`models`, `target_words`): a 1-D array of strings."""
    if key not in attrs:
        raise LayoutError(f"{path}: root attribute `{key}` missing (docs/hdf5-layout.md)")
    v = attr_value(attrs[key])
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise LayoutError(f"{path}: root attribute `{key}` is not a list of strings (docs/hdf5-layout.md)")
    return v


def _str(v) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="replace")
    if isinstance(v, np.ndarray) and v.shape == ():
        return _str(v[()])
    return str(v)


def attr_value(v):
    """An HDF5 attribute as a plain Python value (str, int, float, list)."""
    if isinstance(v, (bytes, str)):
        return _str(v)
    if isinstance(v, np.ndarray):
        if v.shape == ():
            return attr_value(v[()])
        return [attr_value(x) for x in v.tolist()]
    if isinstance(v, np.generic):
        return v.item()
    return v


def json_number(x):
    """A number as JSON can hold it: NaN and ±inf become None."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def dataset_records(ds: h5py.Dataset) -> list | dict:
    """A dataset's content as JSON-ready Python values, exactly as stored.

    Compound datasets become a list of row dicts (field -> value); fixed-length
    strings are decoded; float32 values are widened to Python floats exactly
    (float(np.float32(x)) is the same real number)."""
    data = ds[()]
    if data.dtype.names:
        cols = {}
        for name in data.dtype.names:
            col = data[name]
            cols[name] = _column(col)
        n = len(data)
        return [{name: cols[name][i] for name in data.dtype.names} for i in range(n)]
    return _column(data)


def _column(col: np.ndarray):
    if col.dtype.kind in ("S", "O", "U"):
        return np.vectorize(_str, otypes=[object])(col).tolist() if col.size else []
    if col.dtype.kind == "f":
        return _nan_to_none(col.astype(np.float64).tolist())
    return col.tolist()


def _nan_to_none(x):
    if isinstance(x, list):
        return [_nan_to_none(v) for v in x]
    return json_number(x)


@dataclass
class ModelData:
    name: str
    group: h5py.Group
    attrs: dict
    token_offset: np.ndarray
    answer_start: np.ndarray
    done: np.ndarray | None
    target_words: list[str]
    _targets: np.ndarray | None = None
    _occ: np.ndarray | None = None
    _tokenizer: object = field(default=None, repr=False)
    _tokenizer_tried: bool = False

    @property
    def targets(self) -> np.ndarray:
        """Compound [M]: word (index into target_words), form, token_id."""
        if self._targets is None:
            self._targets = self.group["targets"][()]
        return self._targets

    @property
    def occurrences(self) -> np.ndarray:
        if self._occ is None:
            self._occ = self.group["occurrences"][()]
        return self._occ

    def sample_slice(self, i: int) -> slice:
        return slice(int(self.token_offset[i]), int(self.token_offset[i + 1]))

    def sample_tokens(self, i: int) -> np.ndarray:
        return self.group["tokens"][self.sample_slice(i)]

    def sample_target_logprob(self, i: int) -> np.ndarray:
        """[len, M] float32 log-probs of each single-token target form."""
        return self.group["target_logprob"][self.sample_slice(i)]

    def word_columns(self) -> dict[int, np.ndarray]:
        """word index -> the target_logprob columns of its single-token forms."""
        words = self.targets["word"].astype(int)
        return {w: np.nonzero(words == w)[0] for w in range(len(self.target_words))}

    def tokenizer(self, base_dirs: list[str]):
        """The HF `tokenizers` Tokenizer at the model's recorded path (for a GGUF
        file, its own vocabulary: analysis.gguf_vocab), or None."""
        if self._tokenizer_tried:
            return self._tokenizer
        self._tokenizer_tried = True
        path = self.attrs.get("path")
        if not path:
            return None
        candidates = [path] if os.path.isabs(path) else [os.path.join(b, path) for b in base_dirs]
        for c in candidates:
            if os.path.isfile(c) and c.endswith(".gguf"):  # a GGUF model: its own vocabulary
                from .gguf_vocab import read_gguf_vocab

                self._tokenizer = read_gguf_vocab(c)
                self._tokenizer_path = c if self._tokenizer is not None else None
                break
            tj = os.path.join(c, "tokenizer.json")
            if os.path.isfile(tj):
                try:
                    from tokenizers import Tokenizer

                    self._tokenizer = Tokenizer.from_file(tj)
                    self._tokenizer_path = tj
                except Exception:  # a tokenizer we cannot load: fall back to ids
                    self._tokenizer = None
                break
        return self._tokenizer


@dataclass
class Results:
    path: str
    file: h5py.File
    attrs: dict
    complete: bool
    models: list[str]
    target_words: list[str]
    level: np.ndarray
    is_correct: np.ndarray
    model_data: dict[str, ModelData]

    @property
    def has_summary(self) -> bool:
        return "summary" in self.file

    def close(self):
        self.file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_results(path: str, allow_incomplete: bool = False) -> Results:
    """Opens a results file; refuses one of another schema version, and one
    whose root attribute `complete` != 1 unless allow_incomplete."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise LayoutError(f"{path}: not an HDF5 file h5py can open ({e})") from e
    try:
        attrs = {k: attr_value(v) for k, v in f.attrs.items()}
        check_schema(path, attrs)
        complete_v = attrs.get("complete")
        complete = complete_v == 1
        if not complete and not allow_incomplete:
            what = "has no `complete` attribute" if complete_v is None else f"has complete={complete_v}"
            raise IncompleteFileError(
                f"{path}: refusing an incomplete results file (root attribute {what}, not 1): "
                "the run that wrote it was killed or is still running, so its numbers and /summary "
                "may be missing or partial. Finish it with `logits-study run --resume`, or pass "
                "--allow-incomplete to plot what is there."
            )
        models = name_list(path, attrs, "models")
        words = name_list(path, attrs, "target_words")
        if "samples" not in f:
            raise LayoutError(f"{path}: group /samples missing")
        level = f["samples/level"][()].astype(np.int64)
        is_correct = f["samples/is_correct"][()].astype(np.int64)
        md = {}
        for m in models:
            gp = f"models/{m}"
            if gp not in f:
                if allow_incomplete:
                    continue
                raise LayoutError(f"{path}: model group /{gp} listed in `models` but missing")
            g = f[gp]
            done = g["done"][()].astype(bool) if "done" in g else None
            md[m] = ModelData(
                name=m,
                group=g,
                attrs={k: attr_value(v) for k, v in g.attrs.items()},
                token_offset=g["token_offset"][()].astype(np.int64),
                answer_start=g["answer_start"][()].astype(np.int64),
                done=done,
                target_words=words,
            )
        return Results(path, f, attrs, complete, models, words, level, is_correct, md)
    except BaseException:
        f.close()
        raise


def summary_tree(f: h5py.File) -> dict | None:
    """Every group, dataset and attribute under /summary, as stored, JSON-ready.

    Groups become {"attrs": {...}, "<child>": ...}; datasets become
    {"attrs": {...}, "shape": [...], "dtype": str, "data": ...}."""
    if "summary" not in f:
        return None

    def walk(obj):
        attrs = {k: _nan_to_none(attr_value(v)) for k, v in obj.attrs.items()}
        if isinstance(obj, h5py.Dataset):
            return {
                "attrs": attrs,
                "shape": list(obj.shape),
                "dtype": str(obj.dtype),
                "data": dataset_records(obj),
            }
        out = {"attrs": attrs}
        for k in obj.keys():
            out[k] = walk(obj[k])
        return out

    return walk(f["summary"])
