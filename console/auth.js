// The signed-in session: the token (a JWT or a csk_ API key) kept in session storage only —
// never in the URL —, the role it gives, and its expiry. Any call answered with -32001 ends the
// session with the daemon's reason ("ended" event, detail.reason is a sentence).
import { describeError, isAuthError, RpcError } from "./errors.js";

const KEY = "camera-service.token";
export const ROLES = ["viewer", "operator", "admin"];

export function roleAtLeast(role, min) {
  return ROLES.indexOf(role) >= ROLES.indexOf(min) && ROLES.indexOf(min) >= 0;
}

export class Session extends EventTarget {
  constructor(rpc) {
    super();
    this.rpc = rpc;
    this.token = "";
    this.role = "";
    this.user = "";
    this.permissions = [];
    this.expiresAt = null;
    this.authType = "";
    this.active = false;
    this.expiryTimer = 0;
  }

  static storedToken() {
    try { return sessionStorage.getItem(KEY) || ""; } catch { return ""; }
  }

  static forgetToken() {
    try { sessionStorage.removeItem(KEY); } catch { /* storage unavailable */ }
  }

  /** authenticate on the current connection; throws RpcError (-32001 with a reason) on refusal. */
  async signIn(token) {
    const result = await this.rpc.call("authenticate", { auth_token: token });
    if (!result || result.authenticated !== true) throw new RpcError({ code: -32001, message: "Authentication required", data: { reason: "auth_failed" } });
    this.token = token;
    this.role = result.role;
    this.user = result.user_id || "";
    this.permissions = Array.isArray(result.permissions) ? result.permissions : [];
    this.expiresAt = result.expires_at ? new Date(result.expires_at) : null;
    this.authType = result.auth_type || (token.startsWith("csk_") ? "api_key" : "jwt");
    this.active = true;
    try { sessionStorage.setItem(KEY, token); } catch { /* storage unavailable: the session lasts this page */ }
    this.watchExpiry();
    return result;
  }

  /** After a reconnect: the new connection needs the identity again. */
  async reauthenticate() {
    if (!this.active) return;
    try {
      await this.signIn(this.token);
    } catch (err) {
      if (isAuthError(err)) this.end(describeError(err));
      throw err;
    }
  }

  can(min) { return this.active && roleAtLeast(this.role, min); }

  /** A call in this session; an authentication error ends the session with its reason. */
  async call(method, params, opts) {
    try {
      return await this.rpc.call(method, params, opts);
    } catch (err) {
      if (isAuthError(err) && this.active) this.end(describeError(err));
      throw err;
    }
  }

  /** Headers for the daemon's HTTP endpoints (/files/*): the token never goes into a URL. */
  authHeaders() {
    if (!this.token) return {};
    return this.token.startsWith("csk_") ? { "X-API-Key": this.token } : { Authorization: `Bearer ${this.token}` };
  }

  /**
   * At `expires_at` the daemon starts refusing calls; ask it then (its clock decides, with its
   * clock skew), and end the session as soon as it says token_expired.
   */
  watchExpiry() {
    window.clearTimeout(this.expiryTimer);
    if (!this.expiresAt || Number.isNaN(this.expiresAt.getTime())) return;
    const wait = Math.min(Math.max(this.expiresAt.getTime() - Date.now() + 250, 250), 2 ** 31 - 1);
    this.expiryTimer = window.setTimeout(() => this.probe(), wait);
  }

  async probe() {
    if (!this.active) return;
    try {
      await this.call("get_system_status");
    } catch (err) {
      if (!this.active) return;
    }
    // Still accepted (clock skew) or the connection is down: ask again shortly.
    this.expiryTimer = window.setTimeout(() => this.probe(), 2000);
  }

  end(reason) {
    if (!this.active) return;
    this.active = false;
    window.clearTimeout(this.expiryTimer);
    Session.forgetToken();
    this.token = "";
    this.role = "";
    this.user = "";
    this.dispatchEvent(new CustomEvent("ended", { detail: { reason } }));
  }
}
