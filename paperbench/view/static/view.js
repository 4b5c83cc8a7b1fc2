// paperbench view: the router. #/ runs, #/leaderboard, #/run/<id>/<tab>?key=value.
"use strict";

function route() {
  stopLive();
  setStatus("");
  $("app").dataset.state = "loading";
  for (const key of Object.keys(document.body.dataset)) delete document.body.dataset[key];
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, search] = hash.split("?");
  const params = new URLSearchParams(search || "");
  const parts = path.split("/").filter(Boolean);
  for (const link of document.querySelectorAll("#top nav a")) link.classList.remove("active");
  if (parts[0] === "run" && parts[1]) {
    showRun(decodeURIComponent(parts[1]), parts[2] || "overview", params);
  } else if (parts[0] === "leaderboard") {
    $("nav-leaderboard").classList.add("active");
    showLeaderboard();
  } else {
    $("nav-runs").classList.add("active");
    showRuns();
  }
}

window.addEventListener("hashchange", route);
route();
