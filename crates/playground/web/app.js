// The shendu Playground page. The server trains; this file only asks it to (fetch), listens to
// what it reports (EventSource) and draws the latest report. Plain ES2020, no build step: the
// server embeds this file as it is.
"use strict";

/* ------------------------------------------------------------------------------------------------
 * Constants: the Playground's choices, and how they are named on the wire.
 * --------------------------------------------------------------------------------------------- */

const FEATURES = [
  { name: "x1", label: "x₁", f: (x, y) => x },
  { name: "x2", label: "x₂", f: (x, y) => y },
  { name: "x1sq", label: "x₁²", f: (x, y) => x * x },
  { name: "x2sq", label: "x₂²", f: (x, y) => y * y },
  { name: "x1x2", label: "x₁x₂", f: (x, y) => x * y },
  { name: "sinx1", label: "sin(x₁)", f: (x, y) => Math.sin(x) },
  { name: "sinx2", label: "sin(x₂)", f: (x, y) => Math.sin(y) },
];
const FEATURE_NAMES = FEATURES.map((f) => f.name);

const DATASETS = [
  { name: "circle", title: "Circle", problem: "classification" },
  { name: "xor", title: "Exclusive or", problem: "classification" },
  { name: "gauss", title: "Gaussian", problem: "classification" },
  { name: "spiral", title: "Spiral", problem: "classification" },
  { name: "plane", title: "Plane", problem: "regression" },
  { name: "multigauss", title: "Multi Gaussian", problem: "regression" },
];

const LEARNING_RATES = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const REG_RATES = [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const MAX_LAYERS = 6;
const MAX_NEURONS = 8;
const EXTENT = 6; // points and heat maps cover [-6, 6]²

// The Playground's defaults: what a link without a hash starts from.
const DEFAULTS = {
  dataset: "circle", noise: 0, train_percent: 50, batch: 10, features: ["x1", "x2"],
  layers: [4, 2], activation: "tanh", lr: 0.03, reg: "none", reg_rate: 0,
  optimizer: "sgd", loss: "mse", seed: 0, exact: false,
};
const SETTING_KEYS = Object.keys(DEFAULTS);

/* ------------------------------------------------------------------------------------------------
 * Colour: orange #f59322 at -1, light grey #e8eaeb at 0, blue #0877bd at +1, linear between.
 * --------------------------------------------------------------------------------------------- */

const ORANGE = [0xf5, 0x93, 0x22];
const GREY = [0xe8, 0xea, 0xeb];
const BLUE = [0x08, 0x77, 0xbd];
const LUT_SIZE = 512;

// A lookup table, so that a 100×100 heat map costs 10,000 array reads rather than 30,000
// interpolations per frame.
const COLOR_LUT = (() => {
  const lut = new Uint8ClampedArray(LUT_SIZE * 3);
  for (let i = 0; i < LUT_SIZE; i++) {
    const rgb = interpolate(-1 + (2 * i) / (LUT_SIZE - 1));
    lut.set(rgb, i * 3);
  }
  return lut;
})();

function interpolate(v) {
  const t = Math.max(-1, Math.min(1, v));
  const [from, to, s] = t < 0 ? [GREY, ORANGE, -t] : [GREY, BLUE, t];
  return from.map((c, k) => Math.round(c + (to[k] - c) * s));
}

// The big map's colours, mixed with white as the original draws it (alpha 160 of 255), so that
// the points, in the full colours, stand out on a region of their own class.
const LIGHT_LUT = COLOR_LUT.map((c) => Math.round(255 + (c - 255) * (160 / 255)));

function lutIndex(v) {
  if (!(v === v)) return (LUT_SIZE - 1) / 2; // NaN: neutral grey rather than a wrong colour
  const t = v < -1 ? -1 : v > 1 ? 1 : v;
  return Math.round(((t + 1) / 2) * (LUT_SIZE - 1)) * 3;
}

function cssColor(v) {
  const i = lutIndex(v);
  return `rgb(${COLOR_LUT[i]},${COLOR_LUT[i + 1]},${COLOR_LUT[i + 2]})`;
}

/* ------------------------------------------------------------------------------------------------
 * State: the settings (as the server last confirmed them), UI-only flags, and their URL form.
 * The URL hash is the whole state, so a copied link reproduces the run.
 * --------------------------------------------------------------------------------------------- */

const State = {
  settings: { ...DEFAULTS },
  ui: { showTestData: false, discretize: false },
  // The last data set of each problem type, so switching the problem type goes back to it.
  lastDataset: { classification: "circle", regression: "plane" },
  customPoints: false, // the session trains on an uploaded CSV (which the URL cannot hold)

  problem() {
    // The server knows best (uploaded points have no data set); the data set's type until then.
    if (View.latest && View.latest.problem) return View.latest.problem;
    const d = DATASETS.find((d) => d.name === this.settings.dataset);
    return d ? d.problem : "classification";
  },

  // Settings from a hash, only the keys it has (the server fills in the rest). Values that
  // do not parse are dropped here; values out of range are left for the server to name.
  fromHash(hash) {
    const params = new URLSearchParams(hash.replace(/^#/, ""));
    const settings = {};
    const ui = {};
    for (const [key, raw] of params) {
      switch (key) {
        case "dataset": case "activation": case "reg": case "optimizer": case "loss":
          settings[key] = raw; break;
        case "noise": case "train_percent": case "batch": case "lr": case "reg_rate": case "seed": {
          const n = Number(raw);
          if (raw !== "" && Number.isFinite(n)) settings[key] = n;
          break;
        }
        case "features": {
          // The Playground's order, whatever the link's; unknown names go on for the server to name.
          const names = raw.split(",").filter((s) => s !== "");
          settings.features = [...FEATURE_NAMES.filter((f) => names.includes(f)), ...names.filter((f) => !FEATURE_NAMES.includes(f))];
          break;
        }
        case "layers":
          settings.layers = raw.split(",").filter((s) => s !== "").map(Number); break;
        case "exact":
          settings.exact = raw === "true"; break;
        case "showTestData": case "discretize":
          ui[key] = raw === "true"; break;
        default: break; // an unknown key (an older or newer page's) is ignored
      }
    }
    return { settings, ui };
  },

  toHash() {
    const s = this.settings;
    const parts = SETTING_KEYS.map((key) => {
      const v = s[key];
      return `${key}=${Array.isArray(v) ? v.join(",") : String(v)}`;
    });
    parts.push(`showTestData=${this.ui.showTestData}`, `discretize=${this.ui.discretize}`);
    return "#" + parts.join("&");
  },

  // replaceState, not pushState: every slider move would otherwise be a Back step. Only when
  // the hash changes, since snapshots (and so settings) arrive 30 times a second.
  syncUrl() {
    const hash = this.toHash();
    if (location.hash !== hash) history.replaceState(null, "", hash);
  },

  adopt(settings) {
    this.settings = { ...this.settings, ...settings };
    const d = DATASETS.find((d) => d.name === this.settings.dataset);
    if (d && !this.customPoints) this.lastDataset[d.problem] = d.name;
    this.syncUrl();
  },
};

/* ------------------------------------------------------------------------------------------------
 * API: the HTTP calls and the event stream, as the contract at the top of src/serve/mod.rs says.
 * --------------------------------------------------------------------------------------------- */

class ApiError extends Error {
  constructor(status, message, field) {
    super(message);
    this.status = status;
    this.field = field ?? null;
  }
}

const Api = {
  id: null,
  source: null,

  async request(method, path, body, contentType = "application/json") {
    let response;
    try {
      response = await fetch(path, {
        method,
        headers: body === undefined ? {} : { "Content-Type": contentType },
        body: body === undefined ? undefined : contentType === "application/json" ? JSON.stringify(body) : body,
      });
    } catch (e) {
      throw new ApiError(0, "the server cannot be reached", null);
    }
    if (response.status === 204) return null;
    const text = await response.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch (e) { /* not JSON: reported below */ }
    if (!response.ok) {
      const message = json && json.error ? json.error
        : response.status === 503 ? "the server is busy (too many sessions); try again soon"
        : `the server answered ${response.status} ${response.statusText}`;
      throw new ApiError(response.status, message, json ? json.field : null);
    }
    return json;
  },

  session(path = "") { return `/api/sessions/${encodeURIComponent(this.id)}${path}`; },

  async create(settings) {
    const created = await this.request("POST", "/api/sessions", settings);
    this.id = created.id;
    return created;
  },
  control(action) { return this.request("POST", this.session("/control"), { action }); },
  put(partial) { return this.request("PUT", this.session("/settings"), partial); },
  weight(layer, neuron, input, value) {
    return this.request("PUT", this.session("/weight"), { layer, neuron, input, value });
  },
  upload(file) { return this.request("POST", this.session("/points"), file, "text/csv"); },
  modelUrl() { return this.session("/model.safetensors"); },

  // One stream per session. EventSource would retry on its own forever, against a session the
  // server may have freed; we close it at the first error and let the user reconnect.
  listen(onSnapshot, onDrop) {
    this.close();
    const source = new EventSource(this.session("/events"));
    let first = true;
    source.addEventListener("snapshot", (event) => {
      let snapshot;
      try { snapshot = JSON.parse(event.data); } catch (e) { return; }
      onSnapshot(snapshot, first);
      first = false;
    });
    source.onerror = () => {
      if (this.source !== source) return;
      source.close();
      this.source = null;
      onDrop();
    };
    this.source = source;
  },

  close() {
    if (this.source) this.source.close();
    this.source = null;
  },

  // Frees the session at once when the tab closes, rather than after the server's timeout.
  release() {
    if (this.id) fetch(this.session(), { method: "DELETE", keepalive: true }).catch(() => {});
  },
};

/* ------------------------------------------------------------------------------------------------
 * Errors: a banner beside the control the server named, or the global one.
 * --------------------------------------------------------------------------------------------- */

const $ = (selector) => document.querySelector(selector);

// Server field names that have no control of their own, mapped to the nearest one.
const FIELD_HOME = {
  layer: "weight", neuron: "weight", input: "weight", value: "weight",
  csv: "points", file: "points", body: "points", action: null,
};

function showError(error) {
  const field = error.field in FIELD_HOME ? FIELD_HOME[error.field] : error.field;
  const home = field ? document.querySelector(`[data-field="${field}"]`) : null;
  if (error.status === 404) {
    showDisconnected("The session is gone (the server restarted or freed it).");
    return;
  }
  if (!home) {
    showBanner(error.field ? `${error.field}: ${error.message}` : error.message);
    return;
  }
  let banner = home.querySelector(":scope > .field-error");
  if (!banner) {
    banner = document.createElement("div");
    banner.className = "field-error";
    banner.setAttribute("role", "alert");
    const text = document.createElement("span");
    const close = document.createElement("button");
    close.type = "button";
    close.textContent = "×";
    close.title = "Dismiss";
    close.setAttribute("aria-label", "Dismiss");
    close.addEventListener("click", () => banner.remove());
    banner.append(text, close);
    home.append(banner);
  }
  banner.firstChild.textContent = error.message;
}

// A successful change of a control clears that control's old error.
function clearError(field) {
  const home = document.querySelector(`[data-field="${field}"]`);
  const banner = home && home.querySelector(":scope > .field-error");
  if (banner) banner.remove();
}

function showBanner(message, offerReconnect = false) {
  const banner = $("#banner");
  banner.querySelector(".banner-text").textContent = message;
  $("#reconnect").hidden = !offerReconnect;
  banner.hidden = false;
}

function hideBanner() { $("#banner").hidden = true; }

function showDisconnected(why) {
  Api.close();
  View.connected = false;
  // Nothing trains for this page any more: show play, not pause.
  if (View.latest) { View.latest = { ...View.latest, playing: false }; requestRender(); }
  document.body.classList.add("disconnected");
  showBanner(`Disconnected: ${why} Reconnecting starts a new session with this page's settings.`, true);
}

/* ------------------------------------------------------------------------------------------------
 * View: what is drawn. Snapshots arrive ≥ 30 a second; each replaces `latest` and asks for one
 * animation frame, so a burst of snapshots costs one render.
 * --------------------------------------------------------------------------------------------- */

const View = {
  latest: null,       // the newest snapshot
  points: null,       // the newest non-null `points` (snapshots send them only when they change)
  chart: [],          // {epoch, train, test}, epochs increasing
  chartStride: 1,     // the least number of epochs between two charted entries
  hover: null,        // the node whose map the big heat map previews: {layer, index} or null
  connected: false,
  frame: 0,
  dirty: { controls: true },  // the controls are redrawn only when the settings change
};

function requestRender() {
  if (!View.frame) View.frame = requestAnimationFrame(render);
}

function receive(snapshot, firstOfStream) {
  if (snapshot.settings) {
    const before = JSON.stringify(State.settings);
    State.adopt(snapshot.settings);
    if (JSON.stringify(State.settings) !== before) View.dirty.controls = true;
  }
  if (snapshot.points) View.points = snapshot.points;
  appendLosses(snapshot, firstOfStream);
  View.latest = snapshot;
  requestRender();
}

// The chart keeps about one entry per epoch, but at most CHART_MAX: the server trains
// thousands of epochs a second, and an hour's history would otherwise fill the tab's memory.
// Past the bound every other entry goes and the spacing doubles; the newest entry is always
// the last, so the line ends at the current loss. A snapshot whose epoch is behind the chart's
// last (a reset, a rebuild) cuts the chart back first; entries already charted are not added
// twice, so snapshots from both the stream and the HTTP answers can be fed here.
const CHART_MAX = 4000;

function appendLosses(snapshot, firstOfStream) {
  let chart = View.chart;
  if (firstOfStream) { chart.length = 0; View.chartStride = 1; }
  while (chart.length && chart[chart.length - 1].epoch > snapshot.epoch) chart.pop();
  for (const entry of snapshot.losses || []) {
    while (chart.length && chart[chart.length - 1].epoch >= entry.epoch) chart.pop();
    const n = chart.length;
    if (n >= 2 && chart[n - 1].epoch - chart[n - 2].epoch < View.chartStride) chart[n - 1] = entry;
    else chart.push(entry);
    if (chart.length > CHART_MAX) {
      chart = chart.filter((_, i) => i % 2 === 0 || i === chart.length - 1);
      View.chartStride *= 2;
    }
  }
  if (chart.length <= 1) View.chartStride = 1;
  View.chart = chart;
}

function render() {
  View.frame = 0;
  const snapshot = View.latest;
  if (!snapshot) return;
  if (View.dirty.controls) { renderControls(); View.dirty.controls = false; }
  renderStats(snapshot);
  renderNetwork(snapshot);
  renderHeatmap(snapshot);
  renderChart();
  renderHovercardValue(snapshot);
}

/* ----- heat maps ----------------------------------------------------------------------------- */

const imageCache = new WeakMap();

// Paints `values` (row 0 at the top) into a canvas whose backing store is resolution².
function paintMap(canvas, values, resolution, discretize, lut = COLOR_LUT) {
  if (canvas.width !== resolution) { canvas.width = resolution; canvas.height = resolution; }
  const context = canvas.getContext("2d");
  // One ImageData per canvas, kept: 30 frames a second of ~50 maps would otherwise allocate.
  let image = imageCache.get(canvas);
  if (!image || image.width !== resolution) {
    image = context.createImageData(resolution, resolution);
    imageCache.set(canvas, image);
  }
  const data = image.data;
  for (let k = 0, p = 0; k < values.length; k++, p += 4) {
    let v = values[k];
    if (discretize) v = v >= 0 ? 1 : -1;
    const i = lutIndex(v);
    data[p] = lut[i];
    data[p + 1] = lut[i + 1];
    data[p + 2] = lut[i + 2];
    data[p + 3] = 255;
  }
  context.putImageData(image, 0, 0);
}

// An input feature's map, computed here: inactive inputs have none in the snapshot, and the
// big-map preview of an input is sharper at 100×100 than its 10×10 snapshot map.
const featureMaps = new Map();
function featureMap(name, resolution) {
  const key = `${name}/${resolution}`;
  if (!featureMaps.has(key)) {
    const f = FEATURES.find((feature) => feature.name === name).f;
    const values = new Float32Array(resolution * resolution);
    const step = (2 * EXTENT) / resolution;
    for (let row = 0; row < resolution; row++) {
      for (let col = 0; col < resolution; col++) {
        values[row * resolution + col] = f(-EXTENT + step * (col + 0.5), EXTENT - step * (row + 0.5));
      }
    }
    featureMaps.set(key, values);
  }
  return featureMaps.get(key);
}

const offscreen = document.createElement("canvas");

function renderHeatmap(snapshot) {
  const canvas = $("#heatmap");
  const size = canvas.clientWidth || 300;
  const ratio = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(size * ratio)) {
    canvas.width = Math.round(size * ratio);
    canvas.height = Math.round(size * ratio);
  }
  let map = snapshot.output;
  if (!map || !map.values) return;
  let label = null;
  const hover = View.hover;
  if (hover) {
    if (hover.layer === 0) {
      map = { resolution: 100, values: featureMap(hover.feature, 100) };
      label = FEATURES.find((f) => f.name === hover.feature).label;
    } else if (hover.layer < snapshot.neurons.length - 1) {
      // A hidden neuron (the output neuron's own map is the big one already).
      const layer = snapshot.neurons[hover.layer];
      if (layer && layer[hover.index]) map = layer[hover.index];
      label = `layer ${hover.layer}, neuron ${hover.index + 1}`;
    }
  }
  const preview = $("#preview-label");
  preview.hidden = !label;
  if (label) preview.textContent = `showing ${label} (${map.resolution}×${map.resolution})`;

  View.shownMap = map;
  paintMap(offscreen, map.values, map.resolution, State.ui.discretize, LIGHT_LUT);
  const context = canvas.getContext("2d");
  context.imageSmoothingEnabled = true;
  context.drawImage(offscreen, 0, 0, canvas.width, canvas.height);

  const points = View.points;
  if (!points) return;
  drawPoints(context, points.train, "#ffffff", canvas.width / (2 * EXTENT), ratio);
  if (State.ui.showTestData) drawPoints(context, points.test, "#000000", canvas.width / (2 * EXTENT), ratio);
}

// Points of one colour share one path, so 500 points cost a few fills rather than 500.
function drawPoints(context, list, rim, scale, ratio) {
  const groups = new Map();
  for (const point of list) {
    const [x1, x2, label] = point;
    if (!(Math.abs(x1) <= EXTENT && Math.abs(x2) <= EXTENT)) continue;
    const key = lutIndex(label);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(point);
  }
  const radius = 3 * ratio;
  context.lineWidth = ratio;
  context.strokeStyle = rim;
  for (const [key, group] of groups) {
    context.beginPath();
    for (const [x1, x2] of group) {
      const x = (x1 + EXTENT) * scale, y = (EXTENT - x2) * scale;
      context.moveTo(x + radius, y);
      context.arc(x, y, radius, 0, 2 * Math.PI);
    }
    context.fillStyle = `rgb(${COLOR_LUT[key]},${COLOR_LUT[key + 1]},${COLOR_LUT[key + 2]})`;
    context.fill();
    context.stroke();
  }
}

// The value under the pointer, from the map on show (the output, or the hovered neuron's).
function readOut(event) {
  const map = View.shownMap;
  const canvas = $("#heatmap");
  const box = canvas.getBoundingClientRect();
  const u = (event.clientX - box.left) / box.width;
  const v = (event.clientY - box.top) / box.height;
  if (!map || u < 0 || u >= 1 || v < 0 || v >= 1) return;
  const n = map.resolution;
  const value = map.values[Math.floor(v * n) * n + Math.floor(u * n)];
  const x1 = -EXTENT + 2 * EXTENT * u;
  const x2 = EXTENT - 2 * EXTENT * v;
  $("#heatmap-readout").textContent = `x₁ = ${x1.toFixed(2)}, x₂ = ${x2.toFixed(2)}: ${Number(value).toFixed(3)}`;
}

// Ticks at −6, −3, 0, 3, 6 below and to the right of the big map, drawn once.
function buildAxes() {
  const svg = $("#heatmap-axes");
  const size = 300;
  svg.setAttribute("viewBox", `0 0 ${size + 30} ${size + 22}`);
  svg.setAttribute("width", size + 30);
  svg.setAttribute("height", size + 22);
  const parts = [];
  for (const v of [-6, -3, 0, 3, 6]) {
    const p = ((v + EXTENT) / (2 * EXTENT)) * size;
    parts.push(`<line x1="${p}" y1="${size}" x2="${p}" y2="${size + 4}"/>`);
    parts.push(`<text x="${p}" y="${size + 15}" text-anchor="middle">${v}</text>`);
    parts.push(`<line x1="${size}" y1="${size - p}" x2="${size + 4}" y2="${size - p}"/>`);
    parts.push(`<text x="${size + 7}" y="${size - p + 4}">${v}</text>`);
  }
  svg.innerHTML = parts.join("");
}

/* ----- the network (SVG links and biases, canvases for the nodes' maps) ---------------------- */

const SVG_NS = "http://www.w3.org/2000/svg";
const NODE = 30;      // a node's side, as in the original
const GAP = 25;       // between two nodes of a layer
const BIAS = 7;       // a bias square's side
const TOP = 44;       // room for the per-layer +/- buttons

// Link width grows linearly with |w|: 1 px at 0, 10 px at |w| ≥ 5.
function linkWidth(w) { return 1 + 9 * Math.min(Math.abs(w), 5) / 5; }

const Net = {
  shapeKey: "",
  links: [],    // {path, hit, layer, neuron, input}
  biases: [],   // {rect, layer, neuron}
  maps: [],     // per snapshot layer (0 = inputs): the node canvases, in order
  inputCanvas: new Map(), // feature name → canvas (all seven, active or not)
};

function svg(tag, attributes, parent) {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attributes)) element.setAttribute(k, v);
  if (parent) parent.append(element);
  return element;
}

// Rebuilds the SVG and the node canvases, only when the network's shape changes; every other
// frame only updates attributes of the elements made here.
function buildNetwork(settings) {
  const container = $("#network");
  const root = $("#network-svg");
  const linksGroup = root.querySelector(".links");
  const nodesGroup = root.querySelector(".nodes");
  const hitGroup = root.querySelector(".hover-links");
  linksGroup.replaceChildren();
  nodesGroup.replaceChildren();
  hitGroup.replaceChildren();
  container.querySelectorAll(".node-map, .layer-buttons").forEach((e) => e.remove());
  // The element under the pointer may be gone, and with it its mouseleave.
  closeCard();
  View.hover = null;
  Net.links = []; Net.biases = []; Net.maps = []; Net.inputCanvas.clear();

  const width = Math.max(container.clientWidth, 420);
  const hidden = settings.layers;
  // The network's inputs in the server's order (weights' columns and neurons[0] follow it),
  // each drawn on its own row of the seven.
  const active = settings.features.filter((name) => FEATURE_NAMES.includes(name));
  const inputX = 70; // room on the left for the inputs' labels
  const outputX = width - NODE - 4;
  const rows = Math.max(FEATURES.length, ...hidden);
  const height = TOP + rows * (NODE + GAP);
  root.setAttribute("width", width);
  root.setAttribute("height", height);
  container.style.height = `${height}px`;

  const y = (i) => TOP + i * (NODE + GAP);
  // Hidden layers spread evenly between the inputs and the output.
  const layerX = (l) => inputX + ((outputX - inputX) * (l + 1)) / (hidden.length + 1);

  // Positions of every node per snapshot layer: inputs (active only are linked), hidden, output.
  const positions = [];
  positions.push(active.map((name) => ({ x: inputX, y: y(FEATURE_NAMES.indexOf(name)) })));
  hidden.forEach((n, l) => positions.push(Array.from({ length: n }, (_, j) => ({ x: layerX(l), y: y(j) }))));
  positions.push([{ x: outputX, y: y(0) }]);

  // All seven inputs, the inactive ones faded; clicking one toggles it.
  Net.maps.push([]);
  FEATURES.forEach((feature, i) => {
    const on = active.includes(feature.name);
    const group = svg("g", { class: `node input${on ? "" : " inactive"}` }, nodesGroup);
    svg("rect", { x: inputX, y: y(i), width: NODE, height: NODE }, group);
    const text = svg("text", { x: inputX - 8, y: y(i) + NODE / 2 + 4, "text-anchor": "end" }, group);
    text.textContent = feature.label;
    const button = document.createElement("button");
    button.type = "button";
    button.className = `node-map input${on ? "" : " inactive"}`;
    button.title = `${feature.label}: ${on ? "in use; click to remove" : "not in use; click to add"}`;
    button.setAttribute("aria-pressed", String(on));
    button.id = `feature-${feature.name}`;
    place(button, inputX, y(i));
    const canvas = document.createElement("canvas");
    button.append(canvas);
    container.append(button);
    Net.inputCanvas.set(feature.name, canvas);
    if (!on) paintMap(canvas, featureMap(feature.name, 10), 10, false);
    button.addEventListener("click", () => toggleFeature(feature.name));
    hoverPreview(button, { layer: 0, feature: feature.name });
  });

  Net.maps[0] = active.map((name) => Net.inputCanvas.get(name));

  // Hidden layers and the output: links into each node, its bias, its map.
  for (let l = 1; l < positions.length; l++) {
    Net.maps.push([]);
    const isOutput = l === positions.length - 1;
    positions[l].forEach((node, j) => {
      const sources = positions[l - 1];
      sources.forEach((source, i) => {
        const sx = source.x + NODE + 2;
        const sy = source.y + NODE / 2;
        const tx = node.x;
        // Links into one node end a little apart, as in the original, so they stay tellable.
        const ty = node.y + NODE / 2 + ((i - (sources.length - 1) / 2) / sources.length) * 12;
        const mx = (sx + tx) / 2;
        const d = `M${sx},${sy}C${mx},${sy} ${mx},${ty} ${tx},${ty}`;
        const path = svg("path", { d, class: "link" }, linksGroup);
        const hit = svg("path", { d, class: "link-hit" }, hitGroup);
        const link = { path, hit, layer: l - 1, neuron: j, input: i };
        editable(hit, link, "Weight");
        Net.links.push(link);
      });
      const group = svg("g", { class: `node${isOutput ? " output-node" : ""}` }, nodesGroup);
      svg("rect", { x: node.x, y: node.y, width: NODE, height: NODE }, group);
      const rect = svg("rect", {
        x: node.x - BIAS - 2, y: node.y + NODE - BIAS + 3, width: BIAS, height: BIAS, class: "bias",
      }, hitGroup);
      const bias = { rect, layer: l - 1, neuron: j, input: null };
      editable(rect, bias, "Bias");
      Net.biases.push(bias);
      const div = document.createElement("div");
      div.className = "node-map";
      div.tabIndex = 0; // focus previews it too, for keyboard users
      div.title = isOutput ? "The output neuron" : `Layer ${l}, neuron ${j + 1}: hover to see it larger`;
      place(div, node.x, node.y);
      const canvas = document.createElement("canvas");
      div.append(canvas);
      container.append(div);
      Net.maps[l].push(canvas);
      hoverPreview(div, { layer: l, index: j });
    });
  }

  // +/- neurons above each hidden layer.
  hidden.forEach((n, l) => {
    const box = document.createElement("div");
    box.className = "layer-buttons";
    box.style.left = `${layerX(l) + NODE / 2 - 40}px`;
    box.innerHTML = `<button type="button" class="round small" title="Add a neuron to layer ${l + 1}" aria-label="Add a neuron to layer ${l + 1}">+</button>`
      + `<button type="button" class="round small" title="Remove a neuron from layer ${l + 1}" aria-label="Remove a neuron from layer ${l + 1}">−</button>`
      + `<span>${n} neuron${n === 1 ? "" : "s"}</span>`;
    const [plus, minus] = box.querySelectorAll("button");
    plus.disabled = n >= MAX_NEURONS;
    minus.disabled = n <= 1;
    plus.addEventListener("click", () => changeNeurons(l, +1));
    minus.addEventListener("click", () => changeNeurons(l, -1));
    container.append(box);
  });
}

function place(element, x, y) {
  element.style.left = `${x}px`;
  element.style.top = `${y}px`;
}

function hoverPreview(element, target) {
  element.addEventListener("mouseenter", () => { View.hover = target; requestRender(); });
  element.addEventListener("mouseleave", () => { View.hover = null; requestRender(); });
  element.addEventListener("focus", () => { View.hover = target; requestRender(); });
  element.addEventListener("blur", () => { View.hover = null; requestRender(); });
}

// Late in training most links barely change: skipping equal writes spares the browser restyling.
function setIfChanged(record, key, element, attribute, value) {
  if (record[key] === value) return;
  record[key] = value;
  element.setAttribute(attribute, value);
}

function renderNetwork(snapshot) {
  const settings = snapshot.settings || State.settings;
  // The width is read only when rebuilding (a resize clears the key): reading layout every
  // frame, after the text writes above, would force a synchronous layout 30 times a second.
  const key = JSON.stringify([settings.features, settings.layers]);
  if (key !== Net.shapeKey) {
    buildNetwork(settings);
    Net.shapeKey = key;
  }
  const layers = snapshot.network ? snapshot.network.layers : [];
  for (const link of Net.links) {
    const row = layers[link.layer] && layers[link.layer].weights[link.neuron];
    const w = row ? row[link.input] : 0;
    setIfChanged(link, "width", link.path, "stroke-width", linkWidth(w).toFixed(1));
    setIfChanged(link, "color", link.path, "stroke", cssColor(w));
  }
  for (const bias of Net.biases) {
    const layer = layers[bias.layer];
    setIfChanged(bias, "color", bias.rect, "fill", cssColor(layer ? layer.biases[bias.neuron] : 0));
  }
  const discretize = State.ui.discretize;
  (snapshot.neurons || []).forEach((maps, l) => {
    const canvases = Net.maps[l] || [];
    maps.forEach((map, j) => { if (canvases[j]) paintMap(canvases[j], map.values, map.resolution, discretize); });
  });
  const n = settings.layers.length;
  $("#layers-title").textContent = `${n} hidden layer${n === 1 ? "" : "s"}`;
  $("#add-layer").disabled = n >= MAX_LAYERS;
  $("#remove-layer").disabled = n === 0;
}

/* ----- editing a weight or a bias: hover shows it, click edits it ---------------------------- */

const Edit = { target: null, kind: "", editing: false };

function editable(element, target, kind) {
  element.addEventListener("mouseenter", (event) => { if (!Edit.editing) openCard(target, kind, event); });
  element.addEventListener("mouseleave", () => { if (!Edit.editing) closeCard(); });
  element.addEventListener("click", (event) => { openCard(target, kind, event); startEdit(); event.stopPropagation(); });
}

function currentValue(target) {
  const layer = View.latest && View.latest.network.layers[target.layer];
  if (!layer) return 0;
  return target.input === null ? layer.biases[target.neuron] : layer.weights[target.neuron][target.input];
}

function openCard(target, kind, event) {
  Edit.target = target;
  Edit.kind = kind;
  const card = $("#hovercard");
  const box = $("#network").getBoundingClientRect();
  card.style.left = `${event.clientX - box.left + 18}px`;
  card.style.top = `${event.clientY - box.top + 14}px`;
  card.querySelector(".kind").textContent = kind;
  card.querySelector("input").hidden = true;
  card.querySelector(".value").hidden = false;
  card.querySelector(".edit-hint").textContent = "Click to edit.";
  card.hidden = false;
  renderHovercardValue(View.latest);
}

function closeCard() {
  Edit.target = null;
  Edit.editing = false;
  $("#hovercard").hidden = true;
}

function startEdit() {
  Edit.editing = true;
  const card = $("#hovercard");
  const input = card.querySelector("input");
  input.value = Number(currentValue(Edit.target).toPrecision(3));
  input.hidden = false;
  card.querySelector(".value").hidden = true;
  card.querySelector(".edit-hint").textContent = "Enter sets it; Esc cancels.";
  input.focus();
  input.select();
}

// The value follows training while the card is only hovered.
function renderHovercardValue(snapshot) {
  if (!Edit.target || !snapshot) return;
  $("#hovercard .value").textContent = currentValue(Edit.target).toPrecision(3);
}

async function commitEdit() {
  const input = $("#hovercard input");
  const value = Number(input.value);
  const target = Edit.target;
  if (input.value.trim() === "" || !Number.isFinite(value)) {
    showError(new ApiError(400, "a weight must be a finite number", "weight"));
    return;
  }
  closeCard();
  try {
    const answer = await Api.weight(target.layer, target.neuron, target.input, value);
    clearError("weight");
    if (answer && answer.snapshot) receive(answer.snapshot, false);
  } catch (error) { showError(error); }
}

/* ----- loss chart ---------------------------------------------------------------------------- */

const TRAIN_COLOR = "#333333";
const TEST_COLOR = "#9c27b0";

function renderChart() {
  const canvas = $("#loss-chart");
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 300;
  const height = canvas.clientHeight || 60;
  if (canvas.width !== Math.round(width * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const context = canvas.getContext("2d");
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, width, height);
  const chart = View.chart;
  if (chart.length < 2) return;
  let lo = Infinity, hi = -Infinity;
  for (const e of chart) {
    if (Number.isFinite(e.train)) { lo = Math.min(lo, e.train); hi = Math.max(hi, e.train); }
    if (Number.isFinite(e.test)) { lo = Math.min(lo, e.test); hi = Math.max(hi, e.test); }
  }
  if (!(hi >= lo)) return;
  if (hi === lo) { hi += 1e-6; lo -= 1e-6; }
  const first = chart[0].epoch, last = chart[chart.length - 1].epoch;
  const plot = width - 40; // the right margin holds the scale's labels
  const sx = (e) => 2 + ((e - first) / Math.max(last - first, 1)) * (plot - 4);
  const sy = (v) => 2 + (1 - (v - lo) / (hi - lo)) * (height - 4);
  // Long runs have far more epochs than pixels: draw about two points per pixel.
  context.font = "10px Helvetica, Arial, sans-serif";
  context.fillStyle = "#999";
  context.textAlign = "right";
  context.fillText(hi.toFixed(3), width - 2, 10);
  context.fillText(lo.toFixed(3), width - 2, height - 4);
  const stride = Math.max(1, Math.floor(chart.length / (2 * plot)));
  for (const [key, color] of [["train", TRAIN_COLOR], ["test", TEST_COLOR]]) {
    context.beginPath();
    context.strokeStyle = color;
    context.lineWidth = 1.5;
    let started = false;
    for (let k = 0; k < chart.length; k += stride) {
      const e = chart[k === 0 ? 0 : Math.min(k, chart.length - 1)];
      if (!Number.isFinite(e[key])) continue;
      if (started) context.lineTo(sx(e.epoch), sy(e[key]));
      else { context.moveTo(sx(e.epoch), sy(e[key])); started = true; }
    }
    const end = chart[chart.length - 1];
    if (started && Number.isFinite(end[key])) context.lineTo(sx(end.epoch), sy(end[key]));
    context.stroke();
  }
}

/* ----- numbers and controls ------------------------------------------------------------------ */

// The Playground's counter: six digits, thousands separated: 000,123.
function formatEpoch(n) {
  return String(n).padStart(6, "0").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

function formatLoss(v) { return Number.isFinite(v) ? v.toFixed(3) : "–"; }

function renderStats(snapshot) {
  $("#epoch").textContent = formatEpoch(snapshot.epoch);
  $("#test-loss").textContent = formatLoss(snapshot.test_loss);
  $("#train-loss").textContent = formatLoss(snapshot.train_loss);
  const accuracy = (a) => (a === null || a === undefined ? "" : `${(a * 100).toFixed(1)}% right`);
  $("#test-accuracy").textContent = accuracy(snapshot.test_accuracy);
  $("#train-accuracy").textContent = accuracy(snapshot.train_accuracy);
  const chart = View.chart;
  const span = chart.length > 1 ? ` · chart: epochs ${chart[0].epoch}–${chart[chart.length - 1].epoch}` : "";
  $("#loss-name").textContent = (snapshot.loss_name ? `loss: ${snapshot.loss_name}` : "") + span;
  const play = $("#play");
  play.classList.toggle("playing", !!snapshot.playing);
  play.setAttribute("aria-pressed", String(!!snapshot.playing));
  play.setAttribute("aria-label", snapshot.playing ? "Pause" : "Play");
}

// A rate from a link or the server that is not in the menu (0.05, or 0.03 come back as
// 0.029999) still shows: the equal option if there is one, else an option added for it.
function selectNumber(select, value) {
  const match = [...select.options].find((o) => Math.abs(Number(o.value) - value) <= 1e-9 * Math.max(1, Math.abs(value)));
  if (match) { select.value = match.value; return; }
  const option = new Option(String(value), String(value));
  option.className = "custom";
  select.add(option);
  select.value = option.value;
}

function renderControls() {
  const s = State.settings;
  const problem = State.problem();
  selectNumber($("#learning-rate"), s.lr);
  $("#activation").value = s.activation;
  $("#regularization").value = s.reg;
  selectNumber($("#reg-rate"), s.reg_rate);
  $("#problem").value = problem;
  $("#optimizer").value = s.optimizer;
  $("#loss").value = s.loss;
  $("#exact").checked = !!s.exact;
  // Exact trains as the original: plain SGD on squared error, nothing else to choose.
  $("#optimizer").disabled = !!s.exact;
  $("#loss").disabled = !!s.exact;
  // Cross-entropy needs two classes.
  $("#loss option[value=bce]").disabled = problem === "regression" || !!s.exact;
  for (const [id, key] of [["train-percent", "train_percent"], ["noise", "noise"], ["batch", "batch"]]) {
    const slider = $(`#${id}`);
    if (document.activeElement !== slider || !slider.matches(":active")) slider.value = s[key];
    $(`#${id}-value`).textContent = s[key];
  }
  if (document.activeElement !== $("#seed")) $("#seed").value = s.seed;
  for (const d of DATASETS) {
    const selected = !State.customPoints && d.name === s.dataset;
    const button = $(`#dataset-${d.name}`);
    button.classList.toggle("selected", selected);
    button.setAttribute("aria-pressed", String(selected));
  }
  $("#custom-note").hidden = !State.customPoints;
  $("#show-test-data").checked = State.ui.showTestData;
  $("#discretize").checked = State.ui.discretize;
  if (Api.id) $("#download").href = Api.modelUrl();
}

/* ------------------------------------------------------------------------------------------------
 * Actions: what the controls ask of the server. Each sends only what changed and adopts the
 * settings and snapshot the server answers with; a refusal shows beside the control.
 * --------------------------------------------------------------------------------------------- */

async function change(partial, field = Object.keys(partial)[0]) {
  if (!View.connected) { showBanner("Not connected: reconnect first.", true); return; }
  try {
    const answer = await Api.put(partial);
    clearError(field);
    if ("dataset" in partial) State.customPoints = false;
    if (answer && answer.snapshot) receive(answer.snapshot, false);
    else if (answer && answer.settings) { State.adopt(answer.settings); View.dirty.controls = true; }
  } catch (error) {
    showError(error);
  }
  // Whatever happened, the controls show the server's settings again (a refused value snaps back).
  View.dirty.controls = true;
  requestRender();
}

async function control(action) {
  if (!View.connected) { showBanner("Not connected: reconnect first.", true); return; }
  try {
    const answer = await Api.control(action);
    // The play button follows at once; the epoch and the chart follow the stream, whose next
    // snapshot (epoch 0 after a reset) cuts the chart back by itself. Clearing it here would
    // lose what the stream already delivered before this answer.
    if (answer && View.latest) {
      View.latest = { ...View.latest, playing: answer.playing };
      requestRender();
    }
  } catch (error) { showError(error); }
}

function togglePlay() {
  control(View.latest && View.latest.playing ? "pause" : "play");
}

function toggleFeature(name) {
  const current = State.settings.features;
  const next = current.includes(name) ? current.filter((f) => f !== name) : [...current, name];
  change({ features: FEATURE_NAMES.filter((f) => next.includes(f)) }, "features");
}

function changeLayers(delta) {
  const layers = [...State.settings.layers];
  if (delta > 0 && layers.length < MAX_LAYERS) layers.push(2); // the original adds 2 neurons
  else if (delta < 0 && layers.length > 0) layers.pop();
  else return;
  change({ layers }, "layers");
}

function changeNeurons(index, delta) {
  const layers = [...State.settings.layers];
  const n = layers[index] + delta;
  if (n < 1 || n > MAX_NEURONS) return;
  layers[index] = n;
  change({ layers }, "layers");
}

function pickDataset(name) {
  const target = DATASETS.find((d) => d.name === name);
  const partial = { dataset: name };
  // Cross-entropy is for classes only: a regression data set takes squared error with it.
  if (target.problem === "regression" && State.settings.loss === "bce") partial.loss = "mse";
  change(partial, "dataset");
}

async function uploadPoints(file) {
  if (!file) return;
  if (!View.connected) { showBanner("Not connected: reconnect first.", true); return; }
  try {
    const answer = await Api.upload(file);
    clearError("points");
    State.customPoints = true;
    View.dirty.controls = true;
    if (answer && answer.snapshot) receive(answer.snapshot, false);
  } catch (error) {
    showError(error.field ? error : new ApiError(error.status, error.message, "points"));
  }
  $("#upload").value = "";
}

/* ------------------------------------------------------------------------------------------------
 * Wiring the static controls (built once).
 * --------------------------------------------------------------------------------------------- */

function buildControls() {
  const options = (select, values) => {
    select.replaceChildren(...values.map((v) => new Option(String(v), String(v))));
  };
  options($("#learning-rate"), LEARNING_RATES);
  options($("#reg-rate"), REG_RATES);

  // Dataset thumbnails: a sketch of each set's shape, drawn here (the real points come from
  // the server for the chosen set only).
  const list = $("#dataset-list");
  for (const d of DATASETS) {
    const button = document.createElement("button");
    button.type = "button";
    button.id = `dataset-${d.name}`;
    button.className = `dataset ${d.problem}`;
    button.title = `${d.title} (${d.problem})`;
    button.setAttribute("aria-label", `${d.title} data set`);
    const canvas = document.createElement("canvas");
    drawThumbnail(canvas, d.name);
    button.append(canvas);
    button.addEventListener("click", () => pickDataset(d.name));
    list.append(button);
  }

  $("#play").addEventListener("click", togglePlay);
  $("#step").addEventListener("click", () => control("step"));
  $("#reset").addEventListener("click", () => control("reset"));
  $("#regenerate").addEventListener("click", () => control("regenerate"));

  $("#learning-rate").addEventListener("change", (e) => change({ lr: Number(e.target.value) }));
  $("#activation").addEventListener("change", (e) => change({ activation: e.target.value }));
  $("#regularization").addEventListener("change", (e) => change({ reg: e.target.value }));
  $("#reg-rate").addEventListener("change", (e) => change({ reg_rate: Number(e.target.value) }));
  $("#optimizer").addEventListener("change", (e) => change({ optimizer: e.target.value }));
  $("#loss").addEventListener("change", (e) => change({ loss: e.target.value }));
  $("#exact").addEventListener("change", (e) => {
    // Exact means SGD on squared error; send them together so the server never sees a mix.
    change(e.target.checked ? { exact: true, optimizer: "sgd", loss: "mse" } : { exact: false }, "exact");
  });
  $("#problem").addEventListener("change", (e) => {
    const problem = e.target.value;
    if (problem !== State.problem()) pickDataset(State.lastDataset[problem]);
  });

  // Sliders: the label follows the drag; the server hears only the value let go of.
  for (const [id, key] of [["train-percent", "train_percent"], ["noise", "noise"], ["batch", "batch"]]) {
    const slider = $(`#${id}`);
    slider.addEventListener("input", () => { $(`#${id}-value`).textContent = slider.value; });
    slider.addEventListener("change", () => change({ [key]: Number(slider.value) }));
  }
  $("#seed").addEventListener("change", (e) => {
    const seed = Number(e.target.value);
    if (Number.isInteger(seed) && seed >= 0) change({ seed });
    else { showError(new ApiError(400, "the seed is a whole number ≥ 0", "seed")); View.dirty.controls = true; requestRender(); }
  });

  $("#add-layer").addEventListener("click", () => changeLayers(+1));
  $("#remove-layer").addEventListener("click", () => changeLayers(-1));

  $("#show-test-data").addEventListener("change", (e) => { State.ui.showTestData = e.target.checked; State.syncUrl(); requestRender(); });
  $("#discretize").addEventListener("change", (e) => { State.ui.discretize = e.target.checked; State.syncUrl(); requestRender(); });
  $("#upload").addEventListener("change", (e) => uploadPoints(e.target.files[0]));

  $("#download").addEventListener("click", (e) => { if (!Api.id) e.preventDefault(); });
  $("#reconnect").addEventListener("click", () => start());
  $("#copy-link").addEventListener("click", copyLink);
  $("#banner .banner-close").addEventListener("click", hideBanner);

  const input = $("#hovercard input");
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); commitEdit(); }
    else if (e.key === "Escape") closeCard();
  });
  // A click elsewhere ends an edit without sending it.
  document.addEventListener("click", (e) => {
    if (Edit.editing && !$("#hovercard").contains(e.target)) closeCard();
  });

  // Space plays and pauses, unless the user is typing or pressing a focused button.
  document.addEventListener("keydown", (e) => {
    if (e.key !== " " || e.repeat) return;
    const t = e.target;
    if (t.closest && t.closest("input, select, textarea, button, a")) return;
    e.preventDefault();
    togglePlay();
  });

  window.addEventListener("resize", () => { Net.shapeKey = ""; requestRender(); });
  window.addEventListener("pagehide", () => { Api.close(); Api.release(); });
  // Back to a page kept in the browser's cache: its session was released on the way out.
  window.addEventListener("pageshow", (e) => { if (e.persisted) start(); });
  // A link pasted into this tab differs only after the "#", which reloads nothing: start over
  // from it. The page's own updates use replaceState, which fires no hashchange.
  window.addEventListener("hashchange", () => { Api.close(); Api.release(); start(); });
  buildAxes();
  $("#heatmap").addEventListener("mousemove", readOut);
}

async function copyLink() {
  const status = $("#copy-status");
  try {
    await navigator.clipboard.writeText(location.href);
    status.textContent = "Copied: opening it reproduces this run.";
  } catch (e) {
    status.textContent = "The browser refused; copy the address bar instead.";
  }
  setTimeout(() => { status.textContent = ""; }, 4000);
}

// A thumbnail: the data set's idea, drawn from a fixed pseudo-random sequence so it is the same
// every time (not the session's data, which the server draws for the chosen set only).
function drawThumbnail(canvas, name) {
  const n = 80;
  canvas.width = n;
  canvas.height = n;
  const context = canvas.getContext("2d");
  let seed = 7;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const label = {
    circle: (x, y) => (Math.hypot(x, y) < 3 ? 1 : -1),
    xor: (x, y) => (x * y >= 0 ? 1 : -1),
    gauss: (x, y) => (Math.hypot(x - 2, y - 2) < Math.hypot(x + 2, y + 2) ? 1 : -1),
    spiral: (x, y) => {
      const r = Math.hypot(x, y);
      const t = Math.atan2(x, y) - (r / 5) * 1.75 * 2 * Math.PI;
      return Math.cos(t) > 0 ? 1 : -1;
    },
    plane: (x, y) => (x + y) / 10,
    multigauss: (x, y) => {
      let best = 0;
      for (const [cx, cy, s] of [[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1], [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]]) {
        const v = s * Math.max(0, 1 - Math.hypot(x - cx, y - cy) / 2);
        if (Math.abs(v) > Math.abs(best)) best = v;
      }
      return best;
    },
  }[name];
  const toPixel = (v) => ((v + EXTENT) / (2 * EXTENT)) * n;
  context.fillStyle = "#fff";
  context.fillRect(0, 0, n, n);
  if (name === "plane" || name === "multigauss") {
    // Regression: the target's own heat map, as the points would only be speckle.
    const image = context.createImageData(n, n);
    for (let p = 0; p < n * n; p++) {
      const x = -EXTENT + (12 * ((p % n) + 0.5)) / n, y = EXTENT - (12 * (Math.floor(p / n) + 0.5)) / n;
      const i = lutIndex(label(x, y));
      image.data.set([COLOR_LUT[i], COLOR_LUT[i + 1], COLOR_LUT[i + 2], 255], p * 4);
    }
    context.putImageData(image, 0, 0);
    return;
  }
  for (let k = 0; k < 260; k++) {
    let x = random() * 12 - 6, y = random() * 12 - 6;
    if (name === "gauss") { x = (random() + random() - 1) * 3 + (k % 2 ? 2 : -2); y = (random() + random() - 1) * 3 + (k % 2 ? 2 : -2); }
    context.fillStyle = cssColor(label(x, y));
    context.beginPath();
    context.arc(toPixel(x), toPixel(-y), 2.2, 0, 2 * Math.PI);
    context.fill();
  }
}

/* ------------------------------------------------------------------------------------------------
 * Start: a session from the URL's settings, then its event stream.
 * --------------------------------------------------------------------------------------------- */

async function start() {
  hideBanner();
  Api.close();
  const { settings, ui } = State.fromHash(location.hash);
  Object.assign(State.ui, ui);
  if (!("dataset" in settings)) settings.dataset = DEFAULTS.dataset;
  State.customPoints = false;
  View.chart.length = 0;
  View.chartStride = 1;
  View.points = null;
  // A link with a bad value still opens: the field the server names is dropped (and reported),
  // and the rest is tried again.
  let created = null;
  for (let attempt = 0; attempt < SETTING_KEYS.length && !created; attempt++) {
    try {
      created = await Api.create(settings);
    } catch (error) {
      if (error.status === 400 && error.field && error.field in settings) {
        showBanner(`The link's ${error.field} was not accepted (${error.message}); using the default.`);
        delete settings[error.field];
      } else {
        showDisconnected(`could not start a session: ${error.message}.`);
        return;
      }
    }
  }
  if (!created) { showDisconnected("could not start a session."); return; }
  View.connected = true;
  document.body.classList.remove("disconnected");
  View.dirty.controls = true;
  receive({ ...created.snapshot, settings: created.settings }, true);
  Api.listen(receive, () => showDisconnected("the event stream closed."));
}

buildControls();
start();
