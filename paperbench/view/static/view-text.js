// paperbench view: a text file of a run (log, source file), read a page at a time, searched on
// the server, opened at a line. Lines are shown with textContent.
"use strict";

const TEXT_PAGE = 400;

// A viewer for one file: {run, area, path, line, end}. Returns its element.
function textViewer(options) {
  const state = { next: 1, first: null, busy: false, total: null };
  const lines = el("div", { class: "lines", role: "log" });
  const info = el("span", { class: "muted" });
  const found = el("div", { class: "hits" });
  const search = el("input", { type: "search", placeholder: "Search this file", class: "search" });
  const goto = el("input", { type: "number", min: "1", placeholder: "line", class: "goto" });
  const more = el("button", { type: "button", class: "more", text: "Load more" });
  const root = el(
    "div",
    { class: "text-viewer", dataset: { area: options.area, path: options.path } },
    el(
      "div",
      { class: "toolbar" },
      el("code", { text: `${options.area}/${options.path}` }),
      info,
      el("span", { class: "spacer" }),
      search,
      el("button", { type: "button", text: "Find", onclick: () => runSearch(1) }),
      goto,
      el("button", { type: "button", text: "Go", onclick: () => openAt(Number(goto.value) || 1) }),
      el("button", { type: "button", text: "Start", onclick: () => openAt(1) }),
      el("button", { type: "button", text: "End", onclick: openEnd }),
    ),
    found,
    lines,
    more,
  );
  search.addEventListener("keydown", (event) => {
    if (event.key === "Enter") runSearch(1);
  });
  more.addEventListener("click", () => load());

  function row(number, text, cut) {
    const highlighted =
      options.line && number >= options.line && number <= (options.end || options.line);
    return el(
      "div",
      { class: `line${highlighted ? " hl" : ""}`, dataset: { line: number } },
      el("span", { class: "num", text: number }),
      el("span", { class: "txt", text: text }),
      cut ? el("span", { class: "cut", text: ` … ${cut} more bytes on this line` }) : null,
    );
  }

  async function load(params, from) {
    const start = from ?? state.next;
    if (state.busy || start === null) return;
    state.busy = true;
    const { ok, data } = await api("/api/run/text", {
      run: options.run,
      area: options.area,
      path: options.path,
      start,
      count: TEXT_PAGE,
      ...(params || {}),
    });
    state.busy = false;
    if (!ok) {
      fill(lines, el("p", { class: "error", text: data.error }));
      more.hidden = true;
      return;
    }
    if (data.binary) {
      fill(
        lines,
        el("p", { class: "muted", text: `binary file, ${fmtBytes(data.size)}: not shown` }),
      );
      more.hidden = true;
      return;
    }
    if (data.total !== undefined) state.total = data.total;
    info.textContent = `${fmtBytes(data.size)}${state.total !== null ? `, ${fmtInt(state.total)} lines` : ""}`;
    lines.append(...data.lines.map(([number, text, cut]) => row(number, text, cut)));
    state.next = data.next;
    more.hidden = data.next === null;
    if (!data.lines.length && state.first === null)
      lines.append(el("p", { class: "muted", text: "(empty)" }));
  }

  async function openAt(line, params) {
    state.first = Math.max(1, line);
    state.next = state.first;
    fill(lines);
    if (state.first > 1) {
      lines.append(
        el("button", {
          type: "button",
          class: "more",
          text: "Earlier lines",
          onclick: () => openAt(Math.max(1, state.first - TEXT_PAGE)),
        }),
      );
    }
    await load(params);
    const target = lines.querySelector(".line.hl") || lines.querySelector(`[data-line="${line}"]`);
    if (target) target.scrollIntoView({ block: "center" });
  }

  async function openEnd() {
    const { ok, data } = await api("/api/run/text", {
      run: options.run,
      area: options.area,
      path: options.path,
      start: 1,
      count: 1,
      total: 1,
    });
    if (ok && typeof data.total === "number") {
      state.total = data.total;
      await openAt(Math.max(1, data.total - TEXT_PAGE + 1));
      lines.lastElementChild?.scrollIntoView({ block: "end" });
    }
  }

  async function runSearch(start) {
    const text = search.value;
    if (!text) return;
    fill(found, el("span", { class: "muted", text: "searching…" }));
    const { ok, data } = await api("/api/run/text/search", {
      run: options.run,
      area: options.area,
      path: options.path,
      q: text,
      start,
    });
    if (!ok) {
      fill(found, el("span", { class: "error", text: data.error }));
      return;
    }
    const items = data.hits.map(([number, line]) =>
      el(
        "li",
        {},
        el("button", {
          type: "button",
          class: "link",
          text: `line ${number}`,
          onclick: () => {
            options.line = number;
            options.end = number;
            openAt(Math.max(1, number - 5));
          },
        }),
        " ",
        el("span", { class: "txt", text: line }),
      ),
    );
    fill(
      found,
      el("div", {
        class: "muted",
        text: `${data.hits.length} match${data.hits.length === 1 ? "" : "es"}${data.next ? " so far" : ""}`,
      }),
      el("ul", {}, items),
      data.next
        ? el("button", {
            type: "button",
            text: "Search further",
            onclick: () => runSearch(data.next),
          })
        : null,
    );
  }

  openAt(options.line ? Math.max(1, options.line - 5) : 1);
  root.reload = () => openAt(state.first || 1);
  // A file still being written: read its last line again (it may have been partial) and any
  // lines after it.
  root.tail = async () => {
    if (state.next !== null || state.busy) return;
    const last = lines.querySelector(".line:last-of-type");
    const again = last ? Number(last.dataset.line) : 1;
    const { ok, data } = await api("/api/run/text", {
      run: options.run,
      area: options.area,
      path: options.path,
      start: again,
      count: TEXT_PAGE,
    });
    if (!ok || data.binary || !data.lines.length) return;
    if (last) last.remove();
    lines.append(...data.lines.map(([number, text, cut]) => row(number, text, cut)));
    state.next = data.next;
    more.hidden = data.next === null;
  };
  return root;
}
