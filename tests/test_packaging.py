"""The wheel carries every package and the rulebook, so `marginspec` works from any folder."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_python_package_folder_is_in_the_wheel():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(cfg["packages"])
    dirs = cfg["package-dir"]
    found = set()
    for folder, pkg in (("model", "marginspec"), ("conformance", "marginspec.conformance")):
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            if "__pycache__" in rel.parts or "node_modules" in rel.parts:
                continue
            found.add(".".join((pkg, *rel.parts)))
    assert found - listed == set(), "package folders missing from [tool.setuptools] packages"
    for pkg in listed:
        assert pkg in dirs or any(pkg.startswith(p + ".") for p in dirs), pkg


def test_rulebook_files_are_package_data():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "*.yaml" in cfg["package-data"]["marginspec.spec"]
    assert cfg["package-dir"]["marginspec.spec"] == "spec"


def test_rendered_rulebook_and_examples_are_package_data():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "marginspec.generated_docs" in cfg["packages"]
    assert cfg["package-dir"]["marginspec.generated_docs"] == "generated_docs"
    data = cfg["package-data"]["marginspec.generated_docs"]
    for name in ("rulebook.md", "index.html", "proof-report.json"):
        assert (ROOT / "generated_docs" / name).is_file() and any(Path(name).match(p) for p in data), name
    examples = cfg["package-data"]["marginspec.conformance.examples"]
    for name in ("engine.js", "selftest.py", "README.md"):
        assert any(Path(name).match(p.removeprefix("**/")) for p in examples), name
