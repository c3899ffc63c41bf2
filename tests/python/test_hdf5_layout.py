"""docs/hdf5-layout.md against a real output file (the demo run): every
dataset the file holds is in the document's tables with that shape and dtype,
and every path the document lists is in the file (per model, and per pair of
models the file compares). The document cannot drift from what `run` and
`reduce` write."""

import json
import os
import re

import h5py
import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DOC = os.path.join(ROOT, "docs", "hdf5-layout.md")
DTYPES = {"int8": "i1", "int16": "i2", "int32": "i4", "int64": "i8", "uint8": "u1", "float32": "f4",
          "float64": "f8"}


def doc_rows():
    """(path, shape expression, dtype) for every dataset row of the tables."""
    rows = []
    for line in open(DOC, encoding="utf-8"):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not cells[0].startswith("`/"):
            continue
        for path in re.findall(r"`(/[^`]+)`", cells[0]):
            rows.append((path, cells[1], cells[2]))
    return rows


def sizes(f, model):
    n_models = len(f.attrs["models"])
    v = {"N": f["samples/level"].shape[0], "S": f["samples/skipped_line"].shape[0],
         "W": len(f.attrs["target_words"]), "L": n_models, "P": n_models * (n_models - 1) // 2}
    if model:
        g = f["models"][model]
        v.update(T=g["tokens"].shape[0], K=g["topk_ids"].shape[1], M=g["targets"].shape[0],
                 O=g["occurrences"].shape[0])
        v["F"] = g["forms"].shape[0] // v["W"]
        cfg = json.loads(g.attrs["config_json"])  # config.json, or a GGUF's metadata
        layers = cfg.get("num_hidden_layers", cfg.get(f"{cfg.get('general.architecture')}.block_count"))
        v["D"] = int(layers) + 1  # logit-lens depths
    if "summary/reason_names" in f:
        v["R"] = f["summary/reason_names"].shape[0]
    if "summary/primary_names" in f:
        v["Q"] = f["summary/primary_names"].shape[0]
    if model and f"summary/lens/{model}" in f:
        v["D"] = int(f[f"summary/lens/{model}"].attrs["depths"])
    return v


def expected_shape(expr, v):
    dims = [d.strip() for d in expr.strip("[]").split(",")]
    return tuple(int(eval(d.replace("·", "*"), {}, v)) for d in dims)


def test_layout_document_matches_demo_file(demo_h5):
    rows = doc_rows()
    assert len(rows) > 20, "the layout tables were not found in docs/hdf5-layout.md"
    f = h5py.File(demo_h5, "r")
    models = list(f.attrs["models"])
    documented = {}
    pairs = {p: f["pairs"][p].attrs["model_a"] for p in f["pairs"]} if "pairs" in f else {}
    for path, shape, dtype in rows:
        if "<a>__<b>" in path:  # one per pair group the file holds (none in a file without pairs)
            grp = path.split("/<a>__<b>")[0].lstrip("/")
            for pair in (f[grp].keys() if grp in f else []):
                documented[path.replace("<a>__<b>", pair)] = (shape, dtype, pair.split("__")[0])
        elif path.startswith("/summary/lens/"):  # one per model with lens datasets
            for m in (f["summary/lens"].keys() if "summary/lens" in f else []):
                documented[path.replace("<m>", m)] = (shape, dtype, m)
        elif "<m>" in path:
            for m in models:
                documented[path.replace("<m>", m)] = (shape, dtype, m)
        elif "<p>" in path:  # a pair's rows are at model a's offsets
            for p, a in pairs.items():
                documented[path.replace("<p>", p)] = (shape, dtype, a)
        else:
            documented[path] = (shape, dtype, models[0])
    in_file = []
    f.visititems(lambda name, obj: in_file.append("/" + name) if isinstance(obj, h5py.Dataset) else None)
    missing_in_doc = sorted(set(in_file) - set(documented))
    missing_in_file = sorted(set(documented) - set(in_file))
    assert not missing_in_doc, f"datasets in the file but not in docs/hdf5-layout.md: {missing_in_doc}"
    assert not missing_in_file, f"paths in docs/hdf5-layout.md but not in the file: {missing_in_file}"
    for path, (shape, dtype, m) in documented.items():
        ds = f[path]
        if shape == "[n]":  # a length the data decides (e.g. the token-shift rows)
            assert ds.ndim == 1, f"{path}: shape {ds.shape}, the document says {shape}"
            continue
        want = expected_shape(shape, sizes(f, m))
        assert ds.shape == want, f"{path}: shape {ds.shape}, the document says {shape} = {want}"
        if dtype == "compound":
            assert ds.dtype.names, f"{path}: not a compound dataset"
        elif dtype.startswith("string"):
            assert ds.dtype.kind == "S", f"{path}: dtype {ds.dtype}, the document says {dtype}"
        else:
            assert ds.dtype == np.dtype(DTYPES[dtype]).newbyteorder("<"), f"{path}: dtype {ds.dtype} vs {dtype}"
        if not path.startswith("/summary"):
            assert "description" in ds.attrs and "unit" in ds.attrs, f"{path}: no description / unit attribute"


def test_root_attributes_documented(demo_h5):
    text = open(DOC, encoding="utf-8").read()
    f = h5py.File(demo_h5, "r")
    for a in f.attrs:
        assert f"`{a}`" in text, f"root attribute {a} is not in docs/hdf5-layout.md"
