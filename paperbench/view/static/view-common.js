// paperbench view: helpers shared by every page. Plain JavaScript, no build step.
//
// Everything shown comes from run directories (agent output, model output, file names) and is
// untrusted: elements are built with el(), which sets text with textContent and attributes
// with setAttribute, never parsed as HTML markup anywhere on the page.
"use strict";

const TOKEN = document.querySelector('meta[name="pb-token"]').content;
const TOKEN_HEADER = "X-Paperbench-Token";

function $(id) {
  return document.getElementById(id);
}

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// replaceChildren that skips absent parts (null, undefined, false) instead of printing them.
function fill(parent, ...children) {
  parent.replaceChildren(
    ...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false),
  );
  return parent;
}

const SVG_NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null) search.set(key, String(value));
  }
  return search.toString();
}

async function api(path, params, body) {
  const url = `${path}?${query(params)}`;
  const options = { headers: { [TOKEN_HEADER]: TOKEN }, cache: "no-store" };
  if (body !== undefined) {
    options.method = "POST";
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, options);
  } catch (error) {
    return { ok: false, status: 0, data: { error: `the viewer does not answer (${error})` } };
  }
  let data;
  try {
    data = await response.json();
  } catch (error) {
    data = { error: `HTTP ${response.status}` };
  }
  return { ok: response.ok, status: response.status, data };
}

function setStatus(text, kind) {
  const status = $("status");
  status.textContent = text || "";
  status.className = kind || "";
}

function fmtScore(value) {
  return typeof value === "number" ? value.toFixed(3) : "–";
}

function fmtMoney(value) {
  if (value === null || value === undefined) return "–";
  return value < 0.01 && value > 0 ? `$${value.toFixed(4)}` : `$${value.toFixed(2)}`;
}

function fmtSeconds(value) {
  if (typeof value !== "number") return "–";
  if (value < 60) return `${value.toFixed(1)} s`;
  if (value < 3600) return `${Math.floor(value / 60)} min ${Math.round(value % 60)} s`;
  return `${Math.floor(value / 3600)} h ${Math.round((value % 3600) / 60)} min`;
}

function fmtInt(value) {
  return typeof value === "number" ? Math.round(value).toLocaleString("en") : "–";
}

function fmtBytes(value) {
  if (typeof value !== "number") return "–";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let size = value;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit += 1;
  }
  return unit ? `${size.toFixed(1)} ${units[unit]}` : `${size} B`;
}

// A score's colour: red (0) through amber to green (1); grey when there is none.
function scoreColour(value, valid) {
  if (typeof value !== "number" || valid === false) return "#d9d9d9";
  return `hsl(${Math.round(120 * Math.max(0, Math.min(1, value)))}, 60%, 80%)`;
}

function scoreChip(value, valid, extraClass) {
  const chip = el("span", {
    class: `chip ${extraClass || ""}`,
    text: valid === false ? "invalid" : fmtScore(value),
  });
  chip.style.backgroundColor = scoreColour(value, valid);
  return chip;
}

function keyValues(pairs) {
  return el(
    "dl",
    { class: "facts" },
    pairs
      .filter((pair) => pair && pair[1] !== undefined)
      .map(([key, value]) => [
        el("dt", { text: key }),
        el("dd", {}, value instanceof Node ? value : String(value ?? "–")),
      ]),
  );
}

function section(title, ...children) {
  return el("section", { class: "card" }, el("h2", { text: title }), ...children);
}

function runLink(id, tab, extra) {
  const tail = extra ? `?${query(extra)}` : "";
  return `#/run/${encodeURIComponent(id)}/${tab || "overview"}${tail}`;
}

// Polling that stops when the page changes: each page registers its timer here.
const live = { timer: null, generation: 0 };

function stopLive() {
  clearTimeout(live.timer);
  live.timer = null;
  live.generation += 1;
  $("live").textContent = "";
}

function every(milliseconds, action) {
  const generation = live.generation;
  const tick = async () => {
    if (generation !== live.generation) return;
    const again = await action();
    if (again !== false && generation === live.generation)
      live.timer = setTimeout(tick, milliseconds);
    else if (generation === live.generation) $("live").textContent = "";
  };
  live.timer = setTimeout(tick, milliseconds);
}

function mark(name) {
  if (window.performance && performance.mark) performance.mark(name);
  document.body.dataset[name.replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = "1";
}
