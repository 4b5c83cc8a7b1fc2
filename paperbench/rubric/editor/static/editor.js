// The rubric editor's page: rendering, checks and saves through the server, and wiring.
// Plain JavaScript, no build step; the model (state, edits, undo) is in editor-model.js.
//
// The server validates, lints and computes shares (POST /api/check) and saves
// (POST /api/save); this page only displays what it returns.
"use strict";

// --- checks --------------------------------------------------------------------------------

function scheduleCheck() {
  clearTimeout(state.checkTimer);
  $("checks").dataset.state = "pending";
  $("check-state").textContent = "checking…";
  state.checkTimer = setTimeout(runCheck, CHECK_DELAY_MS);
}

async function runCheck() {
  const seq = ++state.checkSeq;
  const { ok, data } = await api("POST", "/api/check", { tree: state.tree });
  if (seq !== state.checkSeq) return; // a newer edit is being checked
  if (!ok) {
    setStatus(`Check failed: ${data.error}`, "error");
    return;
  }
  state.check = data;
  $("checks").dataset.state = "idle";
  const errors = data.problems.filter((problem) => problem.severity === "error").length;
  $("check-state").textContent = errors
    ? `· ${errors} error${errors === 1 ? "" : "s"}`
    : `· valid, ${data.advice.length} piece${data.advice.length === 1 ? "" : "s"} of advice`;
  render(false);
}

// --- rendering -----------------------------------------------------------------------------

function percent(share) {
  return share === undefined ? "–" : `${(share * 100).toFixed(2)}%`;
}

function marksByPath() {
  const marks = new Map();
  const add = (path, kind) => {
    const rank = { error: 3, warning: 2, advice: 1 };
    if ((rank[kind] || 0) > (rank[marks.get(path)] || 0)) marks.set(path, kind);
  };
  for (const problem of state.check.problems) add(problem.path, problem.severity);
  for (const item of state.check.advice) [item.path, ...item.similar].forEach((p) => add(p, "advice"));
  return marks;
}

const SHORT = { "Code Development": "CD", "Code Execution": "CE", "Result Analysis": "RA" };

function rowFor(node, path, depth, marks) {
  const row = document.createElement("div");
  row.className = "row";
  row.setAttribute("role", "treeitem");
  row.dataset.path = path;
  row.style.paddingLeft = `${depth * 1.1 + 0.3}rem`;
  if (node === state.selected) row.classList.add("selected");
  const toggle = document.createElement("button");
  toggle.type = "button";
  toggle.className = "toggle";
  if (isLeaf(node)) {
    toggle.disabled = true;
    toggle.textContent = "·";
  } else {
    const open = !state.collapsed.has(node);
    row.setAttribute("aria-expanded", String(open));
    toggle.textContent = open ? "▾" : "▸";
    toggle.title = open ? "Collapse" : "Expand";
    toggle.addEventListener("click", (event) => {
      event.stopPropagation();
      if (open) state.collapsed.add(node);
      else state.collapsed.delete(node);
      render(true);
    });
  }
  const parts = [
    ["path", path === "" ? "root" : path],
    ["weight", `w ${node.weight}`],
    ["share", percent(state.check.shares[path])],
    ["cat", SHORT[node.task_category] || ""],
    ["req", node.requirements || "(empty requirement)"],
  ];
  row.append(toggle);
  for (const [cls, text] of parts) {
    const span = document.createElement("span");
    span.className = cls;
    span.textContent = text;
    if (cls === "cat" && text) span.classList.add(text);
    row.append(span);
  }
  const mark = marks.get(path);
  if (mark) {
    row.classList.add(`has-${mark}`);
    row.querySelector(".path").title = mark;
  }
  row.addEventListener("click", () => select(node));
  return row;
}

function renderTree() {
  const marks = marksByPath();
  const container = $("tree");
  const rows = [];
  const visit = (node, path, depth) => {
    rows.push(rowFor(node, path, depth, marks));
    if (state.collapsed.has(node)) return;
    children(node).forEach((child, i) => visit(child, path === "" ? `${i}` : `${path}/${i}`, depth + 1));
  };
  visit(state.tree, "", 0);
  container.replaceChildren(...rows);
}

function refreshRows() {
  const marks = marksByPath();
  for (const row of $("tree").querySelectorAll(".row")) {
    const node = nodeAt(row.dataset.path);
    if (!node) continue;
    row.querySelector(".req").textContent = node.requirements || "(empty requirement)";
    row.querySelector(".weight").textContent = `w ${node.weight}`;
    row.querySelector(".share").textContent = percent(state.check.shares[row.dataset.path]);
    row.classList.remove("has-error", "has-warning", "has-advice");
    const mark = marks.get(row.dataset.path);
    if (mark) row.classList.add(`has-${mark}`);
  }
}

function fillSelect(select, options, value, blank) {
  select.replaceChildren();
  for (const [optionValue, label] of [[ "", blank ], ...options.map((o) => [o, o])]) {
    const option = document.createElement("option");
    option.value = optionValue;
    option.textContent = label;
    select.append(option);
  }
  select.value = value || "";
}

function renderForm() {
  const form = $("node-form");
  const node = state.selected;
  form.hidden = !node;
  if (!node) return;
  const path = state.paths.get(node);
  const leaf = isLeaf(node);
  const root = path === "";
  $("node-path").textContent = root ? "root" : path;
  $("node-share").textContent = `${percent(state.check.shares[path])} of the score`;
  const active = document.activeElement;
  if (active !== $("requirements")) $("requirements").value = node.requirements ?? "";
  if (active !== $("weight")) $("weight").value = node.weight ?? "";
  if (active !== $("node-id")) $("node-id").value = node.id ?? "";
  fillSelect($("task_category"), state.categories, node.task_category, leaf ? "(none)" : "(inner node: none)");
  fillSelect($("finegrained_task_category"), state.finegrained, node.finegrained_task_category, "(none)");
  $("task_category").disabled = !leaf;
  $("finegrained_task_category").disabled = !leaf;
  const parent = state.parents.get(node);
  const at = parent ? children(parent).indexOf(node) : -1;
  $("add-sibling").disabled = root;
  $("duplicate").disabled = root;
  $("delete").disabled = root;
  $("move-up").disabled = at <= 0;
  $("move-down").disabled = !parent || at >= children(parent).length - 1;
  $("indent").disabled = at <= 0;
  $("outdent").disabled = !parent || !state.parents.get(parent);
  $("node-hint").textContent = leaf
    ? "A leaf: the judge scores it 0 or 1."
    : `An inner node: its score is the weighted mean of its ${children(node).length} children.`;
  const own = [
    ...state.check.problems.filter((p) => p.path === path).map((p) => [p.severity, p.line]),
    ...state.check.advice
      .filter((a) => a.path === path || a.similar.includes(path))
      .map((a) => ["advice", `${a.rule}: ${a.message}; fix: ${a.fix}`]),
  ];
  $("node-issues").replaceChildren(
    ...own.map(([kind, text]) => {
      const li = document.createElement("li");
      li.className = kind;
      li.textContent = text;
      return li;
    }),
  );
}

function renderChecks() {
  const list = $("problems");
  const items = [];
  const entry = (kind, path, text) => {
    const li = document.createElement("li");
    li.className = kind;
    li.dataset.path = path;
    li.textContent = text;
    li.addEventListener("click", () => {
      const node = nodeAt(path);
      if (node) select(node);
    });
    items.push(li);
  };
  for (const problem of state.check.problems) entry(problem.severity, problem.path, `${problem.severity}: ${problem.line}`);
  for (const item of state.check.advice) {
    const more = item.similar.length ? ` (and ${item.similar.length} similar)` : "";
    entry("advice", item.path, `${item.rule}: node ${item.path || "root"}: ${item.message}; fix: ${item.fix}${more}`);
  }
  if (!items.length) {
    const li = document.createElement("li");
    li.className = "clean";
    li.textContent = "No problems, no advice.";
    items.push(li);
  }
  list.replaceChildren(...items);
}

function renderSummary() {
  let leaves = 0;
  const perCategory = {};
  for (const [node, path] of state.paths) {
    if (!isLeaf(node)) continue;
    leaves += 1;
    const category = node.task_category || "(none)";
    perCategory[category] = (perCategory[category] || 0) + (state.check.shares[path] || 0);
  }
  const shares = Object.entries(perCategory)
    .map(([category, share]) => `${category} ${percent(share)}`)
    .join(" · ");
  $("summary").textContent = `${state.paths.size} nodes, ${leaves} leaves · ${shares}`;
}

function render(structure) {
  if (structure) renderTree();
  else refreshRows();
  renderForm();
  renderChecks();
  renderSummary();
  $("undo").disabled = !state.undo.length;
  $("redo").disabled = !state.redo.length;
  document.title = `${state.dirty ? "● " : ""}Rubric editor · ${$("file").textContent}`;
}

// --- load and save -------------------------------------------------------------------------

async function load() {
  const { ok, data } = await api("GET", "/api/rubric");
  if (!ok) {
    setStatus(`Cannot load: ${data.error}`, "error");
    return;
  }
  state.tree = data.tree;
  state.version = data.version;
  state.categories = data.categories;
  state.finegrained = data.finegrained_categories;
  state.undo = [];
  state.redo = [];
  state.dirty = false;
  state.collapsed = new WeakSet();
  index();
  if (state.paths.size > BIG_TREE_NODES) {
    for (const [node, path] of state.paths) {
      const depth = path === "" ? 0 : path.split("/").length;
      if (depth >= COLLAPSE_BELOW_DEPTH && !isLeaf(node)) state.collapsed.add(node);
    }
  }
  state.selected = state.tree;
  render(true);
  setStatus(`Opened ${data.path}`);
  scheduleCheck();
}

async function save() {
  setStatus("Saving…");
  const { ok, data } = await api("POST", "/api/save", { tree: state.tree, version: state.version });
  if (!ok) {
    setStatus(`Not saved: ${data.error}`, "error");
    return;
  }
  state.version = data.version;
  state.dirty = false;
  render(false);
  setStatus(`Saved ${data.path}`, "ok");
}

function download() {
  const blob = new Blob([`${JSON.stringify(state.tree, null, 4)}\n`], { type: "application/json" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = "rubric.json";
  link.click();
  URL.revokeObjectURL(link.href);
}

function setAll(collapse) {
  state.collapsed = new WeakSet();
  if (collapse) for (const node of state.paths.keys()) if (node !== state.tree && !isLeaf(node)) state.collapsed.add(node);
  render(true);
}

function wire() {
  const on = (id, handler) => $(id).addEventListener("click", handler);
  on("undo", undo);
  on("redo", redo);
  on("save", save);
  on("download", download);
  on("expand-all", () => setAll(false));
  on("collapse-all", () => setAll(true));
  on("reload", () => {
    if (!state.dirty || confirm("Discard your edits and load the file from disk?")) load();
  });
  on("add-child", () => structural(edits.addChild));
  on("add-sibling", () => structural(edits.addSibling));
  on("duplicate", () => structural(edits.duplicate));
  on("delete", () => structural(edits.remove));
  on("move-up", () => structural(edits.moveUp));
  on("move-down", () => structural(edits.moveDown));
  on("indent", () => structural(edits.indent));
  on("outdent", () => structural(edits.outdent));
  for (const id of ["requirements", "weight", "node-id"]) {
    $(id).addEventListener("focus", () => (state.pendingSnapshot = snapshot()));
    $(id).addEventListener("blur", () => (state.pendingSnapshot = null));
  }
  $("requirements").addEventListener("input", fieldEdit((node, value) => (node.requirements = value)));
  $("weight").addEventListener("input", fieldEdit((node, value) => (node.weight = parseWeight(value))));
  $("node-id").addEventListener("input", fieldEdit((node, value) => (node.id = value)));
  for (const id of ["task_category", "finegrained_task_category"]) {
    $(id).addEventListener("change", (event) => {
      structural((node) => {
        node[id] = event.target.value || null;
      });
    });
  }
  document.addEventListener("keydown", (event) => {
    const typing = ["TEXTAREA", "INPUT", "SELECT"].includes(document.activeElement?.tagName);
    const mod = event.ctrlKey || event.metaKey;
    if (mod && event.key.toLowerCase() === "s") {
      event.preventDefault();
      save();
    } else if (mod && !typing && event.key.toLowerCase() === "z") {
      event.preventDefault();
      if (event.shiftKey) redo();
      else undo();
    } else if (mod && !typing && event.key.toLowerCase() === "y") {
      event.preventDefault();
      redo();
    } else if (event.altKey && !typing) {
      const moves = { ArrowUp: edits.moveUp, ArrowDown: edits.moveDown, ArrowRight: edits.indent, ArrowLeft: edits.outdent };
      if (moves[event.key]) {
        event.preventDefault();
        structural(moves[event.key]);
      }
    }
  });
  window.addEventListener("beforeunload", (event) => {
    if (state.dirty) event.preventDefault();
  });
}

wire();
load();
