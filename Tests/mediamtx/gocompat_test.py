"""Unit tests of the stand-in's Go re-implementations (gocompat, gojson, conf decoding, miniyaml).

The expected strings are Go's own output (Go 1.26 time, strconv, encoding/json; bytefmt; MediaMTX
conf.Duration), so a regression in the stand-in shows up here before it confuses a daemon test.
"""
import re

import pytest

import conf as confmod
import gojson
from gocompat import (GoError, bytesize_format, bytesize_parse, conf_duration_marshal, conf_duration_unmarshal,
                      duration_string, os_expand, parse_duration, parse_uint, rfc3339nano)

S = 10 ** 9


@pytest.mark.parametrize("ns, text", [
    (0, "0s"), (1, "1ns"), (999, "999ns"), (1500, "1.5\u00b5s"), (1500000, "1.5ms"), (100 * 10 ** 6, "100ms"),
    (S, "1s"), (int(1.5 * S), "1.5s"), (90 * S, "1m30s"), (3600 * S, "1h0m0s"), (7384 * S + S // 2, "2h3m4.5s"),
    (-5 * S, "-5s"), (60 * S, "1m0s"),
])
def test_duration_string(ns, text):
    assert duration_string(ns) == text


@pytest.mark.parametrize("ns, text", [
    (0, ""), (10 * S, "10s"), (3600 * S, "1h0m0s"), (86400 * S, "1d"), (25 * 3600 * S, "1d1h0m0s"),
    (2 * 86400 * S, "2d"), (-86400 * S, "-1d"),
])
def test_conf_duration_marshal(ns, text):
    assert conf_duration_marshal(ns) == text


@pytest.mark.parametrize("text, ns", [
    ("10s", 10 * S), ("1h", 3600 * S), ("1d", 86400 * S), ("1d12h", 36 * 3600 * S), ("0", 0), ("0s", 0), ("", 0),
    ("1.5h", 5400 * S), ("-1d", -86400 * S), ("300ms", 3 * 10 ** 8), ("2h45m", 9900 * S),
])
def test_conf_duration_unmarshal(text, ns):
    assert conf_duration_unmarshal(text) == ns


@pytest.mark.parametrize("text, message", [
    ("x", 'time: invalid duration "x"'), ("10", 'time: missing unit in duration "10"'),
    ("5y", 'time: unknown unit "y" in duration "5y"'), (".s", 'time: invalid duration ".s"'),
    ("1h-5m", 'time: unknown unit "h-" in duration "1h-5m"'), ("99999999999h", 'time: invalid duration "99999999999h"'),
])
def test_parse_duration_errors(text, message):
    with pytest.raises(GoError) as e:
        parse_duration(text)
    assert str(e.value) == message


def test_parse_uint():
    assert parse_uint("0", 31) == 0 and parse_uint("2147483647", 31) == 2147483647
    for text, kind in (("abc", "invalid syntax"), ("-1", "invalid syntax"), ("+1", "invalid syntax"),
                       ("1_0", "invalid syntax"), ("2147483648", "value out of range"),
                       ("99999999999x", "value out of range")):
        with pytest.raises(GoError) as e:
            parse_uint(text, 31)
        assert str(e.value) == 'strconv.ParseUint: parsing "%s": %s' % (text, kind)


def test_bytesize():
    assert bytesize_format(50 * 1024 * 1024) == "50M"
    assert bytesize_format(1536) == "1.5K" and bytesize_format(100) == "100B" and bytesize_format(0) == "0"
    assert bytesize_parse("50M") == 50 * 1024 * 1024 and bytesize_parse("1.5kb") == 1536
    assert bytesize_parse("2GiB") == 2 << 30
    for bad in ("big", "10", "-1M", "0M", "1X"):
        with pytest.raises(GoError):
            bytesize_parse(bad)


def test_rfc3339nano_shape():
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$", rfc3339nano())
    assert not rfc3339nano(1_700_000_000_120_000_000).split(".")[1].rstrip("Z").split("+")[0].endswith("0")


def test_os_expand():
    env = {"A": "1", "B": "2", "MTX_PATH": "cam"}.get
    look = lambda n: env(n) or ""  # noqa: E731
    assert os_expand("$A-$B", look) == "1-2"
    assert os_expand("${A}x", look) == "1x"
    assert os_expand("rtsp://h:$A/$MTX_PATH", look) == "rtsp://h:1/cam"
    assert os_expand("$$", look) == ""          # "$" is a special variable name
    assert os_expand("cost$", look) == "cost$"  # a trailing "$" stays
    assert os_expand("a${}b", look) == "ab"     # bad syntax is eaten
    assert os_expand("$1x", look) == "x"
    assert os_expand("no vars", look) == "no vars"


@pytest.mark.parametrize("data, message", [
    (b"", "unexpected end of JSON input"), (b"{", "unexpected end of JSON input"),
    (b'{"a":}', "invalid character '}' looking for beginning of value"),
    (b"{} x", "invalid character 'x' after top-level value"), (b"[1,]", "invalid character ']' looking for "
                                                                       "beginning of value"),
    (b'{"a" 1}', "invalid character '1' after object key"),
    (b'{"a":1 "b"}', "invalid character '\"' after object key:value pair"),
    (b"{1:2}", "invalid character '1' looking for beginning of object key string"),
    (b"1.", "invalid character ' ' after decimal point in numeric literal"),
    (b"tru", "invalid character ' ' in literal true (expecting 'e')"),
    (b'"a\nb"', "invalid character '\\n' in string literal"),
    (b"\xef\xbb\xbf{}", "invalid character '\u00ef' looking for beginning of value"),
])
def test_json_syntax_errors(data, message):
    with pytest.raises(gojson.SyntaxError_) as e:
        gojson.loads(data)
    assert str(e.value) == message


def test_json_marshal():
    assert gojson.dumps({"a": "<x>&", "b": 1.0, "c": [1e21, 1e-7, 0.5], "d": None, "e": "\u2028"}) == \
        b'{"a":"\\u003cx\\u003e\\u0026","b":1,"c":[1e+21,1e-7,0.5],"d":null,"e":"\\u2028"}'


@pytest.fixture(scope="module")
def schema():
    return confmod.Schema()


@pytest.mark.parametrize("body, message", [
    (b'{"alwaysAvailableTracks": [{"codec": "H264", "foo": 1}]}', 'json: unknown field "foo"'),
    (b'{"alwaysAvailableTracks": [{"codec": "XYZ"}]}', "unsupported codec 'XYZ'"),
    (b'{"alwaysAvailableTracks": [{"codec": 1}]}',
     "json: cannot unmarshal number into Go value of type conf.AlwaysAvailableTrackCodec"),
    (b'{"forward": "x"}', "json: cannot unmarshal string into Go value of type []json.RawMessage"),
    (b'{"publishIPs": ["nope"]}', "unable to parse IP/CIDR 'nope'"),
    (b'{"rtspUDPSourcePortRange": [-1]}', "json: cannot unmarshal number -1 into Go value of type uint"),
    (b'{"rpiCameraAWBGains": [1, "x"]}', "json: cannot unmarshal string into Go value of type float64"),
    (b'{"rtspTransport": "quic"}', "invalid transport 'quic'"),
    (b'{"maxReaders": 1e2}', "json: cannot unmarshal number 1e2 into Go value of type int"),
])
def test_path_decoding(schema, body, message):
    with pytest.raises(confmod.ConfError) as e:
        confmod.decode_partial(body, schema.path_type)
    assert str(e.value) == message


@pytest.mark.parametrize("body, message", [
    (b'{"logDestinations": "x"}', "json: cannot unmarshal string into Go value of type conf.LogDestinations"),
    (b'{"rtspTransports": ["udp", "carrier-pigeon"]}', "invalid transport: carrier-pigeon"),
    (b'{"authInternalUsers": [{"user": "u", "ips": null}]}', 'cannot set slice "authInternalUsers[0].ips" to nil'),
    (b'{"authInternalUsers": [{"usr": "u"}]}', 'json: unknown field "authInternalUsers[0].usr"'),
    (b'{"authMethod": "magic"}', "invalid authMethod: 'magic'"),
    (b'{"rtspEncryption": "maybe"}', "invalid encryption: 'maybe'"),
])
def test_global_decoding(schema, body, message):
    with pytest.raises(confmod.ConfError) as e:
        confmod.decode_partial(body, schema.global_type)
    assert str(e.value) == message


def test_decoded_values(schema):
    p = confmod.decode_partial(b'{"publishIPs": ["10.1.2.3/8", "192.168.1.7"], "record": null, '
                               b'"recordDeleteAfter": "36h"}', schema.path_type)
    assert p == {"publishIPs": ["10.0.0.0/8", "192.168.1.7/32"], "recordDeleteAfter": 36 * 3600 * S}
    g = confmod.decode_partial(b'{"rtspEncryption": "yes", "rtspTransports": ["udp", "tcp", "udp"]}',
                               schema.global_type)
    assert g == {"rtspEncryption": "strict", "rtspTransports": ["tcp", "udp"]}


def test_find_path_conf_order():
    paths = {"all_others": {}, "~^cam([0-9]+)$": {}, "cam1": {}}
    assert confmod.find_path_conf(paths, "cam1")[0] == "cam1"
    name, _, groups = confmod.find_path_conf(paths, "cam7")
    assert name == "~^cam([0-9]+)$" and groups == ["cam7", "7"]
    assert confmod.find_path_conf(paths, "dog")[0] == "all_others"
    with pytest.raises(confmod.ConfError) as e:
        confmod.find_path_conf({}, "dog")
    assert str(e.value) == "path 'dog' is not configured"
