"""A pytest plugin: run the conformance vectors against an engine from an engine's own test suite.

    pytest --marginspec-engine "node engine.js" [--marginspec-vectors PATH ...] [--marginspec-timeout S]

adds one test item per vector case (node id ``marginspec/<file>::<case id>``, so ``-k`` selects
cases by id or file), all run over one shared engine process that is restarted after a fault that
stops it. A failing case shows its reason and the per-step diff; a case the engine cannot run
(an op it does not list in ``hello``) is skipped. ``--marginspec-engine reference`` runs the
reference engine in process. Without ``--marginspec-engine`` the plugin does nothing.

Registered through the ``pytest11`` entry point ``marginspec``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

_STATE = pytest.StashKey["_State"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("marginspec", "marginspec conformance vectors")
    group.addoption("--marginspec-engine", dest="marginspec_engine", metavar="CMD", default=None,
                    help="run the marginspec conformance vectors against this engine command "
                         "(speaking the engine protocol on stdin/stdout), or 'reference'")
    group.addoption("--marginspec-vectors", dest="marginspec_vectors", metavar="PATH", action="append",
                    default=[], help="vector file or folder (repeatable; default: the packaged vectors)")
    group.addoption("--marginspec-timeout", dest="marginspec_timeout", metavar="SECONDS", type=float,
                    default=10.0, help="per-request timeout for the engine (default 10)")


class _State:
    def __init__(self, engine: str, timeout: float) -> None:
        self.engine = engine
        self.timeout = timeout
        self._runner: Any = None
        self.meanings: dict[str, str] = {}  # flag -> meaning, from the vector files collected

    @property
    def runner(self):
        if self._runner is None:
            from .runner import Runner

            self._runner = Runner(self.engine, timeout=self.timeout)
        return self._runner

    def close(self) -> None:
        if self._runner is not None:
            self._runner.close()
            self._runner = None


def pytest_configure(config: pytest.Config) -> None:
    engine = config.getoption("marginspec_engine", None)
    if engine:
        config.stash[_STATE] = _State(engine, config.getoption("marginspec_timeout"))


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is not None:
        state.close()


def pytest_report_header(config: pytest.Config) -> str | None:
    state = config.stash.get(_STATE, None)
    if state is None:
        return None
    return f"marginspec: engine {state.engine!r}, timeout {state.timeout:g} s"


class MarginspecCaseFailed(Exception):
    """A vector case failed; carries the runner's CaseResult."""

    def __init__(self, result: Any) -> None:
        super().__init__(result.reason)
        self.result = result


class VectorFileNode(pytest.Collector):
    """The cases of one vector file (made by the plugin, not collected from disk)."""

    def __init__(self, *, vector_file: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.vector_file = vector_file

    def collect(self):
        lines = _id_lines(self.vector_file.path)
        for case in self.vector_file.cases:
            yield CaseItem.from_parent(self, name=case.id, case=case, line=lines.get(case.id, 0))


def _id_lines(path: str) -> dict[str, int]:
    """The (0-based) line of each case id in a vector file, for locations in reports."""
    import re

    try:
        text = Path(path).read_text("utf-8")
    except (OSError, ValueError):
        return {}
    out: dict[str, int] = {}
    for number, line in enumerate(text.splitlines()):
        for m in re.finditer(r'"id"\s*:\s*"([^"\\]+)"', line):
            out.setdefault(m.group(1), number)
    return out


class CaseItem(pytest.Item):
    """One vector case."""

    def __init__(self, *, case: Any, line: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.line = line
        for name in (*case.flags, *case.rules):  # -k MissedLiquidation, -k apply_funding
            self.keywords[name] = True
            self.extra_keyword_matches.add(name)  # what -k reads besides the names
        self.user_properties.append(("marginspec_rules", " ".join(case.rules)))

    def runtest(self) -> None:
        from .runner import FAILED, NOT_RUN, SKIPPED

        state: _State = self.config.stash[_STATE]
        result = state.runner.run_case(self.case)
        self.user_properties.append(("marginspec_status", result.status))
        if result.status == SKIPPED:
            try:  # report the skip at the case, not at this line
                raise pytest.skip.Exception(result.reason, _use_item_location=True)
            except TypeError:  # pragma: no cover - pytest without _use_item_location
                pytest.skip(result.reason)
        if result.status == NOT_RUN and state.runner.dead:  # said once, as conform says it
            self.session.shouldstop = f"marginspec: {state.runner.dead}; the remaining cases are not run"
        if result.status in (FAILED, NOT_RUN):  # a case the engine could not run never passes
            raise MarginspecCaseFailed(result)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, MarginspecCaseFailed):
            from .report import failure_text

            r = excinfo.value.result
            head = f"{r.case.id} [{r.case.file}] {r.case.title}\nreason: {r.reason}"
            body = failure_text(r, header=False, meanings=self.config.stash[_STATE].meanings)
            rules = f"rules: {', '.join(r.case.rules)}" + (f"; flags: {', '.join(r.case.flags)}" if r.case.flags else "")
            return "\n".join(x for x in (head, rules, body) if x)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return Path(str(self.case.path)), self.line, f"marginspec {self.case.file}::{self.case.id}: {self.case.title}"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    if config.stash.get(_STATE, None) is None:
        return
    from .loader import VectorFileError, load_vectors

    paths = config.getoption("marginspec_vectors") or None
    try:
        files = load_vectors(paths)
    except VectorFileError as exc:
        raise pytest.UsageError(f"marginspec: {exc}") from None
    from .summary import flag_meanings

    config.stash[_STATE].meanings = flag_meanings(files)
    for vf in files:
        node = VectorFileNode.from_parent(session, name=f"marginspec/{vf.file}",
                                          nodeid=f"marginspec/{vf.file}", vector_file=vf)
        cases = list(node.collect())
        items.extend(cases)
        # Tell the reporters, as a collection from disk would (so "collected N items" counts them).
        config.hook.pytest_collectreport(report=pytest.CollectReport(node.nodeid, "passed", None, cases))
