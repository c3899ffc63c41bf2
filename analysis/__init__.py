"""analysis/: figures, interactive pages and analysis_results.json from a
logits-study results file (docs/hdf5-layout.md). Entry point:

    python -m analysis.report RESULTS.h5 -o OUTDIR
"""

__version__ = "0.1.0"
