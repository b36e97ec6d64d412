// Snapshot and record controls of one camera card (operators only). The snapshot is shown at
// once with its tier and frame age; the recording state follows the daemon's events, so a
// recording that another client started or that stopped by itself shows here too.
import { describeError } from "./errors.js";
import { BlobSlot, fetchBlob, filePath } from "./media.js";
import { announce, busy, fill, formatBytes, formatClock, formatSeconds, formatTime, h } from "./ui.js";

export const TIERS = {
  1: "from the live stream",
  2: "from a stream started for it",
  3: "straight from the camera",
};

const CAUSES = {
  requested: "it was stopped",
  duration_reached: "it reached its duration",
  camera_disconnected: "the camera went away",
  process_failed: "the recorder failed",
  media_backend_failed: "the media server failed",
  storage_full: "storage is full",
  shutdown: "the daemon shut down",
};

export const DURATIONS = [["", "Until stopped"], ["3", "3 s"], ["10", "10 s"], ["30", "30 s"], ["60", "1 min"], ["300", "5 min"], ["900", "15 min"], ["3600", "1 h"]];

/** Shows a snapshot file (take_snapshot result or a listing entry) in an <img> via a Blob URL. */
export async function showSnapshot(session, img, caption, shot, blobs) {
  const blob = await fetchBlob(session, filePath("snapshots", shot.filename, shot.download_url));
  img.src = blobs.set(blob);
  img.alt = `Snapshot ${shot.filename}`;
  const parts = [];
  if (typeof shot.tier === "number") parts.push(`Tier ${shot.tier} (${TIERS[shot.tier] || "unknown source"})`);
  if (typeof shot.frame_age_ms === "number") parts.push(`frame age ${shot.frame_age_ms} ms`);
  if (shot.resolution) parts.push(shot.resolution);
  parts.push(formatBytes(typeof shot.file_size === "number" ? shot.file_size : blob.size));
  const when = shot.timestamp || shot.created_time;
  if (when) parts.push(formatTime(when));
  fill(caption, h("span", { class: "shot-name" }, shot.filename), " · ", h("span", { class: "shot-meta" }, parts.join(" · ")));
  return blob;
}

export class SnapshotControl {
  constructor(ctx, card) {
    this.ctx = ctx;
    this.card = card;
    this.blobs = new BlobSlot();
    this.button = h("button", { type: "button", class: "btn", dataset: { action: "snapshot" }, onclick: () => this.take() }, "Take snapshot");
    this.img = h("img", { class: "shot-img", alt: "" });
    this.caption = h("figcaption", { class: "shot-caption" });
    this.closeButton = h("button", { type: "button", class: "btn btn-small", onclick: () => this.hide() }, "Hide snapshot");
    this.figure = h("figure", { class: "panel shot", hidden: true, "aria-label": `Latest snapshot of ${card.cam.device}` },
      this.img, this.caption, this.closeButton);
  }

  get supported() { return this.ctx.caps.has("snapshots"); }

  refreshState() {
    const ok = this.supported && this.card.connected;
    this.button.disabled = !ok;
    this.button.title = !this.supported ? "This daemon has no capture engine." : (!this.card.connected ? "The camera is not connected." : "");
  }

  async take() {
    this.card.say("");
    await busy(this.button, "Taking…", async () => {
      try {
        const r = await this.ctx.session.call("take_snapshot", { device: this.card.cam.device }, { timeout: 30000 });
        this.figure.hidden = false;
        await showSnapshot(this.ctx.session, this.img, this.caption, r, this.blobs);
        this.card.say(`Snapshot ${r.filename} taken.`, "ok");
        this.ctx.emit("files-changed", { kind: "snapshots" });
      } catch (err) {
        this.card.say(describeError(err, "Taking the snapshot"), "error");
      }
    });
    this.refreshState();
  }

  hide() {
    this.figure.hidden = true;
    this.blobs.clear();
    this.img.removeAttribute("src");
    this.button.focus();
  }

  handleEvent(method) {
    if (method === "snapshot.taken") this.ctx.emit("files-changed", { kind: "snapshots" });
  }

  destroy() { this.blobs.clear(); }
}

export class RecordControl {
  constructor(ctx, card) {
    this.ctx = ctx;
    this.card = card;
    this.active = null; // {filename, startedAt (ms, local clock), limit (s)}
    this.starting = false;
    this.timer = 0;
    const selectId = `${card.id}-duration`;
    this.select = h("select", { id: selectId, class: "duration", dataset: { field: "duration" } },
      DURATIONS.map(([v, label]) => h("option", { value: v }, label)));
    this.durationField = h("span", { class: "field-inline" }, h("label", { for: selectId }, "Record for"), this.select);
    this.button = h("button", { type: "button", class: "btn", dataset: { action: "record" }, onclick: () => this.toggle() }, "Record");
    this.time = h("span", { class: "rec-time" });
    this.indicator = h("p", { class: "rec-indicator", hidden: true }, h("span", { class: "rec-dot", "aria-hidden": "true" }), h("span", { class: "rec-label" }, "Recording"), " ", this.time);
  }

  get supported() { return this.ctx.caps.has("recordings"); }

  refreshState() {
    const ok = this.supported && (this.card.connected || this.active);
    this.button.disabled = !ok;
    this.select.disabled = !this.supported || !!this.active || !this.card.connected;
    this.button.title = !this.supported ? "This daemon has no capture engine." : (!this.card.connected && !this.active ? "The camera is not connected." : "");
    this.button.textContent = this.active ? "Stop recording" : "Record";
    this.button.setAttribute("aria-pressed", this.active ? "true" : "false");
  }

  async toggle() {
    this.card.say("");
    const device = this.card.cam.device;
    if (!this.active) {
      const params = { device };
      if (this.select.value) params.duration = Number(this.select.value);
      await busy(this.button, "Starting…", async () => {
        // The recording.start event may arrive before the answer: it is ours all the same.
        this.starting = true;
        try {
          const r = await this.ctx.session.call("start_recording", params, { timeout: 30000 });
          this.started(r.filename, r.start_time, r.duration, true);
        } catch (err) {
          this.card.say(describeError(err, "Starting the recording"), "error");
        } finally {
          this.starting = false;
        }
      });
    } else {
      await busy(this.button, "Stopping…", async () => {
        try {
          const r = await this.ctx.session.call("stop_recording", { device }, { timeout: 60000 });
          this.stopped({ filename: r.filename, status: r.status, cause: "requested", duration: r.duration, file_size: r.file_size, files: r.files });
        } catch (err) {
          this.card.say(describeError(err, "Stopping the recording"), "error");
        }
      });
    }
    this.refreshState();
  }

  started(filename, startTime, limit, mine = this.starting) {
    if (this.active && this.active.filename === filename) return;
    const t = Date.parse(startTime);
    // The daemon's clock, unless it is obviously not ours (then: now).
    const startedAt = Number.isFinite(t) && Math.abs(Date.now() - t) < 60000 ? Math.min(t, Date.now()) : Date.now();
    this.active = { filename, startedAt, limit: typeof limit === "number" ? limit : null };
    this.indicator.hidden = false;
    this.card.el.dataset.recording = "true";
    this.tick();
    window.clearInterval(this.timer);
    this.timer = window.setInterval(() => this.tick(), 250);
    this.card.say(mine ? `Recording ${filename}.` : `Recording ${filename} (started by another client).`, "info");
    announce(`${this.card.cam.name || this.card.cam.device}: recording started.`);
    this.refreshState();
  }

  tick() {
    if (!this.active) return;
    const s = (Date.now() - this.active.startedAt) / 1000;
    this.time.textContent = this.active.limit ? `${formatClock(s)} / ${formatClock(this.active.limit)}` : formatClock(s);
  }

  stopped(p) {
    const wasActive = this.active;
    if (!wasActive && !p.filename) return;
    if (!wasActive && this.lastStopped === p.filename) return;
    this.lastStopped = p.filename;
    this.active = null;
    window.clearInterval(this.timer);
    this.indicator.hidden = true;
    delete this.card.el.dataset.recording;
    const failed = p.status === "ERROR" || p.error;
    const bits = [];
    if (typeof p.duration === "number") bits.push(formatSeconds(p.duration));
    if (typeof p.file_size === "number" && p.file_size > 0) bits.push(formatBytes(p.file_size));
    const facts = bits.length ? ` (${bits.join(", ")})` : "";
    if (failed) {
      const why = CAUSES[p.cause] || "it failed";
      this.card.say(`The recording ${p.filename || ""} ended with an error: ${why}${p.detail ? ` — ${p.detail}` : ""}.`.replace("  ", " "), "error");
    } else {
      const why = p.cause && p.cause !== "requested" && CAUSES[p.cause] ? ` It ended because ${CAUSES[p.cause]}.` : "";
      this.card.say(`Recording saved: ${p.filename}${facts}.${why}`, "ok");
    }
    announce(`${this.card.cam.name || this.card.cam.device}: recording stopped.`);
    this.ctx.emit("files-changed", { kind: "recordings" });
    this.refreshState();
  }

  handleEvent(method, p) {
    switch (method) {
      case "recording.start":
        this.started(p.filename, p.start_time, p.duration);
        break;
      case "recording.progress":
        if (this.active && typeof p.seconds === "number") {
          const byEvent = Date.now() - p.seconds * 1000;
          if (Math.abs(byEvent - this.active.startedAt) > 1500) this.active.startedAt = byEvent;
        } else if (!this.active && p.filename) {
          this.started(p.filename, new Date(Date.now() - (p.seconds || 0) * 1000).toISOString(), null);
        }
        break;
      case "recording.stop":
        this.stopped(p);
        break;
      case "recording.error":
        if (this.active) this.stopped({ ...p, status: "ERROR" });
        break;
      case "recording_status_update": // the legacy notification, for daemons without topic events
        if (p.status === "STARTED") this.started(p.filename, new Date().toISOString(), p.duration);
        else if (p.status === "STOPPED" || p.status === "ERROR") this.stopped(p);
        break;
      default:
        break;
    }
  }

  destroy() { window.clearInterval(this.timer); }
}
