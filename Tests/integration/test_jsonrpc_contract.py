"""The JSON-RPC 2.0 contract (API.md sections 1, 3 and 5): envelopes, batches, notifications,
error codes and their data, authentication and roles, over a raw WebSocket so every byte the
server sends back is seen.
"""
import json
import time

import jwt as pyjwt
import pytest

from conftest import SECRET, Daemon, make_token
from rawws import RawWS, collect_messages

MESSAGES = {
    -32700: "Parse error",
    -32600: "Invalid Request",
    -32601: "Method not found",
    -32602: "Invalid params",
    -32603: "Internal error",
    -32001: "Authentication required",
    -32002: "Permission denied",
    -32010: "Not found",
    -32030: "Unsupported",
}

PLUGINS = [
    {"name": "jwt_auth", "library": "JWTAuth", "required": True, "config": {"secret": SECRET, "clock_skew": 0}},
    {"name": "test_pattern_source", "library": "TestPatternSource"},
]


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("rpc"), plugins=PLUGINS)
    d.start()
    yield d
    d.end()




def send(ws, obj_or_text):
    ws.send_text(obj_or_text if isinstance(obj_or_text, (str, bytes)) else json.dumps(obj_or_text))


def req(method, params=None, id=1):
    m = {"jsonrpc": "2.0", "method": method, "id": id}
    if params is not None:
        m["params"] = params
    return m


def notif(method, params=None):
    m = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        m["params"] = params
    return m


def call(ws, method, params=None, id=1):
    send(ws, req(method, params, id))
    reply = ws.recv_json()
    assert_reply_shape(reply)
    assert reply["id"] == id
    return reply


def assert_reply_shape(reply):
    """A reply carries only jsonrpc, id and exactly one of result / error."""
    assert isinstance(reply, dict), reply
    assert reply.get("jsonrpc") == "2.0", reply
    assert "id" in reply, reply
    keys = set(reply)
    assert keys in ({"jsonrpc", "id", "result"}, {"jsonrpc", "id", "error"}), f"extra or missing members: {sorted(keys)}"


def assert_error(reply, code, id=None, reason=None):
    """Checks a reply is error `code` with the contract's message and a data object with reason."""
    assert_reply_shape(reply)
    assert "error" in reply, reply
    err = reply["error"]
    assert reply["id"] == id, f"id {reply['id']!r}, expected {id!r}"
    assert set(err) == {"code", "message", "data"}, err
    assert err["code"] == code, err
    assert err["message"] == MESSAGES[code], err
    assert isinstance(err["data"], dict), err
    assert isinstance(err["data"].get("reason"), str) and err["data"]["reason"], err
    if reason is not None:
        assert err["data"]["reason"] == reason, err
    return err["data"]


def authenticate(ws, role, id="auth"):
    r = call(ws, "authenticate", {"auth_token": make_token(role)}, id=id)
    assert r["result"]["authenticated"] is True, r
    return r["result"]


# ------------------------------------------------------------------ envelope

@pytest.mark.parametrize("text", ["{bad json", '{"jsonrpc":"2.0","method":"ping","id":1', "", "nul", '{"a":1}}', "\"unterminated"],
                         ids=["garbage", "truncated", "empty", "bad-literal", "trailing", "string"])
def test_unparsable_json_is_32700_with_null_id(ws, text):
    send(ws, text)
    assert_error(ws.recv_json(), -32700, id=None)


@pytest.mark.parametrize("message,id", [
    ("42", None),
    ('"ping"', None),
    ("null", None),
    ("true", None),
    ('{"jsonrpc":"1.0","method":"ping","id":5}', 5),
    ('{"method":"ping","id":6}', 6),
    ('{"jsonrpc":2.0,"method":"ping","id":7}', 7),
    ('{"jsonrpc":"2.0","id":8}', 8),
    ('{"jsonrpc":"2.0","method":5,"id":9}', 9),
    ('{"jsonrpc":"2.0","method":null,"id":"ten"}', "ten"),
    ('{"jsonrpc":"2.0","method":["ping"],"id":11}', 11),
    ('{"jsonrpc":"2.0","method":"ping","params":"abc","id":12}', 12),
    ('{"jsonrpc":"2.0","method":"ping","params":5,"id":13}', 13),
    ('{"jsonrpc":"2.0","method":"ping","params":true,"id":14}', 14),
    ('{"jsonrpc":"2.0","method":"ping","id":{"a":1}}', None),
    ('{"jsonrpc":"2.0","method":"ping","id":[1]}', None),
    ('{"jsonrpc":"2.0","method":"ping","id":true}', None),
    ('{"jsonrpc":"2.0","method":5}', None),
], ids=["number", "string", "null", "bool", "jsonrpc-1.0", "jsonrpc-missing", "jsonrpc-number", "method-missing",
        "method-number", "method-null", "method-array", "params-string", "params-number", "params-bool", "id-object",
        "id-array", "id-bool", "invalid-without-id"])
def test_invalid_request_is_32600(ws, message, id):
    send(ws, message)
    assert_error(ws.recv_json(), -32600, id=id)


@pytest.mark.parametrize("id", ["abc", "", 0, -7, 123456789012, 1.5, None], ids=repr)
def test_id_is_echoed_unchanged(ws, id):
    r = call(ws, "ping", id=id)
    assert r == {"jsonrpc": "2.0", "id": id, "result": "pong"}


def test_unrepresentable_numeric_id_is_not_answered_with_null_id(ws):
    # 1E400 is valid JSON but overflows a double. The reply must still carry the request's id
    # (JSON-RPC 2.0 §5), or the request must be refused; a success reply with id null cannot
    # be correlated and looks like an answer to an unreadable request.
    send(ws, '{"jsonrpc":"2.0","method":"ping","id":1E400}')
    r = ws.recv_json()
    assert_reply_shape(r)
    if "result" in r:
        assert r["id"] == float("inf"), f"request id 1E400 answered with id {r['id']!r}"
    else:
        assert r["error"]["code"] in (-32600, -32700), r


def test_params_may_be_omitted_or_empty(ws):
    assert call(ws, "ping", id=1)["result"] == "pong"
    assert call(ws, "ping", {}, id=2)["result"] == "pong"
    assert call(ws, "ping", [], id=3)["result"] == "pong"


def test_unknown_method_is_32601_with_method(ws):
    data = assert_error(call(ws, "no_such_method", id=21), -32601, id=21)
    assert data["method"] == "no_such_method"


def test_unknown_method_before_authentication_is_still_32601(ws):
    data = assert_error(call(ws, "camera.explode", {"device": "test_cam0"}, id=22), -32601, id=22)
    assert data["method"] == "camera.explode"


# ------------------------------------------------------------------ params

@pytest.mark.parametrize("method,params,param,rule", [
    ("get_camera_status", {"device": "../x"}, "device", "pattern"),
    ("get_camera_status", {"device": "/dev/video0"}, "device", "pattern"),
    ("get_camera_status", {"device": "Camera0"}, "device", "pattern"),
    ("get_camera_status", {}, "device", "required"),
    ("get_camera_status", None, "device", "required"),
    ("get_camera_status", {"device": None}, "device", "required"),
    ("get_camera_status", {"device": 0}, "device", "type"),
    ("get_camera_capabilities", {"device": "a" * 65}, "device", "pattern"),
    ("list_recordings", {"limit": 0}, "limit", "minimum"),
    ("list_recordings", {"limit": 1001}, "limit", "maximum"),
    ("list_recordings", {"limit": "10"}, "limit", "type"),
    ("list_recordings", {"limit": 2.5}, "limit", "type"),
    ("list_recordings", {"offset": -1}, "offset", "minimum"),
    ("take_snapshot", {"device": "test_cam0", "quality": 101}, "quality", "maximum"),
    ("take_snapshot", {"device": "test_cam0", "format": "gif"}, "format", "enum"),
    ("start_recording", {"device": "test_cam0", "duration": 0}, "duration", "minimum"),
    ("subscribe_events", {"topics": []}, "topics", "min_items"),
    ("subscribe_events", {}, "topics", "required"),
])
def test_bad_params_are_32602_with_param_and_rule(ws, method, params, param, rule):
    authenticate(ws, "admin")
    data = assert_error(call(ws, method, params, id=31), -32602, id=31, reason="invalid_params")
    assert data["param"] == param, data
    assert data["rule"] == rule, data


def test_unknown_event_topic_is_32602(ws):
    authenticate(ws, "viewer")
    data = assert_error(call(ws, "subscribe_events", {"topics": ["camera.connected", "no.such.topic"]}, id=32), -32602, id=32)
    assert data["param"].startswith("topics"), data


def test_params_by_position_are_32602(ws):
    authenticate(ws, "viewer")
    data = assert_error(call(ws, "get_camera_status", ["test_cam0"], id=33), -32602, id=33)
    assert data["param"] == "params" and data["rule"], data


def test_well_formed_unknown_camera_is_32010(ws):
    authenticate(ws, "viewer")
    data = assert_error(call(ws, "get_camera_status", {"device": "camera99"}, id=34), -32010, id=34)
    assert data["resource"] == "camera" and data["id"] == "camera99", data


def test_valid_params_get_a_result(ws):
    authenticate(ws, "viewer")
    r = call(ws, "get_camera_status", {"device": "test_cam0"}, id=35)
    assert r["result"]["device"] == "test_cam0", r


# ------------------------------------------------------------------ notifications

def test_notifications_get_no_reply(ws):
    send(ws, notif("ping"))
    send(ws, notif("no_such_method"))                                   # errors are not sent either
    send(ws, notif("get_camera_status", {"device": "../x"}))
    send(ws, notif("get_camera_list"))                                  # auth error: not sent
    send(ws, req("ping", id=99))
    assert ws.recv_json(skip_notifications=False) == {"jsonrpc": "2.0", "id": 99, "result": "pong"}
    assert collect_messages(ws, 0.4) == []


def test_notification_is_executed(ws):
    # An authenticate sent as a notification still authenticates the connection.
    send(ws, notif("authenticate", {"auth_token": make_token("viewer")}))
    deadline = time.time() + 3
    while True:
        r = call(ws, "get_camera_list", id=41)
        if "result" in r or time.time() > deadline:
            break
        time.sleep(0.05)
    assert "result" in r, r
    assert r["result"]["total"] == 2
    assert [m for m in collect_messages(ws, 0.2) if "id" in m] == []


def test_null_id_is_a_request_not_a_notification(ws):
    send(ws, '{"jsonrpc":"2.0","method":"ping","id":null}')
    assert ws.recv_json() == {"jsonrpc": "2.0", "id": None, "result": "pong"}


# ------------------------------------------------------------------ batches

def test_batch_gets_one_array_with_replies_for_requests_only(ws):
    batch = [
        req("ping", id=1),
        notif("ping"),
        req("no_such_method", id=2),
        {"foo": "bar"},
        req("get_server_info", id=3),           # needs authentication
        notif("no_such_method"),
        req("ping", id="last"),
    ]
    send(ws, batch)
    reply = ws.recv_json()
    assert isinstance(reply, list), reply
    assert len(reply) == 5, reply
    for r in reply:
        assert_reply_shape(r)
    by_id = {}
    for r in reply:
        by_id.setdefault(json.dumps(r["id"]), []).append(r)
    assert by_id["1"][0]["result"] == "pong"
    assert by_id['"last"'][0]["result"] == "pong"
    assert_error(by_id["2"][0], -32601, id=2)
    assert_error(by_id["null"][0], -32600, id=None)
    assert_error(by_id["3"][0], -32001, id=3, reason="auth_required")
    assert collect_messages(ws, 0.3) == []


def test_batch_with_async_members(ws):
    send(ws, [req("authenticate", {"auth_token": make_token("operator")}, id="a"), req("ping", id="b")])
    reply = ws.recv_json()
    assert isinstance(reply, list) and len(reply) == 2, reply
    got = {r["id"]: r for r in reply}
    assert got["a"]["result"]["role"] == "operator"
    assert got["b"]["result"] == "pong"


def test_batch_of_only_notifications_gets_nothing(ws):
    send(ws, [notif("ping"), notif("no_such_method"), notif("get_camera_list")])
    send(ws, req("ping", id=7))
    assert ws.recv_json(skip_notifications=False) == {"jsonrpc": "2.0", "id": 7, "result": "pong"}
    assert collect_messages(ws, 0.4) == []


def test_empty_batch_is_single_32600(ws):
    send(ws, "[]")
    reply = ws.recv_json()
    assert isinstance(reply, dict), f"expected one error object, got {reply!r}"
    assert_error(reply, -32600, id=None)


def test_batch_of_non_objects_gets_one_32600_each(ws):
    send(ws, "[1,2]")
    reply = ws.recv_json()
    assert isinstance(reply, list) and len(reply) == 2, reply
    for r in reply:
        assert_error(r, -32600, id=None)


def test_unparsable_batch_is_single_32700(ws):
    send(ws, '[{"jsonrpc":"2.0","method":"ping","id":1},{"jsonrpc":"2.0","method"')
    reply = ws.recv_json()
    assert isinstance(reply, dict), reply
    assert_error(reply, -32700, id=None)


# ------------------------------------------------------------------ authentication and roles

def test_ping_needs_no_authentication(ws):
    assert call(ws, "ping", id=50)["result"] == "pong"


@pytest.mark.parametrize("method,params", [
    ("get_camera_list", None),
    ("get_server_info", None),
    ("get_camera_status", {"device": "test_cam0"}),
    ("subscribe_events", {"topics": ["camera.connected"]}),
    ("take_snapshot", {"device": "test_cam0"}),
    ("get_storage_info", None),
])
def test_method_before_authenticate_is_32001_auth_required(ws, method, params):
    assert_error(call(ws, method, params, id=51), -32001, id=51, reason="auth_required")


@pytest.mark.parametrize("role,permissions", [
    ("viewer", ["view"]),
    ("operator", ["view", "control"]),
    ("admin", ["view", "control", "admin"]),
])
def test_authenticate_result(ws, role, permissions):
    res = authenticate(ws, role)
    assert res["role"] == role
    assert res["permissions"] == permissions
    assert isinstance(res["session_id"], str) and res["session_id"]
    assert isinstance(res["expires_at"], str) and "T" in res["expires_at"]


def test_authenticate_accepts_token_alias(ws):
    r = call(ws, "authenticate", {"token": make_token("viewer"), "auth_type": "jwt"}, id=52)
    assert r["result"]["authenticated"] is True and r["result"]["role"] == "viewer"


@pytest.mark.parametrize("role,method,params,required", [
    ("viewer", "take_snapshot", {"device": "test_cam0"}, "operator"),
    ("viewer", "start_recording", {"device": "test_cam0"}, "operator"),
    ("viewer", "get_storage_info", None, "admin"),
    ("operator", "get_metrics", None, "admin"),
])
def test_role_too_low_is_32002(ws, role, method, params, required):
    authenticate(ws, role)
    data = assert_error(call(ws, method, params, id=53), -32002, id=53)
    assert data["required_role"] == required, data
    assert data["role"] == role, data


def test_sufficient_role_passes_the_role_check(ws):
    authenticate(ws, "operator")
    r = call(ws, "take_snapshot", {"device": "test_cam0"}, id=54)
    if "error" in r:
        assert r["error"]["code"] not in (-32001, -32002), r


def test_per_call_auth_token_works_and_is_kept(ws):
    r = call(ws, "get_camera_list", {"auth_token": make_token("viewer")}, id=55)
    assert "result" in r, r
    assert r["result"]["total"] == 2
    # later calls without a token use the identity kept on the connection
    r = call(ws, "get_camera_list", id=56)
    assert "result" in r, r
    data = assert_error(call(ws, "take_snapshot", {"device": "test_cam0"}, id=57), -32002, id=57)
    assert data["role"] == "viewer"


def test_per_call_auth_token_with_too_low_role_is_32002(ws):
    data = assert_error(call(ws, "take_snapshot", {"device": "test_cam0", "auth_token": make_token("viewer")}, id=58),
                        -32002, id=58)
    assert data["required_role"] == "operator" and data["role"] == "viewer"


def test_per_call_bad_auth_token_is_32001_and_not_kept(ws):
    bad = make_token("admin", secret="another-secret-0123456789abcdef0123456789")
    assert_error(call(ws, "get_camera_list", {"auth_token": bad}, id=59), -32001, id=59, reason="auth_failed")
    assert_error(call(ws, "get_camera_list", id=60), -32001, id=60, reason="auth_required")


def test_authenticate_with_expired_token_is_token_expired(ws):
    now = int(time.time())
    token = make_token("admin", iat=now - 7200, exp=now - 3600)
    assert_error(call(ws, "authenticate", {"auth_token": token}, id=61), -32001, id=61, reason="token_expired")
    assert_error(call(ws, "get_camera_list", id=62), -32001, id=62, reason="auth_required")


@pytest.mark.parametrize("token", [
    "not-a-jwt",
    make_token("admin", secret="another-secret-0123456789abcdef0123456789"),
    pyjwt.encode({"user_id": "u", "role": "admin", "iat": 1, "exp": 4102444800}, None, algorithm="none"),
    pyjwt.encode({"user_id": "u", "role": "root", "iat": int(time.time()), "exp": 4102444800}, SECRET, algorithm="HS256"),
], ids=["garbage", "wrong-secret", "alg-none", "unknown-role"])
def test_authenticate_with_bad_token_is_auth_failed(ws, token):
    assert_error(call(ws, "authenticate", {"auth_token": token}, id=63), -32001, id=63, reason="auth_failed")


def test_session_expires_with_its_token(ws):
    exp = int(time.time()) + 5
    token = make_token("viewer", iat=int(time.time()) - 5, exp=exp)
    r = call(ws, "authenticate", {"auth_token": token}, id=64)
    assert r["result"]["authenticated"] is True, r
    assert "result" in call(ws, "get_camera_list", id=65)
    time.sleep(max(0, exp - time.time()) + 0.3)
    assert_error(call(ws, "get_camera_list", id=66), -32001, id=66, reason="token_expired")


def test_identity_is_per_connection(srv):
    a, b = RawWS(srv.port), RawWS(srv.port)
    try:
        authenticate(a, "admin")
        assert "result" in call(a, "get_camera_list", id=70)
        assert_error(call(b, "get_camera_list", id=71), -32001, id=71, reason="auth_required")
    finally:
        a.close_socket()
        b.close_socket()


# ------------------------------------------------------------------ -32603 from a handler bug

def test_a_handler_that_throws_a_plain_error_is_internal_error(daemon_factory, fixtures):
    """A plugin method that throws something other than an RPC error (a bug) gets -32603 with a
    correlation id, the error itself goes to the log only, and the daemon serves on."""
    d = daemon_factory(plugins=PLUGINS + [{"name": "fixture_events", "library": str(fixtures / "libFixtureEventSource.so")}]).start()
    ws = RawWS(d.port)
    try:
        replies = [ws.call("fixture.fail", id=1), ws.call("fixture.fail_async", id=2)]
        send(ws, [{"jsonrpc": "2.0", "method": "fixture.fail", "id": 3}, {"jsonrpc": "2.0", "method": "ping", "id": 4}])
        batch = ws.recv_json()
        after = ws.call("ping", id=5)
    finally:
        ws.close_socket()
    for reply, method in zip(replies + [batch[0]], ["fixture.fail", "fixture.fail_async", "fixture.fail"]):
        assert set(reply) == {"jsonrpc", "id", "error"}, reply
        e = reply["error"]
        assert e["code"] == -32603 and e["message"] == MESSAGES[-32603] and e["data"]["reason"] == "internal_error", reply
        assert e["data"]["detail"].startswith(f"unexpected failure in {method}; see the server log (cid "), reply
        assert "internal-detail-7f3a" not in json.dumps(reply)  # the bug's text stays in the log
    assert [r["id"] for r in batch] == [3, 4] and batch[1]["result"] == "pong"
    assert after == {"jsonrpc": "2.0", "id": 5, "result": "pong"}
    logged = [l for l in d.log_lines() if "internal-detail-7f3a" in l.get("msg", "")]
    assert len(logged) == 3 and all(l["level"] == "error" for l in logged), logged
    cids = [r["error"]["data"]["detail"].rsplit("cid ", 1)[1].rstrip(")") for r in replies]
    assert all(any(cid in json.dumps(l) for l in logged) for cid in cids), (cids, logged)
