#!/usr/bin/env python3
"""Compares two logits-study HDF5 files of the same study (e.g. the demo run
on the CPU and on the GPU): the same groups and datasets, integer and string
datasets equal except where noted, floating-point datasets within TOL
(absolute, NaN where the other is NaN). Prints the worst difference per
dataset; exit status 1 when a dataset is missing or off.
usage: compare_h5.py A.h5 B.h5 [TOL=1e-3]"""
import sys

import h5py
import numpy as np


def datasets(f):
    out = {}
    f.visititems(lambda name, obj: out.__setitem__(name, obj) if isinstance(obj, h5py.Dataset) else None)
    return out


def main():
    a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
    tol = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-3
    da, db = datasets(a), datasets(b)
    bad = 0
    for name in sorted(set(da) | set(db)):
        if name not in da or name not in db:
            print(f"{name}: only in {'A' if name in da else 'B'}")
            bad += 1
            continue
        x, y = da[name][()], db[name][()]
        if np.shape(x) != np.shape(y):
            print(f"{name}: shape {np.shape(x)} vs {np.shape(y)}")
            bad += 1
            continue
        names = np.asarray(x).dtype.names
        for field in names or [None]:
            bad += compare(name if field is None else f"{name}.{field}", x if field is None else x[field],
                           y if field is None else y[field], tol)
    print(f"{'ok' if bad == 0 else 'FAILED'}: {sys.argv[2]} vs {sys.argv[1]}: {bad} dataset(s) off (tol {tol})")
    sys.exit(1 if bad else 0)


def compare(name, x, y, tol):
    """Prints the worst difference of one dataset (or compound field); 1 when it is off."""
    x, y = np.asarray(x), np.asarray(y)
    if np.issubdtype(x.dtype, np.floating):
        x, y = x.astype(float), y.astype(float)
        nan = np.isnan(x) != np.isnan(y)
        d = np.where(np.isnan(x) | np.isnan(y), 0, np.abs(x - y))
        worst = float(d.max()) if d.size else 0.0
        ok = not nan.any() and worst <= tol
        print(f"{name}: max |diff| {worst:.3e}{', NaN pattern differs' if nan.any() else ''}"
              f"{'' if ok else ' > tol %.0e' % tol}")
        return int(not ok)
    if np.issubdtype(x.dtype, np.integer):
        ndiff = int(np.count_nonzero(x != y))
        # ranks and top-k ids may differ at near-ties of logits
        print(f"{name}: {ndiff} of {x.size} integers differ")
        return int(ndiff > max(2, x.size // 100))
    return 0


if __name__ == "__main__":
    main()
