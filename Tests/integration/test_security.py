"""Issue 5 through the running daemon: one test per JWT rejection rule (tokens forged with PyJWT
and by hand), API keys and their commands, the `token` command, the role matrix over every
registered method, rate limits, the per-IP failed-authentication backoff, and the audit log."""
import asyncio
import base64
import hashlib
import hmac
import http.client
import json
import os
import stat
import subprocess
import time

import jwt as pyjwt
import pytest
import websockets

from conftest import BIN, DEFAULT_PLUGINS, SECRET, make_token, rpc_message


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header, claims, secret=SECRET, raw_header=None, raw_payload=None):
    """A token built by hand, so every field can be wrong on purpose."""
    h = raw_header if raw_header is not None else b64(json.dumps(header).encode())
    p = raw_payload if raw_payload is not None else b64(json.dumps(claims).encode())
    sig = hmac.new(secret.encode(), f"{h}.{p}".encode(), hashlib.sha256).digest()
    return f"{h}.{p}.{b64(sig)}"


def claims(**over):
    now = int(time.time())
    c = {"user_id": "mallory", "role": "admin", "iat": now - 5, "exp": now + 600}
    for k, v in over.items():
        if v is ...:
            c.pop(k)
        else:
            c[k] = v
    return c


async def session(url, *calls):
    out = []
    async with websockets.connect(url, max_size=None) as ws:
        for i, (method, params) in enumerate(calls):
            await ws.send(rpc_message(method, params, id=i + 1))
            out.append(json.loads(await ws.recv()))
    return out


def authenticate(url, token):
    return asyncio.run(session(url, ("authenticate", {"auth_token": token})))[0]


now = int(time.time())
ALG = "algorithm '{}' not accepted (HS256 only)"
CLAIM = "invalid claims: {}"
# case: (token, reason, data.detail: the rule that fired, as JWTRejection describes it)
REJECTIONS = {
    "alg_none": (forge({"alg": "none"}, claims()).rsplit(".", 1)[0] + ".", "auth_failed", ALG.format("none")),
    "alg_none_signed": (forge({"alg": "none", "typ": "JWT"}, claims()), "auth_failed", ALG.format("none")),
    "alg_NONE_uppercase": (forge({"alg": "NONE"}, claims()), "auth_failed", ALG.format("NONE")),
    # Signed with the right secret: refused for the algorithm, not for the signature.
    "alg_HS384_pyjwt": (pyjwt.encode(claims(), SECRET, algorithm="HS384"), "auth_failed", ALG.format("HS384")),
    "alg_hs256_lowercase": (forge({"alg": "hs256"}, claims()), "auth_failed", ALG.format("hs256")),
    "alg_HS512_pyjwt": (pyjwt.encode(claims(), SECRET, algorithm="HS512"), "auth_failed", ALG.format("HS512")),
    "bad_signature_pyjwt": (pyjwt.encode(claims(), "another-secret-that-is-long-enough-0123456789", algorithm="HS256"), "auth_failed",
                            "bad signature"),
    "malformed_base64": (forge({"alg": "HS256"}, claims(), raw_payload="e30*"), "auth_failed", "malformed token: invalid base64url"),
    "header_not_json": (forge({}, claims(), raw_header=b64(b"not json")), "auth_failed", "malformed token: header is not a JSON object"),
    "header_without_alg": (forge({"typ": "JWT"}, claims()), "auth_failed", "malformed token: header has no 'alg'"),
    "critical_header": (forge({"alg": "HS256", "crit": ["exp"]}, claims()), "auth_failed",
                        "malformed token: critical header extensions are not supported"),
    "payload_not_json": (forge({"alg": "HS256"}, {}, raw_payload=b64(b"[1,2]")), "auth_failed", "malformed token: payload is not a JSON object"),
    "two_parts": ("abc.def", "auth_failed", "malformed token: expected three dot-separated parts"),
    "missing_user_id": (pyjwt.encode(claims(user_id=...), SECRET, algorithm="HS256"), "auth_failed", CLAIM.format("'user_id' must be a non-empty string")),
    "missing_role": (pyjwt.encode(claims(role=...), SECRET, algorithm="HS256"), "auth_failed", CLAIM.format("'role' must be a string")),
    "missing_iat": (pyjwt.encode(claims(iat=...), SECRET, algorithm="HS256"), "auth_failed", CLAIM.format("'iat' must be a number")),
    "missing_exp": (pyjwt.encode(claims(exp=...), SECRET, algorithm="HS256"), "auth_failed", CLAIM.format("'exp' must be a number")),
    "user_id_too_long": (pyjwt.encode(claims(user_id="u" * 257), SECRET, algorithm="HS256"), "auth_failed",
                         CLAIM.format("'user_id' must be a non-empty string")),
    "user_id_number": (pyjwt.encode(claims(user_id=7), SECRET, algorithm="HS256"), "auth_failed", CLAIM.format("'user_id' must be a non-empty string")),
    "role_number": (pyjwt.encode(claims(role=3), SECRET, algorithm="HS256"), "auth_failed", CLAIM.format("'role' must be a string")),
    "iat_string": (forge({"alg": "HS256"}, claims(iat=str(now))), "auth_failed", CLAIM.format("'iat' must be a number")),
    "exp_string": (forge({"alg": "HS256"}, claims(exp=str(now + 600))), "auth_failed", CLAIM.format("'exp' must be a number")),
    "nbf_string": (forge({"alg": "HS256"}, claims(nbf=str(now))), "auth_failed", CLAIM.format("'nbf' must be a number")),
    "unknown_role": (pyjwt.encode(claims(role="root"), SECRET, algorithm="HS256"), "auth_failed", CLAIM.format("unknown role 'root'")),
    "role_wrong_case": (pyjwt.encode(claims(role="Admin"), SECRET, algorithm="HS256"), "auth_failed", CLAIM.format("unknown role 'Admin'")),
    "expired": (pyjwt.encode(claims(iat=now - 7200, exp=now - 3600), SECRET, algorithm="HS256"), "token_expired", "token expired"),
    "nbf_in_future": (pyjwt.encode(claims(nbf=now + 3600), SECRET, algorithm="HS256"), "auth_failed", "token not valid yet (nbf/iat in the future)"),
    "iat_in_future": (pyjwt.encode(claims(iat=now + 3600, exp=now + 7200), SECRET, algorithm="HS256"), "auth_failed",
                      "token not valid yet (nbf/iat in the future)"),
    "oversize": (pyjwt.encode(claims(pad="x" * 9000), SECRET, algorithm="HS256"), "auth_failed", "token larger than 8 KiB"),
}


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    from conftest import Daemon
    d = Daemon(tmp_path_factory.mktemp("sec")).start()
    yield d
    d.end()


@pytest.mark.parametrize("case", sorted(REJECTIONS))
def test_token_rejection_rule(srv, case):
    token, reason, detail = REJECTIONS[case]
    r = authenticate(srv.url, token)
    assert r["error"]["code"] == -32001 and r["error"]["data"]["reason"] == reason, (case, r)
    assert r["error"]["data"]["detail"] == detail, (case, r)  # the rule that fired, not just any refusal


def test_clock_skew_tolerates_slightly_expired_and_early_tokens(srv):
    t = int(time.time())
    assert "result" in authenticate(srv.url, pyjwt.encode(claims(exp=t - 10), SECRET, algorithm="HS256"))
    assert "result" in authenticate(srv.url, pyjwt.encode(claims(nbf=t + 10), SECRET, algorithm="HS256"))


def test_tokens_never_appear_in_the_log(srv):
    token = make_token("operator")
    authenticate(srv.url, token)
    bad = pyjwt.encode(claims(), "wrong-secret-wrong-secret-wrong-secret-0", algorithm="HS256")
    authenticate(srv.url, bad)
    log = srv.log_text()
    assert token not in log and bad not in log
    assert token.split(".")[2] not in log
    events = [l.get("audit") for l in srv.log_lines()]
    assert "auth_success" in events and "auth_failure" in events


def discover(url):
    return asyncio.run(session(url, ("rpc.discover", None)))[0]["result"]


# Every method of the contract and the role it requires, copied from the contract
# (docs/api.md "Methods" and the reference API §4: V viewer, O operator, A admin, – none). The
# daemon's own answer (rpc.discover) is checked against this table, never the other way round.
CONTRACT_ROLES = {
    "ping": "none",
    "authenticate": "none",
    "rpc.discover": "none",
    "get_camera_list": "viewer",
    "get_camera_status": "viewer",
    "get_camera_capabilities": "viewer",
    "take_snapshot": "operator",
    "start_recording": "operator",
    "stop_recording": "operator",
    "list_recordings": "viewer",
    "list_snapshots": "viewer",
    "get_recording_info": "viewer",
    "get_snapshot_info": "viewer",
    "delete_recording": "operator",
    "delete_snapshot": "operator",
    "start_streaming": "operator",
    "stop_streaming": "operator",
    "get_stream_url": "viewer",
    "get_stream_status": "viewer",
    "get_streams": "viewer",
    "get_storage_info": "admin",
    "set_retention_policy": "admin",
    "cleanup_old_files": "admin",
    "get_metrics": "admin",
    "get_status": "admin",
    "get_system_status": "viewer",
    "get_server_info": "viewer",
    "subscribe_events": "viewer",
    "unsubscribe_events": "viewer",
    "get_subscription_stats": "viewer",
}


def test_every_contract_method_is_registered_with_the_contracts_role(srv):
    registered = {m["name"]: m["x-required-role"] for m in discover(srv.url)["methods"]}
    missing = sorted(set(CONTRACT_ROLES) - set(registered))
    assert missing == [], f"contract methods not registered: {missing}"
    wrong = {name: (registered[name], role) for name, role in CONTRACT_ROLES.items() if registered[name] != role}
    assert wrong == {}, f"rpc.discover disagrees with the contract (discover, contract): {wrong}"


def test_role_matrix_over_every_registered_method(srv):
    """For every method and role: below the method's role -32002, no identity -32001, at or above
    the role never an authentication or permission error. The role is the contract's for its
    methods; only plugin methods (not in the contract) take theirs from rpc.discover."""
    registered = {m["name"]: m["x-required-role"] for m in discover(srv.url)["methods"]}
    methods = {**registered, **CONTRACT_ROLES}
    assert set(CONTRACT_ROLES) <= set(registered) and len(methods) > len(CONTRACT_ROLES)  # plugin methods too
    order = {"viewer": 1, "operator": 2, "admin": 3}
    tokens = {r: make_token(r) for r in order}

    async def run():
        results = {}
        async with websockets.connect(srv.url, max_size=None) as anon:
            for name in methods:
                await anon.send(rpc_message(name, {"device": "test_cam0"}, id=1))
                results[(name, None)] = json.loads(await anon.recv())
        for role, token in tokens.items():
            async with websockets.connect(srv.url, max_size=None) as ws:
                await ws.send(rpc_message("authenticate", {"auth_token": token}, id=0))
                assert "result" in json.loads(await ws.recv())
                for name in methods:
                    if name == "authenticate":
                        continue
                    await ws.send(rpc_message(name, {"device": "test_cam0"}, id=1))
                    results[(name, role)] = json.loads(await ws.recv())
        return results

    results = asyncio.run(run())
    for (name, role), reply in results.items():
        needed = methods[name]
        code = reply.get("error", {}).get("code")
        if needed == "none":
            assert code not in (-32001, -32002), (name, role, reply)
        elif role is None:
            assert code == -32001 and reply["error"]["data"]["reason"] == "auth_required", (name, reply)
        elif order[role] < order[needed]:
            assert code == -32002, (name, role, reply)
            assert reply["error"]["data"] == {"reason": "insufficient_role", "required_role": needed, "role": role}
        else:
            assert code not in (-32001, -32002), (name, role, reply)


def test_permission_denials_and_operator_actions_are_audited(srv):
    asyncio.run(session(srv.url, ("authenticate", {"auth_token": make_token("viewer", user="vera")}),
                        ("take_snapshot", {"device": "test_cam0"})))
    asyncio.run(session(srv.url, ("authenticate", {"auth_token": make_token("operator", user="olga")}),
                        ("take_snapshot", {"device": "test_cam0"})))
    lines = srv.log_lines()
    denied = [l for l in lines if l.get("audit") == "permission_denied" and l.get("user") == "vera"]
    assert denied and denied[-1]["method"] == "take_snapshot" and denied[-1]["role"] == "viewer"
    acted = [l for l in lines if l.get("audit") == "action" and l.get("user") == "olga"]
    assert acted and acted[-1]["method"] == "take_snapshot" and acted[-1]["device"] == "test_cam0"
    assert acted[-1]["outcome"].startswith("error -32030")  # no capture plugin in this setup
    assert all("cid" in l for l in denied + acted)
    assert denied[-1]["via"] == "session" and denied[-1]["remote"] == "127.0.0.1"


def test_per_call_tokens_are_audited_like_sessions(srv):
    """auth_token in the params: the lines name who called, as they do after `authenticate`."""
    asyncio.run(session(srv.url, ("take_snapshot", {"device": "test_cam0", "auth_token": make_token("viewer", user="pia")})))
    asyncio.run(session(srv.url, ("take_snapshot", {"device": "test_cam0", "auth_token": make_token("operator", user="otto")})))
    lines = srv.log_lines()
    denied = [l for l in lines if l.get("audit") == "permission_denied" and l.get("user") == "pia"]
    assert len(denied) == 1 and denied[0]["method"] == "take_snapshot" and denied[0]["role"] == "viewer"
    assert denied[0]["via"] == "auth_token param"
    acted = [l for l in lines if l.get("audit") == "action" and l.get("user") == "otto"]
    assert len(acted) == 1 and acted[0]["role"] == "operator" and acted[0]["device"] == "test_cam0"
    assert not [l for l in lines if l.get("audit") == "action" and l.get("user") == "-"]


# --- API keys and commands ------------------------------------------------------------------

def cli(d, *args):
    return subprocess.run([str(BIN), "--config", str(d.config_path), *args], capture_output=True, text=True, timeout=30)


def test_api_key_round_trip_and_revocation(daemon_factory):
    d = daemon_factory()
    add = cli(d, "keys", "add", "--role", "operator", "--description", "ci robot")
    assert add.returncode == 0, add.stderr
    key = add.stdout.strip()
    assert key.startswith("csk_") and len(key) > 40
    key_file = d.tmp / "data" / "api-keys.json"  # keys live in the data directory
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    stored = key_file.read_text()
    assert key not in stored and key.split("_", 2)[2] not in stored  # only a salted hash is kept
    key_id = key.split("_")[1]
    listing = cli(d, "keys", "list")
    assert listing.returncode == 0 and key_id in listing.stdout and "operator" in listing.stdout and "ci robot" in listing.stdout
    assert key.split("_", 2)[2] not in listing.stdout

    d.start()
    r = authenticate(d.url, key)["result"]
    assert r["role"] == "operator" and r["auth_type"] == "api_key" and r["permissions"] == ["view", "control"]
    # per-call auth with a key works like a JWT
    (reply,) = asyncio.run(session(d.url, ("get_camera_list", {"auth_token": key})))
    assert reply["result"]["total"] == 2
    # a wrong secret with a real id, and a JWT passed as api_key, are refused
    assert authenticate(d.url, key[:-2] + ("AA" if not key.endswith("AA") else "BB"))["error"]["data"]["reason"] == "auth_failed"
    (typed,) = asyncio.run(session(d.url, ("authenticate", {"auth_token": make_token(), "auth_type": "api_key"})))
    assert typed["error"]["code"] == -32001

    revoke = cli(d, "keys", "revoke", key_id)
    assert revoke.returncode == 0, revoke.stderr
    r = authenticate(d.url, key)  # the running daemon sees the change
    assert r["error"]["code"] == -32001 and "revoked" in r["error"]["data"]["detail"]
    assert "revoked" in cli(d, "keys", "list").stdout
    assert cli(d, "keys", "revoke", key_id).returncode == 1


def test_expired_api_key(daemon_factory):
    d = daemon_factory()
    key = cli(d, "keys", "add", "--role", "viewer", "--expires", "1s").stdout.strip()
    d.start()
    time.sleep(1.5)
    r = authenticate(d.url, key)
    assert r["error"]["data"]["reason"] == "token_expired"


def test_keys_command_usage_errors(daemon_factory):
    d = daemon_factory()
    assert cli(d, "keys", "add").returncode == 2
    assert cli(d, "keys", "add", "--role", "root").returncode == 2
    assert cli(d, "keys", "add", "--role", "viewer", "--expires", "soon").returncode == 2
    assert cli(d, "keys", "frobnicate").returncode == 2
    r = cli(d, "nosuchcommand")
    assert r.returncode == 2 and "keys, token" in r.stderr


def test_token_command_mints_a_working_jwt(daemon_factory):
    d = daemon_factory()
    r = cli(d, "token", "--role", "admin", "--user", "alice", "--ttl", "2h")
    assert r.returncode == 0, r.stderr
    token = r.stdout.strip()
    c = pyjwt.decode(token, SECRET, algorithms=["HS256"])
    assert c["user_id"] == "alice" and c["role"] == "admin" and 7100 < c["exp"] - c["iat"] <= 7200
    d.start()
    assert authenticate(d.url, token)["result"]["role"] == "admin"


# --- rate limits ----------------------------------------------------------------------------

def test_per_connection_rate_limit(daemon_factory):
    d = daemon_factory(config={"security": {"rate_limit": {"requests_per_second": 5, "burst": 5}}}).start()

    async def go():
        async with websockets.connect(d.url) as ws:
            await ws.send(json.dumps([{"jsonrpc": "2.0", "method": "ping", "id": i} for i in range(8)]))
            batch = json.loads(await ws.recv())
            await asyncio.sleep(1.2)
            await ws.send(rpc_message("ping", id=99))
            later = json.loads(await ws.recv())
        async with websockets.connect(d.url) as other:  # the limit is per connection
            await other.send(rpc_message("ping", id=1))
            fresh = json.loads(await other.recv())
        return batch, later, fresh

    batch, later, fresh = asyncio.run(go())
    ok = [r for r in batch if "result" in r]
    limited = [r for r in batch if r.get("error", {}).get("code") == -32040]
    assert len(ok) == 5 and len(limited) == 3  # each batch member counted once
    assert all(r["error"]["data"]["retry_after_ms"] > 0 for r in limited)
    assert later["result"] == "pong" and fresh["result"] == "pong"


def test_per_method_rate_limit(daemon_factory):
    d = daemon_factory(config={"security": {"rate_limit": {"methods": {"get_camera_list": 1}}}}).start()
    replies = asyncio.run(session(d.url, ("authenticate", {"auth_token": make_token("viewer")}),
                                  ("get_camera_list", None), ("get_camera_list", None), ("ping", None)))
    assert "result" in replies[1]
    assert replies[2]["error"]["code"] == -32040
    assert replies[3]["result"] == "pong"


def test_repeated_auth_failures_from_one_ip_slow_down(daemon_factory):
    d = daemon_factory(config={"security": {"rate_limit": {"auth_failures_before_backoff": 3}}}).start()
    bad = pyjwt.encode(claims(), "wrong-secret-wrong-secret-wrong-secret-0", algorithm="HS256")
    codes = [authenticate(d.url, bad)["error"]["code"] for _ in range(3)]
    assert codes == [-32001, -32001, -32001]
    blocked = authenticate(d.url, make_token())  # even a good token waits now
    assert blocked["error"]["code"] == -32040 and blocked["error"]["data"]["retry_after_ms"] > 0
    time.sleep(blocked["error"]["data"]["retry_after_ms"] / 1000 + 0.1)
    assert authenticate(d.url, make_token())["result"]["authenticated"] is True
    assert authenticate(d.url, bad)["error"]["code"] == -32001  # success reset the count


# --- HTTP credentials -------------------------------------------------------------------------

def http_get(d, path, headers=None):
    """(status, headers with lower-case names, body bytes) of one GET."""
    c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=5)
    try:
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def assert_refused(reply, status, error, challenge=True):
    """An HTTP refusal as the contract has it: the status, a JSON `{"error": …}` body saying why,
    and the Bearer challenge on a 401."""
    code, headers, body = reply
    assert code == status, reply
    assert headers["content-type"] == "application/json" and int(headers["content-length"]) == len(body), headers
    assert json.loads(body) == {"error": error}, body
    assert (headers.get("www-authenticate") == "Bearer") == challenge, headers


def assert_metrics_served(reply):
    code, headers, body = reply
    assert code == 200, reply
    assert headers["content-type"].startswith("text/plain; version=0.0.4") and "www-authenticate" not in headers
    assert b"# TYPE camera_service_info gauge" in body and b"camera_service_info{version=" in body


def test_http_endpoints_take_bearer_and_api_key(daemon_factory):
    d = daemon_factory()
    key = cli(d, "keys", "add", "--role", "viewer").stdout.strip()
    d.start()
    assert_refused(http_get(d, "/metrics"), 401, "authentication required (Authorization: Bearer or X-API-Key)")
    assert_refused(http_get(d, "/metrics", {"Authorization": "Bearer nonsense"}), 401, "invalid credentials")
    assert_refused(http_get(d, "/metrics", {"Authorization": f"Bearer {make_token('viewer', ttl=-3600)}"}), 401, "the credential has expired")
    assert_refused(http_get(d, "/metrics", {"X-API-Key": key[:-2] + ("AA" if not key.endswith("AA") else "BB")}), 401, "invalid credentials")
    assert_refused(http_get(d, "/metrics", {"Authorization": "Basic dTpw"}), 401, "authentication required (Authorization: Bearer or X-API-Key)")
    assert_metrics_served(http_get(d, "/metrics", {"Authorization": f"Bearer {make_token('viewer')}"}))
    assert_metrics_served(http_get(d, "/metrics", {"X-API-Key": key}))
    assert_metrics_served(http_get(d, "/metrics", {"Authorization": f"Bearer {key}"}))
    code, headers, body = http_get(d, "/health")  # probes need no credentials
    assert code == 200 and json.loads(body)["status"] == "healthy" and "www-authenticate" not in headers


# --- regressions from review --------------------------------------------------------------

def test_absurd_expiry_is_refused_and_the_daemon_survives(srv):
    for exp in (1e19, 10**19, 1e308):
        token = forge({"alg": "HS256"}, claims(exp=exp))
        r = authenticate(srv.url, token)
        assert r["error"]["code"] == -32001 and r["error"]["data"]["reason"] == "auth_failed"
    assert srv.proc.poll() is None
    assert authenticate(srv.url, make_token())["result"]["authenticated"] is True


def test_http_auth_failures_are_throttled_per_ip(daemon_factory):
    d = daemon_factory(config={"security": {"rate_limit": {"auth_failures_before_backoff": 2}}}).start()
    for _ in range(2):
        assert_refused(http_get(d, "/metrics", {"Authorization": "Bearer wrong"}), 401, "invalid credentials")
    code, headers, body = reply = http_get(d, "/metrics", {"Authorization": f"Bearer {make_token('viewer')}"})
    assert code == 429 and headers["content-type"] == "application/json", reply
    assert "failed authentications" in json.loads(body)["error"] and "www-authenticate" not in headers
    assert 1 <= int(headers["retry-after"]) <= 60, headers
