// DOM helpers and formatting shared by every view. No innerHTML with data: text goes in as text.

/** h("button", {type: "button", class: "x", onclick: f}, "Label", child) → element. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "text") el.textContent = value;
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

export function show(el, visible = true) {
  el.hidden = !visible;
}

/** Polite announcement in the page's status line (read by screen readers). */
export function announce(text) {
  const el = $("#announce");
  if (!el) return;
  el.textContent = "";
  // A fresh text node so that repeating the same sentence is announced again.
  window.setTimeout(() => { el.textContent = text; }, 20);
}

/** A sentence in an element that has role=status or role=alert; kind: "info" | "error" | "ok". */
export function message(el, text, kind = "info") {
  if (!el) return;
  el.textContent = text || "";
  el.dataset.kind = kind;
  el.hidden = !text;
}

/** Disables a button while `work` runs, with an optional busy label. */
export async function busy(button, label, work) {
  const before = button.textContent;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  if (label) button.textContent = label;
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    if (label) button.textContent = before;
  }
}

const UNITS = ["B", "KB", "MB", "GB", "TB"];
export function formatBytes(n) {
  if (typeof n !== "number" || !Number.isFinite(n) || n < 0) return "–";
  let i = 0;
  let v = n;
  while (v >= 1024 && i < UNITS.length - 1) { v /= 1024; i += 1; }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${UNITS[i]}`;
}

/** Seconds as "3.0 s", "1 min 05 s", "2 h 03 min". */
export function formatSeconds(s) {
  if (typeof s !== "number" || !Number.isFinite(s)) return "–";
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(Math.floor(s % 60)).padStart(2, "0")} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}

/** A running timer: 65 → "01:05", 3725 → "1:02:05". */
export function formatClock(s) {
  const t = Math.max(0, Math.floor(s));
  const hh = Math.floor(t / 3600);
  const mm = String(Math.floor((t % 3600) / 60)).padStart(2, "0");
  const ss = String(t % 60).padStart(2, "0");
  return hh ? `${hh}:${mm}:${ss}` : `${mm}:${ss}`;
}

export function formatTime(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function formatFps(fps) {
  return typeof fps === "number" ? `${fps} fps` : "–";
}

/** A stable id fragment from a device or file name. */
export function slug(s) {
  return String(s).replace(/[^A-Za-z0-9_-]/g, "_");
}

/** Sets a CSS custom property through the CSSOM (allowed by the console's CSP, unlike style=""). */
export function setVar(el, name, value) {
  el.style.setProperty(name, value);
}
