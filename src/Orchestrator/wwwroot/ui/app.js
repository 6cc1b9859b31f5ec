// The dashboard: a few views over the same JSON API the Prefect clients use, read again every few
// seconds. No build step; the server serves these files as they are.
"use strict";

const REFRESH_MS = 5000;
const PAGE = 25;
const view = document.getElementById("view");
const state = { runs: { state: "", flow: "", deployment: "", tag: "", offset: 0 } };
let timer = null;

// --- the API -------------------------------------------------------------------------------------

class NeedsKey extends Error {}

async function api(path, body) {
  const headers = { "Content-Type": "application/json" };
  const key = localStorage.getItem("orchestrator.apiKey");
  if (key) headers.Authorization = `Bearer ${key}`;
  const response = await fetch(`/api/${path}`, body === undefined
    ? { headers } : { method: "POST", headers, body: JSON.stringify(body) });
  if (response.status === 401 || response.status === 403) {
    askForKey(response.status === 403 ? "That key's scope cannot read this." : (key ? "That key was refused." : ""));
    throw new NeedsKey();
  }
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

function askForKey(problem) {
  document.getElementById("key-form").hidden = false;
  document.getElementById("key-problem").textContent = problem;
}

document.getElementById("key-form").addEventListener("submit", event => {
  event.preventDefault();
  localStorage.setItem("orchestrator.apiKey", document.getElementById("key").value.trim());
  document.getElementById("key-form").hidden = true;
  render();
});

// --- helpers -------------------------------------------------------------------------------------

const esc = text => String(text ?? "").replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const when = iso => iso ? new Date(iso).toLocaleString() : "";
const isLate = run => run.state && run.state.type === "SCHEDULED" && run.state.name === "Late";

function badge(s) {
  if (!s) return `<span class="state">none</span>`;
  const late = s.type === "SCHEDULED" && s.name === "Late";
  return `<span class="state ${esc(s.type)}${late ? " late" : ""}" title="${esc(s.type)}">${esc(s.name || s.type)}</span>`;
}

function duration(seconds) {
  if (seconds == null) return "";
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  return m < 60 ? `${m} min ${Math.round(seconds % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

async function namesOf(kind, ids) {
  if (ids.length === 0) return {};
  const found = await api(`${kind}/filter`, { [kind]: { id: { any_: [...new Set(ids)] } }, limit: 200 });
  return Object.fromEntries(found.map(o => [o.id, o]));
}

// --- views ---------------------------------------------------------------------------------------

async function runsView() {
  const f = state.runs;
  if (!document.getElementById("runs-filters")) {
    view.innerHTML = `
      <h2>Flow runs</h2>
      <form class="filters" id="runs-filters">
        <select name="state">
          <option value="">any state</option>
          ${["SCHEDULED", "PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED", "CRASHED", "PAUSED"].map(s => `<option>${s}</option>`).join("")}
          <option value="LATE">late</option>
        </select>
        <input name="flow" placeholder="flow name">
        <input name="deployment" placeholder="deployment name">
        <input name="tag" placeholder="tag">
      </form>
      <div id="runs-table"></div>
      <div class="pager"><button id="newer">Newer</button><span id="page"></span><button id="older">Older</button></div>`;
    const form = document.getElementById("runs-filters");
    for (const [name, value] of Object.entries(f)) if (form.elements[name]) form.elements[name].value = value;
    const filter = () => {
      for (const name of ["state", "flow", "deployment", "tag"]) f[name] = form.elements[name].value.trim();
      f.offset = 0;
      refresh();
    };
    // Typing filters as it goes; a select reports its choice as a change.
    form.addEventListener("input", filter);
    form.addEventListener("change", filter);
    form.addEventListener("submit", event => event.preventDefault());
    document.getElementById("newer").addEventListener("click", () => { f.offset = Math.max(0, f.offset - PAGE); refresh(); });
    document.getElementById("older").addEventListener("click", () => { f.offset += PAGE; refresh(); });
  }

  const body = { sort: "EXPECTED_START_TIME_DESC", limit: PAGE, offset: f.offset, flow_runs: {} };
  if (f.state === "LATE") body.flow_runs.state = { type: { any_: ["SCHEDULED"] }, name: { any_: ["Late"] } };
  else if (f.state) body.flow_runs.state = { type: { any_: [f.state] } };
  if (f.tag) body.flow_runs.tags = { all_: [f.tag] };
  if (f.flow) body.flows = { name: { like_: f.flow } };
  if (f.deployment) body.deployments = { name: { like_: f.deployment } };
  const runs = await api("flow_runs/filter", body);
  const flows = await namesOf("flows", runs.map(r => r.flow_id));
  document.getElementById("page").textContent = `${f.offset + 1}–${f.offset + runs.length}`;
  document.getElementById("older").disabled = runs.length < PAGE;
  document.getElementById("newer").disabled = f.offset === 0;
  document.getElementById("runs-table").innerHTML = runs.length === 0 ? `<p class="muted">No flow runs.</p>` : `
    <table id="runs">
      <tr><th>Run</th><th>Flow</th><th>State</th><th>Expected start</th><th>Started</th><th>Ended</th><th>Run time</th><th>Tags</th></tr>
      ${runs.map(r => `
        <tr class="${isLate(r) ? "late" : ""}" data-run-id="${esc(r.id)}">
          <td><a href="#/runs/${esc(r.id)}">${esc(r.name)}</a></td>
          <td>${esc(flows[r.flow_id]?.name)}</td>
          <td>${badge(r.state)}</td>
          <td>${when(r.expected_start_time)}</td>
          <td>${when(r.start_time)}</td>
          <td>${when(r.end_time)}</td>
          <td>${duration(r.total_run_time)}</td>
          <td>${(r.tags || []).map(esc).join(", ")}</td>
        </tr>`).join("")}
    </table>`;
}

async function runView(id) {
  const run = await api(`flow_runs/${id}`);
  const [states, tasks, flows] = await Promise.all([
    api(`flow_run_states/?flow_run_id=${id}`),
    api("task_runs/filter", { flow_runs: { id: { any_: [id] } }, sort: "EXPECTED_START_TIME_ASC", limit: 200 }),
    namesOf("flows", [run.flow_id]),
  ]);
  states.sort((a, b) => a.timestamp.localeCompare(b.timestamp));

  // Task runs as bars over the flow run's time: when each ran, its final state, how many runs it took.
  const now = Date.now();
  const began = t => Date.parse(t.start_time || t.expected_start_time || t.created);
  const ended = t => t.end_time ? Date.parse(t.end_time) : (t.state && ["RUNNING", "PENDING"].includes(t.state.type) ? now : began(t));
  const from = Math.min(...tasks.map(began), run.start_time ? Date.parse(run.start_time) : now);
  const to = Math.max(...tasks.map(ended), run.end_time ? Date.parse(run.end_time) : now, from + 1);
  const pct = t => ((t - from) / (to - from)) * 100;

  view.innerHTML = `
    <h2>Flow run ${esc(run.name)} <span class="muted">of ${esc(flows[run.flow_id]?.name)}</span> ${badge(run.state)}</h2>
    <p class="muted">Expected ${when(run.expected_start_time)} · started ${when(run.start_time) || "not yet"} · ended ${when(run.end_time) || "not yet"} · ${run.run_count} run(s) · tags ${(run.tags || []).map(esc).join(", ") || "none"}</p>
    <h2>State history</h2>
    <div class="timeline" id="timeline">
      ${states.map((s, i) => `${i ? `<span class="arrow">→</span>` : ""}<span title="${esc(s.message || "")}">${badge(s)} <span class="muted">${when(s.timestamp)}</span></span>`).join("")}
    </div>
    <h2>Task runs</h2>
    <div class="gantt" id="gantt">
      ${tasks.length === 0 ? `<p class="muted">No task runs.</p>` : tasks.map(t => {
        const left = pct(began(t)), width = Math.max(0.5, pct(ended(t)) - left);
        const retries = t.run_count > 1 ? ` · ${t.run_count} runs` : "";
        return `<div class="row" data-task-id="${esc(t.id)}">
          <span title="${esc(t.task_key)}">${esc(t.name)}</span>
          <div class="track"><div class="bar ${esc(t.state?.type)}" style="left:${left}%;width:${width}%"
               title="${esc(t.state?.name)} ${esc(t.state?.message || "")}"></div></div>
          <span class="label">${badge(t.state)}${retries} <span class="muted">${duration(t.total_run_time)}</span></span>
        </div>`;
      }).join("")}
    </div>`;
}

async function limitsView() {
  const limits = await api("concurrency_limits/filter", {});
  const holders = await namesOf("task_runs", limits.flatMap(l => l.active_slots));
  view.innerHTML = `
    <h2>Concurrency limits</h2>
    ${limits.length === 0 ? `<p class="muted">No concurrency limits.</p>` : `
    <table id="limits">
      <tr><th>Tag</th><th>Slots in use</th><th>Held by</th></tr>
      ${limits.map(l => `
        <tr data-tag="${esc(l.tag)}">
          <td>${esc(l.tag)}</td>
          <td class="${l.active_slots.length >= l.concurrency_limit ? "full" : ""}">${l.active_slots.length} of ${l.concurrency_limit}${l.active_slots.length >= l.concurrency_limit ? " (full)" : ""}</td>
          <td>${l.active_slots.map(id => holders[id]
              ? `<div class="holder" data-task-id="${esc(id)}"><a href="#/runs/${esc(holders[id].flow_run_id)}">${esc(holders[id].name)}</a> ${badge(holders[id].state)} since ${when(holders[id].state?.timestamp)}</div>`
              : `<div class="holder muted" data-task-id="${esc(id)}">${esc(id)} (gone)</div>`).join("") || `<span class="muted">none</span>`}</td>
        </tr>`).join("")}
    </table>`}`;
}

async function queuesView() {
  const queues = await api("work_queues/filter", {});
  const pending = await Promise.all(queues.map(q => api("flow_runs/filter", {
    flow_runs: { work_queue_name: { any_: [q.name] }, state: { type: { any_: ["SCHEDULED", "PENDING"] } } },
    sort: "EXPECTED_START_TIME_ASC", limit: 10,
  })));
  view.innerHTML = `
    <h2>Work queues</h2>
    ${queues.length === 0 ? `<p class="muted">No work queues.</p>` : `
    <table id="queues">
      <tr><th>Queue</th><th>Paused</th><th>Concurrency</th><th>Last polled</th><th>Waiting runs (next 10)</th></tr>
      ${queues.map((q, i) => `
        <tr data-queue="${esc(q.name)}">
          <td>${esc(q.name)}</td><td>${q.is_paused ? "paused" : ""}</td><td>${q.concurrency_limit ?? "none"}</td>
          <td>${when(q.last_polled) || `<span class="muted">never</span>`}</td>
          <td>${pending[i].map(r => `<div class="${isLate(r) ? "late" : ""}"><a href="#/runs/${esc(r.id)}">${esc(r.name)}</a> ${badge(r.state)} ${when(r.expected_start_time)}</div>`).join("") || `<span class="muted">none</span>`}</td>
        </tr>`).join("")}
    </table>`}`;
}

async function deploymentsView() {
  const deployments = await api("deployments/filter", { sort: "NAME_ASC" });
  const [flows, next] = await Promise.all([
    namesOf("flows", deployments.map(d => d.flow_id)),
    Promise.all(deployments.map(d => api("flow_runs/filter", {
      deployments: { id: { any_: [d.id] } }, flow_runs: { state: { type: { any_: ["SCHEDULED"] } } },
      sort: "EXPECTED_START_TIME_ASC", limit: 3,
    }))),
  ]);
  view.innerHTML = `
    <h2>Deployments</h2>
    ${deployments.length === 0 ? `<p class="muted">No deployments.</p>` : `
    <table id="deployments">
      <tr><th>Deployment</th><th>Schedule</th><th>Work queue</th><th>Next runs</th></tr>
      ${deployments.map((d, i) => `
        <tr data-deployment="${esc(d.name)}">
          <td>${esc(flows[d.flow_id]?.name)}/${esc(d.name)}</td>
          <td>${d.schedule ? esc(JSON.stringify(d.schedule)) : `<span class="muted">none</span>`}${d.schedule && !d.is_schedule_active ? " (paused)" : ""}</td>
          <td>${esc(d.work_queue_name)}</td>
          <td>${next[i].map(r => `<div class="${isLate(r) ? "late" : ""}"><a href="#/runs/${esc(r.id)}">${when(r.expected_start_time)}</a> ${badge(r.state)}</div>`).join("") || `<span class="muted">none scheduled</span>`}</td>
        </tr>`).join("")}
    </table>`}`;
}

// --- routing and refreshing ----------------------------------------------------------------------

function route() {
  const [, page = "runs", id] = (location.hash || "#/runs").split("/");
  return { page, id };
}

async function refresh() {
  const { page, id } = route();
  try {
    if (page === "runs" && id) await runView(id);
    else if (page === "limits") await limitsView();
    else if (page === "queues") await queuesView();
    else if (page === "deployments") await deploymentsView();
    else await runsView();
    document.getElementById("refreshed").textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    if (!(error instanceof NeedsKey)) document.getElementById("refreshed").textContent = `could not read the API: ${error.message}`;
  }
}

function render() {
  const { page, id } = route();
  for (const link of document.querySelectorAll("[data-nav]")) link.classList.toggle("current", link.dataset.nav === page && !id);
  view.innerHTML = "";
  clearInterval(timer);
  refresh();
  timer = setInterval(refresh, REFRESH_MS);
}

window.addEventListener("hashchange", render);
render();
