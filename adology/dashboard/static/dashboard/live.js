// Live updates for a brandspace page, over the /ws/ socket (events documented in realtime/EVENTS.md).
// - run.queued / run.progress / run.committed / snapshot: the brand's progress bar moves;
// - run.finished: the brand rows are re-read from the server (counts, last run);
// - creative.new: new ads are fetched as rendered cards and put at the top of the grid,
//   filtered server-side by the page's own filters, and announced in a notification.
// "Refresh now" posts without leaving the page; everything else is plain HTML.

const body = document.body;
const brandspace = Number(body.dataset.brandspace);
const statusEl = document.querySelector("[data-testid=live-status]");
const runs = new Map(); // run id -> latest payload of an active run

function setStatus(state, text) {
  if (!statusEl) return;
  statusEl.dataset.state = state;
  statusEl.textContent = text;
}

export function toast(text, href) {
  const box = document.querySelector("[data-testid=notifications]");
  if (!box) return;
  const item = document.createElement("div");
  item.className = "toast";
  item.textContent = text + " ";
  if (href) {
    const link = document.createElement("a");
    link.href = href;
    link.textContent = "See them";
    item.append(link);
  }
  box.append(item);
  setTimeout(() => item.remove(), 8000);
}

// --- progress bars -------------------------------------------------------------------------

// The words for each stage come from the server (dashboard/selectors.py STAGE_LABELS).
const STAGES = JSON.parse(document.getElementById("stage-labels")?.textContent || "{}");

function signInAgain(response) {
  // The session ended while the page was open: go to sign in, then come back here.
  if (response.status !== 401) return false;
  location.assign(`/login/?next=${encodeURIComponent(location.pathname + location.search)}`);
  return true;
}

function renderBrand(brandId) {
  const row = document.querySelector(`[data-testid=brand-row][data-brand-id="${brandId}"]`);
  if (!row) return;
  const active = [...runs.values()].filter((run) => run.brand.id === brandId);
  const bar = row.querySelector("[data-run-progress]");
  const state = row.querySelector("[data-run-state]");
  if (!active.length) return; // the finished run's row is re-read from the server
  const done = active.reduce((sum, run) => sum + run.done + run.failed, 0);
  const total = active.reduce((sum, run) => sum + run.total, 0);
  const progress = bar.querySelector("progress");
  const stage = active.map((run) => run.stage || run.status).sort(
    (a, b) => Object.keys(STAGES).indexOf(a) - Object.keys(STAGES).indexOf(b))[0];
  if (total > 0) {
    progress.max = total;
    progress.value = Math.min(done, total);
  } else {
    progress.removeAttribute("value"); // indeterminate until the run knows its size
  }
  bar.querySelector("[data-progress-text]").textContent =
    `${STAGES[stage] || stage}${total ? ` · ${done}/${total}` : ""}`;
  bar.hidden = false;
  state.hidden = true;
}

let rowsTimer = null;
function refreshBrandRows() {
  const tbody = document.querySelector("[data-live=brand-rows]");
  if (!tbody) return;
  clearTimeout(rowsTimer);
  rowsTimer = setTimeout(async () => {
    const response = await fetch(tbody.dataset.fragmentUrl, { headers: { "X-Requested-With": "fetch" } });
    if (signInAgain(response) || !response.ok) return;
    tbody.innerHTML = await response.text();
    for (const run of runs.values()) renderBrand(run.brand.id);
  }, 300);
}

// --- new ads -------------------------------------------------------------------------------

const pendingAds = [];
let adsTimer = null;

function queueNewAd(payload) {
  pendingAds.push(payload);
  clearTimeout(adsTimer);
  adsTimer = setTimeout(flushNewAds, 400); // a run commits its ads together: fetch them together
}

async function flushNewAds() {
  const batch = pendingAds.splice(0, pendingAds.length);
  if (!batch.length) return;
  const ids = batch.map((ad) => ad.id);
  for (const grid of document.querySelectorAll("[data-live=new-ads]")) {
    const url = new URL(grid.dataset.cardsUrl, location.href);
    // New ads belong at the top only of a newest-first list; the notification still tells.
    if ((url.searchParams.get("ordering") || "newest") !== "newest") continue;
    url.searchParams.delete("cursor");
    for (let i = 0; i < ids.length; i += 100) {
      url.searchParams.set("ids", ids.slice(i, i + 100).join(","));
      const response = await fetch(url, { headers: { "X-Requested-With": "fetch" } });
      if (signInAgain(response)) return;
      if (!response.ok) continue;
      const holder = document.createElement("div");
      holder.innerHTML = await response.text();
      const fresh = [...holder.querySelectorAll("[data-creative-id]")].filter(
        (card) => !grid.querySelector(`[data-creative-id="${card.dataset.creativeId}"]`));
      if (fresh.length) grid.querySelector("[data-empty]")?.remove();
      fresh.forEach((card) => card.classList.add("is-new"));
      grid.prepend(...fresh);
    }
    // The overview shows only the latest few; the explorer keeps everything it has loaded.
    const limit = Number(grid.dataset.limit || 0);
    if (limit) [...grid.querySelectorAll("[data-creative-id]")].slice(limit).forEach((card) => card.remove());
  }
  const brands = [...new Set(batch.map((ad) => ad.brand.name))];
  const explorer = document.querySelector(".tabs a[href$='/ads/']");
  toast(`${batch.length} new ad${batch.length === 1 ? "" : "s"} from ${brands.join(", ")}.`, explorer?.href);
}

// --- the socket ----------------------------------------------------------------------------

// A run as the bar adds it up: run.queued carries no counts yet.
const counted = (payload) => ({ done: 0, failed: 0, total: 0, ...payload });

function handle(frame, socket) {
  if (frame.brandspace !== brandspace) {
    // The socket starts subscribed to every brandspace of the organization; this page
    // shows one, so it leaves the others (their snapshots name them).
    if (frame.type === "snapshot") socket.send(JSON.stringify({ action: "unsubscribe", brandspace: frame.brandspace }));
    return;
  }
  const p = frame.payload;
  switch (frame.type) {
    case "snapshot": { // the whole truth about active runs: runs that ended while away go
      const current = new Set(p.runs.map((run) => run.run));
      const ended = [...runs.keys()].some((id) => !current.has(id));
      runs.clear();
      for (const run of p.runs) runs.set(run.run, counted(run));
      if (ended) refreshBrandRows(); // re-read the rows; it re-applies the runs left
      else for (const run of runs.values()) renderBrand(run.brand.id);
      break;
    }
    case "run.queued":
    case "run.progress":
    case "run.committed":
      runs.set(p.run, counted({ ...runs.get(p.run), ...p }));
      renderBrand(p.brand.id);
      break;
    case "run.finished":
      runs.delete(p.run);
      refreshBrandRows();
      if (p.outcome === "failed") toast(`${p.brand.name}: the ${p.source} run failed. ${p.reason || ""}`);
      break;
    case "creative.new":
      queueNewAd(p);
      break;
    default: // clients ignore event types they do not know
  }
}

let retry = 0;
function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}${body.dataset.wsPath}`);
  socket.addEventListener("open", () => { retry = 0; setStatus("live", "Live"); });
  socket.addEventListener("message", (event) => handle(JSON.parse(event.data), socket));
  socket.addEventListener("close", (event) => {
    if (event.code === 4401 || event.code === 4403) { // signed out or access removed: don't retry
      setStatus("offline", "Signed out");
      return;
    }
    setStatus("offline", "Reconnecting…");
    retry = Math.min(retry + 1, 6);
    setTimeout(connect, 500 * 2 ** retry * (0.5 + Math.random() / 2));
    refreshBrandRows(); // catch up on what finished while the socket was down
  });
}

// --- "Refresh now" without leaving the page -------------------------------------------------

for (const form of document.querySelectorAll("form[data-live-form=refresh]")) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { "X-Requested-With": "fetch" },
      });
      const text = await response.text(); // read to the end, or the browser reports it aborted
      if (signInAgain(response)) return;
      toast(response.ok ? response.headers.get("X-Message") || "Refresh started." : text);
    } catch {
      toast("Could not reach Adology; check your connection and try again.");
    } finally {
      setTimeout(() => { button.disabled = false; }, 2000);
    }
  });
}

if (brandspace) connect();
