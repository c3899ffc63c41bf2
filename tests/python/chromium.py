"""Headless Chromium checks of an HTML page, without a driver library.

* JavaScript errors: a copy of the page gets a first <script> in <head> that
  records window errors (also failed resource loads), unhandled promise
  rejections and console.error calls; after `load` (+ a short delay for
  plotly to draw) it writes them, with the number of plotly plots drawn, as
  JSON into <pre id="__ls_js_report">. `chromium --dump-dom` prints the DOM
  and the report is parsed from it.
* Screenshot: `chromium --screenshot` of the original page.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import tempfile

HOOK = """<script>
(function () {
  var errs = [];
  window.__ls_errs = errs;
  window.addEventListener('error', function (e) {
    var t = e.target;
    if (t && t !== window && (t.src || t.href)) { errs.push('resource failed: ' + (t.src || t.href)); return; }
    errs.push('error: ' + (e.message || e) + ' at ' + (e.filename || '') + ':' + (e.lineno || ''));
  }, true);
  window.addEventListener('unhandledrejection', function (e) { errs.push('unhandled rejection: ' + e.reason); });
  var ce = console.error;
  console.error = function () { errs.push('console.error: ' + Array.prototype.join.call(arguments, ' '));
                                return ce.apply(console, arguments); };
  window.addEventListener('load', function () {
    setTimeout(function () {
      var pre = document.createElement('pre');
      pre.id = '__ls_js_report';
      pre.textContent = JSON.stringify({
        errors: errs,
        plots: document.querySelectorAll('.js-plotly-plot').length,
        drawn: document.querySelectorAll('.js-plotly-plot .main-svg').length,
        plotly: typeof window.Plotly
      });
      document.body.appendChild(pre);
    }, 1000);
  });
})();
</script>"""

REPORT_RE = re.compile(r'<pre id="__ls_js_report">(.*?)</pre>', re.S)


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


def _run(args, timeout=90):
    exe = find_chromium()
    if exe is None:
        raise RuntimeError("chromium not found (scripts/setup.sh installs Debian's `chromium`)")
    with tempfile.TemporaryDirectory(prefix="ls-chromium-") as prof:
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--no-first-run", "--no-default-browser-check", "--disable-extensions",
               "--disable-background-networking", "--disable-component-update", "--mute-audio",
               f"--user-data-dir={prof}", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def js_report(page: str) -> dict:
    """Loads a hooked copy of page; returns {'errors': [...], 'plots': n, 'drawn': n, 'plotly': type}."""
    with open(page, encoding="utf-8") as fh:
        text = fh.read()
    i = text.lower().find("<head>")
    if i < 0:
        raise ValueError(f"{page}: no <head>")
    hooked = text[: i + 6] + HOOK + text[i + 6 :]
    d = os.path.dirname(os.path.abspath(page))
    tmp = os.path.join(d, "__ls_hooked_" + os.path.basename(page))
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(hooked)
        r = _run(["--virtual-time-budget=15000", "--run-all-compositor-stages-before-draw", "--dump-dom",
                  "file://" + tmp])
    finally:
        os.unlink(tmp)
    m = REPORT_RE.search(r.stdout)
    if not m:
        raise RuntimeError(f"no JS report in the DOM of {page} (chromium rc={r.returncode}):\n{r.stderr[-3000:]}")
    return json.loads(html.unescape(m.group(1)))


def screenshot(page: str, out_png: str, width: int = 1400, height: int = 2400) -> subprocess.CompletedProcess:
    r = _run(["--hide-scrollbars", f"--window-size={width},{height}", "--virtual-time-budget=15000",
              "--run-all-compositor-stages-before-draw", f"--screenshot={out_png}",
              "file://" + os.path.abspath(page)])
    if not os.path.exists(out_png):
        raise RuntimeError(f"chromium wrote no screenshot (rc={r.returncode}):\n{r.stderr[-3000:]}")
    return r
