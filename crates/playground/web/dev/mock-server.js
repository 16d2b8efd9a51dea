// A stand-in for `shendu-playground serve`, for working on the page without the Rust server:
// serves the three page files and fakes the HTTP API (documented at the top of src/serve/mod.rs) with made-up snapshots.
// Nothing here trains; the "network" only drifts towards the data set's shape.
//
//   node crates/playground/web/dev/mock-server.js [port]     (default 8123)
//
// With `--proxy http://127.0.0.1:PORT` it fakes nothing: it serves the page files from this
// folder (so edits show on reload, with no Rust rebuild) and forwards /api/ to a running
// `shendu-playground serve`.
"use strict";

const http = require("http");
const fs = require("fs");
const path = require("path");

const WEB = path.join(__dirname, "..");
const args = process.argv.slice(2);
const proxyAt = args.indexOf("--proxy");
const PROXY = proxyAt >= 0 ? new URL(args.splice(proxyAt, 2)[1]) : null;
const PORT = Number(args[0] || 8123);
const FEATURES = ["x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2"];
const LABELS = { x1: "x₁", x2: "x₂", x1sq: "x₁²", x2sq: "x₂²", x1x2: "x₁x₂", sinx1: "sin(x₁)", sinx2: "sin(x₂)" };
const DATASETS = ["circle", "xor", "gauss", "spiral", "plane", "multigauss"];
const DEFAULTS = {
  dataset: "circle", noise: 0, train_percent: 50, batch: 10, features: ["x1", "x2"], layers: [4, 2],
  activation: "tanh", lr: 0.03, reg: "none", reg_rate: 0, optimizer: "sgd", loss: "mse", seed: 0, exact: false,
};
const sessions = new Map();
let nextId = 1;

function rng(seed) {
  let s = (seed * 2654435761 + 12345) % 2147483647 || 1;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}

function target(dataset, x, y) {
  switch (dataset) {
    case "circle": return Math.hypot(x, y) < 3 ? 1 : -1;
    case "xor": return x * y >= 0 ? 1 : -1;
    case "gauss": return x + y >= 0 ? 1 : -1;
    case "spiral": {
      const r = Math.hypot(x, y);
      return Math.cos(Math.atan2(x, y) - (r / 5) * 3.5 * Math.PI) > 0 ? 1 : -1;
    }
    case "plane": return (x + y) / 10;
    default: return Math.sin(x) * Math.cos(y);
  }
}

function makePoints(s) {
  const random = rng(s.seed + 1);
  const n = s.dataset === "plane" || s.dataset === "multigauss" ? 1200 : 500;
  const all = [];
  for (let k = 0; k < n; k++) {
    const x = random() * 12 - 6, y = random() * 12 - 6;
    all.push([x, y, target(s.dataset, x + (random() - 0.5) * s.noise / 10, y)]);
  }
  const cut = Math.round((n * s.train_percent) / 100);
  return { train: all.slice(0, cut), test: all.slice(cut) };
}

function validate(partial) {
  for (const key of Object.keys(partial)) {
    if (!(key in DEFAULTS)) return [`unknown field \`${key}\``, key];
  }
  const s = partial;
  if ("dataset" in s && !DATASETS.includes(s.dataset)) return [`dataset: unknown data set "${s.dataset}"`, "dataset"];
  if ("batch" in s && !(Number.isInteger(s.batch) && s.batch >= 1 && s.batch <= 30)) return ["batch must be 1 to 30", "batch"];
  if ("noise" in s && !(s.noise >= 0 && s.noise <= 50)) return ["noise must be 0 to 50", "noise"];
  if ("layers" in s && (s.layers.length > 6 || s.layers.some((n) => n < 1 || n > 8))) return ["layers: 0 to 6 layers of 1 to 8 neurons", "layers"];
  if ("features" in s && s.features.length === 0) return ["features: at least one input is needed", "features"];
  if ("lr" in s && !(s.lr > 0)) return ["lr must be positive", "lr"];
  return null;
}

function rebuild(session) {
  const s = session.settings;
  session.epoch = 0;
  session.history = [];
  session.points = makePoints(s);
  const random = rng(s.seed + 99);
  const sizes = [s.features.length, ...s.layers, 1];
  session.layers = sizes.slice(1).map((n, l) => ({
    weights: Array.from({ length: n }, () => Array.from({ length: sizes[l] }, () => random() - 0.5)),
    biases: Array(n).fill(0.1),
    drift: Array.from({ length: n }, () => Array.from({ length: sizes[l] }, () => (random() - 0.5) * 6)),
  }));
  session.neuronParams = s.layers.map((n) => Array.from({ length: n }, () => [random() * 2 - 1, random() * 2 - 1, random() - 0.5]));
  session.sendPoints = true;
  session.addLoss();
}

function createSession(settings) {
  const session = {
    id: `mock${nextId++}`, settings: { ...DEFAULTS, ...settings }, playing: false, streams: new Set(),
    addLoss() {
      const e = this.epoch;
      const train = 0.05 + 0.45 * Math.exp(-e / 150) + 0.01 * Math.sin(e / 7);
      this.history.push({ epoch: e, train, test: train + 0.03 });
    },
  };
  rebuild(session);
  sessions.set(session.id, session);
  return session;
}

function train(session, epochs) {
  for (let k = 0; k < epochs; k++) {
    session.epoch += 1;
    session.addLoss();
  }
  const t = Math.min(1, session.epoch / 300);
  session.layers.forEach((layer) => layer.weights.forEach((row, j) => row.forEach((_, i) => {
    row[i] = layer.drift[j][i] * t + Math.sin(session.epoch / 50 + i + j) * 0.2;
  })));
  session.layers.forEach((layer) => layer.biases.forEach((_, j) => { layer.biases[j] = Math.sin(session.epoch / 80 + j) * t; }));
}

function map(resolution, f) {
  const values = [];
  const step = 12 / resolution;
  for (let r = 0; r < resolution; r++) {
    for (let c = 0; c < resolution; c++) values.push(f(-6 + step * (c + 0.5), 6 - step * (r + 0.5)));
  }
  return { resolution, values };
}

function snapshot(session, since) {
  const s = session.settings;
  const k = 0.3 + Math.min(session.epoch, 400) / 80;
  const output = (x, y) => Math.tanh(k * target(s.dataset, x, y) * (1 + 0.3 * Math.sin(x + y))) * 0.95;
  const featureF = { x1: (x) => x, x2: (x, y) => y, x1sq: (x) => x * x, x2sq: (x, y) => y * y, x1x2: (x, y) => x * y, sinx1: (x) => Math.sin(x), sinx2: (x, y) => Math.sin(y) };
  const active = FEATURES.filter((f) => s.features.includes(f));
  const neurons = [active.map((f) => map(10, featureF[f]))];
  session.neuronParams.forEach((layer) => neurons.push(layer.map(([a, b, c]) => map(10, (x, y) => Math.tanh(a * x + b * y + c + Math.sin(session.epoch / 40))))));
  neurons.push([map(10, output)]);
  const last = session.history[session.history.length - 1];
  const regression = s.dataset === "plane" || s.dataset === "multigauss";
  const snap = {
    epoch: session.epoch, playing: session.playing, problem: regression ? "regression" : "classification",
    loss_name: s.loss === "bce" ? "cross-entropy" : "½(o − t)²", settings: s,
    losses: session.history.filter((h) => h.epoch > since),
    train_loss: last.train, test_loss: last.test,
    train_accuracy: regression ? null : 1 - last.train / 2, test_accuracy: regression ? null : 1 - last.test / 2,
    output: map(100, output), neurons,
    network: { inputs: active.map((f) => LABELS[f]), layers: session.layers.map(({ weights, biases }) => ({ weights, biases })) },
    points: null,
  };
  return snap;
}

function broadcast(session) {
  for (const stream of session.streams) {
    const snap = snapshot(session, stream.sent);
    if (stream.points !== session.pointsVersion) { snap.points = session.points; stream.points = session.pointsVersion; }
    stream.sent = session.epoch;
    stream.res.write(`event: snapshot\ndata: ${JSON.stringify(snap)}\n\n`);
  }
}

function changed(session, dataChanged) {
  if (dataChanged) session.pointsVersion = (session.pointsVersion || 0) + 1;
  broadcast(session);
}

function full(session) {
  const snap = snapshot(session, -1);
  snap.points = session.points;
  return snap;
}

setInterval(() => {
  for (const session of sessions.values()) {
    if (session.playing) { train(session, 7); broadcast(session); }
  }
}, 33);

function send(res, status, body, type = "application/json") {
  res.writeHead(status, { "Content-Type": type });
  res.end(type === "application/json" ? JSON.stringify(body) : body);
}
const fail = (res, status, error, field = null) => send(res, status, { error, field });

function readBody(req) {
  return new Promise((resolve) => {
    let data = "";
    req.on("data", (chunk) => (data += chunk));
    req.on("end", () => resolve(data));
  });
}

function parseCsv(text) {
  const rows = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line || (i === 0 && /[a-z]/i.test(line))) continue;
    const cells = line.split(",");
    if (cells.length !== 3) return { error: `line ${i + 1}: expected 3 columns, found ${cells.length}` };
    const nums = [];
    for (let c = 0; c < 3; c++) {
      const v = Number(cells[c]);
      if (cells[c].trim() === "" || !Number.isFinite(v)) return { error: `line ${i + 1}, column ${c + 1}: "${cells[c]}" is not a number` };
      nums.push(v);
    }
    rows.push(nums);
  }
  return { rows };
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, "http://x");
  const files = { "/": ["index.html", "text/html"], "/app.js": ["app.js", "text/javascript"], "/style.css": ["style.css", "text/css"] };
  if (req.method === "GET" && files[url.pathname]) {
    const [file, type] = files[url.pathname];
    return send(res, 200, fs.readFileSync(path.join(WEB, file), "utf8"), `${type}; charset=utf-8`);
  }
  if (PROXY && url.pathname.startsWith("/api/")) {
    const upstream = http.request({
      host: PROXY.hostname, port: PROXY.port, path: req.url, method: req.method, headers: req.headers,
    }, (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", (e) => fail(res, 502, `proxy: ${e.message}`));
    res.on("close", () => upstream.destroy());
    return req.pipe(upstream);
  }
  const m = url.pathname.match(/^\/api\/sessions(?:\/([^/]+)(\/[a-z.]+)?)?$/);
  if (!m) return fail(res, 404, "not found");
  const body = await readBody(req);
  const json = () => { try { return [JSON.parse(body || "{}")]; } catch (e) { fail(res, 400, `bad JSON: ${e.message}`); return null; } };
  if (!m[1]) {
    if (req.method !== "POST") return fail(res, 405, "method not allowed");
    const parsed = json(); if (!parsed) return;
    const bad = validate(parsed[0]); if (bad) return fail(res, 400, ...bad);
    if (sessions.size >= 16) return fail(res, 503, "too many sessions");
    const session = createSession(parsed[0]);
    return send(res, 201, { id: session.id, settings: session.settings, snapshot: full(session) });
  }
  const session = sessions.get(m[1]);
  if (!session) return fail(res, 404, `no session ${m[1]}`);
  const rest = m[2] || "";
  if (req.method === "DELETE" && !rest) {
    sessions.delete(session.id);
    for (const stream of session.streams) stream.res.end();
    res.writeHead(204);
    return res.end();
  }
  if (rest === "/events") {
    res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
    const stream = { res, sent: -1, points: null };
    session.streams.add(stream);
    req.on("close", () => session.streams.delete(stream));
    const snap = full(session);
    stream.points = session.pointsVersion; stream.sent = session.epoch;
    return res.write(`event: snapshot\ndata: ${JSON.stringify(snap)}\n\n`);
  }
  if (rest === "/control") {
    const parsed = json(); if (!parsed) return;
    const action = parsed[0].action;
    if (action === "play") session.playing = true;
    else if (action === "pause") session.playing = false;
    else if (action === "step") { session.playing = false; train(session, 1); }
    else if (action === "reset") rebuild(session);
    else if (action === "regenerate") { session.settings = { ...session.settings, seed: session.settings.seed + 1 }; rebuild(session); }
    else return fail(res, 400, `action: unknown action "${action}"`, "action");
    changed(session, action === "regenerate");
    return send(res, 200, { epoch: session.epoch, playing: session.playing });
  }
  if (rest === "/settings") {
    const parsed = json(); if (!parsed) return;
    const bad = validate(parsed[0]); if (bad) return fail(res, 400, ...bad);
    const live = Object.keys(parsed[0]).every((k) => ["lr", "reg", "reg_rate"].includes(k));
    session.settings = { ...session.settings, ...parsed[0] };
    if (!live) rebuild(session);
    changed(session, !live);
    return send(res, 200, { settings: session.settings, snapshot: full(session) });
  }
  if (rest === "/weight") {
    const parsed = json(); if (!parsed) return;
    const { layer, neuron, input, value } = parsed[0];
    const L = session.layers[layer];
    if (!L) return fail(res, 400, `layer ${layer} is out of range`, "layer");
    if (!L.biases[neuron] && L.biases[neuron] !== 0) return fail(res, 400, `neuron ${neuron} is out of range`, "neuron");
    if (!Number.isFinite(value)) return fail(res, 400, "value must be finite", "value");
    if (input === null) L.biases[neuron] = value;
    else if (input in L.weights[neuron]) { L.weights[neuron][input] = value; L.drift[neuron][input] = value; }
    else return fail(res, 400, `input ${input} is out of range`, "input");
    changed(session, false);
    return send(res, 200, { snapshot: full(session) });
  }
  if (rest === "/points") {
    if (!(req.headers["content-type"] || "").startsWith("text/csv")) return fail(res, 415, "the points must be text/csv");
    if (body.length > 1 << 20) return fail(res, 413, "the file is larger than 1 MiB");
    const { rows, error } = parseCsv(body);
    if (error) return fail(res, 400, error, "points");
    if (rows.length > 10000) return fail(res, 413, "more than 10,000 rows");
    const cut = Math.round((rows.length * session.settings.train_percent) / 100);
    session.epoch = 0; session.history = []; session.addLoss();
    session.points = { train: rows.slice(0, cut), test: rows.slice(cut) };
    changed(session, true);
    return send(res, 200, { settings: session.settings, snapshot: full(session) });
  }
  if (rest === "/model.safetensors") {
    res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Disposition": 'attachment; filename="playground.safetensors"' });
    return res.end(Buffer.from("mock"));
  }
  return fail(res, 404, "not found");
});

server.listen(PORT, "127.0.0.1", () => console.log(`mock Playground on http://127.0.0.1:${PORT}/`));
