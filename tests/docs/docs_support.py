"""Helpers for the docs tests: run `marginspec docs`, read what it wrote, edit a copy of spec/."""

from __future__ import annotations

import html
import re
import shutil
from fractions import Fraction
from html.parser import HTMLParser
from pathlib import Path

import yaml
from click.testing import CliRunner

from marginspec.cli import main
from marginspec.rulebook import default_spec_dir


#: A contracts file of three contracts the rulebook does not ship, and one of a single one-tier contract.
THREE = str(Path(__file__).resolve().parents[1] / "fixtures" / "contracts" / "three.yaml")
ONE = """\
ONEUSDT:
  contract_multiplier: "1"
  tick_size: "0.001"
  lot_size: "1"
  money_step: "0.0001"
  tiers:
    - {max_notional: "100000", maintenance_margin_rate: "0.01", max_leverage: "50", maintenance_amount: "0"}
"""


def run_docs(*args: str) -> tuple[int, str]:
    """`marginspec docs ARGS` in-process: (exit code, stdout + stderr)."""
    result = CliRunner().invoke(main, ["docs", *args], catch_exceptions=False)
    return result.exit_code, result.output


def generate(out: Path, *extra: str) -> dict[str, bytes]:
    code, output = run_docs("--out", str(out), *extra)
    assert code == 0, output
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file()}


def copy_spec(dest: Path) -> Path:
    root = dest / "spec"
    shutil.copytree(default_spec_dir(), root, ignore=shutil.ignore_patterns("__pycache__", "__init__.py"))
    return root


def bump_first_tier_rate(spec: Path, symbol: str, delta: str = "0.001") -> dict:
    """Raise tier 1's maintenance_margin_rate of `symbol` by `delta` and recompute every later
    maintenance_amount so that maintenance margin stays continuous (the rulebook's own rule:
    amount_k = amount_(k-1) + max_notional_(k-1) * (mmr_k - mmr_(k-1))). Returns the new tiers."""
    path = spec / "contracts.yaml"
    doc = yaml.safe_load(path.read_text())
    tiers = doc["contracts"][symbol]["tiers"]
    tiers[0]["maintenance_margin_rate"] = _dec(Fraction(tiers[0]["maintenance_margin_rate"]) + Fraction(delta))
    for prev, cur in zip(tiers, tiers[1:]):
        amount = Fraction(prev["maintenance_amount"]) + Fraction(prev["max_notional"]) * (
            Fraction(cur["maintenance_margin_rate"]) - Fraction(prev["maintenance_margin_rate"]))
        cur["maintenance_amount"] = _dec(amount)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return {"tiers": tiers}


def _dec(q: Fraction) -> str:
    from marginspec.numbers import format_decimal
    return format_decimal(q)


class Anchors(HTMLParser):
    """Every id and every internal href of an HTML document, and its visible text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.hrefs: list[str] = []
        self.text: list[str] = []
        self.math = 0
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "a" and (a.get("href") or "").startswith("#"):
            self.hrefs.append(a["href"][1:])
        if tag == "math":
            self.math += 1
        if tag in ("style", "script", "title"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("style", "script", "title"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def anchors(html_text: str) -> Anchors:
    p = Anchors()
    p.feed(html_text)
    return p


TEX_LEAK = re.compile(r"\\(frac|times|mathrm|left|right|begin|end|le|ge|ne|lceil|rceil|lfloor|rfloor|text|operatorname)\b")


def tex_leaks(visible_text: str) -> list[str]:
    """Raw TeX or `$` in the text a reader sees."""
    leaks = [m.group(0) for m in TEX_LEAK.finditer(visible_text)]
    if "$" in visible_text:
        i = visible_text.index("$")
        leaks.append(visible_text[max(0, i - 30):i + 30])
    return leaks


def md_anchors(md: str) -> set[str]:
    return set(re.findall(r'<a id="([^"]+)"></a>', md))


def unescape(s: str) -> str:
    return html.unescape(s)
