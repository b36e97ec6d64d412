// Errors as sentences: every failure the console shows is made from the error's code,
// `message` and `data` (reason, detail, feature, param, …), never a raw JSON dump.

/** A JSON-RPC error answer. */
export class RpcError extends Error {
  constructor(error, method) {
    super(typeof error?.message === "string" ? error.message : "Error");
    this.code = typeof error?.code === "number" ? error.code : 0;
    this.data = error && typeof error.data === "object" && error.data !== null ? error.data : {};
    this.method = method;
  }
  get reason() { return this.data.reason || ""; }
}

/** The connection failed or closed before an answer came. */
export class ConnectionError extends Error {
  constructor(text) {
    super(text);
    this.code = "connection";
  }
}

/** An HTTP request (downloads, the media server's player) failed. */
export class HttpError extends Error {
  constructor(status, text) {
    super(text);
    this.status = status;
  }
}

const FEATURES = {
  capture_engine: "a capture engine (snapshots and recordings)",
  storage_provider: "file storage (recordings, snapshots and storage settings)",
  media_backend: "a media backend (live streams)",
  camera_source: "a camera source",
};

const ROLE_WORDS = { viewer: "viewer", operator: "operator", admin: "admin" };

function sentence(text) {
  let s = String(text || "").trim();
  if (!s) return "";
  s = s.charAt(0).toUpperCase() + s.slice(1);
  return /[.!?…]$/.test(s) ? s : `${s}.`;
}

function detailOf(data) {
  return typeof data.detail === "string" && data.detail ? data.detail : "";
}

/**
 * A readable sentence for an error. `doing` names what was attempted ("Taking the snapshot"),
 * so the sentence can say what failed.
 */
export function describeError(err, doing = "") {
  const lead = doing ? `${doing} failed: ` : "";
  if (err instanceof RpcError) {
    const d = err.data;
    const detail = detailOf(d);
    switch (err.code) {
      case -32001:
        if (d.reason === "token_expired") return "Your session has expired. Sign in again to continue.";
        if (d.reason === "auth_failed") return sentence(`The token was not accepted${detail ? `: ${detail}` : ""}`) + " Check it and try again.";
        return "You are not signed in. Sign in to continue.";
      case -32002: {
        const need = ROLE_WORDS[d.required_role] || d.required_role;
        const have = ROLE_WORDS[d.role] || d.role;
        return sentence(`${lead}this needs the ${need || "a higher"} role${have ? `, and you are signed in as ${have}` : ""}`);
      }
      case -32010:
        if (d.resource && d.id) return sentence(`${lead}the ${d.resource} “${d.id}” was not found`);
        return sentence(`${lead}${detail || "not found"}`);
      case -32020:
        return sentence(`${lead}${detail || `the ${d.state ? `state is ${d.state}` : "operation is not possible now"}`}`);
      case -32030: {
        const what = FEATURES[d.feature] || (d.feature ? `the “${d.feature}” capability` : "this capability");
        return sentence(`${lead}this daemon has no ${what} yet`) + (detail ? ` ${sentence(detail)}` : "");
      }
      case -32040: {
        const wait = typeof d.retry_after_ms === "number" ? ` Try again in ${Math.max(1, Math.ceil(d.retry_after_ms / 1000))} s.` : " Try again shortly.";
        return sentence(`${lead}too many requests`) + wait;
      }
      case -32050:
        return sentence(`${lead}${d.dependency ? `${d.dependency} did not work` : "a service the daemon needs did not work"}${detail ? ` (${detail})` : ""}`);
      case -32060:
        return sentence(`${lead}there is not enough storage space${typeof d.usage_percentage === "number" ? ` (${d.usage_percentage} % used)` : ""}`);
      case -32602:
        if (d.param) return sentence(`${lead}the value of “${d.param}” is not valid${detail ? `: ${detail}` : ""}`);
        return sentence(`${lead}${detail || "invalid parameters"}`);
      case -32601:
        return sentence(`${lead}the daemon does not know the method “${d.method || err.method || "?"}”`);
      case -32603:
        return sentence(`${lead}the daemon had an internal error${detail ? ` (${detail})` : ""}`);
      default:
        return sentence(`${lead}${detail || err.message || "the daemon answered with an error"}`);
    }
  }
  if (err instanceof ConnectionError || err instanceof HttpError) return sentence(`${lead}${err.message}`);
  if (err && err.name === "AbortError") return sentence(`${lead}it took too long`);
  if (err instanceof TypeError && /fetch|network/i.test(err.message)) return sentence(`${lead}the server could not be reached`);
  return sentence(`${lead}${(err && err.message) || "something went wrong"}`);
}

export function isAuthError(err) {
  return err instanceof RpcError && err.code === -32001;
}

export function isUnsupported(err) {
  return err instanceof RpcError && err.code === -32030;
}
