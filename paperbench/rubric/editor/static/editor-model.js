// The rubric editor's model: the tree as the file holds it, paths, edits and undo.
//
// The page holds the rubric as the JSON the file contains (unknown keys included) and edits
// it in place; undo keeps whole-tree snapshots: simple, and cheap next to a server check.
// Loaded before editor.js, which renders the page and talks to the server.
"use strict";

const TOKEN = decodeURIComponent(document.querySelector('meta[name="pb-token"]').content);
const CHECK_DELAY_MS = 250;
const COLLAPSE_BELOW_DEPTH = 1; // big trees open with the top two levels visible
const BIG_TREE_NODES = 150;

const state = {
  tree: null,
  version: null,
  categories: [],
  finegrained: [],
  selected: null,
  collapsed: new WeakSet(),
  undo: [],
  redo: [],
  dirty: false,
  check: { problems: [], advice: [], shares: {}, valid: true },
  checkSeq: 0,
  checkTimer: null,
  pendingSnapshot: null,
  paths: new Map(),
  parents: new Map(),
};

const $ = (id) => document.getElementById(id);

async function api(method, url, body) {
  const response = await fetch(url, {
    method,
    headers: { "X-Paperbench-Token": TOKEN, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
  });
  let data = null;
  try {
    data = await response.json();
  } catch (error) {
    data = { error: `${response.status} ${response.statusText}` };
  }
  return { ok: response.ok, status: response.status, data };
}

function setStatus(text, kind = "info") {
  const status = $("status");
  status.textContent = text;
  status.className = kind;
}

// --- the tree ------------------------------------------------------------------------------

function children(node) {
  if (!Array.isArray(node.sub_tasks)) node.sub_tasks = [];
  return node.sub_tasks;
}

function isLeaf(node) {
  return children(node).length === 0;
}

function index() {
  state.paths = new Map();
  state.parents = new Map();
  const visit = (node, path, parent) => {
    state.paths.set(node, path);
    state.parents.set(node, parent);
    children(node).forEach((child, i) => visit(child, path === "" ? `${i}` : `${path}/${i}`, node));
  };
  visit(state.tree, "", null);
}

function nodeAt(path) {
  let node = state.tree;
  for (const step of path.split("/").filter(Boolean)) {
    node = children(node)[Number(step)];
    if (node === undefined) return null;
  }
  return node;
}

function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function newNode(category, finegrained) {
  return {
    id: uuid(),
    requirements: "",
    weight: 1,
    sub_tasks: [],
    task_category: category || state.categories[0],
    finegrained_task_category: finegrained || null,
  };
}

// A leaf that gains a child becomes an inner node: inner nodes carry no category, so the
// categories move to the child. A node that loses its last child becomes a leaf again and
// takes the categories of the leaf it lost, so the tree stays valid where it can.
function becomeInner(node) {
  const categories = {
    task_category: node.task_category || null,
    finegrained_task_category: node.finegrained_task_category || null,
  };
  node.task_category = null;
  node.finegrained_task_category = null;
  return categories;
}

function firstLeaf(node) {
  while (!isLeaf(node)) node = children(node)[0];
  return node;
}

function becomeLeafLike(node, removed) {
  if (!isLeaf(node)) return;
  const source = firstLeaf(removed);
  node.task_category = source.task_category || state.categories[0];
  node.finegrained_task_category = source.finegrained_task_category || null;
}

// --- undo ----------------------------------------------------------------------------------

function snapshot() {
  return { tree: JSON.stringify(state.tree), selected: state.selected ? state.paths.get(state.selected) : null };
}

function remember(saved = snapshot()) {
  state.undo.push(saved);
  state.redo = [];
  if (state.undo.length > 500) state.undo.shift();
}

function restore(saved) {
  state.tree = JSON.parse(saved.tree);
  index();
  state.selected = saved.selected === null ? null : nodeAt(saved.selected);
  changed(true);
}

function undo() {
  if (!state.undo.length) return;
  state.redo.push(snapshot());
  restore(state.undo.pop());
}

function redo() {
  if (!state.redo.length) return;
  state.undo.push(snapshot());
  restore(state.redo.pop());
}

// --- edits ---------------------------------------------------------------------------------

function changed(structure) {
  state.dirty = true;
  if (structure) index();
  render(structure);
  scheduleCheck();
}

function structural(edit) {
  if (!state.selected) return;
  const before = snapshot();
  if (edit(state.selected) === false) return;
  remember(before);
  changed(true);
}

function expandTo(node) {
  for (let at = state.parents.get(node); at; at = state.parents.get(at)) state.collapsed.delete(at);
}

function select(node) {
  state.selected = node;
  if (node) expandTo(node);
  render(true);
}

const edits = {
  addChild(node) {
    let category = null;
    let finegrained = null;
    if (isLeaf(node)) {
      ({ task_category: category, finegrained_task_category: finegrained } = becomeInner(node));
    } else {
      const last = children(node)[children(node).length - 1];
      if (isLeaf(last)) [category, finegrained] = [last.task_category, last.finegrained_task_category];
    }
    const child = newNode(category, finegrained);
    children(node).push(child);
    state.collapsed.delete(node);
    state.selected = child;
  },
  addSibling(node) {
    const parent = state.parents.get(node);
    if (!parent) return false;
    const leaf = isLeaf(node);
    const sibling = newNode(leaf ? node.task_category : null, leaf ? node.finegrained_task_category : null);
    children(parent).splice(children(parent).indexOf(node) + 1, 0, sibling);
    state.selected = sibling;
  },
  duplicate(node) {
    const parent = state.parents.get(node);
    if (!parent) return false;
    const copy = JSON.parse(JSON.stringify(node));
    const renew = (item) => {
      if ("id" in item) item.id = uuid();
      children(item).forEach(renew);
    };
    renew(copy);
    children(parent).splice(children(parent).indexOf(node) + 1, 0, copy);
    state.selected = copy;
  },
  remove(node) {
    const parent = state.parents.get(node);
    if (!parent) return false;
    const siblings = children(parent);
    const at = siblings.indexOf(node);
    siblings.splice(at, 1);
    becomeLeafLike(parent, node);
    state.selected = siblings[at] || siblings[at - 1] || parent;
  },
  moveUp(node) {
    const parent = state.parents.get(node);
    const siblings = parent ? children(parent) : [];
    const at = siblings.indexOf(node);
    if (at <= 0) return false;
    [siblings[at - 1], siblings[at]] = [siblings[at], siblings[at - 1]];
  },
  moveDown(node) {
    const parent = state.parents.get(node);
    const siblings = parent ? children(parent) : [];
    const at = siblings.indexOf(node);
    if (at < 0 || at >= siblings.length - 1) return false;
    [siblings[at + 1], siblings[at]] = [siblings[at], siblings[at + 1]];
  },
  indent(node) {
    const parent = state.parents.get(node);
    const siblings = parent ? children(parent) : [];
    const at = siblings.indexOf(node);
    if (at <= 0) return false;
    const target = siblings[at - 1];
    siblings.splice(at, 1);
    if (isLeaf(target)) becomeInner(target);
    children(target).push(node);
    state.collapsed.delete(target);
  },
  outdent(node) {
    const parent = state.parents.get(node);
    const grandparent = parent ? state.parents.get(parent) : null;
    if (!grandparent) return false;
    children(parent).splice(children(parent).indexOf(node), 1);
    becomeLeafLike(parent, node);
    children(grandparent).splice(children(grandparent).indexOf(parent) + 1, 0, node);
  },
};

// Typing in a field is one undo step per visit to the field, not one per keystroke.
function fieldEdit(apply) {
  return (event) => {
    if (!state.selected) return;
    if (state.pendingSnapshot) {
      remember(state.pendingSnapshot);
      state.pendingSnapshot = null;
    }
    apply(state.selected, event.target.value);
    changed(false);
  };
}

function parseWeight(text) {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number.parseInt(trimmed, 10);
  const number = Number(trimmed);
  return trimmed !== "" && Number.isFinite(number) ? number : trimmed;
}

