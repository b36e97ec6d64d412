"""Go encoding/json, as far as MediaMTX clients can see it.

- check_valid(data): the syntax check that json.Unmarshal runs first, with Go's exact SyntaxError
  texts ("unexpected end of JSON input", "invalid character 'x' looking for beginning of value", ...).
- loads(data): check_valid, then a parse that keeps number literals (Number) so that type errors
  can quote them the way Go does ("json: cannot unmarshal number 1.5 into Go value of type int").
- type_error(value, go_type): the UnmarshalTypeError text for a JSON value that does not fit.
- dumps(obj): json.Marshal output: compact, HTML-safe escaping (<, >, & as \\u003c...), floats in
  Go's shortest form, dict keys in insertion order (callers order them).
"""
import json as _json
import math

MAX_DEPTH = 10000


class SyntaxError_(Exception):
    pass


class Number(str):
    """A JSON number, kept as its literal text."""


def _quote_char(c):
    if c == 0x27:
        return "'\\''"
    if c == 0x22:
        return "'\"'"
    from gocompat import go_quote
    q = go_quote(chr(c))
    return "'" + q[1:-1] + "'"


def _err(c, context):
    return SyntaxError_("invalid character %s %s" % (_quote_char(c), context))


_SPACE = (0x20, 0x09, 0x0A, 0x0D)
_HEX = set(b"0123456789abcdefABCDEF")


def check_valid(data):
    """Raise SyntaxError_ with Go's message if data is not one valid JSON value."""
    stack = []  # 'K' object key, 'V' object value, 'A' array value
    state = "begin_value"
    end_top = False

    def end_value(c):
        nonlocal state, end_top
        if not stack:
            end_top = True
            return end_top_state(c)
        if c in _SPACE:
            state = "end_value"
            return None
        top = stack[-1]
        if top == "K":
            if c == 0x3A:
                stack[-1] = "V"
                state = "begin_value"
                return None
            raise _err(c, "after object key")
        if top == "V":
            if c == 0x2C:
                stack[-1] = "K"
                state = "begin_string"
                return None
            if c == 0x7D:
                return pop()
            raise _err(c, "after object key:value pair")
        if c == 0x2C:
            state = "begin_value"
            return None
        if c == 0x5D:
            return pop()
        raise _err(c, "after array element")

    def end_top_state(c):
        nonlocal state
        state = "end_top"
        if c not in _SPACE:
            raise _err(c, "after top-level value")

    def pop():
        nonlocal state, end_top
        stack.pop()
        if not stack:
            state = "end_top"
            end_top = True
        else:
            state = "end_value"

    def push(kind):
        if len(stack) >= MAX_DEPTH:
            raise SyntaxError_("exceeded max depth")
        stack.append(kind)

    def begin_value(c):
        nonlocal state
        if c in _SPACE:
            return
        if c == 0x7B:
            push("K")
            state = "begin_string_or_empty"
        elif c == 0x5B:
            push("A")
            state = "begin_value_or_empty"
        elif c == 0x22:
            state = "in_string"
        elif c == 0x2D:
            state = "neg"
        elif c == 0x30:
            state = "zero"
        elif 0x31 <= c <= 0x39:
            state = "one"
        elif c == 0x74:
            state = "t"
        elif c == 0x66:
            state = "f"
        elif c == 0x6E:
            state = "n"
        else:
            raise _err(c, "looking for beginning of value")

    literals = {"t": (0x72, "tr", "in literal true (expecting 'r')"),
                "tr": (0x75, "tru", "in literal true (expecting 'u')"),
                "tru": (0x65, None, "in literal true (expecting 'e')"),
                "f": (0x61, "fa", "in literal false (expecting 'a')"),
                "fa": (0x6C, "fal", "in literal false (expecting 'l')"),
                "fal": (0x73, "fals", "in literal false (expecting 's')"),
                "fals": (0x65, None, "in literal false (expecting 'e')"),
                "n": (0x75, "nu", "in literal null (expecting 'u')"),
                "nu": (0x6C, "nul", "in literal null (expecting 'l')"),
                "nul": (0x6C, None, "in literal null (expecting 'l')")}

    def step(c):
        nonlocal state
        s = state
        if s == "begin_value":
            return begin_value(c)
        if s == "begin_value_or_empty":
            if c in _SPACE:
                return
            if c == 0x5D:
                return end_value(c)
            return begin_value(c)
        if s == "begin_string_or_empty":
            if c in _SPACE:
                return
            if c == 0x7D:
                stack[-1] = "V"
                return end_value(c)
            s = state = "begin_string"
        if s == "begin_string":
            if c in _SPACE:
                return
            if c == 0x22:
                state = "in_string"
                return
            raise _err(c, "looking for beginning of object key string")
        if s == "end_value":
            return end_value(c)
        if s == "end_top":
            return end_top_state(c)
        if s == "in_string":
            if c == 0x22:
                state = "end_value"
            elif c == 0x5C:
                state = "esc"
            elif c < 0x20:
                raise _err(c, "in string literal")
            return
        if s == "esc":
            if c in b'bfnrt\\/"':
                state = "in_string"
                return
            if c == 0x75:
                state = "u0"
                return
            raise _err(c, "in string escape code")
        if s in ("u0", "u1", "u2", "u3"):
            if c in _HEX:
                state = {"u0": "u1", "u1": "u2", "u2": "u3", "u3": "in_string"}[s]
                return
            raise _err(c, "in \\u hexadecimal character escape")
        if s == "neg":
            if c == 0x30:
                state = "zero"
                return
            if 0x31 <= c <= 0x39:
                state = "one"
                return
            raise _err(c, "in numeric literal")
        if s == "one":
            if 0x30 <= c <= 0x39:
                return
            s = "zero"
        if s == "zero":
            if c == 0x2E:
                state = "dot"
                return
            if c in (0x65, 0x45):
                state = "e"
                return
            return end_value(c)
        if s == "dot":
            if 0x30 <= c <= 0x39:
                state = "dot0"
                return
            raise _err(c, "after decimal point in numeric literal")
        if s == "dot0":
            if 0x30 <= c <= 0x39:
                return
            if c in (0x65, 0x45):
                state = "e"
                return
            return end_value(c)
        if s == "e":
            if c in (0x2B, 0x2D):
                state = "esign"
                return
            s = "esign"
        if s == "esign":
            if 0x30 <= c <= 0x39:
                state = "e0"
                return
            raise _err(c, "in exponent of numeric literal")
        if s == "e0":
            if 0x30 <= c <= 0x39:
                return
            return end_value(c)
        if s in literals:
            want, nxt, msg = literals[s]
            if c != want:
                raise _err(c, msg)
            state = nxt if nxt else "end_value"
            return
        raise AssertionError(s)

    for c in data:
        step(c)
    if end_top:
        return
    # eof: Go feeds one space; an error it raises wins over "unexpected end" ("1." -> "' ' after ...")
    step(0x20)
    if not end_top:
        raise SyntaxError_("unexpected end of JSON input")


def _clean(s):
    # Go replaces invalid surrogate escapes with U+FFFD.
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in s):
        return "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in s)
    return s


def _pairs(pairs):
    out = {}
    for k, v in pairs:
        k = _clean(k)
        if isinstance(v, str) and not isinstance(v, Number):
            v = _clean(v)
        out[k] = v  # duplicates: the last one wins, as with Go maps and structs
    return out


def loads(data):
    """Parse bytes as Go would accept them. Objects are dicts (document order), numbers Number."""
    check_valid(data)
    text = data.decode("utf-8", "replace")
    try:
        value = _json.loads(text, object_pairs_hook=_pairs, parse_int=Number, parse_float=Number,
                            parse_constant=lambda name: (_ for _ in ()).throw(SyntaxError_(name)))
    except RecursionError:
        raise SyntaxError_("exceeded max depth")
    if isinstance(value, str) and not isinstance(value, Number):
        value = _clean(value)
    return value


def kind(value):
    """The JSON kind name Go uses in UnmarshalTypeError."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, Number):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def type_error(value, go_type, number_literal=False):
    what = kind(value)
    if number_literal and what == "number":
        what = "number " + value
    return "json: cannot unmarshal %s into Go value of type %s" % (what, go_type)


# --- marshal ----------------------------------------------------------------------------------

def go_float(f):
    """strconv.AppendFloat as encoding/json uses it for float64."""
    if math.isnan(f) or math.isinf(f):
        raise ValueError("json: unsupported value")
    if f == 0:
        return "-0" if math.copysign(1, f) < 0 else "0"
    a = abs(f)
    r = repr(f)
    if 1e-6 <= a < 1e21:
        if "e" in r or "E" in r:
            from decimal import Decimal
            r = format(Decimal(r), "f")
        if r.endswith(".0"):
            r = r[:-2]
        return r
    mant, _, exp = r.partition("e")
    if mant.endswith(".0"):
        mant = mant[:-2]
    sign = "-" if exp.startswith("-") else "+"
    exp = exp.lstrip("+-").lstrip("0") or "0"
    return "%se%s%s" % (mant, sign, exp)


_ESC = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f",
        "<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _string(s):
    out = ['"']
    for ch in s:
        e = _ESC.get(ch)
        if e is not None:
            out.append(e)
        elif ord(ch) < 0x20:
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _encode(obj, out):
    if obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, Number):
        out.append(str.__str__(obj))
    elif isinstance(obj, str):
        out.append(_string(obj))
    elif isinstance(obj, int):
        out.append(str(obj))
    elif isinstance(obj, float):
        out.append(go_float(obj))
    elif isinstance(obj, dict):
        out.append("{")
        first = True
        for k, v in obj.items():
            if not first:
                out.append(",")
            first = False
            out.append(_string(k))
            out.append(":")
            _encode(v, out)
        out.append("}")
    elif isinstance(obj, (list, tuple)):
        out.append("[")
        for i, v in enumerate(obj):
            if i:
                out.append(",")
            _encode(v, out)
        out.append("]")
    else:
        raise TypeError("cannot encode %r" % (obj,))


def dumps(obj):
    out = []
    _encode(obj, out)
    return "".join(out).encode("utf-8")
