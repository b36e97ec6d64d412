"""A small synchronous JSON-RPC client for the browser tests' side actions (another client
starting a recording, reading capabilities to decide on a skip)."""
import json

from websockets.sync.client import connect


class Rpc:
    def __init__(self, daemon, token=None):
        # Entered as a context manager (what websockets >= 17.1 wants); closed by close().
        self.ws = connect(daemon.url, max_size=None, open_timeout=10).__enter__()
        self.next_id = 1
        self.events = []
        if token:
            self.call("authenticate", {"auth_token": token})

    def call(self, method, params=None, timeout=30):
        """The result; raises RuntimeError with the error object."""
        reply = self.request(method, params, timeout)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    def request(self, method, params=None, timeout=30):
        i = self.next_id
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "method": method, "id": i}
        if params is not None:
            msg["params"] = params
        self.ws.send(json.dumps(msg))
        while True:
            m = json.loads(self.ws.recv(timeout))
            if m.get("id") == i:
                return m
            if "method" in m:
                self.events.append(m)

    def close(self):
        self.ws.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
