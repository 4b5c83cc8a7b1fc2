// paperbench view: the runs page (sortable, filterable, live) and the leaderboard page.
"use strict";

const RUN_COLUMNS = [
  ["agent", "agent", (r) => r.agent],
  ["paper", "paper", (r) => r.paper],
  ["seed", "seed", (r) => r.seed],
  ["stages", "stages", (r) => stageOrder(r)],
  ["score", "score", (r) => r.score],
  ["reviewed", "reviewed", (r) => (r.reviewed ? r.reviewed.score : null)],
  ["invalid", "invalid leaves", (r) => r.invalid_leaves],
  ["failures", "failures", (r) => r.failures.map((f) => f.kind).join(", ")],
  ["agent_cost", "agent $", (r) => r.agent_cost_usd],
  ["judge_cost", "judge $", (r) => r.judge_cost_usd],
  ["time", "time", (r) => r.seconds],
];

const runsView = { sort: "agent", descending: false, filter: "", show: "all", rows: [] };

function stageOrder(row) {
  const rank = { done: 3, running: 2, failed: 1, waiting: 0 };
  return Object.values(row.stages).reduce((sum, status) => sum * 4 + (rank[status] ?? 0), 0);
}

function stageBadges(stages) {
  return el(
    "span",
    { class: "stages" },
    Object.entries(stages).map(([name, status]) =>
      el("span", {
        class: `stage ${status}`,
        title: `${name}: ${status}`,
        text: name[0].toUpperCase(),
      }),
    ),
  );
}

function matchesRun(row) {
  const show = runsView.show;
  if (show === "progress" && !row.in_progress) return false;
  if (show === "failed" && !row.failures.length) return false;
  if (show === "reviewed" && !row.reviewed) return false;
  if (show === "invalid" && !row.invalid_leaves) return false;
  const text = runsView.filter.trim().toLowerCase();
  if (!text) return true;
  const haystack = [
    row.agent,
    row.paper,
    `seed ${row.seed}`,
    row.judge,
    ...row.failures.map((f) => f.kind),
  ]
    .join(" ")
    .toLowerCase();
  return text.split(/\s+/).every((word) => haystack.includes(word));
}

function sortedRuns() {
  const column = RUN_COLUMNS.find(([key]) => key === runsView.sort) || RUN_COLUMNS[0];
  const value = column[2];
  const rows = runsView.rows.filter(matchesRun);
  rows.sort((a, b) => {
    const x = value(a);
    const y = value(b);
    if (x === y) return 0;
    if (x === null || x === undefined) return 1;
    if (y === null || y === undefined) return -1;
    const order =
      typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
    return runsView.descending ? -order : order;
  });
  return rows;
}

function runRow(row) {
  const failures = row.failures.map((f) =>
    el("span", { class: `failure ${f.kind}`, title: `${f.stage}: ${f.reason}`, text: f.kind }),
  );
  const problems = Object.keys(row.problems || {}).length
    ? el("span", {
        class: "failure",
        title: Object.entries(row.problems)
          .map(([k, v]) => `${k}: ${v}`)
          .join("\n"),
        text: "unreadable record",
      })
    : null;
  const link = el("a", { href: runLink(row.id), text: row.agent });
  return el(
    "tr",
    { dataset: { run: row.id }, class: row.in_progress ? "in-progress" : "" },
    el("td", {}, link),
    el("td", { text: row.paper }),
    el("td", { text: row.seed ?? "–" }),
    el(
      "td",
      {},
      stageBadges(row.stages),
      row.in_progress ? el("span", { class: "muted", text: " running" }) : null,
    ),
    el("td", {}, row.score === null || row.score === undefined ? "–" : scoreChip(row.score, true)),
    el("td", { class: "reviewed" }, row.reviewed ? scoreChip(row.reviewed.score, true) : "–"),
    el("td", { text: row.invalid_leaves ?? "–" }),
    el("td", {}, failures, problems),
    el("td", { text: fmtMoney(row.agent_cost_usd) }),
    el("td", { text: fmtMoney(row.judge_cost_usd) }),
    el("td", { text: fmtSeconds(row.seconds) }),
  );
}

function renderRunsTable() {
  const rows = sortedRuns();
  const head = el(
    "tr",
    {},
    RUN_COLUMNS.map(([key, label]) =>
      el("th", {
        class: key === runsView.sort ? (runsView.descending ? "sorted desc" : "sorted asc") : "",
        dataset: { key },
        text: label,
        onclick: () => {
          runsView.descending = runsView.sort === key ? !runsView.descending : false;
          runsView.sort = key;
          renderRunsTable();
        },
      }),
    ),
  );
  fill($("runs-table"), el("thead", {}, head), el("tbody", {}, rows.map(runRow)));
  $("runs-count").textContent = `${rows.length} of ${runsView.rows.length} runs`;
}

async function loadRuns() {
  const { ok, data } = await api("/api/runs");
  if (!ok) {
    setStatus(`Could not list runs: ${data.error}`, "error");
    return false;
  }
  runsView.rows = data.runs;
  runsView.roots = data.roots;
  window.pbReviewer = data.reviewer;
  renderRunsTable();
  const running = data.runs.some((row) => row.in_progress);
  $("live").textContent = running ? "live: runs in progress refresh every 3 s" : "";
  return running;
}

async function showRuns() {
  const filter = el("input", {
    type: "search",
    id: "runs-filter",
    placeholder: "Filter: agent, paper, seed, failure…",
    value: runsView.filter,
  });
  filter.addEventListener("input", () => {
    runsView.filter = filter.value;
    renderRunsTable();
  });
  const show = el(
    "select",
    { id: "runs-show" },
    [
      ["all", "all runs"],
      ["progress", "in progress"],
      ["failed", "with failures"],
      ["invalid", "with invalid leaves"],
      ["reviewed", "reviewed"],
    ].map(([value, label]) =>
      el("option", { value, text: label, selected: runsView.show === value }),
    ),
  );
  show.addEventListener("change", () => {
    runsView.show = show.value;
    renderRunsTable();
  });
  fill(
    $("app"),
    el(
      "div",
      { class: "page" },
      el(
        "div",
        { class: "toolbar" },
        el("h1", { text: "Runs" }),
        filter,
        show,
        el("span", { id: "runs-count", class: "muted" }),
        el("span", { class: "spacer" }),
        el("button", { type: "button", text: "Refresh", onclick: loadRuns }),
      ),
      el("table", { id: "runs-table", class: "grid" }),
    ),
  );
  const running = await loadRuns();
  $("app").dataset.state = "ready";
  mark("pb-runs");
  if (running) every(3000, loadRuns);
}

// --- leaderboard -----------------------------------------------------------------------------

function fmtEstimate(value) {
  if (!value || value.mean === null) return "–";
  return value.stderr === null
    ? fmtScore(value.mean)
    : `${fmtScore(value.mean)} ± ${value.stderr.toFixed(3)}`;
}

async function showLeaderboard() {
  const { ok, data } = await api("/api/leaderboard");
  if (!ok) {
    fill($("app"), el("p", { class: "error", text: `No leaderboard: ${data.error}` }));
    $("app").dataset.state = "ready";
    return;
  }
  const reviewed = data.entries.some((entry) => entry.reviewed);
  const head = [
    "agent",
    "score (judge)",
    ...(reviewed ? ["reviewed"] : []),
    "seeds",
    "runs",
    "invalid leaves",
    "disqualified",
    "failures",
    "agent $",
    "judge $",
    "time/run",
  ];
  const rows = data.entries.map((entry) =>
    el(
      "tr",
      { dataset: { agent: entry.agent } },
      el("td", { text: entry.agent }),
      el("td", { class: "score", text: fmtEstimate(entry.score) }),
      reviewed
        ? el("td", {
            class: "reviewed",
            text: entry.reviewed
              ? `${fmtEstimate(entry.reviewed)} (${entry.reviewed_runs} reviewed)`
              : "–",
          })
        : null,
      el("td", { text: entry.seeds_counted.length }),
      el("td", { text: entry.runs }),
      el("td", { text: entry.invalid_leaves }),
      el("td", { text: entry.disqualified_runs }),
      el("td", { text: entry.failures.map((f) => `${f.runs} ${f.kind}`).join(", ") || "–" }),
      el("td", { text: fmtMoney(entry.cost.agent_usd) }),
      el("td", { text: fmtMoney(entry.cost.judge_usd) }),
      el("td", { text: fmtSeconds(entry.time.total) }),
    ),
  );
  const perPaper = el(
    "table",
    { class: "grid" },
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        el("th", { text: "agent" }),
        data.papers.map((paper) => el("th", { text: paper })),
      ),
    ),
    el(
      "tbody",
      {},
      data.entries.map((entry) =>
        el(
          "tr",
          {},
          el("td", { text: entry.agent }),
          data.papers.map((paper) => el("td", { text: fmtEstimate(entry.per_paper[paper]) })),
        ),
      ),
    ),
  );
  const notes = data.entries.flatMap((entry) =>
    entry.incomplete_seeds.map((seed) =>
      el("li", {
        text: `${entry.agent}: seed ${seed.seed} not counted, lacks ${seed.missing_papers.join(", ")}`,
      }),
    ),
  );
  fill(
    $("app"),
    el(
      "div",
      { class: "page" },
      el("h1", { text: "Leaderboard" }),
      el("p", {
        class: "muted",
        text: `Papers: ${data.papers.join(", ")}. Means over seeds ± standard error; a seed counts only when it covers every paper.`,
      }),
      el(
        "table",
        { id: "leaderboard-table", class: "grid" },
        el(
          "thead",
          {},
          el(
            "tr",
            {},
            head.map((h) => el("th", { text: h })),
          ),
        ),
        el("tbody", {}, rows),
      ),
      section(
        "Score per paper",
        el("img", {
          id: "leaderboard-chart",
          alt: "score per paper",
          src: `/api/leaderboard.svg?${query({ token: TOKEN })}`,
        }),
        perPaper,
      ),
      notes.length ? section("Notes", el("ul", {}, notes)) : null,
    ),
  );
  $("app").dataset.state = "ready";
  mark("pb-leaderboard");
}
