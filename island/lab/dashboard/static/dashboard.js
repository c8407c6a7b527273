// island-dashboard page: polls /api/nodes and redraws the table, charts, graph and rules.
"use strict";

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf",
                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"];
const dashboard = { charts: {}, chartKey: "", colors: {}, view: null };
window.dashboard = dashboard;

function colorOf(node) {
  if (!(node in dashboard.colors)) {
    dashboard.colors[node] = PALETTE[Object.keys(dashboard.colors).length % PALETTE.length];
  }
  return dashboard.colors[node];
}

function fmt(value, digits = 1) {
  if (value === null || value === undefined) return "–";
  if (typeof value !== "number") return String(value);
  return Number.isInteger(value) ? value.toLocaleString("en") : value.toFixed(digits);
}

function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== "") node.textContent = text;
  return node;
}

function svg(tag, attrs = {}, text = "") {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== "") node.textContent = text;
  return node;
}

// -- table ------------------------------------------------------------------------------

function drawTable(view) {
  const body = document.querySelector("#nodes tbody");
  body.replaceChildren();
  for (const n of view.nodes) {
    const row = el("tr", { "data-node": n.node, "data-state": n.state });
    if (n.state === "dead" || n.state === "stopped") row.className = "gone";
    const state = n.state === "alive" ? "alive" :
      n.state === "stopped" ? `stopped${n.stop_reason ? ": " + n.stop_reason : ""}` :
      `${n.state} (${fmt(n.seen_ago, 0)} s)`;
    const family = n.kind === "weights" ? "– (no rule)" : n.rule_family;
    const cells = [n.node, state, n.address, n.env, n.kind, family, fmt(n.generation),
      fmt(n.evaluations), fmt(n.evals_per_s, 0), fmt(n.best, 2), fmt(n.champion, 2),
      fmt(n.held_out, 2), `${fmt(n.migrants_in)} / ${fmt(n.migrants_out)}`];
    cells.forEach((text, i) => {
      const td = el("td", {}, text);
      if (i === 0) { td.className = "swatch-cell"; td.style.setProperty("--swatch", colorOf(n.node)); }
      if (i === 1) td.className = `state state-${n.state}`;
      if (i === 9) td.setAttribute("data-best", n.best ?? "");
      row.appendChild(td);
    });
    body.appendChild(row);
  }
  const status = document.getElementById("status");
  status.textContent = `${view.message} · updated ${new Date(view.updated * 1000).toLocaleTimeString()}`;
  status.className = view.nodes.length ? "status" : "status empty";
  document.getElementById("unreachable").textContent = view.unreachable.length ?
    `Never answered: ${view.unreachable.join(", ")}` : "";
}

// -- fitness charts ---------------------------------------------------------------------

function seriesOf(n, xKey) {
  const h = n.history || {};
  const cols = h.columns || [];
  const rows = (h.rows || []).filter(r => r[cols.indexOf(xKey)] !== null);
  const col = name => rows.map(r => r[cols.indexOf(name)]);
  const champion = col("champion");
  const validated = champion.some(v => v !== null);
  return { xs: col(xKey), top: validated ? champion : col("best"), mean: col("mean"), validated };
}

function drawCharts(view) {
  const nodes = view.nodes.filter(n => (n.history?.rows || []).length);
  const key = nodes.map(n => n.node).join("|");
  for (const [xKey, label] of [["evaluations", "evaluations"], ["wall", "wall time (s)"]]) {
    const per = nodes.map(n => seriesOf(n, xKey));
    const data = per.length ? uPlot.join(per.map(s => [s.xs, s.top, s.mean])) : [[]];
    const target = document.getElementById(`chart-${xKey}`);
    if (key !== dashboard.chartKey || !dashboard.charts[xKey]) {
      dashboard.charts[xKey]?.destroy();
      const series = [{ label }];
      nodes.forEach((n, i) => {
        const stroke = colorOf(n.node);
        series.push({ label: `${n.node} ${per[i].validated ? "champion" : "best"}`, stroke,
                      width: 2, spanGaps: true, points: { show: false } });
        series.push({ label: `${n.node} mean`, stroke, width: 1.5, dash: [6, 4],
                      spanGaps: true, points: { show: false } });
      });
      dashboard.charts[xKey] = new uPlot({
        width: 620, height: 320, series,
        scales: { x: { time: false } }, legend: { show: false },  // colours: the table's
        axes: [{ label }, { label: "mean episode return" }],
      }, data, target);
    } else {
      dashboard.charts[xKey].setData(data);
    }
  }
  dashboard.chartKey = key;
}

// -- peer graph -------------------------------------------------------------------------

const W = 640, H = 520;  // the graph's viewBox

function drawGraph(view) {
  const g = document.getElementById("graph");
  g.replaceChildren();
  const defs = svg("defs");
  const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "10", refY: "5",
    markerWidth: "9", markerHeight: "9", markerUnits: "userSpaceOnUse",
    orient: "auto-start-reverse" });
  marker.appendChild(svg("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#444" }));
  defs.appendChild(marker);
  g.appendChild(defs);
  const nodes = view.nodes;
  if (!nodes.length) {
    g.appendChild(svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, "no nodes reachable"));
    return;
  }
  const pos = {}, byAddress = {};
  const cx = W / 2, cy = H / 2, r = nodes.length > 1 ? Math.min(W, H) / 2 - 70 : 0;
  nodes.forEach((n, i) => {
    const a = -Math.PI / 2 + 2 * Math.PI * i / nodes.length;
    pos[n.node] = [cx + r * Math.cos(a), cy + r * Math.sin(a)];
    byAddress[n.address] = n.node;
  });
  const drawn = new Set();
  for (const n of nodes) {
    if (n.state !== "alive") continue;
    for (const address of n.peers) {
      const other = byAddress[address];
      const edge = [n.node, other].sort().join("→");
      if (!other || drawn.has(edge)) continue;
      drawn.add(edge);
      const [x1, y1] = pos[n.node], [x2, y2] = pos[other];
      g.appendChild(svg("line", { x1, y1, x2, y2, stroke: "#ccc", "stroke-width": 1 }));
    }
  }
  for (const n of nodes) {
    for (const [origin, counts] of Object.entries(n.flow || {})) {
      if (!(origin in pos) || origin === n.node) continue;
      const [x1, y1] = pos[origin], [x2, y2] = pos[n.node];
      const moved = (counts.accepted || 0) + (counts.grafted || 0);
      const dx = x2 - x1, dy = y2 - y1, len = Math.hypot(dx, dy) || 1;
      const ux = dx / len, uy = dy / len, off = 22;  // stop at the circles; bend to the right
      const sx = x1 + ux * off, sy = y1 + uy * off, ex = x2 - ux * off, ey = y2 - uy * off;
      const mx = (sx + ex) / 2 - uy * 30, my = (sy + ey) / 2 + ux * 30;
      const path = svg("path", { d: `M ${sx} ${sy} Q ${mx} ${my} ${ex} ${ey}`, fill: "none",
        stroke: moved ? colorOf(origin) : "#e57373", "stroke-dasharray": moved ? "" : "4 3",
        "stroke-width": moved ? Math.min(5, 1 + Math.log2(1 + moved) / 2) : 1,
        "marker-end": "url(#arrow)", class: "flow" });
      const countsText = `${counts.accepted || 0} accepted / ${counts.grafted || 0} grafted / ` +
        `${counts.dropped || 0} dropped`;
      path.appendChild(svg("title", {}, `${origin} → ${n.node}: ${countsText}`));
      g.appendChild(path);
      if (moved) {  // label where genes moved; every arrow has its counts as a tooltip
        g.appendChild(svg("text", { x: (sx + ex) / 2 - uy * 20, y: (sy + ey) / 2 + ux * 20,
          "text-anchor": "middle", fill: "#222", class: "flow-label" },
          `${counts.accepted || 0}/${counts.grafted || 0}/${counts.dropped || 0}`));
      }
    }
  }
  for (const n of nodes) {
    const [x, y] = pos[n.node];
    const alive = n.state === "alive";
    g.appendChild(svg("circle", { cx: x, cy: y, r: 18, fill: alive ? colorOf(n.node) : "#bbb",
      stroke: "#333", "stroke-dasharray": alive ? "" : "3 2", class: `node state-${n.state}` }));
    // Names sit outside the ring, away from the arrows inside it.
    const ox = x - cx, oy = y - cy, d = Math.hypot(ox, oy) || 1;
    const lx = x + ox / d * 34, ly = y + (oy / d) * (oy < 0 ? 44 : 30) + 4;
    const anchor = Math.abs(ox / d) < 0.3 ? "middle" : (ox > 0 ? "start" : "end");
    g.appendChild(svg("text", { x: lx, y: ly, "text-anchor": anchor, "font-weight": "bold" },
      n.node));
    g.appendChild(svg("text", { x: lx, y: ly + 14, "text-anchor": anchor, fill: "#555" },
      alive ? `best ${fmt(n.best, 1)}` : n.state));
  }
}

// -- rules ------------------------------------------------------------------------------

function drawRules(view) {
  const box = document.getElementById("rules");
  box.replaceChildren();
  for (const n of view.nodes) {
    const card = el("div", { class: "rule" });
    card.appendChild(el("h3", {}, `${n.node} · ${n.kind} · ${n.rule_family}`));
    const names = Object.keys(n.rules || {});
    if (!names.length) {
      card.appendChild(el("p", { class: "note" }, n.kind === "weights" ?
        "no learning rule: weights only" : "no rule reported yet"));
    } else {
      const layers = [...new Set(names.map(k => k.split(".")[0]))];
      const params = [...new Set(names.map(k => k.split(".").slice(1).join(".")))];
      const table = el("table");
      const head = el("tr");
      head.appendChild(el("th", {}, ""));
      params.forEach(p => head.appendChild(el("th", {}, p)));
      table.appendChild(head);
      for (const layer of layers) {
        const row = el("tr");
        row.appendChild(el("th", {}, layer));
        params.forEach(p => {
          const v = n.rules[`${layer}.${p}`];
          row.appendChild(el("td", {}, v === undefined ? "" : Number(v).toPrecision(3)));
        });
        table.appendChild(row);
      }
      card.appendChild(table);
    }
    if ((n.learning_curve || []).length > 1) card.appendChild(learningCurve(n));
    box.appendChild(card);
  }
}

function learningCurve(n) {
  const ys = n.learning_curve, w = 240, h = 70;
  const lo = Math.min(...ys), hi = Math.max(...ys), span = hi - lo || 1;
  const points = ys.map((y, i) => `${4 + i * (w - 8) / (ys.length - 1)},${h - 4 - (y - lo) / span * (h - 8)}`);
  const box = svg("svg", { width: w, height: h + 14, class: "curve" });
  box.appendChild(svg("polyline", { points: points.join(" "), fill: "none",
    stroke: colorOf(n.node), "stroke-width": 2 }));
  box.appendChild(svg("text", { x: 4, y: h + 11, "font-size": 10 },
    `within-lifetime learning: episode 1 → ${ys.length}, ${fmt(ys[0])} → ${fmt(ys[ys.length - 1])}`));
  return box;
}

// -- loop -------------------------------------------------------------------------------

async function refresh() {
  let delay = 3000;
  try {
    const response = await fetch("/api/nodes", { cache: "no-store" });
    const view = await response.json();
    dashboard.view = view;
    delay = Math.max(500, view.refresh * 1000);
    drawTable(view);
    drawCharts(view);
    drawGraph(view);
    drawRules(view);
  } catch (err) {
    const status = document.getElementById("status");
    status.textContent = `dashboard server not answering (${err})`;
    status.className = "status empty";
  }
  setTimeout(refresh, delay);
}

refresh();
