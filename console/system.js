// The System view (admin): storage bar with its thresholds, retention policy and clean-up,
// health of every component, key metrics, plugins and server facts. Refreshed every few
// seconds while it is shown.
import { describeError } from "./errors.js";
import { $, busy, fill, formatBytes, formatSeconds, formatTime, h, message, setVar } from "./ui.js";

const REFRESH_MS = 5000;

function pct(n) { return typeof n === "number" && Number.isFinite(n) ? Math.max(0, Math.min(100, n)) : 0; }

function table(caption, head, rows, cls = "") {
  return h("table", { class: `data ${cls}` },
    h("caption", { class: "sr-only" }, caption),
    h("thead", {}, h("tr", {}, head.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, rows));
}

export class SystemView {
  constructor(ctx) {
    this.ctx = ctx;
    this.timer = 0;
    this.storage = $("#storage-body");
    this.health = $("#health-body");
    this.metrics = $("#metrics-body");
    this.plugins = $("#plugins-body");
    this.server = $("#server-body");
    this.retentionForm = $("#retention-form");
    this.retentionMsg = $("#retention-msg");
    this.cleanupMsg = $("#cleanup-msg");
    this.updated = $("#system-updated");
    $("#system-refresh").addEventListener("click", (ev) => busy(ev.currentTarget, "Refreshing…", () => this.refresh()));
    this.retentionForm.addEventListener("submit", (ev) => { ev.preventDefault(); this.saveRetention(); });
    $("#retention-type").addEventListener("change", () => this.retentionFields());
    $("#retention-enabled").addEventListener("change", () => this.retentionFields());
    $("#cleanup-preview").addEventListener("click", (ev) => busy(ev.currentTarget, "Checking…", () => this.cleanup(true)));
    $("#cleanup-run").addEventListener("click", (ev) => this.confirmCleanup(ev.currentTarget));
    this.retentionFields();
  }

  get visible() { return !$("#view-system").hidden; }

  show() {
    this.refresh();
    window.clearInterval(this.timer);
    this.timer = window.setInterval(() => { if (this.visible && !document.hidden) this.refresh(); }, REFRESH_MS);
  }

  hide() { window.clearInterval(this.timer); }

  reset() {
    this.hide();
    for (const el of [this.storage, this.health, this.metrics, this.plugins, this.server]) el.replaceChildren();
    message(this.retentionMsg, "");
    message(this.cleanupMsg, "");
  }

  async refresh() {
    await Promise.all([this.loadStorage(), this.loadHealth(), this.loadMetrics(), this.loadServer()]);
    this.updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
  }

  async loadStorage() {
    try {
      this.renderStorage(await this.ctx.session.call("get_storage_info"));
      this.storageSupported = true;
    } catch (err) {
      this.storageSupported = false;
      fill(this.storage, h("p", { class: "error-text", dataset: { kind: "error" } }, describeError(err, "Reading the storage figures")));
    }
    this.retentionFields();
  }

  renderStorage(s) {
    const used = pct(s.usage_percentage);
    const warn = pct(s.warn_threshold);
    const block = pct(s.block_threshold);
    const level = s.critical_space_warning ? "critical" : s.low_space_warning ? "warning" : "normal";
    const fillEl = h("div", { class: "bar-fill" });
    const bar = h("div", { class: "bar", role: "meter", "aria-label": "Storage used", "aria-valuemin": "0", "aria-valuemax": "100",
      "aria-valuenow": String(used), "aria-valuetext": `${used} % used`, dataset: { level } },
      fillEl,
      h("span", { class: "bar-mark bar-mark-warn", title: `warning at ${warn} %` }),
      h("span", { class: "bar-mark bar-mark-block", title: `blocking at ${block} %` }));
    setVar(bar, "--used", `${used}%`);
    setVar(bar, "--warn", `${warn}%`);
    setVar(bar, "--block", `${block}%`);
    const levelText = { normal: "Space is fine.", warning: "Space is low: past the warning threshold.", critical: "Space is critical: new recordings and snapshots are refused." };
    fill(this.storage,
      h("p", { class: "storage-headline" }, h("strong", {}, `${used} % used`), ` — ${formatBytes(s.used_space)} of ${formatBytes(s.total_space)}, ${formatBytes(s.available_space)} free.`),
      bar,
      h("p", { class: "bar-legend" }, h("span", { class: "legend-warn" }, `Warning at ${warn} %`), " · ", h("span", { class: "legend-block" }, `blocking at ${block} %`)),
      h("p", { class: "storage-level", dataset: { level } }, levelText[level]),
      h("dl", { class: "facts" },
        h("dt", {}, "Recordings"), h("dd", {}, formatBytes(s.recordings_size)),
        h("dt", {}, "Snapshots"), h("dd", {}, formatBytes(s.snapshots_size))));
  }

  /** A storage.warning event: the figures it carries are the storage info. */
  handleEvent(method, params) {
    if (method === "storage.warning" && this.visible && params && typeof params.usage_percentage === "number") this.renderStorage(params);
  }

  retentionFields() {
    const type = $("#retention-type").value;
    const enabled = $("#retention-enabled").checked;
    $("#retention-age").disabled = !(type === "age");
    $("#retention-size").disabled = !(type === "size");
    $("#retention-age-field").dataset.relevant = String(type === "age");
    $("#retention-size-field").dataset.relevant = String(type === "size");
    const off = this.storageSupported === false;
    for (const el of this.retentionForm.elements) if (el.id !== "retention-age" && el.id !== "retention-size") el.disabled = off;
    if (off) { $("#retention-age").disabled = true; $("#retention-size").disabled = true; }
    $("#cleanup-preview").disabled = off;
    $("#cleanup-run").disabled = off;
    $("#retention-hint").textContent = off
      ? "The retention policy needs file storage, which this daemon does not have yet."
      : (enabled && type !== "manual" ? "Files beyond the limit are removed by the daemon's clean-up." : "Nothing is removed automatically.");
  }

  async saveRetention() {
    const type = $("#retention-type").value;
    const enabled = $("#retention-enabled").checked;
    const params = { policy_type: type, enabled };
    const age = $("#retention-age").value.trim();
    const size = $("#retention-size").value.trim();
    if (type === "age" && age !== "") params.max_age_days = Number(age);
    if (type === "size" && size !== "") params.max_size_gb = Number(size);
    if (enabled && type === "age" && params.max_age_days === undefined) return message(this.retentionMsg, "An enabled age policy needs the maximum age in days.", "error");
    if (enabled && type === "size" && params.max_size_gb === undefined) return message(this.retentionMsg, "An enabled size policy needs the maximum size in GB.", "error");
    const button = $("#retention-save");
    return busy(button, "Saving…", async () => {
      try {
        const r = await this.ctx.session.call("set_retention_policy", params);
        const text = r && r.message ? r.message : `retention policy ${type} ${enabled ? "enabled" : "disabled"}`;
        message(this.retentionMsg, `Saved: ${text}.`, "ok");
      } catch (err) {
        message(this.retentionMsg, describeError(err, "Saving the retention policy"), "error");
      }
    });
  }

  async cleanup(dryRun) {
    try {
      const r = await this.ctx.session.call("cleanup_old_files", { dry_run: dryRun }, { timeout: 120000 });
      const n = dryRun ? (r.files_matched ?? r.files_deleted ?? 0) : (r.files_deleted ?? 0);
      const text = dryRun
        ? (n ? `The clean-up would remove ${n} file(s).` : "The clean-up would remove nothing now.")
        : `Removed ${n} file(s) (${r.recordings_removed ?? 0} recordings, ${r.snapshots_removed ?? 0} snapshots), freeing ${formatBytes(r.space_freed ?? 0)}.`;
      message(this.cleanupMsg, r.message ? `${text} ${r.message.charAt(0).toUpperCase()}${r.message.slice(1)}${/[.!?]$/.test(r.message) ? "" : "."}` : text, "ok");
      if (!dryRun) { this.loadStorage(); this.ctx.emit("files-changed", {}); }
    } catch (err) {
      message(this.cleanupMsg, describeError(err, dryRun ? "Checking the clean-up" : "The clean-up"), "error");
    }
  }

  confirmCleanup(button) {
    const box = $("#cleanup-confirm");
    box.hidden = false;
    const yes = $("#cleanup-yes");
    const no = $("#cleanup-no");
    const done = () => { box.hidden = true; yes.onclick = null; no.onclick = null; button.focus(); };
    yes.onclick = async () => { box.hidden = true; await busy(button, "Cleaning up…", () => this.cleanup(false)); button.focus(); };
    no.onclick = done;
    yes.focus();
  }

  async loadHealth() {
    try {
      const s = await this.ctx.session.call("get_status");
      const rows = Object.entries(s.components || {}).map(([name, c]) => h("tr", { dataset: { component: name } },
        h("th", { scope: "row" }, name),
        h("td", {}, h("span", { class: "badge", dataset: { status: String(c.status || "unknown").toLowerCase() } }, c.status || "unknown")),
        h("td", {}, c.message || ""),
        h("td", { class: "muted" }, formatTime(c.last_checked))));
      fill(this.health,
        h("p", {}, "Overall: ", h("span", { class: "badge", id: "health-overall", dataset: { status: String(s.status || "").toLowerCase() } }, s.status || "unknown"),
          ` · version ${s.version || "?"} · up ${formatSeconds(s.uptime)}`),
        table("Component health", ["Component", "Status", "Message", "Checked"], rows, "health-table"));
    } catch (err) {
      fill(this.health, h("p", { class: "error-text" }, describeError(err, "Reading the health")));
    }
  }

  async loadMetrics() {
    try {
      const m = await this.ctx.session.call("get_metrics");
      const req = m.requests || {};
      const sys = m.system || {};
      const per = Object.entries(req.per_method || {}).sort((a, b) => (b[1].count || 0) - (a[1].count || 0)).slice(0, 10);
      const tiles = [
        ["Requests", req.total ?? "–", "metric-requests"],
        ["Errors", req.errors ?? "–", "metric-errors"],
        ["Connections", m.connections ? `${m.connections.active} (peak ${m.connections.peak})` : "–", "metric-connections"],
        ["Cameras", m.cameras ? `${m.cameras.connected} of ${m.cameras.total}` : "–", "metric-cameras"],
        ["Streams", m.streams ? `${m.streams.active} active, ${m.streams.viewers} viewer(s)` : "no media backend", "metric-streams"],
        ["Recordings", m.recordings ? `${m.recordings.active} active` : "no capture engine", "metric-recordings"],
        ["Memory", formatBytes(sys.rss_bytes), "metric-memory"],
        ["CPU", typeof sys.cpu_percent === "number" ? `${sys.cpu_percent.toFixed(1)} %` : "–", "metric-cpu"],
        ["Uptime", formatSeconds(sys.uptime), "metric-uptime"],
      ];
      const ms = (v) => (typeof v === "number" ? `${v.toFixed(v < 10 ? 2 : 0)} ms` : "–");
      fill(this.metrics,
        h("dl", { class: "tiles" }, tiles.map(([k, v, id]) => h("div", { class: "tile", id }, h("dt", {}, k), h("dd", {}, String(v))))),
        per.length ? table("Latency per method", ["Method", "Calls", "Errors", "p50", "p99"], per.map(([name, v]) => h("tr", {},
          h("th", { scope: "row", class: "mono" }, name), h("td", { class: "num" }, String(v.count ?? 0)), h("td", { class: "num" }, String(v.errors ?? 0)),
          h("td", { class: "num" }, ms(v.p50_ms)), h("td", { class: "num" }, ms(v.p99_ms)))), "latency-table") : null);
    } catch (err) {
      fill(this.metrics, h("p", { class: "error-text" }, describeError(err, "Reading the metrics")));
    }
  }

  async loadServer() {
    try {
      const info = await this.ctx.session.call("get_server_info");
      this.ctx.setServerInfo(info);
      fill(this.plugins, table("Plugins", ["Plugin", "Kind", "Version", "Status"], (info.plugins || []).map((p) => h("tr", { dataset: { plugin: p.name } },
        h("th", { scope: "row" }, p.name), h("td", {}, (p.kind || "").split(",").filter(Boolean).join(", ") || "–"), h("td", {}, p.version || "–"),
        h("td", {}, h("span", { class: "badge", dataset: { status: p.enabled ? "healthy" : "unhealthy" } }, p.status || (p.enabled ? "active" : "disabled"))))), "plugins-table"));
      fill(this.server, h("dl", { class: "facts" },
        h("dt", {}, "Server"), h("dd", {}, `${info.name || "camera-service"} ${info.version || ""}`),
        h("dt", {}, "Built"), h("dd", {}, formatTime(info.build_date)),
        h("dt", {}, "Architecture"), h("dd", {}, `${info.architecture || "?"}, Swift ${info.swift_version || "?"}`),
        h("dt", {}, "Capabilities"), h("dd", { id: "server-capabilities" }, (info.capabilities || []).join(", ") || "–"),
        h("dt", {}, "Formats"), h("dd", {}, (info.supported_formats || []).join(", ") || "none yet")));
    } catch (err) {
      fill(this.plugins, h("p", { class: "error-text" }, describeError(err, "Reading the plugins")));
    }
  }
}
