"""The generated HTML in a real browser: headless Chromium (Debian package `chromium`).

Checks that the formulas are laid out as MathML (fractions stacked, not raw text), that no TeX or
`$` leaks into what a reader sees, that every internal link resolves in the DOM the browser built,
and saves a screenshot under the pytest tmp dir (its path is printed). Skipped only when
/usr/bin/chromium is absent and CI is not "true"; in CI it must run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from tests.docs.docs_support import anchors, generate, tex_leaks

CHROMIUM = Path("/usr/bin/chromium")
TIMEOUT = 180


def chromium_path() -> str:
    if CHROMIUM.exists():
        return str(CHROMIUM)
    found = shutil.which("chromium")
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("Chromium is required in CI: apt-get install -y chromium")
    pytest.skip("/usr/bin/chromium is not installed (apt-get install -y chromium); CI runs this test")


def chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    cmd = [chromium_path(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--hide-scrollbars", *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, f"chromium failed ({r.returncode}): {r.stderr[-2000:]}"
    return r


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("html")
    generate(out)
    return out / "index.html"


def fresh(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("chromium-profile")


def test_dom_has_mathml_and_no_raw_tex(page, tmp_path_factory):
    dom = chromium(["--dump-dom", page.as_uri()], fresh(tmp_path_factory)).stdout
    a = anchors(dom)
    assert a.math > 50, f"only {a.math} <math> elements in the DOM"
    assert "<mfrac>" in dom and "<msub>" in dom
    leaks = tex_leaks("".join(a.text))
    assert not leaks, f"raw TeX or $ visible in the page: {leaks[:5]}"


def test_every_internal_link_resolves_in_the_browser_dom(page, tmp_path_factory):
    dom = chromium(["--dump-dom", page.as_uri()], fresh(tmp_path_factory)).stdout
    a = anchors(dom)
    ids = set(a.ids)
    assert len(a.hrefs) > 200
    dangling = sorted({h for h in a.hrefs if h not in ids})
    assert not dangling, f"internal links without a target: {dangling[:20]}"


# A probe added to a copy of the page (the page itself has no script): it measures how the
# browser laid out the formulas and writes the numbers into the DOM for --dump-dom to return.
PROBE = """<script>
(function () {
  const r = e => e.getBoundingClientRect();
  const maths = [...document.querySelectorAll("math")];
  const fracs = [...document.querySelectorAll("mfrac")];
  let stacked = 0;
  for (const f of fracs) {
    const [num, den] = f.children;
    if (num && den && r(num).bottom <= r(den).top + 1 && r(f).height > r(num).height * 1.4) stacked++;
  }
  const subs = [...document.querySelectorAll("msub")];
  let lowered = 0;
  for (const s of subs) {
    const [base, sub] = s.children;
    if (base && sub && r(sub).bottom > r(base).bottom - 0.5 && r(sub).height < r(base).height) lowered++;
  }
  const empty = maths.filter(m => r(m).width === 0 || r(m).height === 0).length;
  const mathNs = maths.filter(m => m.namespaceURI === "http://www.w3.org/1998/Math/MathML").length;
  const pre = document.createElement("pre");
  pre.id = "probe-result";
  pre.textContent = JSON.stringify({maths: maths.length, mathNs, empty, fracs: fracs.length, stacked,
                                    subs: subs.length, lowered});
  document.body.appendChild(pre);
})();
</script>"""


def test_formulas_are_laid_out_as_mathml(page, tmp_path_factory):
    probe = page.parent / "probe.html"
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = chromium(["--window-size=1400,1000", "--dump-dom", probe.as_uri()], fresh(tmp_path_factory)).stdout
    m = re.search(r'<pre id="probe-result">(.*?)</pre>', dom, re.S)
    assert m, "the probe did not run"
    res = json.loads(m.group(1).replace("&quot;", '"'))
    assert res["maths"] > 50 and res["mathNs"] == res["maths"], res  # parsed as MathML elements
    assert res["empty"] == 0, res  # every formula has a box
    assert res["fracs"] > 10 and res["stacked"] == res["fracs"], res  # numerators above denominators
    assert res["subs"] > 10 and res["lowered"] >= 0.9 * res["subs"], res  # subscripts set smaller and lower


def png_stats(path: Path) -> tuple[int, int, int]:
    """(width, height, distinct byte values of the image data): a blank page has very few."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    width = height = 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", chunk[:8])
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    return width, height, len(set(raw))


def test_screenshot(page, tmp_path_factory):
    shot = page.parent / "index.png"
    chromium(["--window-size=1400,2400", f"--screenshot={shot}", page.as_uri()], fresh(tmp_path_factory))
    print(f"\nscreenshot of the generated rulebook: {shot}")
    assert shot.is_file()
    width, height, distinct = png_stats(shot)
    assert (width, height) == (1400, 2400)
    assert shot.stat().st_size > 50_000 and distinct > 100, (shot.stat().st_size, distinct)


def test_print_layout_renders(page, tmp_path_factory):
    pdf = page.parent / "index.pdf"
    chromium(["--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri()], fresh(tmp_path_factory))
    data = pdf.read_bytes()
    pages = len(re.findall(rb"/Type\s*/Page[^s]", data))
    print(f"\nprinted rulebook: {pdf} ({pages} pages)")
    assert data[:5] == b"%PDF-" and pages >= 10
