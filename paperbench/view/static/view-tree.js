// paperbench view: the graded tree of a run, and reviewers' overrides.
//
// The tree opens folded to its top level (a 2,000-leaf tree renders a handful of rows); rows
// are built only for nodes whose parents are open. Scores, validity and overrides come from the
// server (/api/run/tree), which applies the overrides with the judge's own aggregation.
"use strict";

const treeView = {
  run: null,
  data: null,
  nodes: new Map(),
  open: new Set([""]),
  selected: null,
  filter: "",
  only: "all",
};
const CATEGORY_SHORT = {
  "Code Development": "CD",
  "Code Execution": "CE",
  "Result Analysis": "RA",
};

function indexTree(tree) {
  const nodes = new Map();
  const visit = (node, position, parent, depth) => {
    const path = typeof node.path === "string" ? node.path : position;
    const children = Array.isArray(node.sub_tasks) ? node.sub_tasks : [];
    nodes.set(path, { node, path, parent, depth, children: [] });
    if (parent !== null) nodes.get(parent).children.push(path);
    children.forEach((child, index) =>
      visit(child, position ? `${position}/${index}` : String(index), path, depth + 1),
    );
  };
  visit(tree, "", null, 0);
  return nodes;
}

function isItem(entry) {
  return entry.children.length === 0;
}

function itemKind(entry) {
  const meta = entry.node.judge_metadata;
  return meta && meta.item === "subtree" ? "subtree" : "leaf";
}

// Paths to show when a filter is on: the matching nodes and their ancestors.
function filteredPaths() {
  const text = treeView.filter.trim().toLowerCase();
  if (!text && treeView.only === "all") return null;
  const keep = new Set();
  for (const entry of treeView.nodes.values()) {
    if (!isItem(entry)) continue;
    const node = entry.node;
    if (treeView.only === "invalid" && node.valid_score !== false) continue;
    if (treeView.only === "reviewed" && !node.review) continue;
    if (treeView.only === "failed" && !(node.valid_score !== false && node.score < 1)) continue;
    if (text) {
      const haystack =
        `${node.requirements || ""}\n${node.explanation || ""}\n${entry.path}`.toLowerCase();
      if (!haystack.includes(text)) continue;
    }
    for (let path = entry.path; path !== null; path = treeView.nodes.get(path).parent)
      keep.add(path);
  }
  return keep;
}

function treeRow(entry, shownOpen) {
  const node = entry.node;
  const item = isItem(entry);
  const open = shownOpen.has(entry.path);
  const toggle = el("button", {
    type: "button",
    class: "toggle",
    text: item ? "·" : open ? "▾" : "▸",
    disabled: item,
  });
  if (!item) {
    toggle.addEventListener("click", (event) => {
      event.stopPropagation();
      if (treeView.open.has(entry.path)) treeView.open.delete(entry.path);
      else treeView.open.add(entry.path);
      renderTreeRows();
    });
  }
  const invalid = node.valid_score === false;
  const row = el(
    "div",
    {
      class: `row${treeView.selected === entry.path ? " selected" : ""}${invalid ? " invalid" : ""}${node.review ? " overridden" : ""}`,
      role: "treeitem",
      "aria-expanded": item ? null : String(open),
      dataset: { path: entry.path },
      onclick: () => selectNode(entry.path),
    },
    toggle,
    scoreChip(node.score, item ? !invalid : true),
    el("span", { class: "path", text: entry.path === "" ? "root" : entry.path }),
    el("span", { class: "req", text: node.requirements || "" }),
    el("span", { class: "weight", text: `w ${node.weight}` }),
    item && node.task_category
      ? el("span", {
          class: "cat",
          title: node.task_category,
          text: CATEGORY_SHORT[node.task_category] || node.task_category,
        })
      : null,
    invalid
      ? el("span", { class: "badge invalid", title: node.explanation || "", text: "invalid" })
      : null,
    node.review
      ? el("span", {
          class: "badge reviewed",
          title: `${node.review.reviewer}: ${node.review.reason}`,
          text: "reviewed",
        })
      : null,
    !item && node.reviewed_items
      ? el("span", { class: "badge reviewed", text: `${node.reviewed_items} reviewed` })
      : null,
  );
  row.style.paddingLeft = `${entry.depth * 1.1 + 0.3}rem`;
  return row;
}

function renderTreeRows() {
  const keep = filteredPaths();
  const shownOpen = keep ? keep : treeView.open;
  const rows = [];
  const visit = (path) => {
    const entry = treeView.nodes.get(path);
    if (keep && !keep.has(path)) return;
    rows.push(treeRow(entry, shownOpen));
    if (shownOpen.has(path)) entry.children.forEach(visit);
  };
  visit("");
  fill($("tree"), rows);
  $("tree-count").textContent = keep
    ? `${[...keep].filter((p) => isItem(treeView.nodes.get(p))).length} items match`
    : "";
}

function renderTreeSummary() {
  const data = treeView.data;
  const judge = data.judge;
  const reviewed = data.reviewed;
  fill(
    $("tree-summary"),
    el("span", {}, "judge ", scoreChip(judge.score, true, "judge-score")),
    judge.invalid
      ? el("span", {
          class: "muted",
          text: ` (${judge.invalid} invalid; ${fmtScore(judge.score_if_invalid_passed)} had they passed)`,
        })
      : null,
    data.overrides
      ? el(
          "span",
          {},
          " · reviewed ",
          scoreChip(reviewed.score, true, "reviewed-score"),
          el("span", {
            class: "muted",
            text: ` (${data.overrides} override${data.overrides === 1 ? "" : "s"}${reviewed.invalid ? `, ${reviewed.invalid} still invalid` : ""})`,
          }),
        )
      : el("span", { class: "muted", text: " · no overrides" }),
    el("span", { class: "muted", text: ` · ${judge.items} items` }),
  );
}

async function openEvidence(reference) {
  const target = $("evidence-view");
  fill(target, el("p", { class: "muted", text: `opening ${reference}…` }));
  const { ok, data } = await api("/api/run/evidence", { run: treeView.run, ref: reference });
  if (!ok || data.problem) {
    fill(
      target,
      el("p", { class: "error", text: `${reference}: ${ok ? data.problem : data.error}` }),
    );
    return;
  }
  fill(
    target,
    textViewer({
      run: treeView.run,
      area: data.area,
      path: data.path,
      line: data.start,
      end: data.end,
    }),
  );
}

function reviewForm(entry) {
  const node = entry.node;
  const kind = itemKind(entry);
  const score =
    kind === "leaf"
      ? el(
          "select",
          { id: "review-score" },
          el("option", { value: "1", text: "1 — met" }),
          el("option", { value: "0", text: "0 — not met" }),
        )
      : el("input", { id: "review-score", type: "number", min: "0", max: "1", step: "0.05" });
  score.value = String(
    node.review
      ? node.review.score
      : node.valid_score === false
        ? kind === "leaf"
          ? 1
          : 0.5
        : node.score >= 1
          ? 0
          : 1,
  );
  const reason = el("textarea", {
    id: "review-reason",
    rows: "3",
    placeholder: "Why: what in the submission or the log decides it",
  });
  const reviewer = el("input", {
    id: "review-reviewer",
    type: "text",
    value: localStorage.getItem("pb-reviewer") || treeView.data.reviewer || "",
  });
  const result = el("div", { id: "review-status", role: "status" });
  const save = el("button", {
    type: "button",
    id: "review-save",
    class: "primary",
    text: node.review ? "Replace override" : "Override the judge",
  });
  const remove = node.review
    ? el("button", {
        type: "button",
        id: "review-remove",
        class: "danger",
        text: "Remove override",
      })
    : null;
  const send = async (route, body) => {
    localStorage.setItem("pb-reviewer", reviewer.value);
    result.textContent = "saving…";
    const { ok, data } = await api(route, null, {
      run: treeView.run,
      path: entry.path,
      reviewer: reviewer.value,
      reason: reason.value,
      ...body,
    });
    if (!ok) {
      result.textContent = `Not saved: ${data.error}`;
      result.className = "error";
      return;
    }
    applyTree(data);
    setStatus(
      `Saved: ${entry.path} ${route.endsWith("remove") ? "back to the judge's score" : "overridden"}; reviewed score ${fmtScore(data.reviewed.score)}`,
    );
  };
  save.addEventListener("click", () => send("/api/run/override", { score: Number(score.value) }));
  if (remove) remove.addEventListener("click", () => send("/api/run/override/remove", {}));
  return el(
    "div",
    { class: "review" },
    el("h3", { text: "Review" }),
    node.review
      ? el(
          "p",
          { class: "review-current" },
          `Overridden by ${node.review.reviewer} at ${node.review.at}: ${fmtScore(node.review.score)} (the judge said ${node.review.judge_valid_score === false ? "invalid" : fmtScore(node.review.judge_score)}). `,
          el("span", { text: node.review.reason }),
        )
      : null,
    el("label", {}, kind === "leaf" ? "Score " : "Score (0 to 1) ", score),
    el("label", {}, "Reason ", reason),
    el("label", {}, "Reviewer ", reviewer),
    el("div", { class: "actions" }, save, remove),
    result,
  );
}

function selectNode(path) {
  treeView.selected = path;
  for (const row of document.querySelectorAll("#tree .row.selected"))
    row.classList.remove("selected");
  const row = document.querySelector(`#tree .row[data-path="${CSS.escape(path)}"]`);
  if (row) row.classList.add("selected");
  const entry = treeView.nodes.get(path);
  if (!entry) return;
  const node = entry.node;
  const item = isItem(entry);
  const meta = node.judge_metadata || {};
  const evidence = Array.isArray(node.evidence) ? node.evidence : [];
  fill(
    $("node-detail"),
    el(
      "h2",
      {},
      "Node ",
      el("code", { id: "detail-path", text: path === "" ? "root" : path }),
      " ",
      scoreChip(node.score, item ? node.valid_score !== false : true),
    ),
    el("p", { class: "requirement", text: node.requirements || "" }),
    keyValues([
      ["weight", node.weight],
      item ? ["category", node.task_category || "–"] : null,
      item && node.finegrained_task_category
        ? ["finegrained", node.finegrained_task_category]
        : null,
      item
        ? [
            "graded as",
            `${itemKind(entry)} by ${meta.judged_by || "judge"}${meta.model_version ? ` (${meta.model_version})` : ""}`,
          ]
        : null,
      node.review
        ? [
            "judge's score",
            node.review.judge_valid_score === false ? "invalid" : fmtScore(node.review.judge_score),
          ]
        : null,
    ]),
    el("h3", {
      text: node.valid_score === false ? "Why it is invalid" : item ? "Explanation" : "Score",
    }),
    el("p", {
      class: "explanation",
      id: "detail-explanation",
      text: node.review ? node.review.judge_explanation || "" : node.explanation || "",
    }),
    evidence.length
      ? el(
          "div",
          {},
          el("h3", { text: "Evidence" }),
          el(
            "ul",
            { class: "evidence" },
            evidence.map((ref) =>
              el(
                "li",
                {},
                el("button", {
                  type: "button",
                  class: "link",
                  text: String(ref),
                  onclick: () => openEvidence(String(ref)),
                }),
              ),
            ),
          ),
        )
      : item
        ? el("p", { class: "muted", text: "The judge cited no files." })
        : null,
    el("div", { id: "evidence-view" }),
    item ? reviewForm(entry) : null,
  );
}

function applyTree(data) {
  treeView.data = data;
  treeView.nodes = indexTree(data.tree);
  renderTreeSummary();
  renderTreeRows();
  if (treeView.selected !== null && treeView.nodes.has(treeView.selected))
    selectNode(treeView.selected);
}

async function showTree(container, runId, params) {
  if (treeView.run !== runId)
    Object.assign(treeView, {
      run: runId,
      open: new Set([""]),
      selected: null,
      filter: "",
      only: "all",
    });
  const filter = el("input", {
    type: "search",
    id: "tree-filter",
    placeholder: "Filter requirements and explanations",
    value: treeView.filter,
  });
  filter.addEventListener("input", () => {
    treeView.filter = filter.value;
    renderTreeRows();
  });
  const only = el(
    "select",
    { id: "tree-only" },
    [
      ["all", "all items"],
      ["invalid", "invalid items"],
      ["failed", "items not met"],
      ["reviewed", "overridden items"],
    ].map(([value, label]) =>
      el("option", { value, text: label, selected: treeView.only === value }),
    ),
  );
  only.addEventListener("change", () => {
    treeView.only = only.value;
    renderTreeRows();
  });
  const expandAll = () => {
    for (const [path, entry] of treeView.nodes) if (!isItem(entry)) treeView.open.add(path);
    renderTreeRows();
  };
  fill(
    container,
    el(
      "div",
      { class: "toolbar" },
      el("span", { id: "tree-summary" }),
      el("span", { class: "spacer" }),
      filter,
      only,
      el("span", { id: "tree-count", class: "muted" }),
      el("button", { type: "button", id: "expand-all", text: "Expand all", onclick: expandAll }),
      el("button", {
        type: "button",
        id: "collapse-all",
        text: "Collapse all",
        onclick: () => {
          treeView.open = new Set([""]);
          renderTreeRows();
        },
      }),
    ),
    el(
      "div",
      { class: "split" },
      el(
        "div",
        { id: "tree", role: "tree", class: "tree" },
        el("p", { class: "muted", text: "Loading the graded tree…" }),
      ),
      el(
        "aside",
        { id: "node-detail" },
        el("p", {
          class: "muted",
          text: "Select a node to see the judge's explanation, its evidence, and to review it.",
        }),
      ),
    ),
  );
  const { ok, data } = await api("/api/run/tree", { run: runId });
  if (!ok) {
    fill(container, el("p", { class: "error", text: `No graded tree: ${data.error}` }));
    return;
  }
  applyTree(data);
  if (params.get("node") && treeView.nodes.has(params.get("node"))) {
    for (
      let path = treeView.nodes.get(params.get("node")).parent;
      path !== null;
      path = treeView.nodes.get(path).parent
    )
      treeView.open.add(path);
    renderTreeRows();
    selectNode(params.get("node"));
  }
  mark("pb-tree");
}
