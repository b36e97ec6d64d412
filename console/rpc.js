// The daemon's JSON-RPC 2.0 over WebSocket: request ids, timeouts, notifications, and
// reconnection with back-off. Events: "open" (also after a reconnect, detail.reconnect),
// "close" (detail.willReconnect), "notification" (detail.method, detail.params).
import { ConnectionError, RpcError } from "./errors.js";

/** The WebSocket URL: the daemon says its configured path in /ui/config.json; /ws otherwise. */
export async function websocketUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  let path = "/ws";
  try {
    const reply = await fetch("/ui/config.json", { cache: "no-store" });
    if (reply.ok) path = (await reply.json()).websocket_path || path;
  } catch (_) { /* unreachable now: connect() reports it */ }
  return `${scheme}//${location.host}${path}`;
}

export class RpcClient extends EventTarget {
  constructor(url) {
    super();
    this.url = url;
    this.ws = null;
    this.nextId = 1;
    this.pending = new Map();
    this.wanted = false;       // whether to stay connected (reconnect after a drop)
    this.backoff = 500;
    this.reconnectTimer = 0;
    this.opened = 0;           // how many times a connection opened
    this.opening = null;
  }

  get connected() { return this.ws !== null && this.ws.readyState === WebSocket.OPEN; }

  /** Opens the connection (resolves once open); keeps reconnecting after drops until close(). */
  connect() {
    this.wanted = true;
    if (this.connected) return Promise.resolve();
    if (this.opening) return this.opening;
    this.opening = new Promise((resolve, reject) => {
      let settled = false;
      const ws = new WebSocket(this.url);
      this.ws = ws;
      ws.addEventListener("open", () => {
        settled = true;
        this.opening = null;
        this.backoff = 500;
        this.opened += 1;
        resolve();
        this.dispatchEvent(new CustomEvent("open", { detail: { reconnect: this.opened > 1 } }));
      });
      ws.addEventListener("message", (ev) => this.receive(ev.data));
      ws.addEventListener("close", (ev) => {
        if (this.ws === ws) this.ws = null;
        this.failPending(new ConnectionError("the connection to the daemon closed before it answered"));
        const willReconnect = this.wanted;
        if (!settled) {
          settled = true;
          this.opening = null;
          reject(new ConnectionError("the daemon could not be reached"));
        }
        this.dispatchEvent(new CustomEvent("close", { detail: { code: ev.code, reason: ev.reason, willReconnect } }));
        if (willReconnect) this.scheduleReconnect();
      });
    });
    return this.opening;
  }

  scheduleReconnect() {
    window.clearTimeout(this.reconnectTimer);
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, 10000);
    this.reconnectTimer = window.setTimeout(() => {
      if (!this.wanted) return;
      this.connect().catch(() => { /* the close handler schedules the next try */ });
    }, delay);
  }

  /** Closes for good (sign-out): no reconnect, pending calls fail. */
  close() {
    this.wanted = false;
    window.clearTimeout(this.reconnectTimer);
    const ws = this.ws;
    this.ws = null;
    this.opening = null;
    this.failPending(new ConnectionError("the connection was closed"));
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000, "signed out");
  }

  failPending(err) {
    for (const [, p] of this.pending) {
      window.clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
  }

  /** One call; resolves with `result`, rejects with RpcError / ConnectionError. */
  call(method, params, { timeout = 20000 } = {}) {
    if (!this.connected) return Promise.reject(new ConnectionError("the console is not connected to the daemon"));
    const id = this.nextId++;
    const msg = { jsonrpc: "2.0", method, id };
    if (params !== undefined) msg.params = params;
    return new Promise((resolve, reject) => {
      const timer = window.setTimeout(() => {
        this.pending.delete(id);
        reject(new ConnectionError(`the daemon did not answer ${method} within ${Math.round(timeout / 1000)} s`));
      }, timeout);
      this.pending.set(id, { resolve, reject, timer, method });
      try {
        this.ws.send(JSON.stringify(msg));
      } catch (e) {
        window.clearTimeout(timer);
        this.pending.delete(id);
        reject(new ConnectionError("the message could not be sent"));
      }
    });
  }

  receive(text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    for (const m of Array.isArray(msg) ? msg : [msg]) {
      if (m && typeof m.method === "string" && m.id === undefined) {
        this.dispatchEvent(new CustomEvent("notification", { detail: { method: m.method, params: m.params || {} } }));
        continue;
      }
      const p = m && this.pending.get(m.id);
      if (!p) continue;
      this.pending.delete(m.id);
      window.clearTimeout(p.timer);
      if (m.error) p.reject(new RpcError(m.error, p.method));
      else p.resolve(m.result);
    }
  }
}
