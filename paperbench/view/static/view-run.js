// paperbench view: one run — overview (stages, agent, monitor, snapshots), transcript,
// reproduction, graded tree (view-tree.js), cost, files. Tabs load what they show when opened.
"use strict";

const TABS = [
  ["overview", "Overview"],
  ["transcript", "Transcript"],
  ["reproduction", "Reproduction"],
  ["grading", "Graded tree"],
  ["cost", "Cost"],
  ["files", "Files"],
];
const TRANSCRIPT_PAGE = 200;
const runView = { id: null, overview: null, tab: null, transcript: null, log: null };

function runHeader(row) {
  return el(
    "div",
    { class: "run-header" },
    el("h1", {}, el("span", { id: "run-agent", text: row.agent }), " · ", el("span", { text: row.paper }), " · ", el("span", { text: `seed ${row.seed ?? "?"}` })),
    el(
      "div",
      { class: "headline" },
      stageBadges(row.stages),
      row.in_progress ? el("span", { class: "badge live", text: "in progress" }) : null,
      el("span", {}, " score ", row.score === null || row.score === undefined ? "–" : scoreChip(row.score, true, "run-score")),
      row.reviewed ? el("span", {}, " reviewed ", scoreChip(row.reviewed.score, true, "run-reviewed")) : null,
      row.invalid_leaves ? el("span", { class: "badge invalid", text: `${row.invalid_leaves} invalid` }) : null,
      row.failures.map((f) => el("span", { class: `failure ${f.kind}`, title: f.reason, text: `${f.kind} (${f.stage})` })),
      el("span", { class: "muted", text: ` agent ${fmtMoney(row.agent_cost_usd)} · judge ${fmtMoney(row.judge_cost_usd)} · ${fmtSeconds(row.seconds)}` }),
    ),
  );
}

function tabBar(active) {
  return el(
    "nav",
    { class: "tabs", role: "tablist" },
    TABS.map(([key, label]) => el("a", { href: runLink(runView.id, key), role: "tab", class: key === active ? "active" : "", "aria-selected": String(key === active), dataset: { tab: key }, text: label })),
  );
}

// --- overview ------------------------------------------------------------------------------

function timeline(stages) {
  const entries = Object.entries(stages);
  if (!entries.length) return el("p", { class: "muted", text: "No stage has started yet." });
  const times = entries.flatMap(([, s]) => [Date.parse(s.started_at), Date.parse(s.finished_at || new Date().toISOString())]).filter((t) => !Number.isNaN(t));
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
        el("span", { class: "lane-info", text: `${stage.status}, ${fmtSeconds((end - begin) / 1000)}${stage.attempts > 1 ? `, ${stage.attempts} attempts` : ""}${stage.error ? ` — ${stage.error}` : ""}` }),
      );
    }),
  );
}

// Score against the agent's time: graded snapshots where they exist, the final grade at the end.
function scoreChart(overview) {
  const points = overview.graded_snapshots.filter((p) => typeof p.score === "number").map((p) => ({ x: p.seconds, y: p.score, label: p.folder }));
  const result = (overview.agent && overview.agent.agent) || {};
  if (typeof overview.row.score === "number" && typeof result.wall_seconds === "number") {
    points.push({ x: result.wall_seconds, y: overview.row.score, label: "final submission" });
  }
  const note = overview.graded_snapshots.length
    ? null
    : el("p", { class: "muted", text: "Only the final submission is graded; grades of snapshots (grading/at-<seconds>/graded_tree.json) appear here when they exist." });
  if (!points.length) return note;
  const width = 520;
  const height = 180;
  const pad = 36;
  const maxX = Math.max(1, ...points.map((p) => p.x));
  const x = (value) => pad + (value / maxX) * (width - 2 * pad);
  const y = (value) => height - pad - value * (height - 2 * pad);
  points.sort((a, b) => a.x - b.x);
  return el("div", { id: "score-chart" }, note, svg(
    "svg",
    { width, height, class: "chart", role: "img", "aria-label": "score against time" },
    [0, 0.5, 1].map((tick) => [svg("line", { x1: pad, x2: width - pad, y1: y(tick), y2: y(tick), class: "grid" }), svg("text", { x: 4, y: y(tick) + 4 }, tick.toFixed(1))]),
    svg("text", { x: width - pad, y: height - 8, "text-anchor": "end" }, `${fmtSeconds(maxX)} of agent time`),
    svg("polyline", { points: points.map((p) => `${x(p.x)},${y(p.y)}`).join(" "), class: "series" }),
    points.map((p) => svg("circle", { cx: x(p.x), cy: y(p.y), r: 4, class: "point", "data-seconds": p.x, "data-score": p.y }, svg("title", {}, `${p.label}: ${fmtScore(p.y)} at ${fmtSeconds(p.x)}`))),
  ));
}

function snapshotsTable(snapshots) {
  if (!snapshots.length) return el("p", { class: "muted", text: "No snapshots recorded." });
  return el(
    "table",
    { class: "grid", id: "snapshots" },
    el("thead", {}, el("tr", {}, ["#", "kind", "agent time", "working time", "files", "size", "excluded", "error"].map((h) => el("th", { text: h })))),
    el("tbody", {}, snapshots.map((s) => el("tr", {}, [s.index, s.kind, fmtSeconds(s.wall_seconds), fmtSeconds(s.working_seconds), s.files, fmtBytes(s.bytes), s.excluded, s.error || ""].map((v) => el("td", { text: v }))))),
  );
}

function findingsTable(findings) {
  return el(
    "table",
    { class: "grid" },
    el("thead", {}, el("tr", {}, ["line", "tool", "access", "url", "blacklist entry", "excerpt"].map((h) => el("th", { text: h })))),
    el("tbody", {}, findings.map((f) => el("tr", {}, el("td", {}, el("a", { href: runLink(runView.id, "transcript", { line: f.line }), text: f.line })), [f.tool, f.access || "mention", f.url, f.entry, f.excerpt].map((v) => el("td", { text: v ?? "" }))))),
  );
}

function monitorSection(overview) {
  const monitor = overview.monitor;
  if (!monitor) return section("Blacklist monitor", el("p", { class: "muted", text: overview.monitor_problem || "No monitor report (the agent stage has not finished)." }));
  return section(
    "Blacklist monitor",
    el("p", { id: "monitor-verdict", class: monitor.violations.length ? "error" : "", text: monitor.violations.length ? `${monitor.violations.length} violation(s): the run is disqualified` : `No violation in ${monitor.tool_calls_checked} tool calls checked.` }),
    monitor.violations.length ? findingsTable(monitor.violations) : null,
    monitor.mentions.length ? el("div", {}, el("h3", { text: "Mentions (no access)" }), findingsTable(monitor.mentions)) : null,
  );
}

function showOverview(container) {
  const overview = runView.overview;
  const result = (overview.agent && overview.agent.agent) || null;
  const usage = (result && result.usage) || {};
  fill(container, 
    section("Stages", timeline(overview.stages)),
    section(
      "Agent",
      result
        ? keyValues([
            ["ended", `${result.end_reason}${result.detail ? ` — ${result.detail}` : ""}`],
            result.error ? ["error", result.error] : null,
            ["model", result.model || "–"],
            ["steps / tool calls", `${result.steps} / ${result.tool_calls}`],
            ["tokens", `${fmtInt(usage.input_tokens)} in (${fmtInt(usage.cached_input_tokens)} cached), ${fmtInt(usage.output_tokens)} out`],
            ["cost", fmtMoney(result.cost_usd)],
            ["time", `${fmtSeconds(result.wall_seconds)} wall, ${fmtSeconds(result.working_seconds)} working`],
            ["submission", overview.agent.submission ? `captured (${overview.agent.excluded_files} excluded)` : `not captured: ${overview.agent.capture_error || "?"}`],
          ])
        : el("p", { class: "muted", text: "The agent stage has not finished." }),
    ),
    monitorSection(overview),
    section("Score against time", scoreChart(overview), snapshotsTable(overview.snapshots)),
    overview.row.failures.length ? section("Failures", el("ul", {}, overview.row.failures.map((f) => el("li", {}, el("strong", { text: f.kind }), ` in ${f.stage}: `, el("span", { text: f.reason }))))) : null,
    section("Run directory", keyValues([["path", overview.row.path], ["judge", overview.row.judge || "–"], ["finished", overview.row.finished_at || "not yet"]]), Object.keys(overview.row.problems).length ? el("ul", { class: "error" }, Object.entries(overview.row.problems).map(([k, v]) => el("li", { text: `${k}: ${v}` }))) : null),
  );
  mark("pb-overview");
}

// --- transcript ----------------------------------------------------------------------------

function transcriptRow(row, target) {
  const details = el("div", { class: "event-body", hidden: true });
  const head = el(
    "div",
    { class: "event-head", role: "button", tabindex: "0" },
    el("span", { class: "num", text: row.line }),
    el("span", { class: "wall", text: row.wall === undefined || row.wall === null ? "" : fmtSeconds(row.wall) }),
    el("span", { class: `type ${row.type}`, text: row.type }),
    el("span", { class: "title", text: row.title }),
    row.type === "model_reply" ? el("span", { class: "usage", text: `${row.model || ""} ${fmtInt(row.input_tokens)} in / ${fmtInt(row.output_tokens)} out · ${fmtMoney(row.cost_usd)}` }) : null,
  );
  const item = el("div", { class: `event${row.flag ? ` ${row.flag}` : ""}${target ? " target" : ""}`, dataset: { line: row.line } }, head, details);
  const toggle = async () => {
    if (!details.hidden) {
      details.hidden = true;
      return;
    }
    details.hidden = false;
    if (details.childElementCount) return;
    details.append(el("p", { class: "muted", text: "loading…" }));
    const { ok, data } = await api("/api/run/event", { run: runView.id, line: row.line });
    fill(details, ok ? eventBody(data) : el("p", { class: "error", text: data.error }));
  };
  head.addEventListener("click", toggle);
  head.addEventListener("keydown", (event) => {
    if (event.key === "Enter") toggle();
  });
  item.toggle = toggle;
  return item;
}

function eventBody(data) {
  if (data.raw !== undefined) return el("pre", { text: data.raw });
  const event = data.event;
  const blocks = [];
  const args = event.arguments;
  if (args && typeof args === "object") {
    for (const key of ["command", "code", "content"]) if (typeof args[key] === "string") blocks.push(el("h4", { text: key }), el("pre", { text: args[key] }));
  }
  for (const key of ["text", "output", "error", "traceback"]) {
    if (typeof event[key] === "string" && event[key]) blocks.push(el("h4", { text: key }), el("pre", { text: event[key] }));
  }
  blocks.push(el("details", {}, el("summary", { text: "whole event (JSON)" }), el("pre", { text: JSON.stringify(event, null, 2) })));
  return el("div", {}, blocks);
}

function showTranscript(container, params) {
  const state = { next: 1, first: 1, busy: false, target: Number(params.get("line")) || null };
  runView.transcript = state;
  const list = el("div", { id: "events", class: "events" });
  const sentinel = el("div", { class: "sentinel" });
  const count = el("span", { id: "transcript-count", class: "muted" });
  const search = el("input", { type: "search", id: "transcript-search", placeholder: "Search the transcript (server-side)" });
  const hits = el("div", { id: "transcript-hits", class: "hits" });
  const expandAll = el("button", { type: "button", text: "Expand loaded", onclick: () => list.querySelectorAll(".event").forEach((e) => e.querySelector(".event-body").hidden && e.toggle()) });

  async function load(from) {
    const start = from ?? state.next;
    if (state.busy || start === null) return;
    state.busy = true;
    const { ok, data } = await api("/api/run/transcript", { run: runView.id, start, count: TRANSCRIPT_PAGE, total: start === state.first ? 1 : undefined });
    state.busy = false;
    if (!ok) {
      fill(list, el("p", { class: "muted", text: data.error }));
      state.next = null;
      return;
    }
    if (data.total !== undefined) count.textContent = `${fmtInt(data.total)} events`;
    list.append(...data.rows.map((row) => transcriptRow(row, row.line === state.target)));
    state.next = data.next;
    if (state.next !== null && sentinel.getBoundingClientRect().top < window.innerHeight + 400) load();
  }

  async function openAt(line) {
    state.target = line;
    state.first = Math.max(1, line - 10);
    state.next = state.first;
    fill(list, );
    if (state.first > 1) list.append(el("button", { type: "button", class: "more", text: "Earlier events", onclick: () => openAt(Math.max(1, state.first - TRANSCRIPT_PAGE)) }));
    await load();
    const target = list.querySelector(".event.target");
    if (target) {
      target.scrollIntoView({ block: "center" });
      target.toggle();
    }
  }

  async function find(start) {
    if (!search.value) return;
    fill(hits, el("span", { class: "muted", text: "searching…" }));
    const { ok, data } = await api("/api/run/transcript/search", { run: runView.id, q: search.value, start });
    if (!ok) {
      fill(hits, el("span", { class: "error", text: data.error }));
      return;
    }
    fill(hits, 
      el("span", { class: "muted", text: `${data.hits.length} event${data.hits.length === 1 ? "" : "s"} match${data.next ? " (more further on)" : ""}: ` }),
      data.hits.map((line) => el("button", { type: "button", class: "link hit", text: `#${line}`, onclick: () => openAt(line) })),
      data.next ? el("button", { type: "button", text: "Search further", onclick: () => find(data.next) }) : null,
    );
  }
  search.addEventListener("keydown", (event) => {
    if (event.key === "Enter") find(1);
  });

  fill(container, 
    el("div", { class: "toolbar" }, count, el("span", { class: "spacer" }), search, el("button", { type: "button", text: "Find", onclick: () => find(1) }), expandAll),
    hits,
    list,
    sentinel,
  );
  new IntersectionObserver((entries) => {
    if (entries.some((entry) => entry.isIntersecting)) load();
  }, { rootMargin: "400px" }).observe(sentinel);
  // A run in progress: ask for events written since. A last row that was unreadable may have
  // been caught half-written; it is asked for again.
  state.tail = async () => {
    if (state.next !== null || state.busy) return;
    const last = list.querySelector(".event:last-of-type");
    if (last && last.classList.contains("unreadable")) {
      const again = Number(last.dataset.line);
      last.remove();
      await load(again);
      return;
    }
    await load(last ? Number(last.dataset.line) + 1 : 1);
  };
  (state.target ? openAt(state.target) : load()).then(() => mark("pb-transcript"));
}

// --- reproduction --------------------------------------------------------------------------

function showReproduction(container) {
  const overview = runView.overview;
  const record = overview.reproduction;
  if (!record) {
    fill(container, el("p", { class: "muted", text: overview.reproduction_problem || "No reproduction yet (or a Code-Dev run, which has none)." }));
    return;
  }
  const logs = ["reproduce.log", ...overview.attempt_logs];
  const logHolder = el("div", { id: "log-view" });
  const chooser = el("select", { id: "log-choice" }, logs.map((name) => el("option", { value: name, text: name })));
  const openLog = (name, line) => {
    runView.log = textViewer({ run: runView.id, area: "reproduction", path: name, line });
    fill(logHolder, runView.log);
  };
  chooser.addEventListener("change", () => openLog(chooser.value));
  const created = record.files_created || [];
  fill(container, 
    section(
      "Outcome",
      keyValues([
        ["status", el("strong", { id: "repro-status", text: record.status })],
        ["exit status", record.exit_code ?? "–"],
        ["timed out", record.timed_out ? `yes (limit ${fmtSeconds(record.timeout_seconds)})` : "no"],
        ["out of memory", record.oom_killed ? "yes" : "no"],
        ["duration", fmtSeconds(record.duration_seconds)],
        ["attempts", `${record.attempts.length} (graded: ${record.graded_attempt})`],
        ["image", `${record.image} ${record.image_id || ""}`],
        ["resources", `${record.cpus ?? "?"} CPUs, ${record.memory_mb} MB, network ${record.network}`],
      ]),
      record.notes.length ? el("ul", {}, record.notes.map((note) => el("li", { text: note }))) : null,
      el("table", { class: "grid" }, el("thead", {}, el("tr", {}, ["#", "status", "exit", "duration", "log", "error"].map((h) => el("th", { text: h })))), el("tbody", {}, record.attempts.map((a) => el("tr", {}, [a.number, a.status, a.exit_code ?? "–", fmtSeconds(a.duration_seconds), `${fmtBytes(a.log_bytes)}${a.log_truncated ? " (cut)" : ""}`, a.error || ""].map((v) => el("td", { text: v })))))),
    ),
    section("Log", el("div", { class: "toolbar" }, chooser), logHolder),
    section(
      `Files created (${record.files_created_total})`,
      created.length
        ? el("ul", { class: "files", id: "files-created" }, created.map((file) => el("li", {}, el("button", { type: "button", class: "link", text: file.path, onclick: () => fill(logHolder, textViewer({ run: runView.id, area: "executed", path: file.path })) }), el("span", { class: "muted", text: ` ${fmtBytes(file.size)}` }))))
        : el("p", { class: "muted", text: "reproduce.sh created no files." }),
      record.files_created_total > created.length ? el("p", { class: "muted", text: `… and ${record.files_created_total - created.length} more` }) : null,
      record.files_changed_total ? el("p", { class: "muted", text: `${record.files_changed_total} files changed, ${record.files_deleted_total} deleted` }) : null,
    ),
  );
  openLog("reproduce.log");
  mark("pb-reproduction");
}

// --- cost ----------------------------------------------------------------------------------

async function showCost(container) {
  fill(container, el("p", { class: "muted", text: "Loading the ledger…" }));
  const { ok, data } = await api("/api/run/ledger", { run: runView.id });
  if (!ok) {
    fill(container, el("p", { class: "error", text: data.error }));
    return;
  }
  const agent = data.agent || {};
  const usage = agent.usage || {};
  const totals = data.totals || {};
  const shown = { count: 500 };
  const body = el("tbody");
  const fillLedger = () => {
    fill(body, 
      ...data.entries.slice(0, shown.count).map((entry) => {
        const u = entry.usage || {};
        const items = Array.isArray(entry.items) ? entry.items : [];
        return el("tr", {}, [entry.call, `${items.length}: ${items.slice(0, 3).join(", ")}${items.length > 3 ? "…" : ""}`, entry.outcome, entry.model_version || entry.model, fmtInt(u.input_tokens), fmtInt(u.cached_input_tokens), fmtInt(u.output_tokens), fmtMoney(entry.cost_usd), fmtSeconds(entry.seconds), entry.note || (entry.failed_attempts || []).join("; ")].map((v) => el("td", { text: v ?? "" })));
      }),
    );
  };
  fillLedger();
  fill(container, 
    section("Agent", keyValues([["model", agent.model || "–"], ["tokens", `${fmtInt(usage.input_tokens)} in (${fmtInt(usage.cached_input_tokens)} cached), ${fmtInt(usage.output_tokens)} out`], ["cost", fmtMoney(agent.cost_usd)], ["failed API attempts", agent.failed_api_attempts ?? "–"]])),
    section(
      "Judge",
      keyValues([["requests sent", totals.requests_sent ?? "–"], ["replies / cache hits / failed", `${totals.replies ?? "–"} / ${totals.cache_hits ?? "–"} / ${totals.failed_calls ?? "–"}`], ["tokens", `${fmtInt(totals.input_tokens)} in (${fmtInt(totals.cached_input_tokens)} cached), ${fmtInt(totals.output_tokens)} out`], ["cost", fmtMoney(totals.cost_usd)]]),
      data.problem ? el("p", { class: "muted", text: `ledger: ${data.problem}` }) : null,
      el("table", { class: "grid", id: "ledger" }, el("thead", {}, el("tr", {}, ["call", "items", "outcome", "model", "input", "cached", "output", "cost", "time", "note"].map((h) => el("th", { text: h })))), body),
      data.entries.length > shown.count ? el("button", { type: "button", text: "Show all calls", onclick: (event) => { shown.count = data.entries.length; fillLedger(); event.target.remove(); } }) : null,
      data.truncated ? el("p", { class: "muted", text: "The ledger is longer than the viewer reads; the first entries are shown." }) : null,
    ),
  );
  mark("pb-cost");
}

// --- files ---------------------------------------------------------------------------------

async function showFiles(container, params) {
  const holder = el("div", { id: "file-view" });
  const lists = el("div", { class: "file-lists" });
  fill(container, el("div", { class: "split" }, lists, holder));
  for (const [area, title] of [["submission", "Submission (as captured)"], ["executed", "After reproduction"]]) {
    const { ok, data } = await api("/api/run/files", { run: runView.id, area });
    const items = ok
      ? data.entries.map((entry) =>
          el("li", { dataset: { kind: entry.kind } }, entry.kind === "file" ? el("button", { type: "button", class: "link", text: entry.path, onclick: () => fill(holder, textViewer({ run: runView.id, area, path: entry.path })) }) : el("span", { text: `${entry.path} (${entry.kind}, not opened)` }), el("span", { class: "muted", text: ` ${fmtBytes(entry.size)}` })),
        )
      : [el("li", { class: "muted", text: data.error })];
    lists.append(section(title, el("ul", { class: "files", dataset: { area } }, items), ok && data.truncated ? el("p", { class: "muted", text: "(more files not listed)" }) : null));
  }
  if (params.get("area") && params.get("path")) fill(holder, textViewer({ run: runView.id, area: params.get("area"), path: params.get("path"), line: Number(params.get("line")) || null }));
  mark("pb-files");
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
  const shows = { overview: showOverview, transcript: showTranscript, reproduction: showReproduction, grading: (c, p) => showTree(c, runId, p), cost: showCost, files: showFiles };
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
      if (runView.tab === "transcript" && runView.transcript && runView.transcript.tail) await runView.transcript.tail();
      if (runView.tab === "reproduction" && runView.log && runView.log.tail) await runView.log.tail();
      return data.row.in_progress;
    });
  }
}
