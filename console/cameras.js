// The Cameras view: one card per camera (name, status, resolution, fps), kept current by the
// daemon's camera events without reloading; capabilities on demand; each card hosts the live
// view (live.js) and, for operators, the snapshot and record controls (capture.js).
import { describeError } from "./errors.js";
import { $, announce, busy, fill, formatFps, h, message, slug } from "./ui.js";
import { LivePanel } from "./live.js";
import { RecordControl, SnapshotControl } from "./capture.js";

const STATUS_WORDS = { CONNECTED: "Connected", DISCONNECTED: "Disconnected", ERROR: "Error" };

export class CameraView {
  constructor(ctx) {
    this.ctx = ctx;
    this.root = $("#view-cameras");
    this.grid = $("#camera-grid");
    this.summary = $("#camera-summary");
    this.msg = $("#cameras-msg");
    this.note = $("#capture-note");
    this.cards = new Map();
    $("#cameras-refresh").addEventListener("click", (ev) => busy(ev.currentTarget, "Refreshing…", () => this.load()));
  }

  /** Whatever the session allows, from scratch (after sign-in and after a reconnect). */
  async load() {
    this.updateNote();
    try {
      const r = await this.ctx.session.call("get_camera_list");
      message(this.msg, "");
      const seen = new Set();
      for (const cam of r.cameras || []) {
        seen.add(cam.device);
        this.upsert(cam);
      }
      for (const [device, card] of this.cards) if (!seen.has(device)) this.remove(device, card);
      this.updateSummary();
    } catch (err) {
      message(this.msg, describeError(err, "Loading the cameras"), "error");
    }
  }

  updateNote() {
    const { session, caps } = this.ctx;
    const missing = [];
    if (session.can("operator") && !caps.has("snapshots")) missing.push("Snapshots and recordings are not available: this daemon has no capture engine plugin loaded yet.");
    message(this.note, missing.join(" "), "info");
  }

  reset() {
    for (const card of this.cards.values()) card.destroy();
    this.cards.clear();
    this.grid.replaceChildren();
    message(this.msg, "");
    this.summary.textContent = "";
  }

  devices() { return Array.from(this.cards.keys()); }

  card(device) { return this.cards.get(device); }

  upsert(cam) {
    let card = this.cards.get(cam.device);
    if (!card) {
      card = new CameraCard(this.ctx, cam);
      this.cards.set(cam.device, card);
      // Keep the daemon's order: numbered cameras first, then by id.
      const after = Array.from(this.cards.values()).filter((c) => c !== card && order(c.cam.device, cam.device) > 0)
        .sort((a, b) => order(a.cam.device, b.cam.device))[0];
      this.grid.insertBefore(card.el, after ? after.el : null);
      this.ctx.emit("cameras-changed");
    } else {
      card.update(cam);
    }
    this.updateSummary();
    return card;
  }

  remove(device, card) {
    card.destroy();
    card.el.remove();
    this.cards.delete(device);
    this.ctx.emit("cameras-changed");
  }

  updateSummary() {
    const all = Array.from(this.cards.values());
    const connected = all.filter((c) => c.cam.status === "CONNECTED").length;
    this.summary.textContent = all.length ? `${connected} of ${all.length} connected` : "";
    $("#cameras-empty").hidden = all.length > 0;
  }

  /** Camera and capture events (see app.js for the subscribed topics). */
  handleEvent(method, params) {
    if (!params || typeof params.device !== "string") return;
    if (method.startsWith("camera.") || method === "camera_status_update") {
      if (typeof params.status !== "string") return;
      const before = this.cards.get(params.device)?.cam.status;
      const card = this.upsert(params);
      if (method === "camera.capability_detected") card.capabilitiesChanged();
      if (before !== params.status) {
        const name = params.name || params.device;
        if (params.status === "CONNECTED") announce(before ? `${name} is connected again.` : `${name} was connected.`);
        else if (params.status === "DISCONNECTED") announce(`${name} was disconnected.`);
        else if (params.status === "ERROR") announce(`${name} reports an error.`);
      }
      return;
    }
    const card = this.cards.get(params.device);
    if (card) card.handleEvent(method, params);
  }
}

function order(a, b) {
  const num = (s) => (/^camera\d+$/.test(s) ? Number(s.slice(6)) : null);
  const x = num(a), y = num(b);
  if (x !== null && y !== null) return x - y;
  if (x !== null) return -1;
  if (y !== null) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** One camera's card. */
export class CameraCard {
  constructor(ctx, cam) {
    this.ctx = ctx;
    this.cam = cam;
    const id = `cam-${slug(cam.device)}`;
    this.id = id;
    this.nameEl = h("h2", { id: `${id}-name`, class: "card-title" });
    this.badge = h("span", { class: "badge" });
    this.facts = {
      device: h("dd", { class: "fact-device" }),
      resolution: h("dd", { class: "fact-resolution" }),
      fps: h("dd", { class: "fact-fps" }),
    };
    this.msg = h("p", { class: "card-msg", role: "status", hidden: true });
    this.capsPanel = h("div", { class: "panel caps-panel", id: `${id}-caps`, hidden: true });
    this.capsButton = h("button", { type: "button", class: "btn", "aria-expanded": "false", "aria-controls": `${id}-caps`,
      dataset: { action: "capabilities" }, onclick: () => this.toggleCapabilities() }, "Capabilities");

    this.live = new LivePanel(ctx, this);
    // Everyone sees a recording in progress; only operators get the buttons.
    this.record = new RecordControl(ctx, this);
    const controls = [h("div", { class: "actions" }, this.live.button, this.capsButton)];
    if (ctx.session.can("operator")) {
      this.snapshot = new SnapshotControl(ctx, this);
      controls.push(h("div", { class: "actions", role: "group", "aria-label": `Capture from ${cam.device}` },
        this.snapshot.button, this.record.durationField, this.record.button));
    }

    this.el = h("article", { class: "card", id, "aria-labelledby": `${id}-name`, dataset: { device: cam.device } },
      h("div", { class: "card-head" }, this.nameEl, this.badge),
      h("dl", { class: "facts" },
        h("dt", {}, "ID"), this.facts.device,
        h("dt", {}, "Resolution"), this.facts.resolution,
        h("dt", {}, "Frame rate"), this.facts.fps),
      this.record.indicator,
      controls,
      this.msg,
      this.live.panel,
      this.snapshot ? this.snapshot.figure : null,
      this.capsPanel);
    this.update(cam);
  }

  get connected() { return this.cam.status === "CONNECTED"; }

  update(cam) {
    const previous = this.cam.status;
    this.cam = { ...this.cam, ...cam, streams: cam.streams || this.cam.streams || {} };
    const c = this.cam;
    this.nameEl.textContent = c.name || c.device;
    this.badge.textContent = STATUS_WORDS[c.status] || c.status || "Unknown";
    this.badge.dataset.status = (c.status || "unknown").toLowerCase();
    this.el.dataset.status = (c.status || "unknown").toLowerCase();
    this.facts.device.textContent = c.device;
    this.facts.resolution.textContent = c.resolution || "–";
    this.facts.fps.textContent = formatFps(c.fps);
    this.snapshot?.refreshState();
    this.record.refreshState();
    // A recording already running when the page loaded (camera listings carry it).
    if (cam.recording && !this.record.active) this.record.started(cam.recording.filename, cam.recording.start_time, cam.recording.duration, false);
    if (previous !== c.status) this.live.cameraChanged();
  }

  /** Per-camera events: recordings and snapshots. */
  handleEvent(method, params) {
    this.record.handleEvent(method, params);
    this.snapshot?.handleEvent(method, params);
  }

  say(text, kind = "info") { message(this.msg, text, kind); }

  async toggleCapabilities() {
    const open = this.capsPanel.hidden;
    this.capsPanel.hidden = !open;
    this.capsButton.setAttribute("aria-expanded", String(open));
    if (open) await this.loadCapabilities();
  }

  capabilitiesChanged() {
    if (!this.capsPanel.hidden) this.loadCapabilities();
  }

  async loadCapabilities() {
    fill(this.capsPanel, h("p", { class: "muted" }, "Loading capabilities…"));
    try {
      const c = await this.ctx.session.call("get_camera_capabilities", { device: this.cam.device });
      const list = (xs) => (Array.isArray(xs) && xs.length ? xs.join(", ") : "–");
      const validation = { confirmed: "confirmed by the camera", provisional: "provisional (not yet confirmed)", disconnected: "the camera is disconnected" };
      fill(this.capsPanel,
        h("h3", {}, "Capabilities"),
        h("dl", { class: "facts caps" },
          h("dt", {}, "Formats"), h("dd", { class: "caps-formats" }, list(c.formats)),
          h("dt", {}, "Resolutions"), h("dd", { class: "caps-resolutions" }, list(c.resolutions)),
          h("dt", {}, "Frame rates"), h("dd", { class: "caps-fps" }, list((c.frame_rates && c.frame_rates.length ? c.frame_rates : c.fps_options || []).map((f) => `${f} fps`))),
          h("dt", {}, "Features"), h("dd", {}, list(c.capabilities)),
          h("dt", {}, "Validation"), h("dd", { class: "caps-validation" }, validation[c.validation_status] || c.validation_status || "–")));
    } catch (err) {
      fill(this.capsPanel, h("p", { class: "error-text", role: "alert" }, describeError(err, "Loading the capabilities")));
    }
  }

  destroy() {
    this.live.close();
    this.record.destroy();
    this.snapshot?.destroy();
  }
}
