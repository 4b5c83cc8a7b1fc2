// paperbench view: the reproduction, cost and files tabs of a run.
"use strict";

// --- reproduction --------------------------------------------------------------------------

function showReproduction(container) {
  const overview = runView.overview;
  const record = overview.reproduction;
  if (!record) {
    fill(
      container,
      el("p", {
        class: "muted",
        text:
          overview.reproduction_problem ||
          "No reproduction yet (or a Code-Dev run, which has none).",
      }),
    );
    return;
  }
  const logs = ["reproduce.log", ...overview.attempt_logs];
  const logHolder = el("div", { id: "log-view" });
  const chooser = el(
    "select",
    { id: "log-choice" },
    logs.map((name) => el("option", { value: name, text: name })),
  );
  const openLog = (name, line) => {
    runView.log = textViewer({ run: runView.id, area: "reproduction", path: name, line });
    fill(logHolder, runView.log);
  };
  chooser.addEventListener("change", () => openLog(chooser.value));
  const created = record.files_created || [];
  fill(
    container,
    section(
      "Outcome",
      keyValues([
        ["status", el("strong", { id: "repro-status", text: record.status })],
        ["exit status", record.exit_code ?? "–"],
        [
          "timed out",
          record.timed_out ? `yes (limit ${fmtSeconds(record.timeout_seconds)})` : "no",
        ],
        ["out of memory", record.oom_killed ? "yes" : "no"],
        ["duration", fmtSeconds(record.duration_seconds)],
        ["attempts", `${record.attempts.length} (graded: ${record.graded_attempt})`],
        ["image", `${record.image} ${record.image_id || ""}`],
        [
          "resources",
          `${record.cpus ?? "?"} CPUs, ${record.memory_mb} MB, network ${record.network}`,
        ],
      ]),
      record.notes.length
        ? el(
            "ul",
            {},
            record.notes.map((note) => el("li", { text: note })),
          )
        : null,
      el(
        "table",
        { class: "grid" },
        el(
          "thead",
          {},
          el(
            "tr",
            {},
            ["#", "status", "exit", "duration", "log", "error"].map((h) => el("th", { text: h })),
          ),
        ),
        el(
          "tbody",
          {},
          record.attempts.map((a) =>
            el(
              "tr",
              {},
              [
                a.number,
                a.status,
                a.exit_code ?? "–",
                fmtSeconds(a.duration_seconds),
                `${fmtBytes(a.log_bytes)}${a.log_truncated ? " (cut)" : ""}`,
                a.error || "",
              ].map((v) => el("td", { text: v })),
            ),
          ),
        ),
      ),
    ),
    section("Log", el("div", { class: "toolbar" }, chooser), logHolder),
    section(
      `Files created (${record.files_created_total})`,
      created.length
        ? el(
            "ul",
            { class: "files", id: "files-created" },
            created.map((file) =>
              el(
                "li",
                {},
                el("button", {
                  type: "button",
                  class: "link",
                  text: file.path,
                  onclick: () =>
                    fill(
                      logHolder,
                      textViewer({ run: runView.id, area: "executed", path: file.path }),
                    ),
                }),
                el("span", { class: "muted", text: ` ${fmtBytes(file.size)}` }),
              ),
            ),
          )
        : el("p", { class: "muted", text: "reproduce.sh created no files." }),
      record.files_created_total > created.length
        ? el("p", {
            class: "muted",
            text: `… and ${record.files_created_total - created.length} more`,
          })
        : null,
      record.files_changed_total
        ? el("p", {
            class: "muted",
            text: `${record.files_changed_total} files changed, ${record.files_deleted_total} deleted`,
          })
        : null,
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
    fill(
      body,
      ...data.entries.slice(0, shown.count).map((entry) => {
        const u = entry.usage || {};
        const items = Array.isArray(entry.items) ? entry.items : [];
        return el(
          "tr",
          {},
          [
            entry.call,
            `${items.length}: ${items.slice(0, 3).join(", ")}${items.length > 3 ? "…" : ""}`,
            entry.outcome,
            entry.model_version || entry.model,
            fmtInt(u.input_tokens),
            fmtInt(u.cached_input_tokens),
            fmtInt(u.output_tokens),
            fmtMoney(entry.cost_usd),
            fmtSeconds(entry.seconds),
            entry.note || (entry.failed_attempts || []).join("; "),
          ].map((v) => el("td", { text: v ?? "" })),
        );
      }),
    );
  };
  fillLedger();
  fill(
    container,
    section(
      "Agent",
      keyValues([
        ["model", agent.model || "–"],
        [
          "tokens",
          `${fmtInt(usage.input_tokens)} in (${fmtInt(usage.cached_input_tokens)} cached), ${fmtInt(usage.output_tokens)} out`,
        ],
        ["cost", fmtMoney(agent.cost_usd)],
        ["failed API attempts", agent.failed_api_attempts ?? "–"],
      ]),
    ),
    section(
      "Judge",
      keyValues([
        ["requests sent", totals.requests_sent ?? "–"],
        [
          "replies / cache hits / failed",
          `${totals.replies ?? "–"} / ${totals.cache_hits ?? "–"} / ${totals.failed_calls ?? "–"}`,
        ],
        [
          "tokens",
          `${fmtInt(totals.input_tokens)} in (${fmtInt(totals.cached_input_tokens)} cached), ${fmtInt(totals.output_tokens)} out`,
        ],
        ["cost", fmtMoney(totals.cost_usd)],
      ]),
      data.problem ? el("p", { class: "muted", text: `ledger: ${data.problem}` }) : null,
      el(
        "table",
        { class: "grid", id: "ledger" },
        el(
          "thead",
          {},
          el(
            "tr",
            {},
            [
              "call",
              "items",
              "outcome",
              "model",
              "input",
              "cached",
              "output",
              "cost",
              "time",
              "note",
            ].map((h) => el("th", { text: h })),
          ),
        ),
        body,
      ),
      data.entries.length > shown.count
        ? el("button", {
            type: "button",
            text: "Show all calls",
            onclick: (event) => {
              shown.count = data.entries.length;
              fillLedger();
              event.target.remove();
            },
          })
        : null,
      data.truncated
        ? el("p", {
            class: "muted",
            text: "The ledger is longer than the viewer reads; the first entries are shown.",
          })
        : null,
    ),
  );
  mark("pb-cost");
}

// --- files ---------------------------------------------------------------------------------

async function showFiles(container, params) {
  const holder = el("div", { id: "file-view" });
  const lists = el("div", { class: "file-lists" });
  fill(container, el("div", { class: "split" }, lists, holder));
  for (const [area, title] of [
    ["submission", "Submission (as captured)"],
    ["executed", "After reproduction"],
  ]) {
    const { ok, data } = await api("/api/run/files", { run: runView.id, area });
    const items = ok
      ? data.entries.map((entry) =>
          el(
            "li",
            { dataset: { kind: entry.kind } },
            entry.kind === "file"
              ? el("button", {
                  type: "button",
                  class: "link",
                  text: entry.path,
                  onclick: () =>
                    fill(holder, textViewer({ run: runView.id, area, path: entry.path })),
                })
              : el("span", { text: `${entry.path} (${entry.kind}, not opened)` }),
            el("span", { class: "muted", text: ` ${fmtBytes(entry.size)}` }),
          ),
        )
      : [el("li", { class: "muted", text: data.error })];
    lists.append(
      section(
        title,
        el("ul", { class: "files", dataset: { area } }, items),
        ok && data.truncated ? el("p", { class: "muted", text: "(more files not listed)" }) : null,
      ),
    );
  }
  if (params.get("area") && params.get("path"))
    fill(
      holder,
      textViewer({
        run: runView.id,
        area: params.get("area"),
        path: params.get("path"),
        line: Number(params.get("line")) || null,
      }),
    );
  mark("pb-files");
}
