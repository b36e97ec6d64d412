"""MediaMTX configuration: known keys, strict decoding, defaults, validation and rendering.

The set of keys and their JSON types comes from the OpenAPI spec copied next to this file
(components.schemas.GlobalConf / PathConf). The spec cannot say which Go type sits behind a
"type: string" key (a conf.Duration, a byte size, an enum with its own UnmarshalJSON), nor the Go
type name that json error texts quote, so GO_TYPES below adds exactly that, key by key, as read in
MediaMTX v1.20.1 internal/conf. Defaults and validation follow internal/conf/{conf,path}.go.

Internal values: durations are int nanoseconds, byte sizes int bytes, everything else plain Python
(dict for structs, list for slices). A "partial" is a dict holding only the keys a request set
(conf.OptionalPath); a "merged" path is pathDefaults + partial + name (conf.Path).
"""
import copy
import hashlib
import base64
import ipaddress
import os
import re
import urllib.parse

import gojson
import miniyaml
from gocompat import (GoError, bytesize_format, bytesize_parse, conf_duration_marshal,
                      conf_duration_unmarshal)

SPEC_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mediamtx-openapi.yaml")
REDACTED = "<redacted>"


class ConfError(Exception):
    """A configuration error; str() is the text MediaMTX returns, status the HTTP code."""

    def __init__(self, msg, status=400):
        super().__init__(msg)
        self.status = status


# --- Go types -------------------------------------------------------------------------------

class GoType:
    go_name = "?"

    def zero(self):
        raise NotImplementedError

    def decode(self, value, path):
        """Decode a parsed JSON value as encoding/json + MediaMTX's jsonwrapper would."""
        raise NotImplementedError

    def render(self, value):
        return value


class Bool(GoType):
    go_name = "bool"

    def zero(self):
        return False

    def decode(self, value, path):
        if value is None:
            return False
        if not isinstance(value, bool):
            raise GoError(gojson.type_error(value, "bool"))
        return value


class Int(GoType):
    def __init__(self, unsigned=False):
        self.unsigned = unsigned
        self.go_name = "uint" if unsigned else "int"

    def zero(self):
        return 0

    def decode(self, value, path):
        if value is None:
            return 0
        if not isinstance(value, gojson.Number):
            raise GoError(gojson.type_error(value, self.go_name))
        ok = re.fullmatch(r"[0-9]+" if self.unsigned else r"-?[0-9]+", value)
        n = int(value) if ok else None
        if n is None or not (0 <= n < 1 << 64 if self.unsigned else -(1 << 63) <= n < 1 << 63):
            raise GoError(gojson.type_error(value, self.go_name, number_literal=True))
        return n


class Float(GoType):
    go_name = "float64"

    def zero(self):
        return 0.0

    def decode(self, value, path):
        if value is None:
            return 0.0
        if not isinstance(value, gojson.Number):
            raise GoError(gojson.type_error(value, "float64"))
        f = float(value)
        if f in (float("inf"), float("-inf")):
            raise GoError(gojson.type_error(value, "float64", number_literal=True))
        return f


class String(GoType):
    """A string-kinded Go type; go_name is what type errors quote (e.g. "conf.alias")."""

    def __init__(self, go_name="string", check=None, normalize=None):
        self.go_name, self.check, self.normalize = go_name, check, normalize

    def zero(self):
        return ""

    def decode(self, value, path):
        if value is None:
            value = ""
        elif not isinstance(value, str) or isinstance(value, gojson.Number):
            raise GoError(gojson.type_error(value, self.go_name))
        if self.normalize:
            value = self.normalize(value)
        if self.check:
            self.check(value)
        return value


def _enum(values, fmt, go_name="string", normalize=None):
    def check(v):
        if v not in values:
            raise GoError(fmt % v)
    return String(go_name, check, normalize)


class Duration(GoType):
    """conf.Duration: UnmarshalJSON decodes a string, then "Nd" + time.ParseDuration."""
    go_name = "string"

    def zero(self):
        return 0

    def decode(self, value, path):
        s = String().decode(value, path)
        return conf_duration_unmarshal(s)

    def render(self, value):
        return conf_duration_marshal(value)


class Size(GoType):
    """conf.StringSize: bytefmt."""

    def zero(self):
        return 0

    def decode(self, value, path):
        return bytesize_parse(String().decode(value, path))

    def render(self, value):
        return bytesize_format(value)


_PLAIN_CREDENTIAL = re.compile(r"^[a-zA-Z0-9!\$\(\)\*\+\.;<=>\[\]\^_\-\{\}@#&]+$")
_PLAIN_CHARS = 'A-Z,0-9,!,$,(,),*,+,.,;,<,=,>,[,],^,_,-,",",@,#,&'


def _check_credential(v):
    if not v:
        return
    if v.startswith("sha256:"):
        if not re.match(r"^sha256:[a-zA-Z0-9\+/=]+$", v):
            raise GoError("credential contains unsupported characters, sha256 hash must be base64 encoded")
    elif v.startswith("argon2:"):
        pass  # the stand-in cannot verify argon2 hashes; accepted, never matches
    elif not _PLAIN_CREDENTIAL.match(v):
        raise GoError("credential contains unsupported characters. Supported are: " + _PLAIN_CHARS)


def credential_matches(expected, guess):
    """conf.Credential.Check."""
    if expected.startswith("sha256:"):
        digest = base64.b64encode(hashlib.sha256(guess.encode()).digest()).decode()
        return expected[len("sha256:"):] == digest
    if expected.startswith("argon2:"):
        return False
    if expected != "":
        return expected == guess
    return True


def _normalize_ipnet(v):
    try:
        if "/" in v:
            net = ipaddress.ip_network(v, strict=False)
        else:
            addr = ipaddress.ip_address(v)
            net = ipaddress.ip_network("%s/%d" % (addr, addr.max_prefixlen))
    except ValueError:
        raise GoError("unable to parse IP/CIDR '%s'" % v)
    if isinstance(net, ipaddress.IPv6Network) and net.network_address.ipv4_mapped:
        v4 = net.network_address.ipv4_mapped
        return "%s/%d" % (v4, max(0, net.prefixlen - 96))
    return str(net)


class Slice(GoType):
    """A slice. Struct-kinded elements are decoded one by one (path "key[i]"); others as a whole."""

    def __init__(self, elem, go_name=None, per_element=None):
        self.elem = elem
        self.per_element = isinstance(elem, Struct) if per_element is None else per_element
        self.go_name = go_name or ("[]json.RawMessage" if self.per_element else "[]" + elem.go_name)

    def zero(self):
        return []

    def decode(self, value, path):
        if value is None:
            raise GoError("cannot set slice %s to nil" % gojson.dumps(path).decode() if path
                          else "cannot set slice to nil")
        if not isinstance(value, list):
            raise GoError(gojson.type_error(value, self.go_name))
        out = []
        for i, item in enumerate(value):
            out.append(self.elem.decode(item, "%s[%d]" % (path, i)))
        return out

    def render(self, value):
        return [self.elem.render(v) for v in value]


class Transports(GoType):
    """conf.RTSPTransports: decodes a []string, rendered sorted."""
    go_name = "[]string"

    def zero(self):
        return []

    def decode(self, value, path):
        items = Slice(String()).decode(value, path)
        for item in items:
            if item not in ("udp", "multicast", "tcp"):
                raise GoError("invalid transport: %s" % item)
        return sorted(set(items))


class Struct(GoType):
    go_name = "map[string]json.RawMessage"

    def __init__(self, fields, own_unmarshal=False, post=None):
        self.fields = fields              # key -> GoType, in spec order
        self.own_unmarshal = own_unmarshal  # custom UnmarshalJSON: field paths restart at ""
        self.post = post

    def zero(self):
        return {k: t.zero() for k, t in self.fields.items()}

    def decode(self, value, path):
        if self.own_unmarshal:
            path = ""
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise GoError(gojson.type_error(value, self.go_name))
        for key in value:
            if key not in self.fields:
                raise GoError("json: unknown field %s" % gojson.dumps(path + "." + key if path else key).decode())
        out = self.zero()
        for key, item in value.items():
            out[key] = self.fields[key].decode(item, path + "." + key if path else key)
        if self.post:
            self.post(out)
        return out

    def render(self, value):
        return {k: t.render(value[k]) for k, t in self.fields.items()}


def _check_always_available_track(t):
    codec = t["codec"]
    if codec in ("AV1", "VP9", "H265", "H264", "Opus"):
        if t["sampleRate"] != 0:
            raise GoError("sampleRate must not be specified for codec '%s'" % codec)
        if t["channelCount"] != 0:
            raise GoError("channelCount must not be specified for codec '%s'" % codec)
    elif codec in ("MPEG4Audio", "G711", "LPCM"):
        minimum = 22050 if codec == "MPEG4Audio" else 8000
        if t["sampleRate"] == 0:
            raise GoError("sampleRate is mandatory for codec '%s'" % codec)
        if t["sampleRate"] < minimum:
            raise GoError("sampleRate must be greater than or equal to %d for codec '%s'" % (minimum, codec))
        if t["channelCount"] == 0:
            raise GoError("channelCount is mandatory for codec '%s'" % codec)
    else:
        raise GoError("unsupported codec '%s'" % codec)


# Go types the spec cannot express, by schema name of an enum ($ref) ...
ENUM_TYPES = {
    "RecordFormat": lambda: _enum({"fmp4", "mpegts"}, "invalid record format '%s'", "conf.alias"),
    "RTSPTransport": lambda: _enum({"udp", "multicast", "tcp", "automatic"}, "invalid transport '%s'"),
    "RTSPRangeType": lambda: _enum({"", "clock", "npt", "smpte"}, "invalid rtsp range type: '%s'", "conf.alias"),
    "LogLevel": lambda: _enum({"error", "warn", "info", "debug"}, "invalid log level: '%s'"),
    "LogDestination": lambda: _enum({"stdout", "file", "syslog"}, "invalid log destination: %s"),
    "AuthMethod": lambda: _enum({"internal", "http", "jwt"}, "invalid authMethod: '%s'", "conf.alias"),
    "Encryption": lambda: _enum({"no", "optional", "strict"}, "invalid encryption: '%s'", "conf.alias",
                                normalize=lambda v: {"false": "no", "true": "strict", "yes": "strict"}.get(v, v)),
    "HLSVariant": lambda: _enum({"mpegts", "fmp4", "lowLatency"}, "invalid HLS variant: '%s'"),
    "RTSPAuthMethod": lambda: _enum({"basic", "digest"}, "invalid authentication method: '%s'"),
    "AuthAction": lambda: _enum({"publish", "read", "playback", "api", "metrics", "pprof"},
                                "invalid auth action: '%s'"),
    "AlwaysAvailableTrackCodec": lambda: String("conf.AlwaysAvailableTrackCodec"),
}

_DURATION = Duration
_IPNETS = lambda: Slice(String(normalize=_normalize_ipnet), per_element=True)  # noqa: E731
_CREDENTIAL = lambda: String(check=_check_credential)  # noqa: E731

# ... and by key (schema -> key -> factory).
GO_TYPES = {
    "PathConf": {
        **{k: _DURATION for k in ("sourceOnDemandStartTimeout", "sourceOnDemandCloseAfter", "recordPartDuration",
                                  "recordSegmentDuration", "recordDeleteAfter", "whepSTUNGatherTimeout",
                                  "whepHandshakeTimeout", "whepTrackGatherTimeout", "runOnDemandStartTimeout",
                                  "runOnDemandCloseAfter")},
        "recordMaxPartSize": Size,
        "moqTransport": lambda: _enum({"quic", "webtransport"}, "invalid MoQ transport '%s'", "conf.alias"),
        **{k: _CREDENTIAL for k in ("publishUser", "publishPass", "readUser", "readPass")},
        **{k: _IPNETS for k in ("publishIPs", "readIPs")},
    },
    "GlobalConf": {
        **{k: _DURATION for k in ("readTimeout", "writeTimeout", "hlsSegmentDuration", "hlsPartDuration",
                                  "hlsMuxerCloseAfter", "webrtcSTUNGatherTimeout", "webrtcHandshakeTimeout",
                                  "webrtcTrackGatherTimeout", "recordPartDuration", "recordSegmentDuration",
                                  "recordDeleteAfter")},
        "hlsSegmentMaxSize": Size,
        **{k: _IPNETS for k in ("apiTrustedProxies", "metricsTrustedProxies", "pprofTrustedProxies",
                                "playbackTrustedProxies", "rtspTrustedProxies", "rtmpTrustedProxies",
                                "hlsTrustedProxies", "webrtcTrustedProxies", "moqTrustedProxies")},
        "rtspTransports": Transports,
        "protocols": Transports,
    },
    "AuthInternalUser": {"user": _CREDENTIAL, "pass": _CREDENTIAL, "ips": _IPNETS},
}
# slices of int-kinded named types: json.Unmarshal quotes the named slice type
SLICE_NAMES = {("GlobalConf", "logDestinations"): "conf.LogDestinations",
               ("GlobalConf", "rtspAuthMethods"): "conf.RTSPAuthMethods",
               ("GlobalConf", "authMethods"): "conf.RTSPAuthMethods"}
OWN_UNMARSHAL = {"AlwaysAvailableTrack": _check_always_available_track}


class Schema:
    """The spec's schemas turned into Go types."""

    def __init__(self, path=SPEC_PATH):
        self.spec = miniyaml.load(path)
        self.schemas = self.spec["components"]["schemas"]
        self.global_type = self._struct("GlobalConf")
        self.path_type = self._struct("PathConf")
        # keys that Go declares as omitempty pointers: shown only when set
        self.global_optional = self._omitempty("GlobalConf")
        self.path_optional = self._omitempty("PathConf")

    def _omitempty(self, name):
        props = self.schemas[name]["properties"]
        return {k for k, p in props.items() if p.get("deprecated") and p.get("nullable")}

    def _ref(self, schema):
        ref = schema.get("$ref")
        if ref is None:
            for part in schema.get("allOf") or []:
                if "$ref" in part:
                    ref = part["$ref"]
        return ref.rsplit("/", 1)[1] if ref else None

    def _struct(self, name):
        props = self.schemas[name]["properties"]
        overrides = GO_TYPES.get(name, {})
        fields = {}
        for key, prop in props.items():
            if key in overrides:
                fields[key] = overrides[key]()
            else:
                fields[key] = self._type(prop, (name, key))
        post = OWN_UNMARSHAL.get(name)
        return Struct(fields, own_unmarshal=post is not None, post=post)

    def _type(self, prop, where):
        ref = self._ref(prop)
        if ref is not None:
            target = self.schemas[ref]
            if target.get("type") == "object":
                return self._struct(ref)
            if ref in ENUM_TYPES:
                return ENUM_TYPES[ref]()
            raise KeyError("no Go type for enum schema %s" % ref)
        t = prop.get("type")
        if t == "boolean":
            return Bool()
        if t == "integer":
            return Int(unsigned=prop.get("format") == "uint64")
        if t == "number":
            return Float()
        if t == "string":
            return String()
        if t == "array":
            elem = self._type(prop["items"], where)
            return Slice(elem, go_name=SLICE_NAMES.get(where))
        raise KeyError("unsupported schema at %s" % (where,))


# --- strict decoding -------------------------------------------------------------------------

def decode_partial(body, struct):
    """jsonwrapper.Decode into conf.OptionalPath / OptionalGlobal: only the keys set, null = unset."""
    if len(body) >= 10 * 1024 * 1024:
        raise ConfError("size exceeds maximum allowed")
    try:
        value = gojson.loads(body)
    except gojson.SyntaxError_ as e:
        raise ConfError(str(e))
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfError(gojson.type_error(value, "map[string]json.RawMessage"))
    for key in value:
        if key not in struct.fields:
            raise ConfError("json: unknown field %s" % gojson.dumps(key).decode())
    out = {}
    for key, item in value.items():
        if item is None:
            continue
        try:
            out[key] = struct.fields[key].decode(item, key)
        except GoError as e:
            raise ConfError(str(e))
    return out


def _json_value(v):
    """Python literal -> the value gojson.loads would give, for writing defaults readably."""
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, (int, float)):
        return gojson.Number(repr(v))
    if isinstance(v, list):
        return [_json_value(x) for x in v]
    if isinstance(v, dict):
        return {k: _json_value(x) for k, x in v.items()}
    return v


# --- defaults (internal/conf setDefaults) ----------------------------------------------------

PATH_DEFAULTS = {
    "source": "publisher",
    "sourceOnDemandStartTimeout": "10s", "sourceOnDemandCloseAfter": "10s",
    "recordPath": "./recordings/%path/%Y-%m-%d_%H-%M-%S-%f", "recordFormat": "fmp4",
    "recordPartDuration": "1s", "recordMaxPartSize": "50M", "recordSegmentDuration": "1h",
    "recordDeleteAfter": "1d",
    "overridePublisher": True,
    "rtspTransport": "automatic",
    "rtspUDPSourcePortRange": [32768, 60999],
    "moqTransport": "quic",
    "whepSTUNGatherTimeout": "5s", "whepHandshakeTimeout": "10s", "whepTrackGatherTimeout": "2s",
    "rpiCameraWidth": 1920, "rpiCameraHeight": 1080, "rpiCameraContrast": 1, "rpiCameraSaturation": 1,
    "rpiCameraSharpness": 1, "rpiCameraExposure": "normal", "rpiCameraAWB": "auto", "rpiCameraAWBGains": [0, 0],
    "rpiCameraDenoise": "off", "rpiCameraMetering": "centre", "rpiCameraFPS": 30, "rpiCameraAfMode": "continuous",
    "rpiCameraAfRange": "normal", "rpiCameraAfSpeed": "normal",
    "rpiCameraTextOverlay": "%Y-%m-%d %H:%M:%S - MediaMTX", "rpiCameraCodec": "auto", "rpiCameraIDRPeriod": 60,
    "rpiCameraBitrate": 5000000, "rpiCameraH264Profile": "auto", "rpiCameraH264Level": "4.1",
    "rpiCameraMJPEGQuality": 60,
    "runOnDemandStartTimeout": "10s", "runOnDemandCloseAfter": "10s",
}

DEFAULT_AUTH_INTERNAL_USERS = [
    {"user": "any", "pass": "", "ips": [],
     "permissions": [{"action": "publish", "path": ""}, {"action": "read", "path": ""},
                     {"action": "playback", "path": ""}]},
    {"user": "any", "pass": "", "ips": ["127.0.0.1/32", "::1/128"],
     "permissions": [{"action": "api", "path": ""}, {"action": "metrics", "path": ""},
                     {"action": "pprof", "path": ""}]},
]


def global_defaults(api_address, rtsp_address, api_user=None, api_pass=None):
    """Conf.setDefaults(), with the API on and the servers the stand-in does not have turned off."""
    users = copy.deepcopy(DEFAULT_AUTH_INTERNAL_USERS)
    if api_user is not None:
        users[1] = {"user": api_user, "pass": api_pass or "", "ips": [],
                    "permissions": [{"action": "api", "path": ""}]}
    d = {"logLevel": "info", "logDestinations": ["stdout"], "logFile": "mediamtx.log", "sysLogPrefix": "mediamtx",
         "readTimeout": "10s", "writeTimeout": "10s", "writeQueueSize": 512, "udpMaxPayloadSize": 1452,
         "authMethod": "internal", "authInternalUsers": users, "authJWTClaimKey": "mediamtx_permissions",
         "api": True, "apiAddress": api_address,
         "rtsp": True, "rtspEncryption": "no", "rtspTransports": ["udp", "tcp"], "rtspAddress": rtsp_address,
         "rtspsAddress": ":8322", "rtpAddress": ":8000", "rtcpAddress": ":8001",
         "multicastIPRange": "224.1.0.0/16", "multicastRTPPort": 8002, "multicastRTCPPort": 8003,
         "srtpAddress": ":8004", "srtcpAddress": ":8005", "multicastSRTPPort": 8006, "multicastSRTCPPort": 8007,
         "rtspAuthMethods": ["basic"],
         "rtmp": False, "rtmpEncryption": "no", "rtmpAddress": ":1935", "rtmpsAddress": ":1936",
         "hls": False, "hlsAddress": ":8888", "hlsVariant": "lowLatency", "hlsSegmentCount": 7,
         "hlsSegmentDuration": "1s", "hlsPartDuration": "200ms", "hlsSegmentMaxSize": "50M",
         "hlsMuxerCloseAfter": "60s",
         "webrtc": False, "webrtcAddress": ":8889", "webrtcLocalUDPAddress": ":8189",
         "webrtcIPsFromInterfaces": True, "webrtcSTUNGatherTimeout": "5s", "webrtcHandshakeTimeout": "10s",
         "webrtcTrackGatherTimeout": "2s",
         "srt": False, "srtAddress": ":8890",
         "moq": False, "moqHTTP2Address": ":8892", "moqHTTP3Address": ":8892", "moqQUICAddress": ":8893",
         "moqServerKey": "auto.key", "moqServerCert": "auto.crt"}
    for prefix, address in (("api", None), ("metrics", ":9998"), ("pprof", ":9999"), ("playback", ":9996")):
        if address:
            d[prefix + "Address"] = address
        d[prefix + "ServerKey"] = "server.key"
        d[prefix + "ServerCert"] = "server.crt"
        d[prefix + "AllowOrigins"] = ["*"]
    for prefix in ("rtsp", "rtmp", "hls", "webrtc"):
        d[prefix + "ServerKey"] = "server.key"
        d[prefix + "ServerCert"] = "server.crt"
    for prefix in ("hls", "webrtc", "moq"):
        d[prefix + "AllowOrigins"] = ["*"]
    return d


def _full(struct, optional_keys, values):
    out = {}
    for key, t in struct.fields.items():
        if key in optional_keys:
            continue
        out[key] = t.zero()
    for key, v in values.items():
        out[key] = struct.fields[key].decode(_json_value(v), key)
    return out


# --- validation (conf.Validate, Path.validate) ------------------------------------------------

_RE_PATH_NAME = re.compile(r"^[0-9a-zA-Z_\-/\.]+$")


def is_valid_path_name(name):
    """conf.IsValidPathName; returns the error text or None."""
    if name == "":
        return "cannot be empty"
    if name[0] == "/":
        return "can't begin with a slash"
    if name[-1] == "/":
        return "can't end with a slash"
    if not _RE_PATH_NAME.match(name):
        return "can contain only alphanumeric characters, underscore, dot, minus, slash"
    for segment in name.split("/"):
        if segment in (".", ".."):
            return "can't contain dot path segments"
    return None


def _validate_url(source):
    s = re.sub(r":\$G[0-9]+", ":1935", source)
    s = re.sub(r"\$G[0-9]+", "abc", s)
    try:
        u = urllib.parse.urlsplit(s)
        u.port  # noqa: B018  (raises on a bad port, as url.Parse does)
    except ValueError:
        raise ConfError("'%s' is not a valid URL" % source)
    host = u.netloc.rpartition("@")[2]
    if not u.scheme or not host or " " in host:
        raise ConfError("'%s' is not a valid URL" % source)
    if "@" in u.netloc:
        user, _, password = u.netloc.rpartition("@")[0].partition(":")
        if (user and not password) or (not user and password):
            raise ConfError("username and password must be both provided")
    return u, host


def _needs_port(source):
    u, host = _validate_url(source)
    if not re.search(r":[^:\]]*$", host):
        raise ConfError("'%s' is missing the port" % source)


def _check_redirect(v):
    if v.startswith("/"):
        err = is_valid_path_name(v[1:])
        if err:
            raise ConfError("'%s': %s" % (v, err))
    else:
        u = urllib.parse.urlsplit(v)
        if u.scheme not in ("rtsp", "rtsps") or not u.netloc:
            raise ConfError("'%s' is not a valid RTSP URL" % v)


def _check_srt_passphrase(p):
    if len(p) < 10 or len(p) > 79:
        return "must be between 10 and 79 characters"
    return None


_RPI_ENUMS = [
    ("rpiCameraExposure", ("normal", "short", "long", "custom")),
    ("rpiCameraAWB", ("auto", "incandescent", "tungsten", "fluorescent", "indoor", "daylight", "cloudy", "custom")),
]
_RPI_ENUMS2 = [
    ("rpiCameraDenoise", ("off", "cdn_off", "cdn_fast", "cdn_hq")),
    ("rpiCameraMetering", ("centre", "spot", "matrix", "custom")),
    ("rpiCameraAfMode", ("auto", "manual", "continuous")),
    ("rpiCameraAfRange", ("normal", "macro", "full")),
    ("rpiCameraAfSpeed", ("normal", "fast")),
]


def _validate_rpi(p, name, conf):
    if p["rpiCameraWidth"] == 0:
        raise ConfError("invalid 'rpiCameraWidth' value")
    if p["rpiCameraHeight"] == 0:
        raise ConfError("invalid 'rpiCameraHeight' value")
    if p["rpiCameraCodec"] == "mjpeg" or (p["rpiCameraSecondary"] and p["rpiCameraCodec"] == "auto"):
        for key in ("rpiCameraWidth", "rpiCameraHeight"):
            if p[key] >= 2048 or p[key] % 8 != 0:
                raise ConfError("'%s' must be a multiple of 8 and less than 2048 when using MJPEG" % key)
    for key, values in _RPI_ENUMS:
        if p[key] not in values:
            raise ConfError("invalid '%s' value" % key)
    if len(p["rpiCameraAWBGains"]) != 2:
        raise ConfError("invalid 'rpiCameraAWBGains' value")
    for key, values in _RPI_ENUMS2:
        if p[key] not in values:
            raise ConfError("invalid '%s' value" % key)
    for old, new in (("rpiCameraProfile", "rpiCameraHardwareH264Profile"),
                     ("rpiCameraLevel", "rpiCameraHardwareH264Level")):
        if old in p:
            p[new] = p[old]
    for key, values in (("rpiCameraHardwareH264Profile", ("baseline", "main", "high")),
                        ("rpiCameraHardwareH264Level", ("4.0", "4.1", "4.2")),
                        ("rpiCameraSoftwareH264Profile", ("baseline", "main", "high")),
                        ("rpiCameraSoftwareH264Level", ("4.0", "4.1", "4.2"))):
        if key in p and p[key] not in values:
            raise ConfError("invalid '%s' value" % key)
    if p["rpiCameraH264Profile"] not in ("auto", "baseline", "main", "high"):
        raise ConfError("invalid 'rpiCameraH264Profile' value")
    if p["rpiCameraH264Level"] not in ("4.0", "4.1", "4.2"):
        raise ConfError("invalid 'rpiCameraH264Level' value")
    if "rpiCameraJPEGQuality" in p:
        p["rpiCameraMJPEGQuality"] = p["rpiCameraJPEGQuality"]
    if p["rpiCameraCodec"] not in ("auto", "hardwareH264", "softwareH264", "mjpeg"):
        raise ConfError("supported codecs for a RPI Camera stream are auto, hardwareH264, softwareH264, mjpeg")
    if not p["rpiCameraSecondary"]:
        for other_name, other in conf.paths.items():
            if (other is not p and other.get("source") == "rpiCamera" and
                    other["rpiCameraCamID"] == p["rpiCameraCamID"] and not other["rpiCameraSecondary"]):
                raise ConfError("'rpiCamera' with same camera ID %d is used as source in two paths, '%s' and '%s'"
                                % (p["rpiCameraCamID"], name, other_name))
    else:
        primary = next((o for o in conf.paths.values() if o is not p and o.get("source") == "rpiCamera" and
                        o["rpiCameraCamID"] == p["rpiCameraCamID"] and not o["rpiCameraSecondary"]), None)
        if primary is None:
            raise ConfError("cannot find a primary RPI Camera stream to associate with the secondary stream")


def _check_forward(entries):
    for i, entry in enumerate(entries):
        dest = entry["dest"]
        if dest == "":
            raise ConfError("invalid 'forward': entry %d: destination is empty" % i)
        try:
            u, _ = _validate_url(dest.replace("$MTX_PATH", "path"))
        except ConfError as e:
            raise ConfError("invalid 'forward': entry %d: %s" % (i, e))
        if u.scheme not in ("rtmp", "rtmps", "rtsp", "rtsps", "srt", "whip", "whips"):
            raise ConfError("invalid 'forward': entry %d: unsupported scheme '%s', supported ones are rtmp, "
                            "rtmps, rtsp, rtsps, srt, whip and whips" % (i, u.scheme))


def _check_always_available_file(path):
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as e:
        msg = (e.strerror or str(e))
        raise ConfError("invalid 'alwaysAvailableFile': open %s: %s" % (path, msg[:1].lower() + msg[1:]))
    if len(head) < 8:
        raise ConfError("invalid 'alwaysAvailableFile': unexpected EOF")
    if head[4:8] != b"ftyp":
        raise ConfError("invalid 'alwaysAvailableFile': file is not MP4, magic bytes are [%s]"
                        % " ".join(str(b) for b in head[4:8]))


def compile_name_regexp(name):
    """The Go regexp of a regex path config, or None for a static name."""
    if name in ("all_others", "all"):
        return re.compile(r"^.*$")
    if name == "" or name[0] != "~":
        return None
    try:
        return re.compile(name[1:])
    except re.error:
        raise ConfError("invalid regular expression: %s" % name[1:])


def validate_path(conf, name, p):
    """Path.validate: checks p (a merged path) and applies the deprecated-key mappings to it."""
    p["name"] = name
    if name not in ("all_others", "all") and (name == "" or name[0] != "~"):
        err = is_valid_path_name(name)
        if err:
            raise ConfError("invalid path name '%s': %s" % (name, err))
    regexp = compile_name_regexp(name)
    source = p["source"]
    if p["srtPublishPassphrase"] and source != "publisher":
        raise ConfError("'srtPublishPassphase' can only be used when source is 'publisher'")
    if source != "redirect" and p["sourceRedirect"]:
        raise ConfError("'sourceRedirect' is useless when source is not 'redirect'")

    rtsp_prefixes = ("rtsp://", "rtsps://", "rtsp+http://", "rtsps+http://", "rtsp+ws://", "rtsps+ws://")
    if source == "publisher":
        if "disablePublisherOverride" in p:
            p["overridePublisher"] = not p["disablePublisherOverride"]
        if p["srtPublishPassphrase"]:
            err = _check_srt_passphrase(p["srtPublishPassphrase"])
            if err:
                raise ConfError("invalid 'srtPublishPassphrase': " + err)
    elif source.startswith(rtsp_prefixes):
        _validate_url(source)
        if "sourceProtocol" in p:
            p["rtspTransport"] = p["sourceProtocol"]
        if "sourceAnyPortEnable" in p:
            p["rtspAnyPort"] = p["sourceAnyPortEnable"]
    elif source.startswith(("rtmp://", "rtmps://", "http://", "https://", "srt://", "moqt://",
                            "whep://", "wheps://")):
        _validate_url(source)
    elif source.startswith(("udp://", "udp+mpegts://")):
        _needs_port(source)
    elif source.startswith("unix+mpegts://"):
        pass
    elif source.startswith("udp+rtp://"):
        _needs_port(source)
        if p["rtpSDP"] == "":
            raise ConfError("`rtpSDP` was not provided")
    elif source.startswith("unix+rtp://"):
        if p["rtpSDP"] == "":
            raise ConfError("`rtpSDP` was not provided")
    elif source == "redirect":
        if p["sourceRedirect"] == "":
            raise ConfError("source redirect must be filled")
        _check_redirect(p["sourceRedirect"])
    elif source == "rpiCamera":
        _validate_rpi(p, name, conf)
    else:
        raise ConfError("invalid source: '%s'" % source)

    if p["sourceOnDemand"]:
        if source == "publisher":
            raise ConfError("'sourceOnDemand' is useless when source is 'publisher'")
    elif source not in ("publisher", "redirect") and regexp is not None:
        raise ConfError("a path with a regular expression (or path 'all_others') and a static source"
                        " must have 'sourceOnDemand' set to true")
    if p["srtReadPassphrase"]:
        err = _check_srt_passphrase(p["srtReadPassphrase"])
        if err:
            raise ConfError("invalid 'readRTPassphrase': " + err)
    _check_forward(p["forward"])
    if "fallback" in p:
        _check_redirect(p["fallback"])

    if p["alwaysAvailable"]:
        if regexp is not None:
            raise ConfError("'alwaysAvailable' cannot be used in a path with a regular expression "
                            "(or path 'all_others')")
        if p["sourceOnDemand"]:
            raise ConfError("'sourceOnDemand' is not compatible with 'alwaysAvailable'")
        if p["runOnDemand"] or p["runOnUnDemand"]:
            raise ConfError("'runOnDemand' and 'runOnUnDemand' cannot be used with 'alwaysAvailable'")
        if p["alwaysAvailableFile"]:
            if p["alwaysAvailableTracks"]:
                raise ConfError("'alwaysAvailableFile' and 'alwaysAvailableTracks' cannot be used together")
            _check_always_available_file(p["alwaysAvailableFile"])
        elif not p["alwaysAvailableTracks"]:
            raise ConfError("'alwaysAvailableTracks' must contain at least one track")
        if p["useAbsoluteTimestamp"]:
            raise ConfError("'useAbsoluteTimestamp' cannot be used with 'alwaysAvailable'")

    rp = p["recordPath"]
    if "%path" not in rp:
        raise ConfError("'recordPath' must contain %path")
    if "%s" not in rp and not all(x in rp for x in ("%Y", "%m", "%d", "%H", "%M", "%S")):
        raise ConfError("'recordPath' must contain either %s or %Y %m %d %H %M %S")
    if conf.global_values["playback"] and "%f" not in rp:
        raise ConfError("'recordPath' must contain %f")
    if p["recordSegmentDuration"] > 24 * 3600 * 10 ** 9:
        raise ConfError("maximum segment duration is 1 day")
    if p["recordDeleteAfter"] != 0 and p["recordDeleteAfter"] < p["recordSegmentDuration"]:
        raise ConfError("'recordDeleteAfter' cannot be lower than 'recordSegmentDuration'")

    if p["runOnInit"] and regexp is not None:
        raise ConfError("a path with a regular expression (or path 'all_others')"
                        " does not support option 'runOnInit'; use another path")
    if "runOnReady" in p:
        p["runOnAvailable"] = p["runOnReady"]
    if "runOnReadyRestart" in p:
        p["runOnAvailableRestart"] = p["runOnReadyRestart"]
    if "runOnNotReady" in p:
        p["runOnUnavailable"] = p["runOnNotReady"]
    if (p["runOnDemand"] or p["runOnUnDemand"]) and source != "publisher":
        raise ConfError("'runOnDemand' and 'runOnUnDemand' can be used only when source is 'publisher'")


# global deprecated keys: Validate copies them onto their replacement (the old key stays set)
_GLOBAL_RENAMES = [("readBufferCount", "writeQueueSize", None),
                   ("apiAllowOrigin", "apiAllowOrigins", lambda v: [v]),
                   ("metricsAllowOrigin", "metricsAllowOrigins", lambda v: [v]),
                   ("pprofAllowOrigin", "pprofAllowOrigins", lambda v: [v]),
                   ("playbackAllowOrigin", "playbackAllowOrigins", lambda v: [v]),
                   ("rtspDisable", "rtsp", lambda v: not v),
                   ("protocols", "rtspTransports", None),
                   ("encryption", "rtspEncryption", None),
                   ("authMethods", "rtspAuthMethods", None),
                   ("rtmpDisable", "rtmp", lambda v: not v),
                   ("hlsDisable", "hls", lambda v: not v),
                   ("hlsAllowOrigin", "hlsAllowOrigins", lambda v: [v]),
                   ("webrtcDisable", "webrtc", lambda v: not v),
                   ("webrtcICEUDPMuxAddress", "webrtcLocalUDPAddress", None),
                   ("webrtcICETCPMuxAddress", "webrtcLocalTCPAddress", None),
                   ("webrtcICEHostNAT1To1IPs", "webrtcAdditionalHosts", None),
                   ("webrtcAllowOrigin", "webrtcAllowOrigins", lambda v: [v]),
                   ("moqHTTPS2Address", "moqHTTP2Address", None),
                   ("moqHTTPS3Address", "moqHTTP3Address", None)]


def validate_global(conf):
    g = conf.global_values
    for old, new, fn in _GLOBAL_RENAMES[:1]:
        if old in g:
            g[new] = fn(g[old]) if fn else g[old]
    if g["readTimeout"] <= 0:
        raise ConfError("'readTimeout' must be greater than zero")
    if g["writeTimeout"] <= 0:
        raise ConfError("'writeTimeout' must be greater than zero")
    if g["writeQueueSize"] <= 0:
        raise ConfError("'writeQueueSize' must be greater than zero")
    if g["writeQueueSize"] & (g["writeQueueSize"] - 1):
        raise ConfError("'writeQueueSize' must be a power of two")
    if g["udpMaxPayloadSize"] > 1472:
        raise ConfError("'udpMaxPayloadSize' must be less than 1472")
    if "externalAuthenticationURL" in g:
        g["authMethod"] = "http"
        g["authHTTPAddress"] = g["externalAuthenticationURL"]
    if g["authMethod"] == "internal":
        for u in g["authInternalUsers"]:
            if u["user"] == "":
                raise ConfError("empty usernames are not supported")
            if u["user"] == "any" and u["pass"] != "":
                raise ConfError("using a password with 'any' user is not supported")
    elif g["authMethod"] == "http":
        if g["authHTTPAddress"] == "":
            raise ConfError("'authHTTPAddress' is empty")
        if not g["authHTTPAddress"].startswith(("http://", "https://")):
            raise ConfError("'externalAuthenticationURL' must be a HTTP URL")
    else:
        if g["authJWTJWKS"] == "":
            raise ConfError("'authJWTJWKS' is empty")
        if not g["authJWTJWKS"].startswith(("http://", "https://")):
            raise ConfError("'authJWTJWKS' must be a HTTP URL")
        if g["authJWTClaimKey"] == "":
            raise ConfError("'authJWTClaimKey' is empty")
    renames = dict((old, (new, fn)) for old, new, fn in _GLOBAL_RENAMES[1:])

    def rename(*olds):
        for old in olds:
            if old in g:
                new, fn = renames[old]
                g[new] = fn(g[old]) if fn else g[old]

    rename("apiAllowOrigin")
    if g["api"] and g["apiAddress"] == "":
        raise ConfError("'apiAddress' must be set when API is enabled")
    rename("metricsAllowOrigin")
    if g["metrics"] and g["metricsAddress"] == "":
        raise ConfError("'metricsAddress' must be set when metrics are enabled")
    rename("pprofAllowOrigin")
    if g["pprof"] and g["pprofAddress"] == "":
        raise ConfError("'pprofAddress' must be set when pprof is enabled")
    rename("playbackAllowOrigin")
    if g["playback"] and g["playbackAddress"] == "":
        raise ConfError("'playbackAddress' must be set when playback is enabled")
    rename("rtspDisable", "protocols", "encryption", "authMethods")
    if g["rtsp"]:
        enc, transports = g["rtspEncryption"], g["rtspTransports"]
        if enc in ("no", "optional"):
            if g["rtspAddress"] == "":
                raise ConfError("'rtspAddress' must be set when RTSP is enabled and RTSP encryption is 'no' or 'optional'")
            if "udp" in transports:
                for key in ("rtpAddress", "rtcpAddress"):
                    if g[key] == "":
                        raise ConfError("'%s' must be set when UDP is enabled and RTSP encryption is 'no' or 'optional'" % key)
            if "multicast" in transports:
                for key in ("multicastIPRange", "multicastRTPPort", "multicastRTCPPort"):
                    if not g[key]:
                        raise ConfError("'%s' must be set when UDP multicast is enabled and RTSP encryption is 'no' or 'optional'" % key)
        if enc in ("optional", "strict"):
            if g["rtspsAddress"] == "":
                raise ConfError("'rtspsAddress' must be set when RTSP is enabled and RTSP encryption is 'optional' or 'strict'")
            if "udp" in transports:
                for key in ("srtpAddress", "srtcpAddress"):
                    if g[key] == "":
                        raise ConfError("'%s' must be set when UDP is enabled and RTSP encryption is 'optional' or 'strict'" % key)
            if "multicast" in transports:
                for key in ("multicastIPRange", "multicastSRTPPort", "multicastSRTCPPort"):
                    if not g[key]:
                        raise ConfError("'%s' must be set when UDP multicast is enabled and RTSP encryption is 'optional' or 'strict'" % key)
        if not g["rtspAuthMethods"]:
            raise ConfError("at least one 'rtspAuthMethods' must be provided")
        if "digest" in g["rtspAuthMethods"]:
            if g["authMethod"] != "internal":
                raise ConfError("when RTSP digest is enabled, the only supported auth method is 'internal'")
            for u in g["authInternalUsers"]:
                if any(c.startswith(("sha256:", "argon2:")) for c in (u["user"], u["pass"])):
                    raise ConfError("when RTSP digest is enabled, hashed credentials cannot be used")
    rename("rtmpDisable")
    if g["rtmp"] and g["rtmpAddress"] == "":
        raise ConfError("'rtmpAddress' must be set when RTMP is enabled")
    rename("hlsDisable", "hlsAllowOrigin")
    if g["hls"] and g["hlsAddress"] == "":
        raise ConfError("'hlsAddress' must be set when HLS is enabled")
    if g["hlsCDNSecret"] and not _PLAIN_CREDENTIAL.match(g["hlsCDNSecret"]):
        raise ConfError("'hlsCDNSecret' contains unsupported characters. Supported are: " + _PLAIN_CHARS)
    rename("webrtcDisable", "webrtcICEUDPMuxAddress", "webrtcICETCPMuxAddress", "webrtcICEHostNAT1To1IPs")
    if "webrtcICEServers" in g:
        for server in g["webrtcICEServers"]:
            parts = server.split(":")
            if len(parts) == 5:
                g["webrtcICEServers2"].append({"url": parts[0] + ":" + parts[3] + ":" + parts[4],
                                               "username": parts[1], "password": parts[2], "clientOnly": False})
            else:
                g["webrtcICEServers2"].append({"url": server, "username": "", "password": "", "clientOnly": False})
    rename("webrtcAllowOrigin")
    if g["webrtc"]:
        if g["webrtcAddress"] == "":
            raise ConfError("'webrtcAddress' must be set when WebRTC is enabled")
        for server in g["webrtcICEServers2"]:
            if not server["url"].startswith(("stun:", "turn:", "turns:")):
                raise ConfError("invalid ICE server: '%s'" % server["url"])
        if not g["webrtcLocalUDPAddress"] and not g["webrtcLocalTCPAddress"] and not g["webrtcICEServers2"]:
            raise ConfError("at least one between 'webrtcLocalUDPAddress', 'webrtcLocalTCPAddress' or "
                            "'webrtcICEServers2' must be filled")
        if (g["webrtcLocalUDPAddress"] or g["webrtcLocalTCPAddress"]) and \
                not g["webrtcIPsFromInterfaces"] and not g["webrtcAdditionalHosts"]:
            raise ConfError("at least one between 'webrtcIPsFromInterfaces' or 'webrtcAdditionalHosts' must be filled")
    rename("moqHTTPS2Address", "moqHTTPS3Address")
    if g["moq"] and g["moqQUICAddress"] == "":
        raise ConfError("'moqQUICAddress' must be set when MoQ is enabled")
    for key in ("record", "recordPath", "recordFormat", "recordPartDuration", "recordSegmentDuration",
                "recordDeleteAfter"):
        if key in g:
            conf.path_defaults[key] = g[key]


class Conf:
    """conf.Conf: global values, pathDefaults, the partial path configs and, once validated, paths."""

    def __init__(self, schema, global_values, path_defaults, optional_paths=None):
        self.schema = schema
        self.global_values = global_values
        self.path_defaults = path_defaults
        self.optional_paths = optional_paths or {}
        self.paths = {}

    @classmethod
    def initial(cls, schema, api_address, rtsp_address, api_user=None, api_pass=None):
        g = _full(schema.global_type, schema.global_optional,
                  global_defaults(api_address, rtsp_address, api_user, api_pass))
        pd = _full(schema.path_type, schema.path_optional, PATH_DEFAULTS)
        return cls(schema, g, pd)

    def clone(self):
        return Conf(self.schema, copy.deepcopy(self.global_values), copy.deepcopy(self.path_defaults),
                    copy.deepcopy(self.optional_paths))

    def validate(self):
        validate_global(self)
        aliases = [n for n in self.optional_paths if n in ("all", "all_others", "~^.*$")]
        if len(aliases) > 1:
            raise ConfError("all_others, all and '~^.*$' are aliases")
        self.paths = {}
        for name in sorted(self.optional_paths):
            merged = copy.deepcopy(self.path_defaults)
            merged.update(copy.deepcopy(self.optional_paths[name]))
            self.paths[name] = merged
        for name in sorted(self.optional_paths):
            validate_path(self, name, self.paths[name])
        return self

    # conf.AddPath & co. (the caller validates afterwards)
    def add_path(self, name, partial):
        if name in self.optional_paths:
            raise ConfError("path already exists")
        self.optional_paths[name] = partial

    def patch_path(self, name, partial):
        if name not in self.optional_paths:
            raise ConfError("path not found", 404)
        self.optional_paths[name].update(partial)

    def replace_path(self, name, partial):
        self.optional_paths[name] = partial

    def remove_path(self, name):
        if name not in self.optional_paths:
            raise ConfError("path not found", 404)
        del self.optional_paths[name]

    def patch_global(self, partial):
        self.global_values.update(partial)

    def patch_path_defaults(self, partial):
        self.path_defaults.update(partial)

    # rendering, with credentials redacted as the API does
    def render_global(self):
        g = copy.deepcopy(self.global_values)
        for u in g["authInternalUsers"]:
            if u["pass"] != "":
                u["pass"] = REDACTED
        return _render(self.schema.global_type, self.schema.global_optional, g)

    def render_path(self, merged):
        p = dict(merged)
        for key in ("publishPass", "readPass"):
            if p.get(key):
                p[key] = REDACTED
        return _render(self.schema.path_type, self.schema.path_optional, p)

    def render_path_defaults(self):
        return self.render_path(self.path_defaults)


def _render(struct, optional_keys, values):
    out = {}
    for key, t in struct.fields.items():
        if key in values:
            out[key] = t.render(values[key])
        elif key not in optional_keys:
            out[key] = t.render(t.zero())
    return out


def find_path_conf(paths, name):
    """conf.FindPathConf: (config name, merged conf, regexp groups) or ConfError (RTSP 400)."""
    if name in paths:
        return name, paths[name], None
    err = is_valid_path_name(name)
    if err:
        raise ConfError("invalid path name: %s (%s)" % (err, name))
    regex_names = [n for n in paths if compile_name_regexp(n) is not None]
    regex_names.sort(key=lambda n: (n in ("all", "all_others"), n))
    for conf_name in regex_names:
        m = compile_name_regexp(conf_name).search(name)
        if m:
            return conf_name, paths[conf_name], [m.group(0)] + [g or "" for g in m.groups()]
    raise ConfError("path '%s' is not configured" % name)


# keys that change in place on reload (pathConfCanBeUpdated); any other change recreates the path
HOT_KEYS = {"name", "forward", "record", "recordPath", "recordFormat", "recordPartDuration", "recordMaxPartSize",
            "recordSegmentDuration", "recordDeleteAfter", "rpiCameraBrightness", "rpiCameraContrast",
            "rpiCameraSaturation", "rpiCameraSharpness", "rpiCameraExposure", "rpiCameraFlickerPeriod",
            "rpiCameraAWB", "rpiCameraAWBGains", "rpiCameraDenoise", "rpiCameraShutter", "rpiCameraMetering",
            "rpiCameraGain", "rpiCameraEV", "rpiCameraFPS", "rpiCameraTextOverlayEnable", "rpiCameraTextOverlay",
            "rpiCameraIDRPeriod", "rpiCameraBitrate"}


def can_be_updated(old, new):
    """pathConfCanBeUpdated."""
    a = {k: v for k, v in old.items() if k not in HOT_KEYS}
    b = {k: v for k, v in new.items() if k not in HOT_KEYS}
    return a == b
