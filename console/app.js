// The console's entry: sign-in, the session's connection (re-authenticated and re-subscribed
// after a reconnect), event routing to the views, and the #/cameras, #/files, #/system views.
import { RpcClient, websocketUrl } from "./rpc.js";
import { Session, roleAtLeast } from "./auth.js";
import { describeError } from "./errors.js";
import { CameraView } from "./cameras.js";
import { FilesView } from "./files.js";
import { SystemView } from "./system.js";
import { $, $$, announce, message } from "./ui.js";

const TOPICS = [
  "camera.connected", "camera.disconnected", "camera.status_change", "camera.capability_detected",
  "recording.start", "recording.stop", "recording.progress", "recording.error",
  "snapshot.taken", "snapshot.error", "stream.started", "stream.stopped",
  "storage.warning", "system.shutdown",
];

const VIEWS = { cameras: "viewer", files: "viewer", system: "admin" };

const rpc = new RpcClient(await websocketUrl());
const session = new Session(rpc);
const bus = new EventTarget();

const ctx = {
  session,
  caps: new Set(),
  serverInfo: null,
  emit(name, detail) { bus.dispatchEvent(new CustomEvent(name, { detail })); },
  on(name, fn) { bus.addEventListener(name, (ev) => fn(ev.detail)); },
  setServerInfo(info) {
    ctx.serverInfo = info;
    ctx.caps = new Set(Array.isArray(info.capabilities) ? info.capabilities : []);
  },
};

ctx.cameras = new CameraView(ctx);
const files = new FilesView(ctx);
const system = new SystemView(ctx);
let current = "";

// --- sign-in ------------------------------------------------------------------------------

function showSignIn(reason, kind = "error") {
  current = "";
  for (const v of $$(".view")) v.hidden = v.id !== "view-signin";
  $("#nav").hidden = true;
  $("#who").hidden = true;
  $("#connection").hidden = true;
  $("#banner").hidden = true;
  document.body.dataset.signedIn = "false";
  message($("#signin-reason"), reason || "", kind);
  message($("#signin-msg"), "");
  const token = $("#token");
  token.value = "";
  $("#signin-submit").disabled = false;
  document.title = "Sign in · camera-service";
  token.focus();
}

async function begin(token, restored = false) {
  const submit = $("#signin-submit");
  submit.disabled = true;
  message($("#signin-msg"), "Signing in…", "info");
  try {
    await rpc.connect();
  } catch (err) {
    rpc.close();
    showSignIn("The daemon could not be reached. Check that it is running, then try again.");
    return;
  }
  try {
    await session.signIn(token);
  } catch (err) {
    rpc.close();
    if (restored) Session.forgetToken();
    showSignIn(describeError(err));
    return;
  }
  await afterAuth();
  enterApp();
}

/** After each (re)authentication: server facts, event topics, the camera list. */
async function afterAuth() {
  try {
    ctx.setServerInfo(await session.call("get_server_info"));
  } catch (err) {
    ctx.setServerInfo({ capabilities: [] });
  }
  try {
    await session.call("subscribe_events", { topics: TOPICS });
  } catch (err) {
    message($("#connection"), `Live updates are limited: ${describeError(err)}`, "error");
  }
  await ctx.cameras.load();
}

function enterApp() {
  document.body.dataset.signedIn = "true";
  document.body.dataset.role = session.role;
  $("#signin-reason").hidden = true;
  message($("#signin-msg"), "");
  $("#nav").hidden = false;
  for (const a of $$("#nav a")) a.hidden = !!a.dataset.minRole && !roleAtLeast(session.role, a.dataset.minRole);
  const until = session.expiresAt ? `, until ${session.expiresAt.toLocaleTimeString()}` : "";
  $("#who-text").textContent = `Signed in as ${session.user ? session.user + ", " : ""}${session.role} (${session.authType === "api_key" ? "API key" : "JWT"}${until})`;
  $("#who").hidden = false;
  route(true);
}

$("#signin-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const token = $("#token").value.trim();
  if (!token) {
    message($("#signin-msg"), "Enter a token or an API key.", "error");
    $("#token").focus();
    return;
  }
  begin(token);
});

$("#token-show").addEventListener("change", (ev) => { $("#token").type = ev.currentTarget.checked ? "text" : "password"; });

$("#sign-out").addEventListener("click", () => session.end("You signed out."));

session.addEventListener("ended", (ev) => {
  rpc.close();
  ctx.cameras.reset();
  files.reset();
  system.reset();
  const reason = ev.detail.reason;
  showSignIn(reason, reason === "You signed out." ? "info" : "error");
});

// --- connection ---------------------------------------------------------------------------

rpc.addEventListener("close", (ev) => {
  if (!session.active || !ev.detail.willReconnect) return;
  document.body.dataset.connection = "lost";
  message($("#connection"), "The connection to the daemon was lost. Reconnecting…", "error");
});

rpc.addEventListener("open", async (ev) => {
  if (!ev.detail.reconnect || !session.active) return;
  try {
    await session.reauthenticate();
    await afterAuth();
    document.body.dataset.connection = "ok";
    message($("#connection"), "Reconnected.", "ok");
    window.setTimeout(() => { if (document.body.dataset.connection === "ok") $("#connection").hidden = true; }, 3000);
    if (current === "files") files.load();
    if (current === "system") system.refresh();
  } catch (err) {
    if (session.active) message($("#connection"), describeError(err, "Reconnecting"), "error");
  }
});

rpc.addEventListener("notification", (ev) => {
  const { method, params } = ev.detail;
  if (method.startsWith("camera.") || method === "camera_status_update" || method.startsWith("recording.")
      || method === "recording_status_update" || method.startsWith("snapshot.")) {
    ctx.cameras.handleEvent(method, params);
  } else if (method === "storage.warning") {
    storageBanner(params);
    system.handleEvent(method, params);
  } else if (method === "system.shutdown") {
    message($("#connection"), "The daemon is shutting down.", "error");
  }
});

function storageBanner(p) {
  const banner = $("#banner");
  if (p.critical_space_warning) {
    message(banner, `Storage is critical: ${p.usage_percentage} % used (blocking at ${p.block_threshold} %). New recordings and snapshots are refused.`, "error");
  } else if (p.low_space_warning) {
    message(banner, `Storage is low: ${p.usage_percentage} % used (warning at ${p.warn_threshold} %).`, "info");
  } else {
    banner.hidden = true;
  }
}

// --- views ----------------------------------------------------------------------------------

function route(focus = false) {
  if (!session.active) return;
  let name = (location.hash.match(/^#\/([a-z]+)/) || [])[1] || "cameras";
  if (!VIEWS[name]) name = "cameras";
  if (!roleAtLeast(session.role, VIEWS[name])) {
    announce(`The ${name} page needs the ${VIEWS[name]} role.`);
    message($("#cameras-msg"), `The ${name} page needs the ${VIEWS[name]} role; you are signed in as ${session.role}.`, "error");
    name = "cameras";
  }
  const changed = name !== current;
  if (current === "system" && name !== "system") system.hide();
  current = name;
  for (const v of $$(".view")) v.hidden = v.id !== `view-${name}`;
  for (const a of $$("#nav a")) {
    if (a.dataset.view === name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  document.title = `${name.charAt(0).toUpperCase()}${name.slice(1)} · camera-service`;
  if (changed || focus) {
    if (name === "files") files.show();
    if (name === "system") system.show();
    const heading = $(`#${name}-title`);
    if (heading && (focus || changed)) heading.focus({ preventScroll: false });
  }
}

window.addEventListener("hashchange", () => route());

// --- start ----------------------------------------------------------------------------------

const stored = Session.storedToken();
if (stored) begin(stored, true);
else showSignIn("");
