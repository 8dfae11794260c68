"""Evaluate the Terraform expressions the tests care about: validation conditions, locals and
variable defaults, with values the test chooses.

No Terraform binary is reachable here, so `terraform plan -var ...` cannot say whether a
validation refuses a value. This evaluates the expression text python-hcl2 gives back (`${…}`,
with object and list literals rendered Python-style) for the subset of the language the
configuration uses in validations and locals: literals, `var.`/`local.` references, indexing,
arithmetic, comparisons, `&&`/`||`/`!`, the conditional operator, `for` expressions and the
functions in FUNCTIONS. Anything else raises EvalError, so a test never passes on an expression
it did not understand.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hcl2.parser import Hcl2
from hcl2.transformer import DictTransformer


class _KeepsParentheses(DictTransformer):
    def paren_term(self, args: list) -> Any:
        inner = self.strip_new_line_tokens(args)[0]
        return f"({inner})" if isinstance(inner, str) else inner


def loads(text: str) -> dict[str, Any]:
    """hcl2.loads, but a parenthesized expression keeps its parentheses: python-hcl2 gives
    `(a + 1) * 2` back as "a + 1 * 2", which no longer means what the source says."""
    tree = Hcl2.lark_parser.parse(text + "\n")
    for node in tree.iter_subtrees():
        if node.data == "expr_term" and not node.meta.empty and text[node.meta.start_pos] == "(":
            node.data = "paren_term"
    return _KeepsParentheses().transform(tree)


class EvalError(Exception):
    """The expression is outside the supported subset, or Terraform would fail evaluating it."""


class _Unknown:
    """A value only known after apply (a resource attribute)."""


UNKNOWN = _Unknown()

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<dq>")
  | (?P<sq>')
  | (?P<op>=>|==|!=|<=|>=|&&|\|\||\.\.\.|[-+*/%<>!?:.,()\[\]{}=])
  | (?P<name>[A-Za-z_][A-Za-z0-9_-]*)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Tok:
    kind: str  # number, string, template, op, name, end
    value: Any


def _read_double_quoted(text: str, at: int) -> tuple[list[Any], int]:
    """An HCL string starting after its opening quote: literal parts and `${…}` sources."""
    parts: list[Any] = []
    literal: list[str] = []
    i = at
    escapes = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
    while i < len(text):
        char = text[i]
        if char == "\\":
            nxt = text[i + 1]
            if nxt in escapes:
                literal.append(escapes[nxt])
                i += 2
                continue
            raise EvalError(f"unsupported escape \\{nxt}")
        if char == '"':
            parts.append("".join(literal))
            return parts, i + 1
        if text.startswith("${", i):
            parts.append("".join(literal))
            literal = []
            end = _matching(text, i + 1)
            parts.append(_Interp(text[i + 2 : end]))
            i = end + 1
            continue
        literal.append(char)
        i += 1
    raise EvalError("unterminated string")


def _read_single_quoted(text: str, at: int) -> tuple[str, int]:
    """A Python-style string python-hcl2 wrote inside an object or list literal."""
    out: list[str] = []
    i = at
    while i < len(text):
        char = text[i]
        if char == "\\":
            nxt = text[i + 1]
            out.append({"n": "\n", "t": "\t", "'": "'", '"': '"', "\\": "\\"}.get(nxt, "\\" + nxt))
            i += 2
            continue
        if char == "'":
            return "".join(out), i + 1
        out.append(char)
        i += 1
    raise EvalError("unterminated string")


def _matching(text: str, open_at: int) -> int:
    """Index of the brace closing the one at open_at, skipping strings."""
    depth, i = 0, open_at
    while i < len(text):
        char = text[i]
        if char in "\"'":
            i = (_read_double_quoted(text, i + 1) if char == '"' else _read_single_quoted(text, i + 1))[1]
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise EvalError("unbalanced braces")


@dataclass(frozen=True)
class _Interp:
    source: str


def _tokens(text: str) -> list[_Tok]:
    found: list[_Tok] = []
    i = 0
    while i < len(text):
        match = _TOKEN.match(text, i)
        if not match:
            raise EvalError(f"cannot read {text[i : i + 20]!r}")
        kind = match.lastgroup
        if kind == "space":
            i = match.end()
        elif kind == "dq":
            parts, i = _read_double_quoted(text, match.end())
            found.append(_Tok("template", parts))
        elif kind == "sq":
            value, i = _read_single_quoted(text, match.end())
            whole = re.fullmatch(r"\$\{(.*)\}", value, flags=re.DOTALL)
            if whole and _matching(value, 1) == len(value) - 1:
                found.append(_Tok("template", ["", _Interp(whole.group(1)), ""]))
            else:
                # python-hcl2 keeps a string's HCL escapes (\\") as written
                found.append(_Tok("template", _read_double_quoted(value + '"', 0)[0]))
        else:
            value = match.group()
            found.append(_Tok(kind or "op", float(value) if kind == "number" and "." in value else value))
            if kind == "number":
                found[-1] = _Tok("number", float(value) if any(c in value for c in ".eE") else int(value))
            i = match.end()
    found.append(_Tok("end", None))
    return found


# The parser builds closures: each node is a function of the scope.
Node = Callable[[dict[str, Any]], Any]

_BINARY = {
    "||": (1, lambda a, b: _bool(a) or _bool(b)),
    "&&": (2, lambda a, b: _bool(a) and _bool(b)),
    "==": (3, lambda a, b: a == b),
    "!=": (3, lambda a, b: a != b),
    "<": (4, lambda a, b: _num(a) < _num(b)),
    "<=": (4, lambda a, b: _num(a) <= _num(b)),
    ">": (4, lambda a, b: _num(a) > _num(b)),
    ">=": (4, lambda a, b: _num(a) >= _num(b)),
    "+": (5, lambda a, b: _num(a) + _num(b)),
    "-": (5, lambda a, b: _num(a) - _num(b)),
    "*": (6, lambda a, b: _num(a) * _num(b)),
    "/": (6, lambda a, b: _num(a) / _num(b)),
    "%": (6, lambda a, b: _num(a) % _num(b)),
}


def _num(value: Any) -> float:
    if isinstance(value, bool) or value is None:
        raise EvalError(f"expected a number, got {value!r}")
    if isinstance(value, str):
        try:
            return float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            raise EvalError(f"expected a number, got {value!r}") from None
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise EvalError(f"expected a bool, got {value!r}")
    return value


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.at = 0

    def peek(self, offset: int = 0) -> _Tok:
        return self.toks[min(self.at + offset, len(self.toks) - 1)]

    def take(self, value: str | None = None) -> _Tok:
        tok = self.toks[self.at]
        if value is not None and tok.value != value:
            raise EvalError(f"expected {value!r}, found {tok.value!r}")
        self.at += 1
        return tok

    def parse(self) -> Node:
        node = self.expression()
        if self.peek().kind != "end":
            raise EvalError(f"unexpected {self.peek().value!r}")
        return node

    def expression(self) -> Node:
        condition = self.binary(1)
        if self.peek().value == "?":
            self.take("?")
            yes = self.expression()
            self.take(":")
            no = self.expression()
            return lambda s: yes(s) if _bool(condition(s)) else no(s)
        return condition

    def binary(self, level: int) -> Node:
        left = self.unary()
        while True:
            tok = self.peek()
            if tok.kind != "op" or tok.value not in _BINARY or _BINARY[tok.value][0] < level:
                return left
            precedence, apply = _BINARY[self.take().value]
            right = self.binary(precedence + 1)
            left = (lambda lhs, rhs, fn: lambda s: fn(lhs(s), rhs(s)))(left, right, apply)

    def unary(self) -> Node:
        tok = self.peek()
        if tok.value == "!":
            self.take()
            operand = self.unary()
            return lambda s: not _bool(operand(s))
        if tok.value == "-":
            self.take()
            operand = self.unary()
            return lambda s: -_num(operand(s))
        return self.postfix(self.primary())

    def postfix(self, node: Node) -> Node:
        while True:
            tok = self.peek()
            if tok.value == "[":
                self.take()
                index = self.expression()
                self.take("]")
                node = (lambda base, key: lambda s: _index(base(s), key(s)))(node, index)
            elif tok.value == "." and self.peek(1).kind in ("name", "number"):
                self.take()
                name = self.take().value
                node = (lambda base, key: lambda s: _index(base(s), key))(node, name)
            else:
                return node

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind == "number":
            return lambda s: tok.value
        if tok.kind == "template":
            return _template(tok.value)
        if tok.value == "(":
            inner = self.expression()
            self.take(")")
            return inner
        if tok.value == "[":
            return self.sequence()
        if tok.value == "{":
            return self.mapping()
        if tok.kind == "name":
            # python-hcl2 writes literals inside expressions the Python way (None, True, False)
            if tok.value in ("true", "false", "True", "False"):
                return lambda s: tok.value.lower() == "true"
            if tok.value in ("null", "None"):
                return lambda s: None
            if self.peek().value == "(":
                return self.call(tok.value)
            return lambda s: _lookup(s, tok.value)
        raise EvalError(f"unexpected {tok.value!r}")

    def call(self, name: str) -> Node:
        self.take("(")
        args: list[Node] = []
        while self.peek().value != ")":
            args.append(self.expression())
            if self.peek().value == ",":
                self.take()
        self.take(")")
        if name in ("can", "try"):
            return _lazy(name, args)
        function = FUNCTIONS.get(name)
        if function is None:
            raise EvalError(f"function {name} is not supported")
        return lambda s: function(*(arg(s) for arg in args))

    def sequence(self) -> Node:
        if self.peek().value == "for":
            return self.for_expression("]")
        items: list[Node] = []
        while self.peek().value != "]":
            items.append(self.expression())
            if self.peek().value == ",":
                self.take()
        self.take("]")
        return lambda s: [item(s) for item in items]

    def mapping(self) -> Node:
        if self.peek().value == "for":
            return self.for_expression("}")
        pairs: list[tuple[Node, Node]] = []
        while self.peek().value != "}":
            key_tok = self.peek()
            if key_tok.kind == "name" and self.peek(1).value in ("=", ":"):
                self.take()
                key: Node = (lambda k: lambda s: k)(key_tok.value)
            else:
                key = self.expression()
            if self.peek().value not in ("=", ":"):
                raise EvalError("expected = or : in an object")
            self.take()
            pairs.append((key, self.expression()))
            if self.peek().value == ",":
                self.take()
        self.take("}")
        return lambda s: {k(s): v(s) for k, v in pairs}

    def for_expression(self, close: str) -> Node:
        self.take("for")
        names = [self.take().value]
        if self.peek().value == ",":
            self.take()
            names.append(self.take().value)
        self.take("in")
        collection = self.expression()
        self.take(":")
        first = self.expression()
        second: Node | None = None
        if close == "}":
            self.take("=>")
            second = self.expression()
        condition: Node | None = None
        if self.peek().value == "if":
            self.take()
            condition = self.expression()
        self.take(close)

        def run(s: dict[str, Any]) -> Any:
            source = collection(s)
            pairs = list(source.items()) if isinstance(source, Mapping) else list(enumerate(source))
            out: list[tuple[Any, Any]] = []
            for key, value in pairs:
                inner = dict(s)
                if len(names) == 2:
                    inner[names[0]], inner[names[1]] = key, value
                else:
                    inner[names[0]] = value
                if condition is None or _bool(condition(inner)):
                    out.append((first(inner), second(inner) if second else None))
            return {k: v for k, v in out} if close == "}" else [k for k, _ in out]

        return run


def _template(parts: list[Any]) -> Node:
    nodes = [_Parser(p.source).parse() if isinstance(p, _Interp) else p for p in parts]
    literal_only = all(isinstance(n, str) for n in nodes)
    whole = [n for n in nodes if not isinstance(n, str) or n]

    def run(s: dict[str, Any]) -> Any:
        if literal_only:
            return "".join(nodes)  # type: ignore[arg-type]
        if len(whole) == 1 and callable(whole[0]):
            return whole[0](s)  # "${x}" keeps x's type
        values = [n if isinstance(n, str) else n(s) for n in nodes]
        if any(v is UNKNOWN for v in values):
            return UNKNOWN
        return "".join(_text(v) for v in values)

    return run


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float, str)):
        return str(value)
    raise EvalError(f"cannot put {value!r} in a string")


def _lazy(name: str, args: list[Node]) -> Node:
    def run(s: dict[str, Any]) -> Any:
        for arg in args if name == "try" else args[:1]:
            try:
                value = arg(s)
            except (EvalError, KeyError, IndexError, TypeError, ValueError, re.error):
                continue
            return True if name == "can" else value
        if name == "can":
            return False
        raise EvalError("no argument of try() could be evaluated")

    return run


def _lookup(scope: Mapping[str, Any], name: str) -> Any:
    if name not in scope:
        raise EvalError(f"{name} is not in scope")
    return scope[name]


def _index(value: Any, key: Any) -> Any:
    if value is UNKNOWN:
        return UNKNOWN
    if isinstance(value, Mapping):
        if key not in value:
            raise EvalError(f"no attribute {key!r}")
        return value[key]
    if isinstance(value, list):
        return value[int(_num(key))]
    raise EvalError(f"cannot index {value!r}")


def _regex(pattern: str, text: str) -> Any:
    match = re.search(pattern, text)
    if not match:
        raise EvalError(f"{text!r} does not match {pattern!r}")
    if match.re.groupindex:
        return match.groupdict()
    return list(match.groups()) if match.re.groups else match.group()


def _tonumber(value: Any) -> Any:
    if value is None:
        return None
    return _num(value)


def _flatten(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        out.extend(_flatten(item) if isinstance(item, list) else [item])
    return out


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": abs,
    "alltrue": lambda items: all(_bool(i) for i in items),
    "anytrue": lambda items: any(_bool(i) for i in items),
    "ceil": lambda x: math.ceil(_num(x)),
    "coalesce": lambda *xs: next(x for x in xs if x is not None and x != ""),
    "concat": lambda *lists: [i for lst in lists for i in lst],
    "contains": lambda items, value: value in items,
    "distinct": lambda items: list(dict.fromkeys(items)),
    "element": lambda items, i: items[int(_num(i)) % len(items)],
    "endswith": lambda s, suffix: s.endswith(suffix),
    "flatten": _flatten,
    "floor": lambda x: math.floor(_num(x)),
    "join": lambda sep, items: sep.join(_text(i) for i in items),
    "keys": lambda m: sorted(m),
    "length": len,
    "lookup": lambda m, k, *default: m[k] if k in m else default[0],
    "lower": str.lower,
    "max": lambda *xs: max(_num(x) for x in _flatten(list(xs))),
    "min": lambda *xs: min(_num(x) for x in _flatten(list(xs))),
    "regex": _regex,
    "regexall": lambda pattern, text: [m.group() for m in re.finditer(pattern, text)],
    "replace": lambda s, old, new: s.replace(old, new),
    "sha256": lambda s: hashlib.sha256(s.encode()).hexdigest(),
    "sort": lambda items: sorted(_text(i) for i in items),
    "split": lambda sep, s: s.split(sep),
    "startswith": lambda s, prefix: s.startswith(prefix),
    "strcontains": lambda s, part: part in s,
    "substr": lambda s, offset, length: s[int(offset) : int(offset) + int(length)],
    "sum": lambda items: sum(_num(i) for i in items),
    "tolist": list,
    "tonumber": _tonumber,
    "toset": lambda items: sorted(set(items), key=str),
    "tostring": _text,
    "trimsuffix": lambda s, suffix: s.removesuffix(suffix),
    "upper": str.upper,
    "values": lambda m: [m[k] for k in sorted(m)],
}


def expression_source(value: Any) -> str:
    """The expression inside python-hcl2's `${…}`, or the literal's own text."""
    if isinstance(value, str):
        whole = re.fullmatch(r"\$\{(.*)\}", value, flags=re.DOTALL)
        if whole and _matching(value, 1) == len(value) - 1:
            return whole.group(1)
        # a literal keeps its HCL escapes as written (\\" stays two characters): read it as HCL
        return '"' + value + '"'
    raise EvalError(f"not an expression: {value!r}")


def evaluate(value: Any, scope: Mapping[str, Any]) -> Any:
    """A python-hcl2 value (expression string, literal, or a list/dict of them) in scope."""
    if isinstance(value, str):
        return _Parser(expression_source(value)).parse()(dict(scope))
    if isinstance(value, list):
        return [evaluate(v, scope) for v in value]
    if isinstance(value, dict):
        return {k: evaluate(v, scope) for k, v in value.items()}
    return value


# Types: `object({a = optional(number, 1)})` evaluated with these names gives a TypeSpec.


@dataclass(frozen=True)
class TypeSpec:
    kind: str  # string, number, bool, any, object, map, list, set, optional
    inner: Any = None  # object: {name: TypeSpec}; map/list/set/optional: TypeSpec
    default: Any = None  # optional's default
    has_default: bool = False


def _optional(inner: TypeSpec, *default: Any) -> TypeSpec:
    return TypeSpec("optional", inner, default[0] if default else None, bool(default))


_TYPE_SCOPE: dict[str, Any] = {name: TypeSpec(name) for name in ("string", "number", "bool", "any")}
_TYPE_FUNCTIONS = {
    "object": lambda fields: TypeSpec("object", fields),
    "map": lambda inner: TypeSpec("map", inner),
    "list": lambda inner: TypeSpec("list", inner),
    "set": lambda inner: TypeSpec("set", inner),
    "optional": _optional,
}


def type_of(value: Any) -> TypeSpec:
    saved = {name: FUNCTIONS.get(name) for name in _TYPE_FUNCTIONS}
    FUNCTIONS.update(_TYPE_FUNCTIONS)
    try:
        return evaluate(value, _TYPE_SCOPE)
    finally:
        for name, function in saved.items():
            if function is None:
                FUNCTIONS.pop(name)
            else:
                FUNCTIONS[name] = function


def with_defaults(spec: TypeSpec, value: Any) -> Any:
    """The value Terraform passes on: optional attributes missing from an object get defaults."""
    if value is None:
        return None
    if spec.kind == "optional":
        return with_defaults(spec.inner, value)
    if spec.kind == "object":
        out = {}
        for name, field in spec.inner.items():
            if name in value:
                out[name] = with_defaults(field, value[name])
            elif field.kind == "optional":
                out[name] = with_defaults(field.inner, field.default) if field.has_default else None
            else:
                raise EvalError(f"attribute {name} is required")
        unknown = set(value) - set(spec.inner)
        if unknown:
            raise EvalError(f"unexpected attributes {sorted(unknown)}")
        return out
    if spec.kind == "map":
        return {k: with_defaults(spec.inner, v) for k, v in value.items()}
    if spec.kind in ("list", "set"):
        return [with_defaults(spec.inner, v) for v in value]
    if spec.kind == "number":
        return _num(value)
    return value
