"""Colours and labels shared by the static and the interactive figures."""

# Okabe & Ito (2008), "Color Universal Design": distinguishable with the
# common colour-vision deficiencies. Black is kept last.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]

CORRECT_COLOURS = {True: "#0072B2", False: "#D55E00"}  # blue / vermillion
CORRECT_LABELS = {True: "correct", False: "incorrect"}

# Sequential and diverging colour maps that stay readable in greyscale and
# with deuteranopia / protanopia.
SEQ_CMAP = "cividis"
DIV_CMAP = "PuOr_r"
PLOTLY_SEQ = "Cividis"
PLOTLY_DIV = "PuOr_r"


def model_colours(models):
    return {m: OKABE_ITO[i % len(OKABE_ITO)] for i, m in enumerate(models)}


def model_markers(models):
    marks = ["o", "s", "^", "D", "v", "P", "X", "*"]
    return {m: marks[i % len(marks)] for i, m in enumerate(models)}
