"""Environments for formulas that read two states: `old.X` / `init.X` in the symbolic encoding
(`_TEnv`, and `_NamedEnv`, which names the definitions and updates a conclusion reads) and in the
interpreter when confirming counterexamples (`_CEnv`).
"""

from __future__ import annotations



import z3

from ..interpreter import Env
from ..z3env import SymEnv
from ..z3terms import SV, as_bool


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


class _NamedEnv(_TEnv):
    """A `_TEnv` in which what the conclusion reads of the rulebook's definitions and the action's
    updates is a fresh variable with its definition recorded as a named assumption, so that unsat
    cores say which were used: `rule:NAME` (the definition of a derived value the conclusion reads,
    in every state it reads it; the derived values that definition reads in turn are inlined in it,
    which keeps the names few and the proofs fast) and `effect:ACTION.FIELD` (the field's value
    after the action, as its effects set it; read by the conclusion or by a definition it reads).
    Only what is read is named (lazily, on first read); a field the action leaves unchanged is no
    effect. `named` collects the (name, definition) pairs of every env sharing it."""

    __slots__ = ("named", "tag", "effects", "action")

    def __init__(self, backend, values, lazy=None, parent=None, contract=None, old=None, init=None, *,
                 named: list, tag: str, effects: dict[str, SV] | None = None, action: str = ""):
        super().__init__(backend, values, lazy, parent, contract, old, init)
        self.named, self.tag, self.effects, self.action = named, tag, effects or {}, action

    def __getitem__(self, name: str) -> SV:
        v = self.values.get(name)
        if v is not None:
            return v
        if name in self.effects:
            v = self._define(f"effect:{self.action}.{name}", f"{self.tag}.{name}", self.effects[name])
        elif name in self.backend.derived and self.lazy.get(name) is self.backend.derived[name]:
            # the definitions it reads in turn are inlined (a child env), the fields it reads named
            inline = SymEnv(self.backend, {}, self.lazy, self, self.contract)
            v = self._define(f"rule:{name}", f"{self.tag}.{name}", self.backend.compile_expr(self.lazy[name], inline))
        else:
            return super().__getitem__(name)
        self.values[name] = v
        return v

    def _define(self, name: str, var: str, sv: SV) -> SV:
        """A fresh variable `var` standing for `sv`, its definition recorded under `name`."""
        if sv.v is None:  # the literal null: nothing to name
            return sv
        fresh = z3.Const(var, sv.v.sort())
        parts = [fresh == sv.v]
        null = sv.null
        if not (null is False or (isinstance(null, z3.BoolRef) and z3.is_false(null))):
            null = z3.Bool(f"{var}.null")
            parts.append(null == as_bool(sv.null))
        self.named.append((name, z3.And(*parts) if len(parts) > 1 else parts[0]))
        return SV(fresh, null, sv.kind, sv.enum)


def proper(assumptions: list) -> list:
    """The assumptions proper, without the definitions a goal names for its core (`effect:`, `rule:`:
    each a fresh variable defined once, `_NamedEnv`): whether assumptions can hold together, a model
    of them, and what follows from them about anything else do not depend on those (any model
    extends to the definitions); leaving them out keeps the vacuity question of every invariant of
    an action and side the same one, and the sanity checks' queries as small as before."""
    return [(n, a) for n, a in assumptions if not n.startswith(("effect:", "rule:"))]
