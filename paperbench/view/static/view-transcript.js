// paperbench view: the agent's transcript of a run — one row per event, fetched a page at a
// time as the reader scrolls, the whole event on demand, searched on the server.
"use strict";

const TRANSCRIPT_PAGE = 200;

// --- transcript ----------------------------------------------------------------------------

function transcriptRow(row, target) {
  const details = el("div", { class: "event-body", hidden: true });
  const head = el(
    "div",
    { class: "event-head", role: "button", tabindex: "0" },
    el("span", { class: "num", text: row.line }),
    el("span", {
      class: "wall",
      text: row.wall === undefined || row.wall === null ? "" : fmtSeconds(row.wall),
    }),
    el("span", { class: `type ${row.type}`, text: row.type }),
    el("span", { class: "title", text: row.title }),
    row.type === "model_reply"
      ? el("span", {
          class: "usage",
          text: `${row.model || ""} ${fmtInt(row.input_tokens)} in / ${fmtInt(row.output_tokens)} out · ${fmtMoney(row.cost_usd)}`,
        })
      : null,
  );
  const item = el(
    "div",
    {
      class: `event${row.flag ? ` ${row.flag}` : ""}${target ? " target" : ""}`,
      dataset: { line: row.line },
    },
    head,
    details,
  );
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
    for (const key of ["command", "code", "content"])
      if (typeof args[key] === "string")
        blocks.push(el("h4", { text: key }), el("pre", { text: args[key] }));
  }
  for (const key of ["text", "output", "error", "traceback"]) {
    if (typeof event[key] === "string" && event[key])
      blocks.push(el("h4", { text: key }), el("pre", { text: event[key] }));
  }
  blocks.push(
    el(
      "details",
      {},
      el("summary", { text: "whole event (JSON)" }),
      el("pre", { text: JSON.stringify(event, null, 2) }),
    ),
  );
  return el("div", {}, blocks);
}

function showTranscript(container, params) {
  const state = { next: 1, first: 1, busy: false, target: Number(params.get("line")) || null };
  runView.transcript = state;
  const list = el("div", { id: "events", class: "events" });
  const sentinel = el("div", { class: "sentinel" });
  const count = el("span", { id: "transcript-count", class: "muted" });
  const search = el("input", {
    type: "search",
    id: "transcript-search",
    placeholder: "Search the transcript (server-side)",
  });
  const hits = el("div", { id: "transcript-hits", class: "hits" });
  const expandAll = el("button", {
    type: "button",
    text: "Expand loaded",
    onclick: () =>
      list
        .querySelectorAll(".event")
        .forEach((e) => e.querySelector(".event-body").hidden && e.toggle()),
  });

  async function load(from) {
    const start = from ?? state.next;
    if (state.busy || start === null) return;
    state.busy = true;
    const { ok, data } = await api("/api/run/transcript", {
      run: runView.id,
      start,
      count: TRANSCRIPT_PAGE,
      total: start === state.first ? 1 : undefined,
    });
    state.busy = false;
    if (!ok) {
      fill(list, el("p", { class: "muted", text: data.error }));
      state.next = null;
      return;
    }
    if (data.total !== undefined) count.textContent = `${fmtInt(data.total)} events`;
    list.append(...data.rows.map((row) => transcriptRow(row, row.line === state.target)));
    state.next = data.next;
    if (state.next !== null && sentinel.getBoundingClientRect().top < window.innerHeight + 400)
      load();
  }

  async function openAt(line) {
    state.target = line;
    state.first = Math.max(1, line - 10);
    state.next = state.first;
    fill(list);
    if (state.first > 1)
      list.append(
        el("button", {
          type: "button",
          class: "more",
          text: "Earlier events",
          onclick: () => openAt(Math.max(1, state.first - TRANSCRIPT_PAGE)),
        }),
      );
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
    const { ok, data } = await api("/api/run/transcript/search", {
      run: runView.id,
      q: search.value,
      start,
    });
    if (!ok) {
      fill(hits, el("span", { class: "error", text: data.error }));
      return;
    }
    fill(
      hits,
      el("span", {
        class: "muted",
        text: `${data.hits.length} event${data.hits.length === 1 ? "" : "s"} match${data.next ? " (more further on)" : ""}: `,
      }),
      data.hits.map((line) =>
        el("button", {
          type: "button",
          class: "link hit",
          text: `#${line}`,
          onclick: () => openAt(line),
        }),
      ),
      data.next
        ? el("button", { type: "button", text: "Search further", onclick: () => find(data.next) })
        : null,
    );
  }
  search.addEventListener("keydown", (event) => {
    if (event.key === "Enter") find(1);
  });

  fill(
    container,
    el(
      "div",
      { class: "toolbar" },
      count,
      el("span", { class: "spacer" }),
      search,
      el("button", { type: "button", text: "Find", onclick: () => find(1) }),
      expandAll,
    ),
    hits,
    list,
    sentinel,
  );
  new IntersectionObserver(
    (entries) => {
      if (entries.some((entry) => entry.isIntersecting)) load();
    },
    { rootMargin: "400px" },
  ).observe(sentinel);
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
