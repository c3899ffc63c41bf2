#!/usr/bin/env bash
# The file records what computed each model (device, precision, processor,
# libraries, threads, grid: docs/hdf5-layout.md), and `run --resume` refuses
# to continue a model on another device kind or precision: a partly written
# file whose stored device says "cuda" is refused on the CPU with a message
# naming both, and the file is left as it was.
# usage: test_resume_device.sh BINARY SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
. "$src/tests/scripts/lib.sh"
demo_study
common=(--limit 12 --threads 1 --quiet --device cpu)
mpirun -np 2 "$bin" run "$tmp/run.yaml" "${common[@]}" --out "$tmp/full.h5"

# the device record: resolved device (never "auto"), precision, processor, libraries, threads, grid
"$py" - "$tmp/full.h5" <<'PY'
import sys, h5py
f = h5py.File(sys.argv[1], "r")
for m in ("baseline", "sft", "rl"):
    a = f["models"][m].attrs
    s = lambda k: a[k].decode() if isinstance(a[k], bytes) else str(a[k])
    assert s("device") == "cpu", s("device")
    assert s("precision") == "fp32", s("precision")
    assert s("processor") and s("runtime"), (s("processor"), s("runtime"))
    assert int(a["threads"]) == 1 and int(a["world_size"]) == 2, (a["threads"], a["world_size"])
    assert int(a["tp_size"]) == 1 and int(a["dp_size"]) == 2
print("device record: cpu, fp32,", s("processor"), "|", s("runtime")[:40])
PY

# a partly written file (sft not finished, the run not complete) that a GPU had computed
cp "$tmp/full.h5" "$tmp/part.h5"
"$py" - "$tmp/part.h5" <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r+")
f.attrs["complete"] = np.int64(0)
g = f["models/sft"]
g.attrs["complete"] = np.int64(0)
del g.attrs["device"]
g.attrs.create("device", np.bytes_("cuda"))
PY
sum_before=$(sha256sum < "$tmp/part.h5")
expect_err 1 "model sft was computed on cuda in fp32, but this run computes on cpu in fp32" \
  mpirun -np 2 "$bin" run "$tmp/run.yaml" "${common[@]}" --out "$tmp/part.h5" --resume
[ "$(grep -c 'computed on cuda' "$tmp/e")" -eq 1 ] || fail "refusal printed more than once: $(cat "$tmp/e")"
[ "$(sha256sum < "$tmp/part.h5")" = "$sum_before" ] || fail "the refused resume changed the file"

# the same for precision (bf16 stored, fp32 here)
"$py" - "$tmp/part.h5" <<'PY'
import sys, h5py, numpy as np
g = h5py.File(sys.argv[1], "r+")["models/sft"]
del g.attrs["device"]
g.attrs.create("device", np.bytes_("cpu"))
del g.attrs["precision"]
g.attrs.create("precision", np.bytes_("bf16"))
PY
sum_before=$(sha256sum < "$tmp/part.h5")
expect_err 1 "model sft was computed on cpu in bf16, but this run computes on cpu in fp32" \
  mpirun -np 2 "$bin" run "$tmp/run.yaml" "${common[@]}" --out "$tmp/part.h5" --resume
[ "$(sha256sum < "$tmp/part.h5")" = "$sum_before" ] || fail "the refused resume changed the file"
echo "resume device: all checks passed"
