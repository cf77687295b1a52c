"""Environments for formulas that read two states: `old.X` / `init.X` in the symbolic encoding
(`_TEnv`) and in the interpreter when confirming counterexamples (`_CEnv`).
"""

from __future__ import annotations



from ..interpreter import Env
from ..z3backend import SV, SymEnv


class _TEnv(SymEnv):
    """An env that reads `old.X` in `old`, `init.X` in `init` (transition and sequence formulas)."""

    __slots__ = ("old", "init")

    def __init__(self, backend, values, lazy=None, parent=None, contract=None, old=None, init=None):
        super().__init__(backend, values, lazy, parent, contract)
        self.old = old
        self.init = init

    def __getitem__(self, name: str) -> SV:
        if name.startswith("old.") and self.old is not None:
            return self.old[name[4:]]
        if name.startswith("init.") and self.init is not None:
            return self.init[name[5:]]
        return super().__getitem__(name)


class _CEnv(Env):
    """The interpreter's Env with `old.X` read in another Env (to confirm counterexamples)."""

    __slots__ = ("old", "prefixes")

    def __init__(self, values, lazy=None, parent=None, old=None, prefixes=None):
        super().__init__(values, lazy or {}, parent)
        self.old = old
        self.prefixes = dict(prefixes or {})
        if old is not None:
            self.prefixes["old."] = old

    def __missing__(self, key):
        for pre, env in self.prefixes.items():
            if key.startswith(pre):
                v = env[key[len(pre):]]
                self[key] = v
                return v
        return super().__missing__(key)
