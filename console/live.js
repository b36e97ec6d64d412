// Live view of one camera: MediaMTX's WebRTC player (WHEP: POST an SDP offer to
// `<streams.webrtc>/whep`, set the answer), HLS through the browser's own <video> support as the
// fallback (Chromium has none), and when neither plays — or no media backend is up — the latest
// snapshot, refreshed on request, with a sentence saying why there is no live video. Where the
// media server has an HLS address, a link opens its own HLS page (MediaMTX bundles a player
// there: no script of another origin ever runs in the console).
import { describeError, HttpError } from "./errors.js";
import { BlobSlot } from "./media.js";
import { showSnapshot } from "./capture.js";
import { busy, fill, h, message } from "./ui.js";

const CONNECT_TIMEOUT_MS = 10000;

export function canPlayHlsNatively() {
  const v = document.createElement("video");
  return v.canPlayType("application/vnd.apple.mpegurl") !== "" || v.canPlayType("application/x-mpegURL") !== "";
}

function waitIceGathering(pc, ms) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { pc.removeEventListener("icegatheringstatechange", check); window.clearTimeout(t); resolve(); };
    const check = () => { if (pc.iceGatheringState === "complete") done(); };
    const t = window.setTimeout(done, ms);
    pc.addEventListener("icegatheringstatechange", check);
  });
}

function waitConnected(pc, ms) {
  return new Promise((resolve, reject) => {
    const t = window.setTimeout(() => { cleanup(); reject(new Error("no media arrived in time")); }, ms);
    const check = () => {
      if (pc.connectionState === "connected") { cleanup(); resolve(); }
      if (pc.connectionState === "failed" || pc.connectionState === "closed") { cleanup(); reject(new Error("the WebRTC connection failed")); }
    };
    const cleanup = () => { window.clearTimeout(t); pc.removeEventListener("connectionstatechange", check); };
    pc.addEventListener("connectionstatechange", check);
    check();
  });
}

/** A WHEP session into `video`; resolves with {pc, resource} once media flows. */
export async function playWhep(endpoint, video, signal) {
  const pc = new RTCPeerConnection();
  try {
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
    const stream = new MediaStream();
    pc.addEventListener("track", (ev) => {
      stream.addTrack(ev.track);
      video.srcObject = stream;
    });
    await pc.setLocalDescription(await pc.createOffer());
    await waitIceGathering(pc, 1500);
    let resp;
    try {
      resp = await fetch(endpoint, { method: "POST", headers: { "Content-Type": "application/sdp" }, body: pc.localDescription.sdp, signal, credentials: "omit" });
    } catch (err) {
      if (err.name === "AbortError") throw err;
      throw new Error(`its WebRTC (WHEP) endpoint ${endpoint} could not be reached`);
    }
    if (resp.status !== 201 && resp.status !== 200) throw new HttpError(resp.status, `its WebRTC (WHEP) endpoint answered HTTP ${resp.status}`);
    const answer = await resp.text();
    const location = resp.headers.get("Location");
    await pc.setRemoteDescription({ type: "answer", sdp: answer });
    await waitConnected(pc, CONNECT_TIMEOUT_MS);
    return { pc, resource: location ? new URL(location, endpoint).href : "" };
  } catch (err) {
    pc.close();
    throw err;
  }
}

function playHls(url, video) {
  return new Promise((resolve, reject) => {
    const t = window.setTimeout(() => { cleanup(); reject(new Error("the HLS stream did not start in time")); }, CONNECT_TIMEOUT_MS);
    const ok = () => { cleanup(); resolve(); };
    const bad = () => { cleanup(); reject(new Error("the HLS stream could not be played")); };
    const cleanup = () => { window.clearTimeout(t); video.removeEventListener("playing", ok); video.removeEventListener("error", bad); };
    video.addEventListener("playing", ok);
    video.addEventListener("error", bad);
    video.src = url;
    video.play().catch(() => { /* autoplay refusals end in the timeout */ });
  });
}

export class LivePanel {
  constructor(ctx, card) {
    this.ctx = ctx;
    this.card = card;
    this.blobs = new BlobSlot();
    this.session = null; // {pc, resource} of a WHEP session
    this.abort = null;
    const id = `${card.id}-live`;
    this.button = h("button", { type: "button", class: "btn", "aria-expanded": "false", "aria-controls": id, dataset: { action: "live" }, onclick: () => this.toggle() }, "Live view");
    this.video = h("video", { class: "live-video", muted: true, autoplay: true, playsinline: true, hidden: true, "aria-label": `Live video of ${card.cam.device}` });
    this.video.muted = true;
    this.status = h("p", { class: "live-status", role: "status" });
    this.img = h("img", { class: "shot-img", alt: "", hidden: true });
    this.caption = h("p", { class: "shot-caption" });
    this.refreshButton = h("button", { type: "button", class: "btn btn-small", dataset: { action: "refresh-snapshot" }, hidden: true, onclick: (ev) => busy(ev.currentTarget, "Refreshing…", () => this.refreshSnapshot()) }, "Refresh snapshot");
    this.snapMsg = h("p", { class: "card-msg", role: "status", hidden: true });
    this.playerLink = h("a", { class: "live-player-link", target: "_blank", rel: "noopener noreferrer", hidden: true }, "Open the media server's HLS player");
    this.panel = h("section", { class: "panel live-panel", id, hidden: true, "aria-label": `Live view of ${card.cam.device}` },
      this.status, this.playerLink, this.video, this.img, this.caption, this.refreshButton, this.snapMsg,
      h("button", { type: "button", class: "btn btn-small", onclick: () => { this.close(); this.button.focus(); } }, "Close live view"));
    this.panel.addEventListener("keydown", (ev) => { if (ev.key === "Escape") { this.close(); this.button.focus(); } });
  }

  get open() { return !this.panel.hidden; }

  toggle() {
    if (this.open) this.close();
    else this.start();
  }

  /** The camera's status or stream addresses changed: start over if open. */
  cameraChanged() {
    if (this.open) this.start();
  }

  async start() {
    this.stopMedia();
    this.panel.hidden = false;
    this.button.setAttribute("aria-expanded", "true");
    const cam = this.card.cam;
    if (cam.status !== "CONNECTED") {
      return this.fallback(cam.status === "ERROR" ? "the camera reports an error" : "the camera is disconnected");
    }
    const abort = new AbortController();
    this.abort = abort;
    // Addresses as this browser reaches them (events carry the daemon's public host instead).
    let streams = cam.streams || {};
    if (this.ctx.caps.has("streaming")) {
      message(this.status, "Asking the media backend for the stream…");
      try {
        const s = await this.ctx.session.call("get_stream_url", { device: cam.device });
        if (abort.signal.aborted) return undefined;
        if (s && s.streams) streams = s.streams;
        if (s && s.available === false) return this.fallback(`the media backend cannot stream this camera now${s.stream_status ? ` (stream ${String(s.stream_status).toLowerCase()})` : ""}`);
      } catch (err) {
        if (abort.signal.aborted) return undefined;
        return this.fallback(describeError(err, "Asking for the stream").replace(/\.$/, "").replace(/^./, (c) => c.toLowerCase()));
      }
    }
    const webrtc = streams.webrtc;
    const hls = streams.hls;
    if (!webrtc && !hls) {
      return this.fallback(this.ctx.caps.has("streaming")
        ? "the media backend gives no stream address for this camera"
        : "no media backend (MediaMTX) is running for this daemon");
    }
    const reasons = [];
    if (webrtc) {
      message(this.status, "Connecting to the live stream (WebRTC)…");
      try {
        this.session = await playWhep(`${webrtc.replace(/\/$/, "")}/whep`, this.video, abort.signal);
        if (abort.signal.aborted) return this.stopMedia();
        this.video.hidden = false;
        this.panel.dataset.mode = "webrtc";
        message(this.status, "Live video (WebRTC).", "ok");
        return undefined;
      } catch (err) {
        if (abort.signal.aborted) return undefined;
        reasons.push(`the media server's WebRTC player did not connect (${err.message || describeError(err)})`);
      }
    }
    if (hls && canPlayHlsNatively()) {
      message(this.status, "Connecting to the live stream (HLS)…");
      try {
        await playHls(hls, this.video);
        if (abort.signal.aborted) return this.stopMedia();
        this.video.hidden = false;
        this.panel.dataset.mode = "hls";
        message(this.status, "Live video (HLS).", "ok");
        return undefined;
      } catch (err) {
        if (abort.signal.aborted) return undefined;
        reasons.push(`the HLS stream did not play (${err.message})`);
      }
    } else if (hls) {
      reasons.push("this browser cannot play HLS by itself");
    }
    return this.fallback(reasons.join(", and "), hls);
  }

  /** The snapshot instead of video; `hls` (the stream's playlist URL) offers the media server's own page. */
  fallback(reason, hls) {
    this.stopMedia();
    if (hls) {
      this.playerLink.href = hls.replace(/index\.m3u8$/, "");
      this.playerLink.hidden = false;
    }
    this.panel.dataset.mode = "snapshot";
    message(this.status, `No live video: ${reason}. Showing the latest snapshot instead.`, "info");
    const { take, list } = this.snapshotWays();
    if (!take && !list) {
      message(this.snapMsg, "No snapshot can be shown either: this daemon has no capture engine and no file storage yet.", "info");
      return undefined;
    }
    this.refreshButton.hidden = false;
    this.refreshButton.textContent = take ? "Take a new snapshot" : "Show the latest snapshot";
    return this.refreshSnapshot();
  }

  /** Operators take a new snapshot (with a capture engine); anyone can see the newest stored one. */
  snapshotWays() {
    const { session, caps } = this.ctx;
    return { take: session.can("operator") && caps.has("snapshots") && this.card.connected, list: caps.has("file_management") };
  }

  async refreshSnapshot() {
    const { session } = this.ctx;
    const device = this.card.cam.device;
    message(this.snapMsg, "");
    try {
      let shot;
      if (this.snapshotWays().take) {
        shot = await session.call("take_snapshot", { device }, { timeout: 30000 });
        this.ctx.emit("files-changed", { kind: "snapshots" });
      } else {
        const page = await session.call("list_snapshots", { device, limit: 1 });
        shot = page.files && page.files[0];
        if (!shot) {
          this.img.hidden = true;
          fill(this.caption);
          message(this.snapMsg, "There is no snapshot of this camera yet.", "info");
          return;
        }
      }
      await showSnapshot(session, this.img, this.caption, shot, this.blobs);
      this.img.hidden = false;
    } catch (err) {
      this.img.hidden = true;
      fill(this.caption);
      message(this.snapMsg, describeError(err, "Getting a snapshot"), "error");
    }
  }

  stopMedia() {
    if (this.abort) this.abort.abort();
    this.abort = null;
    if (this.session) {
      const { pc, resource } = this.session;
      pc.close();
      if (resource) fetch(resource, { method: "DELETE", credentials: "omit" }).catch(() => {});
      this.session = null;
    }
    this.video.pause();
    this.video.srcObject = null;
    this.video.removeAttribute("src");
    this.video.hidden = true;
    this.playerLink.hidden = true;
    this.refreshButton.hidden = true;
    message(this.snapMsg, "");
  }

  close() {
    this.stopMedia();
    this.blobs.clear();
    this.img.hidden = true;
    this.img.removeAttribute("src");
    fill(this.caption);
    this.panel.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
  }
}
