// paperbench view: one run — its header and tabs, the overview (stages, agent, monitor,
// snapshots) and the page itself; the other tabs are in view-transcript.js, view-details.js
// and view-tree.js, and load what they show when opened.
"use strict";

const TABS = [
  ["overview", "Overview"],
  ["transcript", "Transcript"],
  ["reproduction", "Reproduction"],
  ["grading", "Graded tree"],
  ["cost", "Cost"],
  ["files", "Files"],
];
const runView = { id: null, overview: null, tab: null, transcript: null, log: null };

function runHeader(row) {
  return el(
    "div",
    { class: "run-header" },
    el(
      "h1",
      {},
      el("span", { id: "run-agent", text: row.agent }),
      " · ",
      el("span", { text: row.paper }),
      " · ",
      el("span", { text: `seed ${row.seed ?? "?"}` }),
    ),
    el(
      "div",
      { class: "headline" },
      stageBadges(row.stages),
      row.in_progress ? el("span", { class: "badge live", text: "in progress" }) : null,
      el(
        "span",
        {},
        " score ",
        row.score === null || row.score === undefined
          ? "–"
          : scoreChip(row.score, true, "run-score"),
      ),
      row.reviewed
        ? el("span", {}, " reviewed ", scoreChip(row.reviewed.score, true, "run-reviewed"))
        : null,
      row.invalid_leaves
        ? el("span", { class: "badge invalid", text: `${row.invalid_leaves} invalid` })
        : null,
      row.failures.map((f) =>
        el("span", { class: `failure ${f.kind}`, title: f.reason, text: `${f.kind} (${f.stage})` }),
      ),
      el("span", {
        class: "muted",
        text: ` agent ${fmtMoney(row.agent_cost_usd)} · judge ${fmtMoney(row.judge_cost_usd)} · ${fmtSeconds(row.seconds)}`,
      }),
    ),
  );
}

function tabBar(active) {
  return el(
    "nav",
    { class: "tabs", role: "tablist" },
    TABS.map(([key, label]) =>
      el("a", {
        href: runLink(runView.id, key),
        role: "tab",
        class: key === active ? "active" : "",
        "aria-selected": String(key === active),
        dataset: { tab: key },
        text: label,
      }),
    ),
  );
}

// --- overview ------------------------------------------------------------------------------

function timeline(stages) {
  const entries = Object.entries(stages);
  if (!entries.length) return el("p", { class: "muted", text: "No stage has started yet." });
  const times = entries
    .flatMap(([, s]) => [
      Date.parse(s.started_at),
      Date.parse(s.finished_at || new Date().toISOString()),
    ])
    .filter((t) => !Number.isNaN(t));
  const start = Math.min(...times);
  const span = Math.max(1, Math.max(...times) - start);
  return el(
    "div",
    { class: "timeline" },
    entries.map(([name, stage]) => {
      const begin = Date.parse(stage.started_at);
      const end = Date.parse(stage.finished_at || new Date().toISOString());
      const bar = el("div", { class: `bar ${stage.status}`, title: `${name}: ${stage.status}` });
      bar.style.marginLeft = `${((begin - start) / span) * 100}%`;
      bar.style.width = `${Math.max(0.5, ((end - begin) / span) * 100)}%`;
      return el(
        "div",
        { class: "lane", dataset: { stage: name } },
        el("span", { class: "lane-name", text: name }),
        el("div", { class: "lane-track" }, bar),
        el("span", {
          class: "lane-info",
          text: `${stage.status}, ${fmtSeconds((end - begin) / 1000)}${stage.attempts > 1 ? `, ${stage.attempts} attempts` : ""}${stage.error ? ` — ${stage.error}` : ""}`,
        }),
      );
    }),
  );
}

// Score against the agent's time: graded snapshots where they exist, the final grade at the end.
function scoreChart(overview) {
  const points = overview.graded_snapshots
    .filter((p) => typeof p.score === "number")
    .map((p) => ({ x: p.seconds, y: p.score, label: p.folder }));
  const result = (overview.agent && overview.agent.agent) || {};
  if (typeof overview.row.score === "number" && typeof result.wall_seconds === "number") {
    points.push({ x: result.wall_seconds, y: overview.row.score, label: "final submission" });
  }
  const note = overview.graded_snapshots.length
    ? null
    : el("p", {
        class: "muted",
        text: "Only the final submission is graded; grades of snapshots (grading/at-<seconds>/graded_tree.json) appear here when they exist.",
      });
  if (!points.length) return note;
  const width = 520;
  const height = 180;
  const pad = 36;
  const maxX = Math.max(1, ...points.map((p) => p.x));
  const x = (value) => pad + (value / maxX) * (width - 2 * pad);
  const y = (value) => height - pad - value * (height - 2 * pad);
  points.sort((a, b) => a.x - b.x);
  return el(
    "div",
    { id: "score-chart" },
    note,
    svg(
      "svg",
      { width, height, class: "chart", role: "img", "aria-label": "score against time" },
      [0, 0.5, 1].map((tick) => [
        svg("line", { x1: pad, x2: width - pad, y1: y(tick), y2: y(tick), class: "grid" }),
        svg("text", { x: 4, y: y(tick) + 4 }, tick.toFixed(1)),
      ]),
      svg(
        "text",
        { x: width - pad, y: height - 8, "text-anchor": "end" },
        `${fmtSeconds(maxX)} of agent time`,
      ),
      svg("polyline", {
        points: points.map((p) => `${x(p.x)},${y(p.y)}`).join(" "),
        class: "series",
      }),
      points.map((p) =>
        svg(
          "circle",
          { cx: x(p.x), cy: y(p.y), r: 4, class: "point", "data-seconds": p.x, "data-score": p.y },
          svg("title", {}, `${p.label}: ${fmtScore(p.y)} at ${fmtSeconds(p.x)}`),
        ),
      ),
    ),
  );
}

function snapshotsTable(snapshots) {
  if (!snapshots.length) return el("p", { class: "muted", text: "No snapshots recorded." });
  return el(
    "table",
    { class: "grid", id: "snapshots" },
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        ["#", "kind", "agent time", "working time", "files", "size", "excluded", "error"].map((h) =>
          el("th", { text: h }),
        ),
      ),
    ),
    el(
      "tbody",
      {},
      snapshots.map((s) =>
        el(
          "tr",
          {},
          [
            s.index,
            s.kind,
            fmtSeconds(s.wall_seconds),
            fmtSeconds(s.working_seconds),
            s.files,
            fmtBytes(s.bytes),
            s.excluded,
            s.error || "",
          ].map((v) => el("td", { text: v })),
        ),
      ),
    ),
  );
}

function findingsTable(findings) {
  return el(
    "table",
    { class: "grid" },
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        ["line", "tool", "access", "url", "blacklist entry", "excerpt"].map((h) =>
          el("th", { text: h }),
        ),
      ),
    ),
    el(
      "tbody",
      {},
      findings.map((f) =>
        el(
          "tr",
          {},
          el(
            "td",
            {},
            el("a", { href: runLink(runView.id, "transcript", { line: f.line }), text: f.line }),
          ),
          [f.tool, f.access || "mention", f.url, f.entry, f.excerpt].map((v) =>
            el("td", { text: v ?? "" }),
          ),
        ),
      ),
    ),
  );
}

function monitorSection(overview) {
  const monitor = overview.monitor;
  if (!monitor)
    return section(
      "Blacklist monitor",
      el("p", {
        class: "muted",
        text: overview.monitor_problem || "No monitor report (the agent stage has not finished).",
      }),
    );
  return section(
    "Blacklist monitor",
    el("p", {
      id: "monitor-verdict",
      class: monitor.violations.length ? "error" : "",
      text: monitor.violations.length
        ? `${monitor.violations.length} violation(s): the run is disqualified`
        : `No violation in ${monitor.tool_calls_checked} tool calls checked.`,
    }),
    monitor.violations.length ? findingsTable(monitor.violations) : null,
    monitor.mentions.length
      ? el("div", {}, el("h3", { text: "Mentions (no access)" }), findingsTable(monitor.mentions))
      : null,
  );
}

function showOverview(container) {
  const overview = runView.overview;
  const result = (overview.agent && overview.agent.agent) || null;
  const usage = (result && result.usage) || {};
  fill(
    container,
    section("Stages", timeline(overview.stages)),
    section(
      "Agent",
      result
        ? keyValues([
            ["ended", `${result.end_reason}${result.detail ? ` — ${result.detail}` : ""}`],
            result.error ? ["error", result.error] : null,
            ["model", result.model || "–"],
            ["steps / tool calls", `${result.steps} / ${result.tool_calls}`],
            [
              "tokens",
              `${fmtInt(usage.input_tokens)} in (${fmtInt(usage.cached_input_tokens)} cached), ${fmtInt(usage.output_tokens)} out`,
            ],
            ["cost", fmtMoney(result.cost_usd)],
            [
              "time",
              `${fmtSeconds(result.wall_seconds)} wall, ${fmtSeconds(result.working_seconds)} working`,
            ],
            [
              "submission",
              overview.agent.submission
                ? `captured (${overview.agent.excluded_files} excluded)`
                : `not captured: ${overview.agent.capture_error || "?"}`,
            ],
          ])
        : el("p", { class: "muted", text: "The agent stage has not finished." }),
    ),
    monitorSection(overview),
    section("Score against time", scoreChart(overview), snapshotsTable(overview.snapshots)),
    overview.row.failures.length
      ? section(
          "Failures",
          el(
            "ul",
            {},
            overview.row.failures.map((f) =>
              el(
                "li",
                {},
                el("strong", { text: f.kind }),
                ` in ${f.stage}: `,
                el("span", { text: f.reason }),
              ),
            ),
          ),
        )
      : null,
    section(
      "Run directory",
      keyValues([
        ["path", overview.row.path],
        ["judge", overview.row.judge || "–"],
        ["finished", overview.row.finished_at || "not yet"],
      ]),
      Object.keys(overview.row.problems).length
        ? el(
            "ul",
            { class: "error" },
            Object.entries(overview.row.problems).map(([k, v]) => el("li", { text: `${k}: ${v}` })),
          )
        : null,
    ),
  );
  mark("pb-overview");
}

// --- the page ------------------------------------------------------------------------------

async function refreshOverview() {
  const { ok, data } = await api("/api/run", { run: runView.id });
  if (!ok) return null;
  runView.overview = data;
  return data;
}

async function showRun(runId, tab, params) {
  runView.id = runId;
  runView.tab = tab;
  runView.transcript = null;
  runView.log = null;
  const { ok, data } = await api("/api/run", { run: runId });
  if (!ok) {
    fill($("app"), el("p", { class: "error", text: data.error }));
    $("app").dataset.state = "ready";
    return;
  }
  runView.overview = data;
  const header = el("div", { id: "run-head" }, runHeader(runView.overview.row));
  const body = el("div", { id: "tab-body", dataset: { tab } });
  fill($("app"), el("div", { class: "page" }, header, tabBar(tab), body));
  const shows = {
    overview: showOverview,
    transcript: showTranscript,
    reproduction: showReproduction,
    grading: (c, p) => showTree(c, runId, p),
    cost: showCost,
    files: showFiles,
  };
  await (shows[tab] || showOverview)(body, params);
  $("app").dataset.state = "ready";
  if (runView.overview.row.in_progress) {
    $("live").textContent = "live: this run is in progress; refreshing every 2 s";
    every(2000, async () => {
      const before = JSON.stringify(runView.overview.row);
      const data = await refreshOverview();
      if (!data) return true;
      if (JSON.stringify(data.row) !== before) fill(header, runHeader(data.row));
      if (runView.tab === "overview") showOverview(body);
      if (runView.tab === "transcript" && runView.transcript && runView.transcript.tail)
        await runView.transcript.tail();
      if (runView.tab === "reproduction" && runView.log && runView.log.tail)
        await runView.log.tail();
      return data.row.in_progress;
    });
  }
}
