// The daemon's /files/* endpoints. They need the credential in a header, which an <img src> or
// <a href> cannot send: files are fetched and shown or saved through Blob URLs.
import { HttpError } from "./errors.js";

/** The same-origin path of a file: its download_url when it has one, else /files/<kind>/<name>. */
export function filePath(kind, filename, downloadUrl) {
  if (typeof downloadUrl === "string" && downloadUrl) {
    try {
      const u = new URL(downloadUrl, location.origin);
      // Never send the credential to another origin.
      if (u.origin === location.origin && u.pathname.startsWith("/files/")) return u.pathname + u.search;
    } catch { /* fall back to the contract's path */ }
  }
  return `/files/${kind}/${encodeURIComponent(filename)}`;
}

const STATUS_TEXT = {
  400: "the daemon refused the file name",
  401: "the daemon did not accept your credentials for this file",
  403: "your role may not read this file",
  404: "the file is not there (any more)",
  416: "the daemon could not send that part of the file",
};

/** GET a file with the session's credential; resolves with a Blob. */
export async function fetchBlob(session, path, { signal } = {}) {
  const resp = await fetch(path, { headers: session.authHeaders(), cache: "no-store", credentials: "omit", signal });
  if (!resp.ok) {
    let text = STATUS_TEXT[resp.status] || `the daemon answered HTTP ${resp.status}`;
    try {
      const body = await resp.json();
      if (body && typeof body.error === "string" && !STATUS_TEXT[resp.status]) text = body.error;
    } catch { /* not JSON */ }
    throw new HttpError(resp.status, text);
  }
  return resp.blob();
}

/** Saves a file to the user's downloads (fetch → Blob → <a download>). */
export async function downloadFile(session, path, filename) {
  const blob = await fetchBlob(session, path);
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 60000);
  return blob;
}

/** Keeps one Blob URL per owner, revoking the previous one. */
export class BlobSlot {
  constructor() { this.url = ""; }
  set(blob) {
    this.clear();
    this.url = URL.createObjectURL(blob);
    return this.url;
  }
  clear() {
    if (this.url) URL.revokeObjectURL(this.url);
    this.url = "";
  }
}
