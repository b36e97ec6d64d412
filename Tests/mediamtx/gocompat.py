"""Go standard-library behaviour that MediaMTX exposes through its API, re-implemented in Python.

Everything here reproduces the exact output or error text of the Go function named in its
docstring (Go 1.26, the toolchain of MediaMTX v1.20.1), because those strings reach API clients:
durations (time.Duration.String / time.ParseDuration, plus MediaMTX's "d" days), byte sizes
(code.cloudfoundry.org/bytefmt), RFC 3339 timestamps, strconv.ParseUint errors, strconv.Quote and
os.Expand.
"""
import time as _time

NANOSECOND = 1
MICROSECOND = 1000
MILLISECOND = 1000 * MICROSECOND
SECOND = 1000 * MILLISECOND
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
_MAX_INT64 = (1 << 63) - 1


class GoError(Exception):
    """An error whose str() is the exact Go error text."""


# --- strconv.Quote -------------------------------------------------------------------------------

def _is_print(ch):
    # strconv.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space.
    import unicodedata
    if ch == " ":
        return True
    cat = unicodedata.category(ch)
    return cat[0] in "LMNPS"


def go_quote(s):
    """strconv.Quote: a double-quoted Go string literal."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif 0xD800 <= o <= 0xDFFF:
            out.append("\\ufffd")
        elif _is_print(ch):
            out.append(ch)
        elif ch in "\a\b\f\n\r\t\v":
            out.append({"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
                        "\t": "\\t", "\v": "\\v"}[ch])
        elif o < 0x20 or o == 0x7F:
            out.append("\\x%02x" % o)
        elif o < 0x10000:
            out.append("\\u%04x" % o)
        else:
            out.append("\\U%08x" % o)
    out.append('"')
    return "".join(out)


def _time_quote(s):
    """The private quote() of package time, used in ParseDuration errors."""
    out = ['"']
    for ch in s:
        if ord(ch) >= 0x80 or ord(ch) < 0x20:
            for b in ch.encode("utf-8", "surrogatepass"):
                out.append("\\x%02x" % b)
        else:
            if ch in '"\\':
                out.append("\\")
            out.append(ch)
    out.append('"')
    return "".join(out)


# --- strconv.ParseUint ---------------------------------------------------------------------------

def parse_uint(s, bit_size=64):
    """strconv.ParseUint(s, 10, bit_size) with its exact error texts."""
    max_val = (1 << bit_size) - 1
    cutoff = (1 << 64) // 10 + 1
    if s == "":
        raise GoError('strconv.ParseUint: parsing "": invalid syntax')
    n = 0
    for c in s.encode("utf-8", "surrogatepass"):
        if 0x30 <= c <= 0x39:
            d = c - 0x30
        else:
            raise GoError("strconv.ParseUint: parsing %s: invalid syntax" % go_quote(s))
        if n >= cutoff:
            raise GoError("strconv.ParseUint: parsing %s: value out of range" % go_quote(s))
        n = n * 10 + d
        if n > max_val:
            raise GoError("strconv.ParseUint: parsing %s: value out of range" % go_quote(s))
    return n


# --- time.Duration -------------------------------------------------------------------------------

def _fmt_frac(v, prec):
    """fmtFrac: returns (fraction text, v // 10**prec); trailing zeros and a bare '.' omitted."""
    digits = []
    printed = False
    for _ in range(prec):
        digit = v % 10
        printed = printed or digit != 0
        if printed:
            digits.append(str(digit))
        v //= 10
    frac = ("." + "".join(reversed(digits))) if printed else ""
    return frac, v


def duration_string(d):
    """time.Duration(d).String() for d in nanoseconds."""
    if d == 0:
        return "0s"
    neg = d < 0
    u = -d if neg else d
    if u < SECOND:
        if u < MICROSECOND:
            prec, unit = 0, "ns"
        elif u < MILLISECOND:
            prec, unit = 3, "\u00b5s"
        else:
            prec, unit = 6, "ms"
        frac, u = _fmt_frac(u, prec)
        out = str(u) + frac + unit
    else:
        frac, u = _fmt_frac(u, 9)
        out = str(u % 60) + frac + "s"
        u //= 60
        if u > 0:
            out = str(u % 60) + "m" + out
            u //= 60
            if u > 0:
                out = str(u) + "h" + out
    return ("-" + out) if neg else out


_UNITS = {b"ns": NANOSECOND, b"us": MICROSECOND, "\u00b5s".encode(): MICROSECOND,
          "\u03bcs".encode(): MICROSECOND, b"ms": MILLISECOND, b"s": SECOND, b"m": MINUTE, b"h": HOUR}


def parse_duration(orig):
    """time.ParseDuration(orig) in nanoseconds, with Go's error texts."""
    s = orig.encode("utf-8", "surrogatepass")
    invalid = GoError("time: invalid duration " + _time_quote(orig))
    neg = False
    if s[:1] in (b"-", b"+"):
        neg = s[:1] == b"-"
        s = s[1:]
    if s == b"0":
        return 0
    if s == b"":
        raise invalid
    total = 0
    while s:
        if not (s[0] == 0x2E or 0x30 <= s[0] <= 0x39):
            raise invalid
        # leading int
        i = 0
        v = 0
        while i < len(s) and 0x30 <= s[i] <= 0x39:
            if v > (1 << 63) // 10:
                raise invalid
            v = v * 10 + s[i] - 0x30
            if v > 1 << 63:
                raise invalid
            i += 1
        pre = i > 0
        s = s[i:]
        post = False
        f, scale = 0, 1.0
        if s[:1] == b".":
            s = s[1:]
            i = 0
            overflow = False
            while i < len(s) and 0x30 <= s[i] <= 0x39:
                if not overflow:
                    if f > ((1 << 63) - 1) // 10:
                        overflow = True
                    else:
                        y = f * 10 + s[i] - 0x30
                        if y > 1 << 63:
                            overflow = True
                        else:
                            f = y
                            scale *= 10
                i += 1
            post = i > 0
            s = s[i:]
        if not pre and not post:
            raise invalid
        i = 0
        while i < len(s) and not (s[i] == 0x2E or 0x30 <= s[i] <= 0x39):
            i += 1
        if i == 0:
            raise GoError("time: missing unit in duration " + _time_quote(orig))
        unit_bytes, s = s[:i], s[i:]
        unit = _UNITS.get(unit_bytes)
        if unit is None:
            raise GoError("time: unknown unit %s in duration %s" % (
                _time_quote(unit_bytes.decode("utf-8", "replace")), _time_quote(orig)))
        if v > (1 << 63) // unit:
            raise invalid
        v *= unit
        if f > 0:
            v += int(float(f) * (float(unit) / scale))
            if v > 1 << 63:
                raise invalid
        total += v
        if total > 1 << 63:
            raise invalid
    if neg:
        return -total
    if total > _MAX_INT64:
        raise invalid
    return total


def conf_duration_marshal(d):
    """conf.Duration.MarshalJSON text: whole days as "Nd", the rest as time.Duration; 0 gives ""."""
    out = "-" if d < 0 else ""
    d = abs(d)
    days, rest = divmod(d, DAY)
    if days > 0:
        out += "%dd" % days
    if rest != 0:
        out += duration_string(rest)
    return out


def conf_duration_unmarshal(s):
    """conf.Duration.UnmarshalJSON for an already-decoded string: "Nd" prefix, then ParseDuration."""
    import re
    m = re.match(r"^(-?[0-9]+)d", s)
    days = 0
    neg = False
    if m:
        days = int(m.group(1))
        if days > _MAX_INT64:
            days = _MAX_INT64
        if days < 0:
            neg, days = True, -days
        s = s[m.end():]
    rest = parse_duration(s) if s else 0
    rest += days * DAY
    rest = ((rest + (1 << 63)) % (1 << 64)) - (1 << 63)  # int64 wrap-around, as in Go
    return -rest if neg else rest


# --- bytefmt ---------------------------------------------------------------------------------------

_BYTE_UNITS = [("E", 1 << 60), ("P", 1 << 50), ("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20),
               ("K", 1 << 10), ("B", 1)]
_INVALID_BYTES = ("byte quantity must be a positive integer with a unit of measurement like "
                  "M, MB, MiB, G, GiB, or GB")


def bytesize_format(n):
    """bytefmt.ByteSize."""
    if n == 0:
        return "0"
    for unit, mult in _BYTE_UNITS:
        if n >= mult:
            text = "%.1f" % (n / mult)
            if text.endswith(".0"):
                text = text[:-2]
            return text + unit
    return str(n)


def _go_parse_float(s):
    import re
    if not re.match(r"^[+-]?(([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?|inf|infinity|nan)$", s,
                    re.IGNORECASE):
        raise ValueError(s)
    return float(s)


def bytesize_parse(s):
    """bytefmt.ToBytes."""
    s = s.strip().upper()
    idx = next((i for i, ch in enumerate(s) if ch.isalpha()), -1)
    if idx < 0:
        raise GoError(_INVALID_BYTES)
    number, multiple = s[:idx].strip(), s[idx:]
    try:
        value = _go_parse_float(number)
    except ValueError:
        raise GoError(_INVALID_BYTES)
    if not value > 0:
        raise GoError(_INVALID_BYTES)
    mults = {"E": 1 << 60, "P": 1 << 50, "T": 1 << 40, "G": 1 << 30, "M": 1 << 20, "K": 1 << 10}
    if multiple == "B":
        return int(value)
    for key, mult in mults.items():
        if multiple in (key, key + "B", key + "IB"):
            return int(value * mult)
    raise GoError(_INVALID_BYTES)


# --- time.Time ------------------------------------------------------------------------------------

def rfc3339nano(ns=None):
    """time.Time.MarshalJSON of a local time.Now(): RFC 3339 with trailing-zero-free nanoseconds."""
    if ns is None:
        ns = _time.time_ns()
    sec, frac = divmod(ns, SECOND)
    tm = _time.localtime(sec)
    out = _time.strftime("%Y-%m-%dT%H:%M:%S", tm)
    if frac:
        out += ("." + "%09d" % frac).rstrip("0")
    off = tm.tm_gmtoff
    if off == 0:
        return out + "Z"
    sign = "+" if off > 0 else "-"
    off = abs(off) // 60
    return out + "%s%02d:%02d" % (sign, off // 60, off % 60)


# --- os.Expand -------------------------------------------------------------------------------------

def _is_shell_special(c):
    return c in "*#$@!?-0123456789"


def _is_alnum(c):
    return c == "_" or c.isascii() and c.isalnum()


def _shell_name(s):
    if s[0] == "{":
        if len(s) > 2 and _is_shell_special(s[1]) and s[2] == "}":
            return s[1:2], 3
        for i in range(1, len(s)):
            if s[i] == "}":
                if i == 1:
                    return "", 2
                return s[1:i], i + 1
        return "", 1
    if _is_shell_special(s[0]):
        return s[0:1], 1
    i = 0
    while i < len(s) and _is_alnum(s[i]):
        i += 1
    return s[:i], i


def os_expand(s, mapping):
    """os.Expand: replaces $var and ${var} using mapping(name)."""
    out = []
    i = 0
    j = 0
    while j < len(s):
        if s[j] == "$" and j + 1 < len(s):
            out.append(s[i:j])
            name, w = _shell_name(s[j + 1:])
            if name == "" and w > 0:
                pass  # invalid syntax: the characters are eaten
            elif name == "":
                out.append("$")
            else:
                out.append(mapping(name))
            j += w
            i = j + 1
        j += 1
    if not out:
        return s
    return "".join(out) + s[i:]
