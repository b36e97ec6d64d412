"""The control API (MediaMTX v3 as served by gin) and the test-only /_stub API.

What a client sees is copied from MediaMTX v1.20.1 internal/api + internal/protocols/httpp + gin:
- headers: "Server: mediamtx", "Access-Control-Allow-Origin" (apiAllowOrigins), JSON as
  "application/json; charset=utf-8", compact Go encoding; keep-alive (HTTP/1.1);
- an unknown route or a known route with the wrong method: 404 "404 page not found" (text/plain),
  after the auth check, as gin runs middleware for its 404 handler too; a missing or extra trailing
  slash on a route is redirected (301 for GET, 307 otherwise), before auth, as gin does;
- OPTIONS with Access-Control-Request-Method: 204 preflight answer, before auth;
- auth: the internal method with the current authInternalUsers (action "api"): Basic or
  "Bearer user:pass"; 401 {"status":"error","error":"authentication error"}, with
  WWW-Authenticate when no credentials were sent, else after a random 0-4 s delay;
- envelopes {"status":"ok"} / {"status":"error","error":...}, pagination, strict body decoding,
  the config write order (decode, then the change, then validation of the whole configuration).
Config writes apply synchronously (MediaMTX answers first and applies a moment later; a client
that polls briefly works with both).
"""
import base64
import binascii
import http.server
import ipaddress
import json
import random
import socketserver
import threading
import time
import urllib.parse
import uuid

import conf as confmod
import gojson
from gocompat import GoError, parse_uint, rfc3339nano
from paths import Refusal

VERSION = "v1.20.1"
MAX_BODY = 10 * 1024 * 1024
AUTH_DELAY_MAX = 4.0


class ApiError(Exception):
    def __init__(self, status, msg):
        super().__init__(msg)
        self.status, self.msg = status, msg


def paginate(items, items_per_page, page):
    """api.paginate: returns (items of the page, pageCount) or raises GoError."""
    ipp = 100
    if items_per_page != "":
        ipp = parse_uint(items_per_page, 31)
        if ipp == 0:
            raise GoError("invalid items per page")
    p = 0
    if page != "":
        p = parse_uint(page, 31)
    if not items:
        return items, 0
    count = len(items) // ipp + (1 if len(items) % ipp else 0)
    lo = min(p * ipp, len(items))
    hi = min((p + 1) * ipp, len(items))
    return items[lo:hi], count


class State:
    """Everything the API handlers share."""

    def __init__(self, schema, manager, registry, log, api_address, rtsp_address, api_user, api_pass,
                 all_others, relay, auth_delay_max=AUTH_DELAY_MAX):
        self.schema, self.manager, self.registry, self.log = schema, manager, registry, log
        self.api_address, self.rtsp_address = api_address, rtsp_address
        self.api_user, self.api_pass, self.all_others = api_user, api_pass, all_others
        self.relay = relay
        self.auth_delay_max = auth_delay_max
        self.write_lock = threading.Lock()
        self.requests = []
        self.requests_lock = threading.Lock()
        self.hang = False
        self.hang_cond = threading.Condition()
        self.stopping = False
        self.fake_publishers = {}
        self.reset()

    def reset(self):
        """A (re)start without a config file: default config, optionally all_others, new `started`."""
        conf = confmod.Conf.initial(self.schema, self.api_address, self.rtsp_address, self.api_user, self.api_pass)
        if self.all_others:
            conf.add_path("all_others", {})
        self.conf = conf.validate()
        self.started_ns = time.time_ns()
        self.manager.close_all()
        self.manager.reload(self.conf.paths)

    def commit(self, new_conf):
        self.conf = new_conf
        self.manager.reload(new_conf.paths)


# --- routes ---------------------------------------------------------------------------------

ROUTES = [
    ("GET", "/v3/info", False, "info"),
    ("POST", "/v3/auth/jwks/refresh", False, "jwks_refresh"),
    ("GET", "/v3/config/global/get", False, "global_get"),
    ("PATCH", "/v3/config/global/patch", False, "global_patch"),
    ("GET", "/v3/config/pathdefaults/get", False, "pathdefaults_get"),
    ("PATCH", "/v3/config/pathdefaults/patch", False, "pathdefaults_patch"),
    ("GET", "/v3/config/paths/list", False, "conf_paths_list"),
    ("GET", "/v3/config/paths/get", True, "conf_paths_get"),
    ("POST", "/v3/config/paths/add", True, "conf_paths_add"),
    ("PATCH", "/v3/config/paths/patch", True, "conf_paths_patch"),
    ("POST", "/v3/config/paths/replace", True, "conf_paths_replace"),
    ("DELETE", "/v3/config/paths/delete", True, "conf_paths_delete"),
    ("GET", "/v3/paths/list", False, "paths_list"),
    ("GET", "/v3/paths/get", True, "paths_get"),
]


def match_route(method, path):
    """gin's tree lookup: (handler name, catch-all param) / ("redirect", new path) / None."""
    def find(p):
        for m, pattern, catch_all, name in ROUTES:
            if m != method:
                continue
            if catch_all:
                if p.startswith(pattern + "/"):
                    return name, p[len(pattern):]
            elif p == pattern:
                return name, None
        return None
    hit = find(path)
    if hit:
        return hit
    if path != "/":
        alt = path[:-1] if path.endswith("/") else path + "/"
        if find(alt):
            return "redirect", alt
    return None


def param_name(param):
    if param is None or len(param) < 2 or param[0] != "/":
        raise ApiError(400, "invalid name")
    return param[1:]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # Go's IdleTimeout
    state = None  # set on the subclass by make_server

    def version_string(self):
        return "mediamtx"

    def log_message(self, fmt, *args):
        pass

    def __getattr__(self, name):
        if name.startswith("do_"):
            return self.dispatch
        raise AttributeError(name)

    # --- I/O --------------------------------------------------------------------------------

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status, body, content_type="application/json; charset=utf-8", headers=()):
        self.send_response(status)
        origin = self._allow_origin()
        if origin:
            self.send_header("Access-Control-Allow-Origin", origin)
        for k, v in headers:
            self.send_header(k, v)
        if body is not None and content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status, obj):
        self._send(status, gojson.dumps(obj))

    def _error(self, status, msg):
        if status >= 400 and status != 401:
            self.state.log.write("[API] %s" % msg)
        self._json(status, {"status": "error", "error": msg})

    def _ok(self):
        self._json(200, {"status": "ok"})

    def _allow_origin(self):
        allowed = self.state.conf.global_values.get("apiAllowOrigins") or []
        origin = self.headers.get("Origin", "") if self.headers else ""
        if origin and origin in allowed:
            return origin
        return "*" if "*" in allowed else None

    # --- request flow ------------------------------------------------------------------------

    def dispatch(self):
        raw_path, _, raw_query = self.path.partition("?")
        body = self._read_body()
        if raw_path.startswith("/_stub/") or raw_path == "/_stub":
            return self._stub(raw_path, raw_query, body)
        self._record(raw_path, raw_query, body)
        if not self._wait_while_hanging():
            self.close_connection = True
            return
        try:
            path = urllib.parse.unquote(raw_path, errors="strict")
        except UnicodeDecodeError:
            path = urllib.parse.unquote(raw_path)
        if "%" in raw_path and not _valid_escapes(raw_path):
            self.close_connection = True
            return self._send(400, b"400 Bad Request", "text/plain; charset=utf-8")
        query = {}
        for k, v in urllib.parse.parse_qsl(raw_query, keep_blank_values=True):
            query.setdefault(k, v)
        self.state.log.write("[API] %s %s%s from %s" % (self.command, raw_path, ("?" + raw_query) if raw_query
                                                       else "", self.client_address[0]))
        route = match_route(self.command, path)
        if route and route[0] == "redirect":
            target = route[1] + (("?" + raw_query) if raw_query else "")
            status = 301 if self.command == "GET" else 307
            if self.command == "GET":
                text = '<a href="%s">%s</a>.\n\n' % (target.replace("&", "&amp;").replace('"', "&#34;"),
                                                     "Moved Permanently")
                return self._send(status, text.encode(), "text/html; charset=utf-8", [("Location", target)])
            return self._send(status, b"", None, [("Location", target)])
        if self.command == "OPTIONS" and self.headers.get("Access-Control-Request-Method"):
            return self._send(204, b"", None, [("Access-Control-Allow-Methods", "OPTIONS, GET, POST, PATCH, DELETE"),
                                               ("Access-Control-Allow-Headers", "Authorization, Content-Type")])
        if not self._authenticate(raw_query):
            return
        if route is None:
            return self._send(404, b"404 page not found", "text/plain")
        name, param = route
        try:
            getattr(self, "h_" + name)(param, query, body)
        except ApiError as e:
            self._error(e.status, e.msg)
        except confmod.ConfError as e:
            self._error(e.status, str(e))

    def _record(self, raw_path, raw_query, body):
        entry = {"time": time.time(), "method": self.command, "target": self.path, "path": raw_path,
                 "query": raw_query, "headers": [[k, v] for k, v in self.headers.items()],
                 "body": body.decode("utf-8", "replace"), "bodyBase64": base64.b64encode(body).decode()}
        with self.state.requests_lock:
            self.state.requests.append(entry)

    def _wait_while_hanging(self):
        st = self.state
        with st.hang_cond:
            while st.hang and not st.stopping:
                st.hang_cond.wait(1.0)
            return not st.stopping

    def _credentials(self):
        for value in self.headers.get_all("Authorization") or []:
            if value.startswith("Bearer "):
                parts = value[len("Bearer "):].split(":")
                if len(parts) == 2:
                    return parts[0], parts[1], ""
                return "", "", value[len("Bearer "):]
        value = self.headers.get("Authorization", "")
        if value[:6].lower() == "basic ":
            try:
                user, sep, password = base64.b64decode(value[6:], validate=True).decode("utf-8", "replace").partition(":")
                if sep:
                    return user, password, ""
            except (binascii.Error, ValueError):
                pass
        return "", "", ""

    def _authenticate(self, raw_query):
        user, password, token = self._credentials()
        ip = ipaddress.ip_address(self.client_address[0])
        for u in self.state.conf.global_values["authInternalUsers"]:
            if u["ips"] and not any(ip in ipaddress.ip_network(net) for net in u["ips"]):
                continue
            if not any(perm["action"] == "api" for perm in u["permissions"]):
                continue
            if u["user"] == "any" or (confmod.credential_matches(u["user"], user) and
                                      confmod.credential_matches(u["pass"], password)):
                return True
        # only the http and jwt methods read tokens, so with internal auth a JWT counts as "no credentials"
        if user == "" and password == "":
            self._json_401(True)
        else:
            self.state.log.write("[API] [conn %s] failed to authenticate: authentication failed" % self.client_address[0])
            time.sleep(random.uniform(0, self.state.auth_delay_max))
            self._json_401(False)
        return False

    def _json_401(self, ask):
        headers = [("WWW-Authenticate", 'Basic realm="mediamtx"')] if ask else []
        self._send(401, gojson.dumps({"status": "error", "error": "authentication error"}), headers=headers)

    # --- /v3 handlers ------------------------------------------------------------------------

    def h_info(self, param, query, body):
        self._json(200, {"version": VERSION, "started": rfc3339nano(self.state.started_ns)})

    def h_jwks_refresh(self, param, query, body):
        self._ok()

    def h_global_get(self, param, query, body):
        self._json(200, self.state.conf.render_global())

    def _write(self, change):
        with self.state.write_lock:
            new = self.state.conf.clone()
            change(new)
            new.validate()
            self.state.commit(new)
        self._ok()

    def h_global_patch(self, param, query, body):
        partial = confmod.decode_partial(body, self.state.schema.global_type)
        self._write(lambda c: c.patch_global(partial))

    def h_pathdefaults_get(self, param, query, body):
        self._json(200, self.state.conf.render_path_defaults())

    def h_pathdefaults_patch(self, param, query, body):
        partial = confmod.decode_partial(body, self.state.schema.path_type)
        self._write(lambda c: c.patch_path_defaults(partial))

    def _page(self, items, query):
        try:
            page_items, count = paginate(items, query.get("itemsPerPage", ""), query.get("page", ""))
        except GoError as e:
            raise ApiError(400, str(e))
        self._json(200, {"itemCount": len(items), "pageCount": count, "items": page_items})

    def h_conf_paths_list(self, param, query, body):
        conf = self.state.conf
        self._page([conf.render_path(conf.paths[n]) for n in sorted(conf.paths)], query)

    def h_conf_paths_get(self, param, query, body):
        name = param_name(param)
        conf = self.state.conf
        if name not in conf.paths:
            raise ApiError(404, "path configuration not found")
        self._json(200, conf.render_path(conf.paths[name]))

    def h_conf_paths_add(self, param, query, body):
        name = param_name(param)
        partial = confmod.decode_partial(body, self.state.schema.path_type)
        self._write(lambda c: c.add_path(name, partial))

    def h_conf_paths_patch(self, param, query, body):
        name = param_name(param)
        partial = confmod.decode_partial(body, self.state.schema.path_type)
        self._write(lambda c: c.patch_path(name, partial))

    def h_conf_paths_replace(self, param, query, body):
        name = param_name(param)
        partial = confmod.decode_partial(body, self.state.schema.path_type)
        self._write(lambda c: c.replace_path(name, partial))

    def h_conf_paths_delete(self, param, query, body):
        name = param_name(param)
        self._write(lambda c: c.remove_path(name))

    def h_paths_list(self, param, query, body):
        self._page(self.state.manager.api_list(), query)

    def h_paths_get(self, param, query, body):
        name = param_name(param)
        item = self.state.manager.api_get(name)
        if item is None:
            raise ApiError(404, "path not found")
        self._json(200, item)

    # --- /_stub ------------------------------------------------------------------------------

    def _stub_json(self, status, obj):
        self._send(status, json.dumps(obj).encode())

    def _stub(self, raw_path, raw_query, body):
        st = self.state
        path = urllib.parse.unquote(raw_path)
        query = dict(urllib.parse.parse_qsl(raw_query, keep_blank_values=True))
        try:
            args = json.loads(body) if body.strip() else {}
        except ValueError:
            return self._stub_json(400, {"error": "body is not JSON"})
        method = self.command
        if method == "GET" and path == "/_stub/requests":
            with st.requests_lock:
                return self._stub_json(200, list(st.requests))
        if method == "POST" and path == "/_stub/requests/clear":
            with st.requests_lock:
                st.requests.clear()
            return self._stub_json(200, {"status": "ok"})
        if method == "POST" and path == "/_stub/restart":
            with st.write_lock:
                st.fake_publishers.clear()
                if st.relay is not None:
                    st.relay.drop_all()
                st.reset()
                st.registry.clear()
            st.log.write("[stub] restarted: started=%s" % rfc3339nano(st.started_ns))
            return self._stub_json(200, {"status": "ok", "started": rfc3339nano(st.started_ns)})
        if method == "POST" and path == "/_stub/hang":
            with st.hang_cond:
                st.hang = bool(args.get("hang", True))
                st.hang_cond.notify_all()
            st.log.write("[stub] hang %s" % ("on" if st.hang else "off"))
            return self._stub_json(200, {"status": "ok", "hang": st.hang})
        if method == "GET" and path == "/_stub/hooks":
            return self._stub_json(200, st.registry.describe())
        for prefix, fn in (("/_stub/publish/", self._stub_publish), ("/_stub/unpublish/", self._stub_unpublish),
                           ("/_stub/read/", self._stub_read), ("/_stub/unread/", self._stub_unread)):
            if method == "POST" and path.startswith(prefix) and len(path) > len(prefix):
                if st.relay is not None:
                    return self._stub_json(409, {"error": "fake media needs --no-relay"})
                return fn(path[len(prefix):], args, query)
        return self._stub_json(404, {"error": "unknown stub route %s %s" % (method, path)})

    def _stub_publish(self, name, args, query):
        st = self.state
        tracks = args.get("tracks2") or [{"codec": "H264", "codecProps": {"width": 1280, "height": 720,
                                                                          "profile": "High", "level": "4.1"}}]
        source = {"type": args.get("sourceType", "rtspSession"), "id": str(uuid.uuid4())}
        try:
            stream = st.manager.add_publisher(name, source, None, tracks, args.get("query", ""))
        except Refusal as e:
            return self._stub_json(e.status, {"error": e.reason})
        stream.inbound_bytes = int(args.get("inboundBytes", 0))
        stream.outbound_bytes = int(args.get("outboundBytes", 0))
        st.fake_publishers[name] = source["id"]
        return self._stub_json(200, {"status": "ok", "id": source["id"]})

    def _stub_unpublish(self, name, args, query):
        source_id = self.state.fake_publishers.pop(name, None)
        if source_id is None:
            return self._stub_json(404, {"error": "no fake publisher on %s" % name})
        self.state.manager.remove_publisher(name, source_id)
        return self._stub_json(200, {"status": "ok"})

    def _stub_read(self, name, args, query):
        reader_id = str(uuid.uuid4())
        try:
            self.state.manager.describe(name, args.get("query", ""))
            self.state.manager.add_reader(name, reader_id, None, args.get("query", ""))
        except Refusal as e:
            return self._stub_json(e.status, {"error": e.reason})
        return self._stub_json(200, {"status": "ok", "id": reader_id})

    def _stub_unread(self, name, args, query):
        self.state.manager.remove_reader(name, args.get("id") or query.get("id", ""))
        return self._stub_json(200, {"status": "ok"})


def _valid_escapes(raw):
    i = raw.find("%")
    while i >= 0:
        if len(raw) < i + 3 or any(c not in "0123456789abcdefABCDEF" for c in raw[i + 1:i + 3]):
            return False
        i = raw.find("%", i + 3)
    return True


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        import sys
        exc = sys.exc_info()[1]
        if isinstance(exc, (BrokenPipeError, ConnectionResetError, TimeoutError)):
            return  # the client went away (e.g. it gave up on a hung request)
        super().handle_error(request, client_address)


def make_server(state, host, port):
    handler = type("BoundHandler", (Handler,), {"state": state})
    return Server((host, port), handler)
