// page.js — the browser side of the tapegrad playground (docs/playground.md).
// Every number shown comes from playground.c compiled to WebAssembly; this
// file only draws: the tape as a graph, backward step by step, the plot.
'use strict';

const PRESETS = [
  { name: 'relu(x): the seed', expr: 'relu(x)', leaves: 'x=0.5' },
  { name: "micrograd's README example",
    expr: 'c = a + b;\nd = a*b + b^3;\nc = c + c + 1;\nc = c + 1 + c + (-a);\n' +
          'd = d + d*2 + relu(b + a);\nd = d + 3*d + relu(b - a);\n' +
          'e = c - d;\nf = e^2;\ng = f/2;\ng + 10/f',
    leaves: 'a=-4, b=2' },
  { name: 'a neuron: tanh(w*x + b)', expr: 'tanh(w*x + b)',
    leaves: 'w=-3, x=2, b=6.8813735870195432' },
  { name: 'softmax cross-entropy of three logits (target: the first)',
    expr: '-log(exp(a) / (exp(a) + exp(b) + exp(c)))', leaves: 'a=2, b=1, c=0.1' },
  { name: 'softmax cross-entropy, vector form: logsumexp(z) - sum(z*y)',
    expr: 'logsumexp(z) - sum(z*y)', leaves: 'z=[2, 1, 0.1], y=[1, 0, 0]' },
  { name: 'tanh(a*b + c)', expr: 'tanh(a*b + c)', leaves: 'a=2, b=-3, c=1' },
];

// The local derivative each op's backward applies (as in its header).
const RULES = {
  add: 'd(u + v)/du = 1,  d(u + v)/dv = 1',
  sub: 'd(u - v)/du = 1,  d(u - v)/dv = -1',
  mul: 'd(u v)/du = v,  d(u v)/dv = u',
  div: 'd(u / v)/du = 1/v,  d(u / v)/dv = -u / v^2',
  neg: 'd(-u)/du = -1',
  pow: 'd(u^p)/du = p u^(p-1)',
  pow_tensor: 'd(u^v)/du = v u^(v-1),  d(u^v)/dv = u^v log u',
  tanh: 'd tanh(u)/du = 1 - tanh(u)^2',
  relu: 'd relu(u)/du = 1 if u > 0, else 0',
  sigmoid: 'd s(u)/du = s(u) (1 - s(u))',
  exp: 'd exp(u)/du = exp(u)',
  log: 'd log(u)/du = 1/u',
  sqrt: 'd sqrt(u)/du = 1 / (2 sqrt(u))',
  abs: 'd |u|/du = sign(u)',
  gelu: 'd gelu(u)/du = Phi(u) + u phi(u)',
  silu: 'd silu(u)/du = s (1 + u (1 - s)), s = sigmoid(u)',
  softplus: 'd softplus(u)/du = sigmoid(u)',
  sum: 'd sum(u)/du[i] = 1: every element gets the incoming gradient',
  mean: 'd mean(u)/du[i] = 1/n',
  logsumexp: 'd logsumexp(u)/du[i] = softmax(u)[i]',
  maximum: 'd max(u, v)/du = 1 if u > v, 0 if u < v, 1/2 on a tie',
  minimum: 'd min(u, v)/du = 1 if u < v, 0 if u > v, 1/2 on a tie',
};

const $ = (id) => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';

// ---- the engine ----------------------------------------------------------

// WASI, as far as the library needs it with no files: stdout and stderr
// go to the console; every other file call fails with EBADF.
function wasiImports(getMemory) {
  const EBADF = 8;
  return {
    fd_write(fd, iovs, n, written) {
      const mem = new DataView(getMemory().buffer);
      let text = '', total = 0;
      for (let i = 0; i < n; i++) {
        const ptr = mem.getUint32(iovs + 8 * i, true);
        const len = mem.getUint32(iovs + 8 * i + 4, true);
        text += new TextDecoder().decode(new Uint8Array(getMemory().buffer, ptr, len));
        total += len;
      }
      if (fd !== 1 && fd !== 2) return EBADF;
      if (text.trim() !== '') console.info('tapegrad: ' + text);
      mem.setUint32(written, total, true);
      return 0;
    },
    fd_close: () => EBADF,
    fd_seek: () => EBADF,
  };
}

let engine = null;

async function loadEngine() {
  const b64 = $('tapegrad-wasm').textContent.trim();
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  let memory = null;
  const { instance } = await WebAssembly.instantiate(bytes, {
    wasi_snapshot_preview1: wasiImports(() => memory),
  });
  memory = instance.exports.memory;
  instance.exports._initialize();
  engine = instance.exports;
}

function withStrings(strings, fn) {
  const enc = new TextEncoder();
  const ptrs = strings.map((s) => {
    const b = enc.encode(s + '\0');
    const p = engine.pg_alloc(b.length);
    new Uint8Array(engine.memory.buffer, p, b.length).set(b);
    return p;
  });
  try {
    const r = fn(...ptrs);
    const mem = new Uint8Array(engine.memory.buffer);
    let end = r;
    while (mem[end] !== 0) end++;
    return JSON.parse(new TextDecoder().decode(mem.subarray(r, end)));
  } finally {
    ptrs.forEach((p) => engine.pg_free(p));
  }
}

const run = (src, leaves) => withStrings([src, leaves], (s, l) => engine.pg_run(s, l));
const plot = (src, leaves, lo, hi, n) =>
  withStrings([src, leaves], (s, l) => engine.pg_plot(s, l, lo, hi, n));

// ---- numbers -------------------------------------------------------------

const num = (v) => (typeof v === 'string' ? Number(v) : v);
// A number to 6 digits; a vector's elements to 4.
function fmt(v, digits = 6) {
  if (v === null || v === undefined) return '-';
  if (Array.isArray(v)) return '[' + v.map((e) => fmt(e, 4)).join(', ') + ']';
  const x = num(v);
  if (!Number.isFinite(x)) return String(v);
  if (x === 0 || (Math.abs(x) >= 1e-4 && Math.abs(x) < 1e6)) return String(Number(x.toPrecision(digits)));
  return x.toExponential(digits - 2);
}

// ---- the tape as a graph -------------------------------------------------

const state = { tape: null, step: 0, pos: {} };

function el(tag, attrs, parent, text) {
  const e = document.createElementNS(SVG, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}

function nodeTitle(n) {
  if (n.op === 'leaf') return n.label;
  if (n.op === 'const') return n.label;
  return n.label ? `${n.op}  (${n.label})` : n.op;
}

function drawGraph(tape) {
  const svg = $('graph');
  svg.textContent = '';
  const depth = [];
  tape.nodes.forEach((n) => {
    depth[n.id] = n.in.length ? 1 + Math.max(...n.in.map((i) => depth[i])) : 0;
  });
  const cols = [];
  tape.nodes.forEach((n) => (cols[depth[n.id]] = cols[depth[n.id]] || []).push(n.id));
  // Boxes as wide as their longest line (a vector's value, say).
  const longest = Math.max(...tape.nodes.map((n) => Math.max(
    nodeTitle(n).length + 4, 6 + fmt(n.value).length, 6 + fmt(n.grad).length)));
  const W = Math.max(150, 16 + 7.3 * longest), H = 54, GX = 46, GY = 14;
  const rows = Math.max(...cols.map((c) => c.length));
  state.pos = {};
  cols.forEach((c, d) => c.forEach((id, r) => {
    const off = ((rows - c.length) * (H + GY)) / 2;
    state.pos[id] = { x: 10 + d * (W + GX), y: 10 + off + r * (H + GY) };
  }));
  svg.setAttribute('width', 20 + cols.length * (W + GX) - GX);
  svg.setAttribute('height', 20 + rows * (H + GY) - GY);
  const edges = el('g', {}, svg);
  tape.nodes.forEach((n) => n.in.forEach((i) => {
    const a = state.pos[i], b = state.pos[n.id];
    const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2;
    el('path', { class: 'edge', 'data-from': i, 'data-to': n.id,
      d: `M${x1},${y1} C${x1 + GX / 2},${y1} ${x2 - GX / 2},${y2} ${x2},${y2}` }, edges);
  }));
  tape.nodes.forEach((n) => {
    const p = state.pos[n.id];
    const g = el('g', { class: `node ${n.op === 'leaf' || n.op === 'const' ? n.op : 'op'}`,
      id: `node-${n.id}`, 'data-id': n.id, 'data-op': n.op,
      'data-value': JSON.stringify(n.value), transform: `translate(${p.x},${p.y})` }, svg);
    el('rect', { width: W, height: H, rx: 5 }, g);
    el('text', { x: 8, y: 16, class: 'op' }, g,
      (n.entry >= 0 ? `#${n.entry} ` : '') + nodeTitle(n));
    el('text', { x: 8, y: 32, class: 'value' }, g, 'value ' + fmt(n.value));
    el('text', { x: 8, y: 47, class: 'grad' }, g, n.grad === null ? 'no grad' : 'grad  ?');
  });
}

// A node's gradient is complete once every entry that uses it has run its
// backward; an op's output's, when its own entry is reached. Returns the
// step (0-based) after which each node's gradient may be shown.
function completeAfter(tape) {
  const stepOf = {};
  tape.steps.forEach((s, i) => (stepOf[s.node] = i));
  const after = {};
  tape.nodes.forEach((n) => {
    if (n.grad === null) return;
    if (n.entry >= 0) {
      after[n.id] = stepOf[n.id];
      return;
    }
    const users = tape.nodes.filter((m) => m.in.includes(n.id) && m.entry >= 0);
    after[n.id] = Math.max(...users.map((m) => stepOf[m.id]));
  });
  return after;
}

function showStep() {
  const tape = state.tape, k = state.step, N = tape.steps.length;
  const doneAt = completeAfter(tape);
  document.querySelectorAll('.node').forEach((g) => {
    const id = Number(g.dataset.id), n = tape.nodes[id];
    g.classList.remove('current');
    if (n.grad === null) return;
    const shown = doneAt[id] !== undefined && doneAt[id] < k;
    g.classList.toggle('done', shown);
    g.querySelector('.grad').textContent = 'grad  ' + (shown ? fmt(n.grad) : '?');
    if (shown) g.dataset.grad = JSON.stringify(n.grad);
    else delete g.dataset.grad;
  });
  document.querySelectorAll('.edge').forEach((e) => e.classList.remove('passing'));
  $('step-count').textContent = `${k} of ${N} entries done`;
  $('step').disabled = $('finish').disabled = k >= N;
  const info = $('step-info');
  info.textContent = '';
  if (k === 0) {
    info.dataset.entry = '';
    info.appendChild(document.createTextNode(
      `tg_backward seeds d f / d f = 1 and walks the ${N} tape entries last to first. Press Step.`));
    return;
  }
  const s = tape.steps[k - 1], n = tape.nodes[s.node];
  info.dataset.entry = s.entry;
  info.dataset.node = s.node;
  info.dataset.grad = JSON.stringify(n.grad);
  document.getElementById(`node-${s.node}`).classList.add('current');
  document.querySelectorAll(`.edge[data-to="${s.node}"]`).forEach((e) => e.classList.add('passing'));
  const op = (s.trace.match(/^backward #\d+ (\S+):/) || [])[1] || n.op;
  const head = document.createElement('p');
  head.appendChild(document.createTextNode(
    `Step ${k}: entry #${s.entry}, ${op}. Gradient arriving at its output: ${fmt(n.grad)}`));
  const rule = document.createElement('p');
  rule.className = 'rule';
  rule.textContent = 'Local derivative: ' + (RULES[op] || `see ${op} in include/tapegrad/ops.h`);
  const pre = document.createElement('pre');
  pre.className = 'trace';
  pre.textContent = s.trace.trimEnd();
  const cap = document.createElement('p');
  cap.className = 'rule';
  cap.textContent = "The engine's own trace (tg_tape_set_trace) of this step:";
  info.append(head, rule, cap, pre);
  if (k === N) {
    const end = document.createElement('p');
    end.textContent = 'Backward done: every leaf holds d f / d leaf.';
    info.appendChild(end);
  }
}

// ---- the plot ------------------------------------------------------------

function drawPlot(src, leaves) {
  const svg = $('plot'), note = $('plot-note');
  svg.textContent = '';
  const W = 760, H = 280, L = 90, R = 110, T = 10, B = 30;
  const p = plot(src, leaves, -3, 3, 241);
  if (!p.ok) {
    svg.setAttribute('width', 0);
    svg.setAttribute('height', 0);
    note.textContent = 'No plot: ' + p.error;
    return;
  }
  const curves = [['f', 'f'], ['df', "f'"], ['d2f', "f''"]].filter(([k]) => p[k]);
  const ys = curves.flatMap(([k]) => p[k].map(num)).filter(Number.isFinite);
  let lo = Math.min(...ys), hi = Math.max(...ys);
  lo = Math.max(lo, -20); hi = Math.min(hi, 20);
  if (hi - lo < 1e-9) { lo -= 1; hi += 1; }
  svg.setAttribute('width', W);
  svg.setAttribute('height', H);
  const sx = (x) => L + ((x + 3) / 6) * (W - L - R);
  const sy = (y) => T + (1 - (y - lo) / (hi - lo)) * (H - T - B);
  el('line', { class: 'axis', x1: L, x2: W - R, y1: sy(Math.min(Math.max(0, lo), hi)),
    y2: sy(Math.min(Math.max(0, lo), hi)) }, svg);
  el('line', { class: 'axis', x1: sx(0), x2: sx(0), y1: T, y2: H - B }, svg);
  el('text', { x: L - 6, y: T + 10, 'text-anchor': 'end' }, svg, fmt(hi));
  el('text', { x: L - 6, y: H - B, 'text-anchor': 'end' }, svg, fmt(lo));
  [-3, 0, 3].forEach((x) => el('text', { x: sx(x), y: H - 10, 'text-anchor': 'middle' }, svg, String(x)));
  curves.forEach(([k, label], i) => {
    let d = '', pen = 'M';
    p[k].forEach((v, j) => {
      const y = num(v);
      if (!Number.isFinite(y) || y < lo - 1e3 || y > hi + 1e3) { pen = 'M'; return; }
      d += `${pen}${sx(num(p.x[j])).toFixed(2)},${sy(Math.min(Math.max(y, lo), hi)).toFixed(2)} `;
      pen = 'L';
    });
    el('path', { class: `curve ${k}`, d, 'data-values': JSON.stringify(p[k]) }, svg);
    const lg = el('g', { class: 'legend' }, svg);
    el('line', { class: `curve ${k}`, x1: W - R + 15, x2: W - R + 40, y1: T + 15 + 20 * i, y2: T + 15 + 20 * i }, lg);
    el('text', { x: W - R + 46, y: T + 19 + 20 * i }, lg, label);
  });
  note.textContent = 'x from -3 to 3; the other leaves keep their values. ' +
    "f' and f'' by tg_vjp (f'' differentiates f' again: create_graph)." +
    (p.d2f_error ? " No f'': " + p.d2f_error : '');
}

// ---- the page ------------------------------------------------------------

function showError(msg) {
  $('error').hidden = false;
  $('error').textContent = msg;
  $('result').hidden = true;
}

function runExpression() {
  const src = $('expr').value, leaves = $('leaves').value;
  const tape = run(src, leaves);
  if (!tape.ok) {
    showError(tape.error);
    return;
  }
  $('error').hidden = true;
  $('result').hidden = false;
  state.tape = tape;
  state.step = 0;
  const root = tape.nodes[tape.root];
  $('summary').textContent = `f = ${fmt(root.value)}   (${tape.entries} tape entries)`;
  $('summary').dataset.value = JSON.stringify(root.value);
  drawGraph(tape);
  showStep();
  drawPlot(src, leaves);
}

function choosePreset(i) {
  $('preset').value = String(i);
  $('expr').value = PRESETS[i].expr;
  $('leaves').value = PRESETS[i].leaves;
  runExpression();
}

async function main() {
  PRESETS.forEach((p, i) => {
    const o = document.createElement('option');
    o.value = i;
    o.textContent = p.name;
    $('preset').appendChild(o);
  });
  const own = document.createElement('option');
  own.value = '';
  own.textContent = '(your own expression)';
  $('preset').appendChild(own);
  ['expr', 'leaves'].forEach((id) =>
    $(id).addEventListener('input', () => ($('preset').value = '')));
  try {
    await loadEngine();
  } catch (e) {
    showError('Could not start the engine (WebAssembly): ' + e);
    return;
  }
  $('preset').addEventListener('change', (e) => {
    if (e.target.value !== '') choosePreset(Number(e.target.value));
  });
  $('run').addEventListener('click', runExpression);
  $('expr').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) runExpression();
  });
  $('step').addEventListener('click', () => { state.step++; showStep(); });
  $('finish').addEventListener('click', () => { state.step = state.tape.steps.length; showStep(); });
  $('restart').addEventListener('click', () => { state.step = 0; showStep(); });
  choosePreset(1);
  document.body.dataset.ready = '1';
}

main();
