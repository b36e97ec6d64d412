// The Files view: recordings and snapshots, newest first, paged, per camera, with sizes and
// durations; preview (Blob URL in <img>/<video>), download (fetch + <a download>), and for
// operators delete with an inline confirmation.
import { describeError } from "./errors.js";
import { BlobSlot, downloadFile, fetchBlob, filePath } from "./media.js";
import { $, announce, busy, fill, formatBytes, formatSeconds, formatTime, h, message } from "./ui.js";

const KINDS = {
  recordings: { list: "list_recordings", del: "delete_recording", noun: "recording" },
  snapshots: { list: "list_snapshots", del: "delete_snapshot", noun: "snapshot" },
};

export class FilesView {
  constructor(ctx) {
    this.ctx = ctx;
    this.kind = "recordings";
    this.offset = 0;
    this.total = 0;
    this.loaded = false;
    this.blobs = new BlobSlot();
    this.body = $("#files-body");
    this.msg = $("#files-msg");
    this.table = $("#files-table");
    this.device = $("#files-device");
    this.limit = $("#files-limit");
    this.pageText = $("#files-page");
    this.prev = $("#files-prev");
    this.next = $("#files-next");
    this.preview = $("#files-preview");
    this.previewTitle = $("#files-preview-title");
    this.previewBody = $("#files-preview-body");
    this.extraHead = $("#files-extra-head");
    for (const b of document.querySelectorAll("[data-kind]")) b.addEventListener("click", () => this.setKind(b.dataset.kind));
    this.device.addEventListener("change", () => { this.offset = 0; this.load(); });
    this.limit.addEventListener("change", () => { this.offset = 0; this.load(); });
    this.prev.addEventListener("click", () => { this.offset = Math.max(0, this.offset - this.pageSize); this.load(); });
    this.next.addEventListener("click", () => { this.offset += this.pageSize; this.load(); });
    $("#files-refresh").addEventListener("click", (ev) => busy(ev.currentTarget, "Refreshing…", () => this.load()));
    $("#files-preview-close").addEventListener("click", () => this.closePreview());
    this.preview.addEventListener("keydown", (ev) => { if (ev.key === "Escape") { this.closePreview(); $("#files-refresh").focus(); } });
    ctx.on("files-changed", (d) => { if (this.visible && (!d || !d.kind || d.kind === this.kind)) this.scheduleReload(); });
    ctx.on("cameras-changed", () => this.fillDevices());
  }

  get pageSize() { return Number(this.limit.value) || 20; }
  get visible() { return !$("#view-files").hidden; }

  show() { this.fillDevices(); this.load(); }

  reset() {
    this.closePreview();
    this.body.replaceChildren();
    message(this.msg, "");
    this.offset = 0;
    this.loaded = false;
  }

  fillDevices() {
    const current = this.device.value;
    const devices = this.ctx.cameras.devices();
    fill(this.device, h("option", { value: "" }, "All cameras"), devices.map((d) => h("option", { value: d }, this.ctx.cameras.card(d)?.cam.name ? `${this.ctx.cameras.card(d).cam.name} (${d})` : d)));
    this.device.value = devices.includes(current) ? current : "";
  }

  setKind(kind) {
    if (!KINDS[kind]) return;
    this.kind = kind;
    this.offset = 0;
    for (const b of document.querySelectorAll("[data-kind]")) b.setAttribute("aria-pressed", String(b.dataset.kind === kind));
    this.closePreview();
    this.load();
  }

  scheduleReload() {
    window.clearTimeout(this.reloadTimer);
    this.reloadTimer = window.setTimeout(() => this.load(), 300);
  }

  async load() {
    const k = KINDS[this.kind];
    const params = { limit: this.pageSize, offset: this.offset };
    if (this.device.value) params.device = this.device.value;
    this.table.setAttribute("aria-busy", "true");
    try {
      const page = await this.ctx.session.call(k.list, params);
      this.total = typeof page.total === "number" ? page.total : (page.files || []).length;
      if (this.offset > 0 && this.offset >= this.total) {
        // The last page emptied (deletes): go back one.
        this.offset = Math.max(0, Math.floor((this.total - 1) / this.pageSize) * this.pageSize);
        return this.load();
      }
      this.render(page.files || []);
      this.table.hidden = false;
      message(this.msg, "");
      this.loaded = true;
    } catch (err) {
      this.total = 0;
      this.render([]);
      this.table.hidden = true;
      message(this.msg, describeError(err, `Listing the ${this.kind}`), "error");
    } finally {
      this.table.removeAttribute("aria-busy");
    }
    return undefined;
  }

  render(files) {
    const rec = this.kind === "recordings";
    this.extraHead.textContent = rec ? "Duration" : "Resolution";
    this.table.dataset.kind = this.kind;
    fill(this.body, files.map((f) => this.row(f, rec)));
    if (!files.length) {
      this.body.append(h("tr", { class: "empty" }, h("td", { colspan: "6" }, this.total ? "Nothing on this page." : `No ${this.kind} yet.`)));
    }
    const from = files.length ? this.offset + 1 : 0;
    const to = this.offset + files.length;
    this.pageText.textContent = this.total ? `${from}–${to} of ${this.total}` : "";
    this.prev.disabled = this.offset === 0;
    this.next.disabled = to >= this.total;
  }

  row(f, rec) {
    const extra = rec ? (typeof f.duration === "number" ? formatSeconds(f.duration) : "–") : (f.resolution || "–");
    const actions = h("td", { class: "file-actions", "data-label": "Actions" },
      h("button", { type: "button", class: "btn btn-small", dataset: { action: "preview" }, onclick: () => this.openPreview(f) }, "Preview"),
      h("button", { type: "button", class: "btn btn-small", dataset: { action: "download" }, onclick: (ev) => this.download(f, ev.currentTarget) }, "Download"),
      this.ctx.session.can("operator")
        ? h("button", { type: "button", class: "btn btn-small btn-danger", dataset: { action: "delete" }, onclick: (ev) => this.askDelete(f, ev.currentTarget) }, "Delete")
        : null);
    return h("tr", { dataset: { filename: f.filename } },
      h("td", { class: "file-name", "data-label": "File" }, h("span", { class: "mono" }, f.filename), f.in_use ? h("span", { class: "badge", dataset: { status: "busy" } }, "being written") : null),
      h("td", { "data-label": "Camera" }, f.device || "–"),
      h("td", { "data-label": "Created" }, formatTime(f.created_time || f.modified_time)),
      h("td", { class: "num", "data-label": "Size" }, formatBytes(f.file_size)),
      h("td", { class: "num", "data-label": rec ? "Duration" : "Resolution" }, extra),
      actions);
  }

  async download(f, button) {
    await busy(button, "Downloading…", async () => {
      try {
        await downloadFile(this.ctx.session, filePath(this.kind, f.filename, f.download_url), f.filename);
        message(this.msg, `Downloaded ${f.filename}.`, "ok");
      } catch (err) {
        message(this.msg, describeError(err, `Downloading ${f.filename}`), "error");
      }
    });
  }

  askDelete(f, button) {
    const cell = button.parentElement;
    const saved = Array.from(cell.childNodes);
    const cancel = () => { fill(cell, saved); button.focus(); };
    const yes = h("button", { type: "button", class: "btn btn-small btn-danger", dataset: { action: "confirm-delete" }, onclick: () => this.remove(f, cell, cancel) }, "Yes, delete");
    fill(cell, h("span", { class: "confirm-text", role: "alert" }, `Delete ${f.filename}?`), " ", yes, " ",
      h("button", { type: "button", class: "btn btn-small", dataset: { action: "cancel-delete" }, onclick: cancel }, "Cancel"));
    yes.focus();
  }

  async remove(f, cell, restore) {
    const k = KINDS[this.kind];
    try {
      const r = await this.ctx.session.call(k.del, { filename: f.filename });
      if (this.previewName === f.filename) this.closePreview();
      await this.load();
      message(this.msg, r && r.message ? `${r.message.charAt(0).toUpperCase()}${r.message.slice(1)}.` : `Deleted ${f.filename}.`, "ok");
      announce(`Deleted ${f.filename}.`);
      $("#files-refresh").focus();
    } catch (err) {
      restore();
      message(this.msg, describeError(err, `Deleting ${f.filename}`), "error");
    }
  }

  async openPreview(f) {
    this.preview.hidden = false;
    this.previewName = f.filename;
    this.previewTitle.textContent = `Preview: ${f.filename}`;
    fill(this.previewBody, h("p", { class: "muted" }, "Loading…"));
    this.preview.scrollIntoView({ block: "nearest" });
    try {
      const blob = await fetchBlob(this.ctx.session, filePath(this.kind, f.filename, f.download_url));
      const url = this.blobs.set(blob);
      const media = this.kind === "snapshots"
        ? h("img", { src: url, alt: `Snapshot ${f.filename}`, class: "preview-media" })
        : h("video", { src: url, controls: true, class: "preview-media", "aria-label": `Recording ${f.filename}` });
      fill(this.previewBody, media, h("p", { class: "muted" }, `${formatBytes(blob.size)}${f.duration ? ` · ${formatSeconds(f.duration)}` : ""}${f.resolution ? ` · ${f.resolution}` : ""}`));
    } catch (err) {
      fill(this.previewBody, h("p", { class: "error-text", role: "alert" }, describeError(err, `Loading ${f.filename}`)));
    }
    $("#files-preview-close").focus();
  }

  closePreview() {
    this.preview.hidden = true;
    this.previewName = "";
    this.previewBody.replaceChildren();
    this.blobs.clear();
  }
}
