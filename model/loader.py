"""Loading spec/*.yaml into a `Rulebook`: structure (JSON Schema), names, units and types, the
order of derived values, and actions called from other actions inlined (set_leverage calls
add_margin/reduce_margin), so no backend has to know about calls. Every problem is collected with
its file:line:col before `SpecError` is raised."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

from . import ast
from .diagnostics import Diagnostic, Mark, SpecError, did_you_mean
from .parser import ParseError, parse
from .rulebook import (Action, Arg, Call, Check, CommonCheck, Contract, Derived, Effect,
                       Flag, Invariant, Liquidation, Note, Param, ResultField, Rulebook, Source, StateField, Unit,
                       expr_mark)
from .spec_schema import SCHEMA
from .spec_values import enum_value, read_contract, schema_diagnostics, written_decimal
from .types import BOOL, Checker, Scope, Ty, TypeErr, UnitSystem
from .yamlsafe import Node, Scalar, load_yaml_file, mark_of


def build_rulebook(directory: Path) -> Rulebook:
    """The checked rulebook of `directory`, or SpecError with every problem."""
    return _Builder(directory).build()


class _Builder:
    def __init__(self, directory: Path):
        self.dir = directory
        self.diags: list[Diagnostic] = []
        self.duplicates: list[Diagnostic] = []  # duplicate keys: reported, the loading goes on
        self.expr_texts: dict[int, Any] = {}

    # -- diagnostics -------------------------------------------------------------------------
    def err(self, where, message: str) -> None:
        self.diags.append(Diagnostic(where if isinstance(where, Mark) or where is None else mark_of(where), message))

    def expr_mark(self, text, pos: int) -> Mark | None:
        return expr_mark(text, pos)

    # -- files -------------------------------------------------------------------------------
    def read(self) -> Node | None:
        top = self.dir / "rulebook.yaml"
        if not self.dir.is_dir():
            raise SpecError([Diagnostic(None, f"{self.dir}: not a directory holding a rulebook")])
        if not top.is_file():
            raise SpecError([Diagnostic(None, f"{top}: missing (the rulebook's entry file)")])
        first = load_yaml_file(top, self._display(top), self.duplicates)
        if not isinstance(first, dict):
            raise SpecError([Diagnostic(mark_of(first), "rulebook.yaml must be a mapping")])
        merged = Node(first)
        merged.mark, merged.key_marks = first.mark, dict(first.key_marks)
        files = first.get("rulebook", {}).get("files", []) if isinstance(first.get("rulebook"), dict) else []
        for name in files:
            p = self.dir / str(name)
            if not self._inside(p):
                self.err(name, f"file '{name}' listed in rulebook.files is outside the rulebook folder "
                               f"{self._display(self.dir)} (name a file in that folder)")
                continue
            if not p.is_file():
                self.err(name, f"file '{name}' listed in rulebook.files is missing")
                continue
            try:
                doc = load_yaml_file(p, self._display(p), self.duplicates)
            except SpecError as e:
                self.diags.extend(e.diagnostics)
                continue
            if not isinstance(doc, dict):
                self.err(Mark(self._display(p), 1, 1), f"{name} must be a mapping of sections")
                continue
            for k, v in doc.items():
                if k in merged:
                    self.err(doc.key_marks[k], f"section '{k}' is defined twice (also at {merged.key_marks[k]})")
                    continue
                merged[k] = v
                merged.key_marks[k] = doc.key_marks[k]
        return merged

    def _inside(self, p: Path) -> bool:
        """Whether `p` (symbolic links followed) lies in the rulebook folder."""
        try:
            return p.resolve().is_relative_to(self.dir.resolve())
        except (OSError, RuntimeError, ValueError):
            return False

    def _display(self, p: Path) -> str:
        try:
            return str(p.relative_to(Path.cwd()))
        except ValueError:
            return str(p)

    def structure(self, doc: Node) -> None:
        self.diags.extend(schema_diagnostics(doc, SCHEMA, "the rulebook"))

    # -- building ----------------------------------------------------------------------------
    def build(self) -> Rulebook:
        """Read, check the structure, then the meaning, each stage only on what the one before
        accepted; a duplicate key (its second value dropped) does not stop the stages, so that the
        file's other errors are reported with it."""
        doc = self.read()
        if self.diags:
            raise SpecError(self.diags + self.duplicates)
        self.structure(doc)
        if self.diags:
            raise SpecError(self.diags + self.duplicates)
        rb = self.semantic(doc)
        if self.diags or self.duplicates:
            raise SpecError(self.diags + self.duplicates)
        return self.with_formals(rb)

    @staticmethod
    def with_formals(rb: Rulebook) -> Rulebook:
        """The rulebook with its invariants' formal statements read once, for every reader. A
        statement that fails is kept as an error: `check` refuses it, `prove` reports it as ERROR."""
        from dataclasses import replace

        from .formal import FormalError, Names, load_formal

        names, formals, errors = Names(rb), {}, {}
        for inv in rb.invariants:
            try:
                formals[inv.id] = load_formal(rb, inv, names)
            except FormalError as e:
                errors[inv.id] = str(e)
        return replace(rb, formals=formals, formal_errors=errors)

    def enum_value(self, text, enum: str) -> str | None:
        return enum_value(text, enum, self.enums, self.err)

    def decimal(self, text) -> Fraction | None:
        """A number written in the rulebook: a plain decimal (N-numbers), else an error at its place."""
        return written_decimal(text, self.err)

    def parse_expr(self, text) -> ast.Expr | None:
        try:
            e = parse(str(text))
            self.expr_texts[id(e)] = text
            return e
        except ParseError as e:
            shown = str(text) if len(str(text)) <= 100 else str(text)[:97] + "..."
            self.err(self.expr_mark(text, e.pos), f"syntax error in '{shown}': {e.message}")
            return None

    def typed(self, text, scope: Scope, expect: str | None = None, what: str = "") -> tuple[ast.Expr | None, Ty | None]:
        e = self.parse_expr(text)
        if e is None:
            return None, None
        try:
            t = self.checker.check(e, scope)
        except TypeErr as te:
            self.err(self.expr_mark(text, te.pos), f"{what}{te.message}")
            return None, None
        if expect == "bool" and t.kind != "bool":
            self.err(text, f"{what}must be a condition, but '{text}' is {self.units.describe(t)}")
        return e, t

    def type_of(self, spec, where) -> tuple[Ty | None, str]:
        """The type declared by a {unit: ...} or {type: ...} mapping."""
        nullable = bool(spec.get("nullable", False))
        if "unit" in spec:
            u = spec["unit"]
            if u not in self.units.units:
                self.err(u, f"unknown unit '{u}'{did_you_mean(u, self.units.units)}")
                return None, str(u)
            return self.units.num(u, nullable), str(u)
        t = spec["type"]
        if t == "bool":
            return Ty("bool", nullable=nullable), "bool"
        if t in self.enums:
            return Ty("enum", enum=str(t), nullable=nullable), str(t)
        self.err(t, f"unknown type '{t}'{did_you_mean(t, list(self.enums) + ['bool'])}")
        return None, str(t)

    def conforms(self, declared: Ty, actual: Ty) -> bool:
        if actual.kind == "null":
            return declared.nullable
        if declared.kind != actual.kind or (declared.kind == "enum" and declared.enum != actual.enum):
            return False
        if declared.kind == "num" and actual.dims is not None and actual.dims != declared.dims:
            return False
        # Nullability is declarative: the check order guarantees values (e.g. a mark before any
        # position formula), and the interpreter refuses a null in arithmetic at run time.
        return True

    def refs(self, node, key: str = "") -> tuple[str, ...]:
        return tuple(str(x) for x in node.get(key, ())) if key else tuple(str(x) for x in node)

    def semantic(self, doc: Node) -> Rulebook:
        meta = doc["rulebook"]
        dims = tuple(str(d) for d in doc["dimensions"])
        unit_defs = []
        for name, u in doc["units"].items():
            vec = []
            for d in u["dims"]:
                if d not in dims:
                    self.err(u["dims"].key_marks[d], f"unknown dimension '{d}'{did_you_mean(d, dims)}")
            for d in dims:
                vec.append(int(u["dims"].get(d, 0)))
            unit_defs.append(Unit(str(name), tuple(vec), str(u.get("description", ""))))
        self.units = UnitSystem(dims, {u.name: u.dims for u in unit_defs})
        self.checker = Checker(self.units)
        self.enums = {str(k): tuple(str(x) for x in v["values"]) for k, v in doc["enums"].items()}
        enum_desc = {str(k): str(v.get("description", "")) for k, v in doc["enums"].items()}
        self.errors = {str(k): str(v) for k, v in doc["errors"].items()}

        # tier fields and parameters -----------------------------------------------------
        tier_tys: dict[str, Ty] = {}
        for name, f in doc["tier_fields"].items():
            ty, _ = self.type_of(f, f)
            if ty:
                tier_tys[str(name)] = ty
        param_tys: dict[str, Ty] = {}
        for name, p in doc["parameters"].items():
            ty, _ = self.type_of(p, p)
            if ty:
                param_tys[str(name)] = ty
        names: dict[str, Ty] = dict(param_tys)
        tier_scope = Scope(dict(tier_tys), self.enums, tier_tys)
        tier_fields = []
        for name, f in doc["tier_fields"].items():
            e, _ = self.typed(f["domain"], tier_scope, "bool", f"domain of tier field '{name}': ")
            tier_fields.append(Param(str(name), str(f["unit"]), e, None, str(f.get("description", ""))))
        params = []
        for name, p in doc["parameters"].items():
            e, _ = self.typed(p["domain"], Scope(dict(param_tys), self.enums, tier_tys), "bool", f"domain of '{name}': ")
            ty = param_tys.get(str(name))
            enum = ty.enum if ty is not None and ty.kind == "enum" else None
            if ty is not None and ty.kind not in ("num", "enum"):
                self.err(p, f"parameter '{name}' must be a number with a unit or an enumeration value")
            default = None
            if "default" in p:
                default = self.enum_value(p["default"], enum) if enum else self.decimal(p["default"])
            params.append(Param(str(name), str(p.get("unit", p.get("type"))), e, default,
                                str(p.get("description", "")), enum, bool(p.get("optional", False))))

        # state -------------------------------------------------------------------------------
        state = []
        for scope_name in ("account", "symbol", "position"):
            for name, f in doc[scope_name].items():
                if name in names:
                    self.err(doc[scope_name].key_marks[name], f"'{name}' is already defined")
                    continue
                ty, tname = self.type_of(f, f)
                if ty is None:
                    continue
                initial = f.get("initial")
                if isinstance(initial, Scalar) and ty.kind == "num":
                    initial = self.decimal(initial)
                elif isinstance(initial, Scalar):
                    initial = str(initial)
                    if ty.kind == "enum" and initial not in self.enums[ty.enum]:
                        self.err(f["initial"], f"'{initial}' is not a {ty.enum}{did_you_mean(initial, self.enums[ty.enum])}")
                names[str(name)] = ty
                state.append(StateField(str(name), scope_name, ty, tname, initial, str(f.get("description", ""))))
        self.state_names = {s.name: s for s in state}

        # derived (types declared up front so order in the file does not matter) --------------
        dspecs = doc["derived"]
        declared: dict[str, Ty] = {}
        for name, d in dspecs.items():
            if name in names:
                self.err(dspecs.key_marks[name], f"derived value '{name}' shadows a parameter or state field")
                continue
            ty, _ = self.type_of(d, d)
            if ty:
                declared[str(name)] = ty
        names.update(declared)
        self.base_names = names
        self.tier_tys = tier_tys
        exprs: dict[str, ast.Expr] = {}
        for name, d in dspecs.items():
            if name not in declared:
                continue
            e, t = self.typed(d["expr"], self.scope(), None, f"derived value '{name}': ")
            if e is None:
                continue
            if not self.conforms(declared[name], t):
                self.err(d["expr"], f"derived value '{name}' is declared {self.describe_decl(declared[name])} "
                                    f"but its formula gives {self.describe_decl(t)}")
            exprs[str(name)] = e
        order = self.derived_order(exprs, dspecs)
        derived = tuple(
            Derived(n, declared[n], str(dspecs[n].get("unit", dspecs[n].get("type"))), exprs[n],
                    str(dspecs[n]["symbol"]) if "symbol" in dspecs[n] else None, str(dspecs[n]["description"]),
                    self.refs(dspecs[n], "sources"), self.refs(dspecs[n], "notes"))
            for n in order)
        view = tuple(str(v) for v in doc["position_view"])
        self._view = view
        for v in doc["position_view"]:
            if v not in names:
                self.err(v, f"position_view names unknown value '{v}'{did_you_mean(v, names)}")

        # errors used by checks ---------------------------------------------------------------
        common = []
        for c in doc["common_checks"]:
            self.known_error(c["error"])
            common.append(CommonCheck(str(c["id"]), str(c["error"]), str(c["message"]), str(c["text"]),
                                      self.refs(c, "notes")))

        # actions -------------------------------------------------------------------------------
        raw_actions = doc["actions"]
        actions: dict[str, Action] = {}
        for name, a in raw_actions.items():
            actions[str(name)] = self.action(str(name), a)
        for name, a in raw_actions.items():  # inline calls now that every callee is built
            if name in actions:
                actions[str(name)] = self.inline_calls(actions[str(name)], a, actions)

        liq = doc["liquidation"]
        liq_scope = self.scope()
        lets = self.lets(liq.get("let", {}), liq_scope, "liquidation")
        liquidation = Liquidation(str(liq["description"]), lets,
                                  tuple(self.effects(liq["effects"], liq_scope, "liquidation", allow_liquidate=False)),
                                  self.refs(liq, "sources"), self.refs(liq, "notes"))

        invariants = []
        for i in doc["invariants"]:
            extra = {k: v for k, v in i.items() if k not in ("id", "family", "title", "statement", "sources")}
            invariants.append(Invariant(str(i["id"]), int(i["family"]), str(i["title"]), str(i["statement"]),
                                        self.refs(i, "sources"), extra))
        sources = tuple(Source(str(k), str(v["text"]), self.refs(v["covered_by"])) for k, v in doc["sources"].items())
        notes = tuple(Note(str(n["id"]), str(n["title"]), str(n["text"]), str(n.get("why", ""))) for n in doc["notes"])
        contracts = {str(k): self.contract(str(k), v, params, tier_fields) for k, v in doc["contracts"].items()}
        flags = tuple(Flag(str(k), str(v["meaning"]), str(v["if_wrong"])) for k, v in doc.get("flags", {}).items())

        rb = Rulebook(
            name=str(meta["name"]), version=str(meta["version"]), title=str(meta["title"]),
            summary=str(meta.get("summary", "")), path=str(self.dir), units=self.units, unit_defs=tuple(unit_defs),
            enums=self.enums, enum_descriptions=enum_desc, errors=self.errors, params=tuple(params),
            tier_fields=tuple(tier_fields), state=tuple(state), derived=derived, position_view=view,
            common_checks=tuple(common), actions=actions, liquidation=liquidation, invariants=tuple(invariants),
            sources=sources, notes=notes, contracts=contracts, flags=flags, expr_texts=self.expr_texts)
        self.cross_references(rb, doc)
        return rb

    def describe_decl(self, t: Ty) -> str:
        return self.units.describe(t) + (" (nullable)" if t.nullable and t.kind != "null" else "")

    def scope(self, extra: dict[str, Ty] | None = None) -> Scope:
        return Scope(dict(self.base_names), self.enums, self.tier_tys, False, dict(extra or {}))

    def known_error(self, code) -> bool:
        if code not in self.errors:
            self.err(code, f"unknown error code '{code}'{did_you_mean(str(code), self.errors)}")
            return False
        return True

    def derived_order(self, exprs: dict[str, ast.Expr], dspecs: Node) -> list[str]:
        """Dependency order of the derived values; a cycle is an error naming its members."""
        order, state, stack = [], {}, []

        def visit(n: str) -> None:
            if state.get(n) == "done":
                return
            if state.get(n) == "active":
                cyc = stack[stack.index(n):] + [n]
                self.err(dspecs[n]["expr"], f"a cycle among derived values: {' -> '.join(cyc)}")
                raise _Cycle
            state[n] = "active"
            stack.append(n)
            for dep in sorted(ast.names(exprs[n]) & exprs.keys()):
                visit(dep)
            stack.pop()
            state[n] = "done"
            order.append(n)

        for n in exprs:
            try:
                visit(n)
            except _Cycle:
                return [x for x in exprs if state.get(x) == "done"]
        return order

    def lets(self, spec, scope: Scope, where: str) -> tuple[tuple[str, ast.Expr], ...]:
        out = []
        for name, text in spec.items():
            if name in scope.names or name in scope.extra:
                self.err(spec.key_marks[name], f"{where}: let '{name}' shadows an existing name")
                continue
            e, t = self.typed(text, scope, None, f"{where}, let '{name}': ")
            if e is not None:
                scope.extra[str(name)] = t
                out.append((str(name), e))
        return tuple(out)

    def action(self, name: str, a: Node) -> Action:
        args, extra = [], {}
        for aname, spec in a.get("args", {}).items():
            ty, tname = self.type_of(spec, spec)
            if ty is None:
                continue
            optional = bool(spec.get("optional", False))
            extra[f"arg.{aname}"] = ty.but_nullable(optional)
            args.append([str(aname), ty, tname, optional, spec.get("valid")])
        scope = self.scope(extra)
        built_args = []
        for aname, ty, tname, optional, valid in args:
            v = None
            if valid is not None:
                vscope = self.scope({f"arg.{aname}": ty, **{k: t for k, t in extra.items() if k != f'arg.{aname}'}})
                v, _ = self.typed(valid, vscope, "bool", f"{name}, argument '{aname}': ")
            built_args.append(Arg(aname, ty, tname, optional, v))
        lets = self.lets(a.get("let", {}), scope, name)
        let_types = {n: scope.extra[n] for n, _ in lets}
        checks = []
        for c in a["checks"]:
            if "call" in c:
                continue  # inlined later
            checks.append(self.check(c, scope, name))
        effects = self.effects(a["effects"], scope, name, allow_liquidate=True)
        result = self.result(a.get("result", {}), scope, name)
        return Action(name, str(a["description"]), tuple(built_args), lets, tuple(checks), tuple(effects),
                      tuple(result), self.refs(a, "sources"), self.refs(a, "notes"), (), let_types)

    def check(self, c: Node, scope: Scope, where: str) -> Check:
        cid = str(c["id"])
        if not cid.startswith(where + "."):
            self.err(c["id"], f"check id '{cid}' must start with '{where}.'")
        self.known_error(c["error"])
        when = self.typed(c["when"], scope, "bool", f"{cid}, when: ")[0] if "when" in c else None
        with_ = tuple(self.assignments(c.get("with", {}), scope, f"{cid}, with", ("account", "symbol", "position")))
        req, _ = self.typed(c["require"], scope, "bool", f"{cid}: ")
        return Check(cid, req, str(c["error"]), str(c["message"]), when, with_, self.refs(c, "sources"),
                     self.refs(c, "notes"))

    def assignments(self, spec, scope: Scope, where: str, targets) -> list[tuple[str, ast.Expr]]:
        out = []
        for field_name, text in spec.items():
            f = self.state_names.get(field_name)
            if f is None or f.scope not in targets:
                self.err(spec.key_marks[field_name],
                         f"{where}: '{field_name}' is not a state field that can be set"
                         f"{did_you_mean(str(field_name), self.state_names)}")
                continue
            e, t = self.typed(text, scope, None, f"{where}, {field_name}: ")
            if e is None:
                continue
            if not self.conforms(f.ty, t):
                self.err(text, f"{where}: {field_name} is {self.describe_decl(f.ty)}, "
                               f"but '{text}' is {self.describe_decl(t)}")
            out.append((str(field_name), e))
        return out

    def effects(self, specs, scope: Scope, where: str, allow_liquidate: bool) -> list[Effect]:
        out = []
        for s in specs:
            when = self.typed(s["when"], scope, "bool", f"{where}, when: ")[0] if "when" in s else None
            if "set" in s:
                out.append(Effect("set", tuple(self.assignments(s["set"], scope, f"{where}, set",
                                                                ("account", "symbol", "position"))), when=when))
            elif "create_position" in s:
                got = self.assignments(s["create_position"], scope, f"{where}, create_position", ("position",))
                missing = {f.name for f in self.state_names.values() if f.scope == "position"} - {n for n, _ in got}
                if missing:
                    self.err(s["create_position"], f"{where}: create_position must set {', '.join(sorted(missing))}")
                out.append(Effect("create_position", tuple(got), when=when))
            elif "remove_position" in s:
                out.append(Effect("remove_position", when=when))
            elif "liquidate_if" in s:
                if not allow_liquidate:
                    self.err(s["liquidate_if"], f"{where}: liquidation cannot trigger liquidation")
                cond, _ = self.typed(s["liquidate_if"], scope, "bool", f"{where}, liquidate_if: ")
                out.append(Effect("liquidate_if", cond=cond, when=when))
                scope.extra["liquidated"] = BOOL
                scope.extra["fill_price"] = self.units.num("price", nullable=True)
            # 'call' effects are inlined by inline_calls
        return out

    def result(self, spec, scope: Scope, where: str) -> list[ResultField]:
        out = []
        for name, r in spec.items():
            when = self.typed(r["when"], scope, "bool", f"{where}, result {name}: ")[0] if "when" in r else None
            if "view" in r:
                if r["view"] != "position_view":
                    self.err(r["view"], f"unknown view '{r['view']}' (the only view is position_view)")
                out.append(ResultField(str(name), None, tuple(str(v) for v in self.view_names), when, False))
                continue
            e, _ = self.typed(r["expr"], scope, None, f"{where}, result {name}: ")
            out.append(ResultField(str(name), e, None, when, bool(r.get("omit_null", False))))
        return out

    @property
    def view_names(self):
        return self._view

    def inline_calls(self, action: Action, a: Node, actions: dict[str, Action]) -> Action:
        """Replace `call` checks and effects by the callee's, with its arguments substituted."""
        scope = self.scope({f"arg.{x.name}": x.ty.but_nullable(x.optional) for x in action.args} | dict(action.let_types))
        checks, calls = [], []
        own = iter(action.checks)
        for c in a["checks"]:
            if "call" not in c:
                checks.append(next(own))
                continue
            callee = self.callee(c["call"], actions, action.name)
            if callee is None:
                continue
            when, mapping, args = self.call_args(c, callee, scope, action.name)
            calls.append(Call(str(c["id"]), callee.name, args, when))
            for cc in callee.checks:
                local = cc.id.split(".", 1)[1]
                checks.append(Check(
                    id=f"{c['id']}.{local}", require=ast.substitute(cc.require, mapping), error=cc.error,
                    message=cc.message, when=_conj(when, cc.when and ast.substitute(cc.when, mapping)),
                    with_=tuple((n, ast.substitute(e, mapping)) for n, e in cc.with_),
                    sources=cc.sources, notes=cc.notes, origin=cc.id))
        effects = []
        own_e = iter(action.effects)
        for s in a["effects"]:
            if "call" not in s:
                effects.append(next(own_e))
                continue
            callee = self.callee(s["call"], actions, action.name)
            if callee is None:
                continue
            when, mapping, _ = self.call_args(s, callee, scope, action.name)
            for ce in callee.effects:
                effects.append(Effect(ce.kind, tuple((n, ast.substitute(e, mapping)) for n, e in ce.assignments),
                                      ce.cond and ast.substitute(ce.cond, mapping), _conj(when, ce.when), callee.name))
        return Action(action.name, action.description, action.args, action.lets, tuple(checks), tuple(effects),
                      action.result, action.sources, action.notes, tuple(calls), action.let_types)

    def callee(self, name, actions, caller: str) -> Action | None:
        callee = actions.get(str(name))
        if callee is None:
            self.err(name, f"{caller} calls unknown action '{name}'{did_you_mean(str(name), actions)}")
        elif callee.lets or any(c.origin for c in callee.checks):
            self.err(name, f"{caller} calls '{name}', which has lets or calls of its own (not supported)")
            return None
        return callee

    def call_args(self, spec, callee: Action, scope: Scope, caller: str):
        when = self.typed(spec["when"], scope, "bool", f"{caller}, when: ")[0] if "when" in spec else None
        given = spec.get("args", {})
        mapping, args = {}, []
        for x in callee.args:
            if x.name not in given:
                if not x.optional:
                    self.err(spec, f"{caller} calls {callee.name} without its argument '{x.name}'")
                continue
            e, t = self.typed(given[x.name], scope, None, f"{caller}, argument {x.name}: ")
            if e is not None:
                if not self.conforms(x.ty.but_nullable(x.optional), t):
                    self.err(given[x.name], f"{caller}: argument '{x.name}' of {callee.name} is "
                                            f"{self.describe_decl(x.ty)}, not {self.describe_decl(t)}")
                mapping[f"arg.{x.name}"] = e
                args.append((x.name, e))
        for g in given:
            if g not in {x.name for x in callee.args}:
                self.err(given.key_marks[g], f"{callee.name} takes no argument '{g}'")
        return when, mapping, tuple(args)

    def contract(self, symbol: str, spec: Node, params: list[Param], tier_fields: list[Param]) -> Contract:
        return read_contract(symbol, spec, params, tier_fields, self.err, self.enums)

    def cross_references(self, rb: Rulebook, doc: Node) -> None:
        # Declared names count even when their formula failed (that error is already reported).
        ids = rb.rule_ids() | {str(k) for k in doc["derived"]}
        note_ids = {n.id for n in rb.notes}
        source_ids = {s.id for s in rb.sources}

        def need(refs, pool, what, node):
            for r in refs:
                if r not in pool:
                    self.err(node, f"{what} '{r}' is not defined{did_you_mean(r, pool)}")

        for s in doc["sources"].values():
            need([str(x) for x in s["covered_by"]], ids, "covered_by names", s["covered_by"])
        for sec in ("derived", "actions"):
            for item in doc[sec].values():
                need([str(x) for x in item.get("notes", ())], note_ids, "note", item)
                need([str(x) for x in item.get("sources", ())], source_ids, "source statement", item)
                for c in item.get("checks", ()):
                    need([str(x) for x in c.get("notes", ())], note_ids, "note", c)
                    need([str(x) for x in c.get("sources", ())], source_ids, "source statement", c)
        for i in doc["invariants"]:
            need([str(x) for x in i.get("sources", ())], source_ids, "source statement", i)
        need([str(x) for x in doc["liquidation"].get("notes", ())], note_ids, "note", doc["liquidation"])
        for c in doc["common_checks"]:
            need([str(x) for x in c.get("notes", ())], note_ids, "note", c)
        seen: dict[str, Any] = {}
        for i in list(doc["invariants"]) + list(doc["notes"]):
            if i["id"] in seen:
                self.err(i["id"], f"id '{i['id']}' is used twice (also at {mark_of(seen[i['id']])})")
            seen[str(i["id"])] = i["id"]
        check_ids = [c.id for c in rb.checks()]
        for cid in sorted({c for c in check_ids if check_ids.count(c) > 1}):
            self.err(None, f"check id '{cid}' is used twice")
        uncovered = [f"S{i}" for i in range(1, 22) if f"S{i}" not in source_ids]
        if uncovered:
            self.err(doc.key_marks["sources"], f"source statements missing: {', '.join(uncovered)}")


class _Cycle(Exception):
    pass


def _conj(a: ast.Expr | None, b: ast.Expr | None) -> ast.Expr | None:
    if a is None:
        return b
    if b is None:
        return a
    return ast.Logic("and", a, b)
