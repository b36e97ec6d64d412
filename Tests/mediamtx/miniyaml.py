"""A tiny YAML reader for the subset that mediamtx-openapi.yaml uses.

PyYAML is available neither to Debian's /usr/bin/python3 (which runs the stand-in) nor to the
project venv (which runs the tests), so both read the spec through this module.

Supported: block mappings and block sequences (indentation based, "- key: value" items included),
flow sequences of scalars ("[a, b]"), plain, single- and double-quoted scalars, full-line comments,
and YAML 1.2 core-schema scalars (null, true/false, integers, floats). Duplicate keys: the last wins,
as in PyYAML. Anything else (anchors, multi-line scalars, flow mappings, tags) raises ValueError
naming the line, so a future spec that needs more fails loudly instead of being misread.
"""
import json
import re

_INT = re.compile(r"^[-+]?[0-9]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")


class _Line:
    __slots__ = ("indent", "text", "number")

    def __init__(self, indent, text, number):
        self.indent, self.text, self.number = indent, text, number


def _quoted(text, number):
    """Parse a quoted scalar at the start of text; return (value, rest)."""
    quote = text[0]
    if quote == '"':
        i = 1
        while i < len(text):
            if text[i] == "\\":
                i += 2
                continue
            if text[i] == '"':
                return json.loads(text[: i + 1]), text[i + 1:]
            i += 1
    else:
        i = 1
        out = []
        while i < len(text):
            if text[i] == "'":
                if text[i + 1: i + 2] == "'":
                    out.append("'")
                    i += 2
                    continue
                return "".join(out), text[i + 1:]
            out.append(text[i])
            i += 1
    raise ValueError("line %d: unterminated quoted scalar" % number)


def _scalar(text, number):
    text = text.strip()
    if not text:
        return None
    if text[0] in "\"'":
        value, rest = _quoted(text, number)
        if rest.strip():
            raise ValueError("line %d: text after quoted scalar" % number)
        return value
    if text[0] == "[":
        if not text.endswith("]"):
            raise ValueError("line %d: unsupported flow sequence" % number)
        inner = text[1:-1].strip()
        return [] if not inner else [_scalar(part, number) for part in inner.split(",")]
    if text[0] in "{&*!|>":
        raise ValueError("line %d: unsupported YAML construct %r" % (number, text[0]))
    if text in ("null", "~", "Null", "NULL"):
        return None
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    return text


def _split_key(text, number):
    """Split "key: value" / "key:" into (key, value_text or None); None when not a mapping entry."""
    if text[0] in "\"'":
        key, rest = _quoted(text, number)
        if rest.startswith(":") and (len(rest) == 1 or rest[1] == " "):
            return key, rest[1:].strip() or None
        return None
    idx = text.find(": ")
    if idx < 0:
        if text.endswith(":"):
            return text[:-1], None
        return None
    return text[:idx], text[idx + 2:].strip() or None


class _Parser:
    def __init__(self, lines):
        self.lines = lines
        self.pos = 0

    def peek(self):
        return self.lines[self.pos] if self.pos < len(self.lines) else None

    def block(self, indent):
        line = self.peek()
        if line is None or line.indent < indent:
            return None
        if line.text == "-" or line.text.startswith("- "):
            return self.sequence(line.indent)
        return self.mapping(line.indent)

    def sequence(self, indent):
        out = []
        while True:
            line = self.peek()
            if line is None or line.indent != indent or not (line.text == "-" or line.text.startswith("- ")):
                if line is not None and line.indent > indent:
                    raise ValueError("line %d: bad indentation" % line.number)
                return out
            rest = line.text[1:].lstrip()
            if not rest:
                self.pos += 1
                out.append(self.block(indent + 1))
                continue
            if rest[0] not in "[" and _split_key(rest, line.number) is not None:
                # "- key: value": the item is a mapping whose first line starts after "- ".
                line.indent = indent + (len(line.text) - len(rest))
                line.text = rest
                out.append(self.mapping(line.indent))
                continue
            self.pos += 1
            out.append(_scalar(rest, line.number))

    def mapping(self, indent):
        out = {}
        while True:
            line = self.peek()
            if line is None or line.indent < indent:
                return out
            if line.indent > indent:
                raise ValueError("line %d: bad indentation" % line.number)
            if line.text == "-" or line.text.startswith("- "):
                return out
            kv = _split_key(line.text, line.number)
            if kv is None:
                raise ValueError("line %d: expected 'key: value'" % line.number)
            key, value = kv
            self.pos += 1
            if value is not None:
                out[key] = _scalar(value, line.number)
                nxt = self.peek()
                if nxt is not None and nxt.indent > indent:
                    raise ValueError("line %d: multi-line scalars are not supported" % nxt.number)
                continue
            nxt = self.peek()
            if nxt is not None and nxt.indent > indent:
                out[key] = self.block(nxt.indent)
            elif nxt is not None and nxt.indent == indent and (nxt.text == "-" or nxt.text.startswith("- ")):
                out[key] = self.sequence(indent)
            else:
                out[key] = None


def loads(text):
    lines = []
    for number, raw in enumerate(text.splitlines(), 1):
        if "\t" in raw[: len(raw) - len(raw.lstrip())]:
            raise ValueError("line %d: tab in indentation" % number)
        stripped = raw.strip()
        if not stripped or stripped.startswith("#") or stripped == "---":
            continue
        lines.append(_Line(len(raw) - len(raw.lstrip(" ")), stripped, number))
    parser = _Parser(lines)
    result = parser.block(0)
    if parser.peek() is not None:
        raise ValueError("line %d: unexpected content" % parser.peek().number)
    return result


def load(path):
    with open(path, encoding="utf-8") as f:
        return loads(f.read())
