// The attention explorer's app.js, shipped inside the binary (no files to deploy, no external URLs).
extension ExplorerAssets {
    /// `GET /explorer/app.js`: the page's state, its calls to /models, /attention and /infer, and its three views.
    static let appScript = #"""
// The attention explorer: state, API calls and the three views (request, try it, compare).
// Uses only GET /models, GET /attention and POST /infer.
'use strict';

(() => {
  const { el, fmt, entropyRatio, heatStrip, piBars, lineChart, picture, scoreBars } = Charts;
  const $ = id => document.getElementById(id);

  const state = {
    models: new Map(),      // name -> /models entry
    recent: [],             // /attention listing, newest first
    records: new Map(),     // id -> /attention?id= record
    responses: new Map(),   // id -> /infer response, for requests sent from this page (top-k)
    current: null,          // the record shown in the request view
    sample: 0,
    layer: null,            // selected attention layer name
    reluLayer: null,
    channel: 0,
    tryBody: null,          // what "Try it" sends: {kind: 'json', input} or {kind: 'npy', bytes, name}
    tryPrevious: null,      // the previous try-it record, for the change table
    tryTimer: null,
    tryRunning: false,
    tryPending: false,
  };

  // ---------------------------------------------------------------------------------------------
  // API

  // With API keys on (docs/auth.md), every call carries the key the user gave, kept in this tab's
  // sessionStorage only: gone when the tab closes, never in a cookie or localStorage.
  const keyItem = 'dyserve.apiKey';

  async function api(path, options) {
    const key = sessionStorage.getItem(keyItem);
    const headers = { ...((options && options.headers) || {}), ...(key ? { Authorization: `Bearer ${key}` } : {}) };
    const response = await fetch(path, { ...(options || {}), headers });
    if (response.status === 401 || response.status === 403) $('key-form').hidden = false;
    const text = await response.text();
    let body = null;
    try { body = JSON.parse(text); } catch (_) { /* not JSON: reported below */ }
    if (!response.ok) throw new Error(`${path.split('?')[0]}: HTTP ${response.status}` + (body && body.error ? `: ${body.error}` : ''));
    if (body == null) throw new Error(`${path.split('?')[0]}: the answer is not JSON`);
    return body;
  }

  function status(message) { $('status').textContent = message || ''; }

  async function loadModels() {
    const listing = await api('/models');
    for (const m of listing.models) state.models.set(m.name, m);
  }

  async function loadRecent() {
    state.recent = (await api('/attention?limit=50')).requests;
    renderRecent();
    renderCompareChoices();
  }

  async function record(id) {
    if (!state.records.has(id)) state.records.set(id, await api(`/attention?id=${encodeURIComponent(id)}`));
    return state.records.get(id);
  }

  // ---------------------------------------------------------------------------------------------
  // Shared pieces

  /** Layers with attention of one sample: [{name, pi, entropy, temperature, routing}]. */
  function attentionRows(rec, n) {
    return rec.layers.filter(l => l.attention && l.attention.pi && l.attention.pi[n]).map(l => ({
      name: l.name, pi: l.attention.pi[n], entropy: l.attention.entropy[n],
      temperature: l.attention.temperature, routing: l.attention.routing,
    }));
  }

  function temperatureText(rec) {
    return rec.temperature == null ? `${fmt(rec.model_temperature, 2)} (the model's own)` : `${fmt(rec.temperature, 3)} (set by the request)`;
  }

  function inputView(rec, n, overlay) {
    if (!rec.input) {
      return el('p', { class: 'hint' }, `The input is not stored for this request: only requests traced at level "full" keep it (this one: "${rec.trace}"). Send it again from Try it to see it.`);
    }
    const shape = rec.input.shape;
    if (shape.length !== 4 || (shape[1] !== 1 && shape[1] !== 3)) {
      return el('p', { class: 'hint' }, `Input of shape [${shape.join(', ')}]: not drawn (pictures need [N, 1 or 3, H, W]).`);
    }
    const size = shape[2] <= 32 ? 192 : 224;
    return el('div', { class: 'pictures' }, el('figure', {},
      picture(rec.input, n, { size, overlay }),
      el('figcaption', {}, overlay ? overlay.caption : `Sample ${n}: ${shape[1] === 1 ? 'one channel, dark = high value' : 'RGB'}, ${shape[2]}×${shape[3]} pixels`)));
  }

  function predictionView(rec, n) {
    const response = state.responses.get(rec.id);
    const model = state.models.get(rec.model);
    if (response && response.top_k && response.top_k[n]) {
      return el('div', {},
        el('p', { class: 'hint' }, `Top ${response.top_k[n].length} classes of sample ${n} (probability).`),
        scoreBars(response.top_k[n].map(e => ({ label: e.label != null ? e.label : `class ${e.index}`, score: e.score }))));
    }
    if (!rec.top_class) return el('p', { class: 'hint' }, 'No class recorded.');
    const t = rec.top_class;
    return el('div', {},
      el('p', { class: 'hint' }, `Top class of sample 0 as stored with the trace${model && model.labels ? '' : ' (the model has no labels)'}; requests sent from Try it also show the runners-up.`),
      scoreBars([{ label: t.label != null ? t.label : `class ${t.index}`, score: t.score }]));
  }

  // ---------------------------------------------------------------------------------------------
  // Request view

  function renderRecent() {
    const list = $('recent');
    list.replaceChildren();
    if (!state.recent.length) {
      list.append(el('li', { class: 'hint' }, 'No traced request yet. Send one from Try it, or POST /infer.'));
      return;
    }
    for (const r of state.recent) {
      const current = state.current && state.current.id === r.id;
      const top = r.top_class ? (r.top_class.label != null ? r.top_class.label : `class ${r.top_class.index}`) : '–';
      list.append(el('li', {}, el('button', {
        type: 'button', 'aria-current': current ? 'true' : 'false', 'data-id': r.id,
        onclick: () => show(r.id).catch(e => status(e.message)),
      }, `${r.model} → ${top}`, el('span', { class: 'meta' }, `${r.time.replace('T', ' ').replace('Z', ' UTC')} · ${r.id}`))));
    }
  }

  async function show(id) {
    const rec = await record(id);
    state.current = rec;
    state.sample = 0;
    const rows = attentionRows(rec, 0);
    state.layer = rows.length ? rows[0].name : null;
    const relu = rec.layers.filter(l => l.activation);
    state.reluLayer = relu.length ? (relu.find(l => l.activation.spatial) || relu[0]).name : null;
    state.channel = 0;
    renderRecent();
    renderRequest();
  }

  function renderRequest() {
    const rec = state.current;
    if (!rec) return;
    const n = state.sample;
    const model = state.models.get(rec.model);
    $('summary').replaceChildren(el('dl', { class: 'facts', id: 'facts', 'data-id': rec.id },
      el('dt', {}, 'id'), el('dd', {}, rec.id),
      el('dt', {}, 'model'), el('dd', {}, rec.model + (model ? ` (${model.parameters.toLocaleString('en')} parameters)` : '')),
      el('dt', {}, 'time'), el('dd', {}, rec.time),
      el('dt', {}, 'temperature τ'), el('dd', {}, temperatureText(rec)),
      el('dt', {}, 'trace level'), el('dd', {}, rec.trace),
      el('dt', {}, 'batch'), el('dd', {}, `${rec.batch} sample${rec.batch === 1 ? '' : 's'}; showing sample ${n}`)));

    const sample = $('sample');
    sample.replaceChildren(...Array.from({ length: rec.batch }, (_, i) => el('option', { value: i, selected: i === n }, `${i} of ${rec.batch}`)));

    $('input-view').replaceChildren(inputView(rec, n, null));
    $('prediction').replaceChildren(predictionView(rec, n));
    const rows = attentionRows(rec, n);
    $('heat').replaceChildren(heatStrip(rows, {
      selected: state.layer, caption: `Sample ${n} of ${rec.batch}.`,
      onSelect: name => { state.layer = name; renderRequest(); },
    }));
    // Layers that take their routing from another layer (a trace with "routed_by" and no attention).
    const routed = rec.layers.filter(l => !l.attention && l.routed_by);
    if (routed.length) {
      $('heat').append(el('p', { class: 'hint' }, 'Routed by another layer (their π is that layer\'s row): ',
        routed.map(l => `${l.name} ← ${l.routed_by}`).join(', ') + '.'));
    }
    renderLayer(rows);
    renderRelu();
  }

  function renderLayer(rows) {
    const row = rows.find(r => r.name === state.layer);
    const box = $('layer-detail');
    if (!row) {
      $('layer-title').textContent = 'Layer';
      box.replaceChildren(el('p', { class: 'hint' }, 'No layer with attention.'));
      return;
    }
    const K = row.pi.length, ratio = entropyRatio(row.pi, row.entropy);
    $('layer-title').textContent = `Layer ${row.name}: π over its ${K} experts (sample ${state.sample})`;
    box.replaceChildren(
      piBars(row.pi, { label: row.routing === 'sigmoid' ? 'sigmoid weight' : 'π' }),
      el('p', {}, K > 1
        ? `Entropy H = ${fmt(row.entropy, 4)} nats of a maximum log K = ${fmt(Math.log(K), 4)}: H/log K = ${fmt(ratio, 3)} (1 = uniform, 0 = one expert). `
        : 'One expert: nothing to choose. ',
      row.routing === 'sigmoid' ? 'Sigmoid routing: the weights need not sum to 1 (entropy of the normalised weights).' : `Softmax routing at τ = ${fmt(row.temperature, 3)}.`));
  }

  function renderRelu() {
    const rec = state.current, n = state.sample;
    const controls = $('relu-controls'), box = $('relu');
    const layers = rec.layers.filter(l => l.activation);
    if (!layers.length) {
      controls.replaceChildren();
      box.replaceChildren(el('p', { class: 'hint' }, rec.trace === 'full'
        ? 'This model has no DY-ReLU layer.'
        : `DY-ReLU coefficients are recorded at trace level "full"; this request was traced at "${rec.trace}". Send it from Try it to see them.`));
      return;
    }
    const layer = layers.find(l => l.name === state.reluLayer) || layers[0];
    const act = layer.activation, C = act.channels, K = act.pieces;
    state.channel = Math.min(state.channel, C - 1);
    controls.replaceChildren(
      el('label', { for: 'relu-layer' }, 'DY-ReLU layer ', el('select', { id: 'relu-layer', onchange: e => { state.reluLayer = e.target.value; renderRelu(); } },
        layers.map(l => el('option', { value: l.name, selected: l.name === layer.name }, `${l.name} (variant ${l.activation.variant})`)))),
      el('label', { for: 'relu-channel' }, `Channel (0–${C - 1}) `, el('input', {
        id: 'relu-channel', type: 'number', min: 0, max: C - 1, step: 1, value: state.channel,
        onchange: e => { const c = Math.round(Number(e.target.value)); state.channel = Number.isFinite(c) ? Math.max(0, Math.min(C - 1, c)) : 0; renderRelu(); },
      })));
    const a = act.a[n], b = act.b[n], c = state.channel;
    const colors = ['#2458c6', '#c43c39', '#2a8a4a', '#8a4fbf'];
    const coefficientSeries = [];
    for (let k = 0; k < K; k++) {
      coefficientSeries.push({ name: `a${k + 1} (slope)`, color: colors[k % 4], points: Array.from({ length: C }, (_, ch) => [ch, a[k * C + ch]]) });
      coefficientSeries.push({ name: `b${k + 1} (intercept)`, color: colors[k % 4], dash: '5 3', points: Array.from({ length: C }, (_, ch) => [ch, b[k * C + ch]]) });
    }
    // y = max_k (a_k x + b_k) over x in [-4, 4]: the layer's input after batch norm, mostly within a few units.
    const xs = Array.from({ length: 161 }, (_, i) => -4 + i * 0.05);
    const f = x => Math.max(...Array.from({ length: K }, (_, k) => a[k * C + c] * x + b[k * C + c]));
    const parts = [
      el('h3', {}, `Coefficients per channel (variant ${act.variant}, K = ${K} pieces, sample ${n})`),
      C > 1 ? lineChart(coefficientSeries, { xLabel: 'channel', yLabel: 'coefficient value', marker: c, width: 620, title: `DY-ReLU coefficients of ${layer.name} per channel` })
        : el('p', {}, `Shared by every channel (variant A): ` + Array.from({ length: K }, (_, k) => `a${k + 1} = ${fmt(a[k], 3)}, b${k + 1} = ${fmt(b[k], 3)}`).join('; ')),
      el('h3', {}, `The activation of channel ${c}: y = max over k of (a_k x + b_k)`),
      act.spatial ? el('p', { class: 'hint' }, 'Variant C multiplies this by the spatial factor of each position (the map below); the dotted lines are the function at the smallest and largest factor of this sample.') : null,
      lineChart([
        { name: `channel ${c}`, color: '#2458c6', width: 3, points: xs.map(x => [x, f(x)]) },
        ...spatialBounds(act, n).map(([what, s], i) => ({ name: `× ${what} spatial factor ${fmt(s, 2)}`, color: i ? '#c43c39' : '#2a8a4a', dash: '2 2', points: xs.map(x => [x, s * f(x)]) })),
        { name: 'ReLU, for reference', color: '#9aa1ad', dash: '4 3', points: xs.map(x => [x, Math.max(0, x)]) },
      ], { xLabel: 'x, the layer input (after batch norm), from −4 to 4', yLabel: 'y, the activation output', width: 520, title: `DY-ReLU function of channel ${c}` }),
    ];
    if (act.spatial && act.spatial[n]) {
      const map = act.spatial[n];
      parts.push(el('h3', {}, `Spatial attention (variant C), ${act.height}×${act.width} grid of the feature map`));
      const overlay = { map, height: act.height, width: act.width, caption: `Spatial attention π_s of ${layer.name} (0–1, colour and number), each cell over the part of the input it covers` };
      if (rec.input) parts.push(inputView(rec, n, overlay));
      else parts.push(picture({ shape: [1, 1, act.height, act.width], data: map.map(v => 1 - v) }, 0, { size: 192, overlay }),
        el('p', { class: 'hint' }, 'The input is not stored for this request (trace level "full" keeps it), so the map is drawn alone.'));
    }
    box.replaceChildren(...parts);
  }

  /** Variant C: [['smallest', min], ['largest', max]] of sample n's spatial factors; [] otherwise. */
  function spatialBounds(act, n) {
    if (!act.spatial || !act.spatial[n]) return [];
    return [['smallest', Math.min(...act.spatial[n])], ['largest', Math.max(...act.spatial[n])]];
  }

  // ---------------------------------------------------------------------------------------------
  // Try it

  // Held-out images of scikit-learn's digits (Tests/DyNNTests/Fixtures/digits-heldout, the first of
  // each class), raw values 0..16 as dy-digits expects them.
  const DIGITS = {
    0: '0,0,2,14,13,3,0,0,0,0,13,13,9,11,0,0,0,0,16,7,0,12,0,0,0,3,16,5,0,10,5,0,0,5,16,1,0,8,5,0,0,3,16,1,0,10,5,0,0,0,16,8,5,14,3,0,0,0,4,16,16,9,1,0',
    1: '0,0,0,0,11,14,3,0,0,0,0,2,16,16,2,0,0,0,0,11,16,14,0,0,0,0,3,16,16,15,0,0,0,1,13,16,16,13,0,0,0,6,16,9,15,13,0,0,0,0,0,0,12,16,1,0,0,0,0,0,9,14,1,0',
    2: '0,0,7,16,14,3,0,0,0,0,9,14,11,15,0,0,0,0,1,5,0,15,5,0,0,0,0,0,0,16,5,0,0,0,0,0,3,16,4,0,0,0,0,1,12,14,1,0,0,0,5,12,16,16,14,1,0,0,8,16,14,10,13,3',
    3: '0,0,9,16,10,1,0,0,0,0,8,3,16,4,0,0,0,0,0,5,14,2,0,0,0,0,2,16,15,7,0,0,0,0,0,0,3,15,2,0,0,4,6,0,0,13,7,0,0,6,13,1,5,16,3,0,0,0,10,16,15,5,0,0',
    4: '0,0,0,10,9,0,0,0,0,0,5,15,0,0,9,5,0,0,14,10,0,7,16,4,0,5,16,7,5,16,6,0,0,11,16,16,16,14,0,0,0,3,4,11,16,8,0,0,0,0,0,7,16,2,0,0,0,0,0,12,12,0,0,0',
    5: '0,0,5,16,16,3,0,0,0,0,9,16,7,0,0,0,0,0,12,15,2,0,0,0,0,1,15,16,15,4,0,0,0,0,9,13,16,9,0,0,0,0,0,0,14,12,0,0,0,0,5,12,16,8,0,0,0,0,3,15,15,1,0,0',
    6: '0,0,3,11,0,0,0,0,0,0,12,11,0,0,0,0,0,1,14,1,0,0,0,0,0,2,15,0,0,0,0,0,0,4,15,15,16,15,2,0,0,1,16,8,4,8,11,0,0,1,16,11,7,10,12,0,0,0,5,10,12,15,7,0',
    7: '0,0,2,13,16,9,0,0,0,0,12,12,7,16,3,0,0,1,14,3,0,16,4,0,0,0,0,4,10,16,6,0,0,0,0,13,16,16,9,0,0,0,0,5,13,1,0,0,0,0,0,11,9,0,0,0,0,0,1,16,4,0,0,0',
    8: '0,0,0,3,12,10,0,0,0,0,1,14,6,15,0,0,0,0,0,16,6,10,0,0,0,0,0,14,16,2,0,0,0,0,3,14,15,3,0,0,0,1,16,4,9,9,0,0,0,0,4,13,4,7,8,0,0,0,0,3,10,11,15,2',
    9: '0,0,8,16,10,2,0,0,0,0,12,13,14,11,0,0,0,0,10,13,8,16,2,0,0,0,4,15,15,16,8,0,0,0,0,3,8,11,13,0,0,0,0,0,0,5,16,4,0,0,1,2,2,7,16,5,0,0,3,14,16,16,11,1',
  };

  /** The model's input shape with batch 1, or null when /models has none. */
  function inputShape(name) {
    const m = state.models.get(name);
    if (!m || !m.inputs || !m.inputs.length) return null;
    return m.inputs[0].shape.map(d => (d < 0 ? 1 : d));
  }

  /** Examples that fit a shape: the digits for [1, 1, 8, 8]; a generated test pattern for images. */
  function examplesFor(shape) {
    if (!shape) return [];
    if (shape.join() === '1,1,8,8') {
      return Object.entries(DIGITS).map(([label, text]) => ({ name: `handwritten ${label} (held-out digit)`, data: text.split(',').map(Number) }));
    }
    if (shape.length === 4 && (shape[1] === 3 || shape[1] === 1)) {
      const [, C, H, W] = shape;
      const pattern = (f) => { const d = new Array(C * H * W); for (let c = 0; c < C; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) d[c * H * W + y * W + x] = f(c, y / H, x / W); return d; };
      return [
        { name: 'colour gradient (generated)', data: pattern((c, y, x) => [x, y, 1 - x][c % 3]) },
        { name: 'checkerboard (generated)', data: pattern((c, y, x) => ((Math.floor(y * 8) + Math.floor(x * 8)) % 2 ? 0.9 : 0.1)) },
      ];
    }
    return [];
  }

  function sourceKind() { return document.querySelector('input[name="source"]:checked').value; }

  function refreshExamples() {
    const shape = inputShape($('try-model').value);
    const examples = examplesFor(shape);
    $('try-example').replaceChildren(...examples.map((e, i) => el('option', { value: i }, e.name)));
    $('try-example').disabled = !examples.length;
    const m = state.models.get($('try-model').value);
    $('try-convert').textContent = shape
      ? `Input shape [${shape.join(', ')}]. Pictures are converted in the browser: ` + (shape[1] === 1
        ? `grey, cropped to the drawing, ${shape[2]}×${shape[3]}, ink 0–16 (light background inverted), as scikit-learn's digits.`
        : `${shape[2]}×${shape[3]} centre crop, RGB 0–1 (the model normalises).`) + (m && m.labels ? '' : ' This model has no class labels.')
      : '';
  }

  /** The request body for the current source, or throws with what is missing. */
  function tryInput() {
    const model = $('try-model').value, shape = inputShape(model);
    const kind = sourceKind();
    if (kind === 'example') {
      const example = examplesFor(shape)[Number($('try-example').value)];
      if (!example) throw new Error(`no shipped example fits ${model}'s input [${shape}]`);
      return { kind: 'json', input: { shape, data: example.data }, label: example.name };
    }
    if (!state.tryBody || state.tryBody.source !== kind) throw new Error(kind === 'npy' ? 'choose a .npy file' : 'choose a PNG or JPEG picture');
    if (state.tryBody.kind === 'image' && state.tryBody.model !== model) throw new Error('choose the picture again: it was converted for another model');
    return state.tryBody;
  }

  async function runTry() {
    if (state.tryRunning) { state.tryPending = true; return; }
    state.tryRunning = true;
    try {
      const model = $('try-model').value, tau = tauValue();
      const input = tryInput();
      let response;
      if (input.kind === 'npy') {
        const q = new URLSearchParams({ model, trace: 'full', return_trace: 'true', top_k: '5' });
        if (tau != null) q.set('temperature', String(tau));
        response = await api(`/infer?${q}`, { method: 'POST', headers: { 'Content-Type': 'application/x-npy' }, body: input.bytes });
      } else {
        const body = { model, input: input.input, trace: 'full', return_trace: true, top_k: 5 };
        if (tau != null) body.temperature = tau;
        response = await api('/infer', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      }
      const rec = response.trace;
      state.records.set(rec.id, rec);
      state.responses.set(rec.id, response);
      renderTryResult(rec, input.label);
      state.tryPrevious = rec;
      status('');
      await loadRecent();
      // The run is now the latest traced request: the Request view shows it too.
      await show(rec.id);
    } catch (e) {
      status(e.message);
    } finally {
      state.tryRunning = false;
      if (state.tryPending) { state.tryPending = false; runTry(); }
    }
  }

  /** The slider's temperature; null at the model's own (no override sent). */
  function tauValue() {
    const v = Math.pow(10, Number($('try-tau').value));
    const m = state.models.get($('try-model').value);
    const own = m && Number.isFinite(m.temperature) ? m.temperature : null;
    return own != null && Math.abs(v - own) < 1e-6 ? null : Number(v.toPrecision(3));
  }

  function renderTauLabel() {
    const tau = tauValue();
    $('try-tau-value').textContent = tau == null ? `${fmt(Math.pow(10, Number($('try-tau').value)), 2)} (the model's own)` : String(tau);
  }

  function renderTryResult(rec, label) {
    const response = state.responses.get(rec.id);
    $('try-input').replaceChildren(inputView(rec, 0, null), el('p', { class: 'hint' }, `${label || ''} · request ${rec.id} · τ ${temperatureText(rec)}`));
    const top = response.top_k && response.top_k[0];
    $('try-prediction').replaceChildren(top
      ? el('div', { id: 'try-top', 'data-top': top[0].label != null ? top[0].label : String(top[0].index) },
        el('p', { class: 'hint' }, `Top ${top.length} classes (probability) at τ ${temperatureText(rec)}.`),
        scoreBars(top.map(e => ({ label: e.label != null ? e.label : `class ${e.index}`, score: e.score }))))
      : el('p', { class: 'hint' }, 'No classes in the answer.'));
    const rows = attentionRows(rec, 0);
    $('try-heat').replaceChildren(el('div', { id: 'try-heat-strip', 'data-id': rec.id, 'data-temperature': rec.temperature == null ? '' : rec.temperature }, heatStrip(rows, { caption: `Sample 0 at τ ${temperatureText(rec)}.` })));
    renderChange(state.tryPrevious, rec);
  }

  /** Per layer: entropy ratio before and after, and the largest change of one expert's pi. */
  function renderChange(before, after) {
    const box = $('try-change');
    if (!before || before.model !== after.model) {
      box.replaceChildren(el('p', { class: 'hint' }, 'Move the temperature slider (or send another input) to compare with this run.'));
      return;
    }
    const old = new Map(attentionRows(before, 0).map(r => [r.name, r]));
    const tau = r => (r.temperature == null ? `${fmt(r.model_temperature, 2)}` : fmt(r.temperature, 3));
    const rows = attentionRows(after, 0).filter(r => old.has(r.name)).map(r => {
      const o = old.get(r.name);
      const delta = Math.max(...r.pi.map((p, k) => Math.abs(p - (o.pi[k] || 0))));
      const e0 = entropyRatio(o.pi, o.entropy), e1 = entropyRatio(r.pi, r.entropy);
      const arrow = e1 > e0 + 1e-4 ? el('span', { class: 'up' }, '▲ flatter') : e1 < e0 - 1e-4 ? el('span', { class: 'down' }, '▼ sharper') : '=';
      return el('tr', { 'data-layer': r.name },
        el('td', {}, r.name), el('td', { class: 'num' }, fmt(e0, 3)), el('td', { class: 'num' }, fmt(e1, 3)), el('td', {}, arrow),
        el('td', { class: 'num' }, fmt(delta, 3)));
    });
    box.replaceChildren(
      el('p', { class: 'hint' }, `From τ ${tau(before)} (request ${before.id}) to τ ${tau(after)} (request ${after.id}), sample 0.`),
      el('div', { class: 'scroll' }, el('table', {},
        el('thead', {}, el('tr', {}, el('th', {}, 'layer'), el('th', { class: 'num' }, 'H/log K before'), el('th', { class: 'num' }, 'H/log K now'),
          el('th', {}, 'change'), el('th', { class: 'num' }, 'largest |Δπ|'))),
        el('tbody', {}, rows))));
  }

  async function onFile(file) {
    state.tryBody = null;
    if (!file) return;
    const model = $('try-model').value, shape = inputShape(model);
    if (file.name.toLowerCase().endsWith('.npy')) {
      state.tryBody = { kind: 'npy', source: 'npy', bytes: new Uint8Array(await file.arrayBuffer()), label: file.name };
      document.querySelector('input[name="source"][value="npy"]').checked = true;
    } else {
      const data = await imageToInput(file, shape);
      state.tryBody = { kind: 'json', source: 'image', model, input: { shape, data }, label: `${file.name}, converted to [${shape.join(', ')}]` };
      document.querySelector('input[name="source"][value="image"]').checked = true;
    }
    await runTry();
  }

  /** Decodes a picture and turns it into the model's input (see refreshExamples for the rules). */
  async function imageToInput(file, shape) {
    if (!shape || shape.length !== 4 || (shape[1] !== 1 && shape[1] !== 3)) throw new Error('this model does not take pictures ([N, 1 or 3, H, W])');
    const url = URL.createObjectURL(file);
    try {
      const img = await new Promise((resolve, reject) => {
        const i = new Image();
        i.onload = () => resolve(i);
        i.onerror = () => reject(new Error(`${file.name} is not a picture the browser can read`));
        i.src = url;
      });
      const [, C, H, W] = shape;
      if (C === 3) {
        const side = Math.min(img.naturalWidth, img.naturalHeight);
        const canvas = el('canvas', { width: W, height: H }), ctx = canvas.getContext('2d');
        ctx.imageSmoothingQuality = 'high';
        ctx.drawImage(img, (img.naturalWidth - side) / 2, (img.naturalHeight - side) / 2, side, side, 0, 0, W, H);
        const px = ctx.getImageData(0, 0, W, H).data, out = new Array(3 * H * W);
        for (let c = 0; c < 3; c++) for (let i = 0; i < H * W; i++) out[c * H * W + i] = px[i * 4 + c] / 255;
        return out;
      }
      // One channel: grey on a 64x64 canvas, ink = the contrast to the background (the border's
      // mean), cropped to the ink's bounding square, averaged down to H x W, scaled to 0..16.
      const S = 64, canvas = el('canvas', { width: S, height: S }), ctx = canvas.getContext('2d');
      ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, S, S);
      ctx.drawImage(img, 0, 0, S, S);
      const px = ctx.getImageData(0, 0, S, S).data, grey = new Float32Array(S * S);
      for (let i = 0; i < S * S; i++) grey[i] = (0.299 * px[i * 4] + 0.587 * px[i * 4 + 1] + 0.114 * px[i * 4 + 2]) / 255;
      let border = 0, count = 0;
      for (let i = 0; i < S; i++) for (const j of [0, S - 1]) { border += grey[i * S + j] + grey[j * S + i]; count += 2; }
      const light = border / count > 0.5;
      const ink = grey.map(v => (light ? 1 - v : v));
      let x0 = S, y0 = S, x1 = -1, y1 = -1;
      for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) if (ink[y * S + x] > 0.25) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
      if (x1 < 0) throw new Error(`${file.name}: no drawing found (the picture is one flat colour)`);
      const side = Math.max(x1 - x0, y1 - y0) + 1, cx = (x0 + x1 + 1) / 2, cy = (y0 + y1 + 1) / 2;
      const out = new Array(H * W).fill(0);
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
        let sum = 0, n = 0;
        for (let sy = 0; sy < 4; sy++) for (let sx = 0; sx < 4; sx++) {
          const px_ = Math.floor(cx - side / 2 + ((x + (sx + 0.5) / 4) / W) * side), py = Math.floor(cy - side / 2 + ((y + (sy + 0.5) / 4) / H) * side);
          if (px_ >= 0 && px_ < S && py >= 0 && py < S) sum += ink[py * S + px_];
          n++;
        }
        out[y * W + x] = sum / n;
      }
      const max = Math.max(...out);
      return out.map(v => Math.round((v / max) * 16 * 100) / 100);
    } finally {
      URL.revokeObjectURL(url);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Compare

  function renderCompareChoices() {
    for (const [id, index] of [['cmp-a', 1], ['cmp-b', 0]]) {
      const select = $(id), keep = select.value;
      select.replaceChildren(...state.recent.map(r => el('option', { value: r.id },
        `${r.model} → ${r.top_class ? (r.top_class.label != null ? r.top_class.label : r.top_class.index) : '–'} · ${r.id}`)));
      if (keep && state.recent.some(r => r.id === keep)) select.value = keep;
      else if (state.recent[index]) select.value = state.recent[index].id;
    }
  }

  async function renderCompare() {
    const box = $('compare');
    const a = $('cmp-a').value, b = $('cmp-b').value;
    if (!a || !b) { box.replaceChildren(el('p', { class: 'hint' }, 'Two traced requests are needed.')); return; }
    const [ra, rb] = await Promise.all([record(a), record(b)]);
    const rowsB = new Map(attentionRows(rb, 0).map(r => [r.name, r]));
    const common = attentionRows(ra, 0).filter(r => rowsB.has(r.name) && rowsB.get(r.name).pi.length === r.pi.length);
    if (!common.length) { box.replaceChildren(el('p', { class: 'hint' }, `${ra.model} and ${rb.model} share no dynamic layer: nothing to compare.`)); return; }
    const tv = r => 0.5 * r.pi.reduce((s, p, k) => s + Math.abs(p - rowsB.get(r.name).pi[k]), 0);
    const most = common.reduce((m, r) => (tv(r) > tv(m) ? r : m), common[0]);
    box.replaceChildren(
      el('p', { id: 'compare-most', 'data-layer': most.name }, `They differ most at ${most.name}: total variation ${fmt(tv(most), 3)}.`),
      el('div', { class: 'grid2' },
        el('div', {}, el('h3', {}, `A: ${ra.model}, ${ra.id}, τ ${temperatureText(ra)}`), heatStrip(common, { caption: 'Request A, sample 0.' })),
        el('div', {}, el('h3', {}, `B: ${rb.model}, ${rb.id}, τ ${temperatureText(rb)}`), heatStrip(common.map(r => rowsB.get(r.name)), { caption: 'Request B, sample 0.' }))),
      el('div', { class: 'scroll' }, el('table', {},
        el('thead', {}, el('tr', {}, el('th', {}, 'layer'), el('th', { class: 'num' }, 'H/log K, A'), el('th', { class: 'num' }, 'H/log K, B'), el('th', { class: 'num' }, 'distance'))),
        el('tbody', {}, common.map(r => el('tr', { class: r === most ? 'most' : '' },
          el('td', {}, r.name), el('td', { class: 'num' }, fmt(entropyRatio(r.pi, r.entropy), 3)),
          el('td', { class: 'num' }, fmt(entropyRatio(rowsB.get(r.name).pi, rowsB.get(r.name).entropy), 3)),
          el('td', { class: 'num' }, fmt(tv(r), 3))))))));
  }

  // ---------------------------------------------------------------------------------------------
  // Wiring

  function selectTab(name) {
    for (const t of ['request', 'try', 'compare']) {
      $(`tab-${t}`).setAttribute('aria-selected', String(t === name));
      $(`view-${t}`).hidden = t !== name;
    }
    if (name === 'compare') renderCompare().catch(e => status(e.message));
  }

  async function start() {
    $('key-form').hidden = !sessionStorage.getItem(keyItem);
    $('key-form').addEventListener('submit', e => {
      e.preventDefault();
      const key = $('api-key').value.trim();
      if (key) sessionStorage.setItem(keyItem, key); else sessionStorage.removeItem(keyItem);
      location.reload();
    });
    for (const t of ['request', 'try', 'compare']) $(`tab-${t}`).addEventListener('click', () => selectTab(t));
    $('refresh').addEventListener('click', () => loadRecent().then(() => state.recent[0] && show(state.recent[0].id)).catch(e => status(e.message)));
    $('sample').addEventListener('change', e => { state.sample = Number(e.target.value); renderRequest(); });
    $('cmp-a').addEventListener('change', () => renderCompare().catch(e => status(e.message)));
    $('cmp-b').addEventListener('change', () => renderCompare().catch(e => status(e.message)));
    $('try-form').addEventListener('submit', e => { e.preventDefault(); runTry(); });
    $('try-model').addEventListener('change', () => { state.tryBody = null; state.tryPrevious = null; syncTau(); refreshExamples(); });
    $('try-example').addEventListener('change', () => { document.querySelector('input[name="source"][value="example"]').checked = true; runTry(); });
    $('try-file').addEventListener('change', e => onFile(e.target.files[0]).catch(err => status(err.message)));
    $('try-tau').addEventListener('input', () => {
      renderTauLabel();
      if (!$('try-live').checked) return;
      clearTimeout(state.tryTimer);
      state.tryTimer = setTimeout(runTry, 150);
    });
    try {
      await loadModels();
      const ready = [...state.models.values()].filter(m => m.state === 'ready');
      $('try-model').replaceChildren(...ready.map(m => el('option', { value: m.name }, `${m.name} [${m.inputs[0].shape.join(', ')}]`)));
      await loadRecent();
      // Try it starts on the model of the latest traced request, the one the page opens on.
      const latest = state.recent.length ? state.recent[0].model : null;
      if (latest && ready.some(m => m.name === latest)) $('try-model').value = latest;
      syncTau();
      refreshExamples();
      if (state.recent.length) await show(state.recent[0].id);
      else {
        $('summary').replaceChildren(el('p', { class: 'hint' }, 'No traced request yet. Send one from Try it, or POST /infer (attention is traced by default).'));
        renderEmpty();
      }
    } catch (e) {
      status(e.message);
    }
  }

  function renderEmpty() {
    for (const id of ['input-view', 'prediction', 'heat', 'layer-detail', 'relu']) $(id).replaceChildren();
  }

  /** Puts the slider at the model's own temperature. */
  function syncTau() {
    const m = state.models.get($('try-model').value);
    const own = m && Number.isFinite(m.temperature) && m.temperature > 0 ? m.temperature : 1;
    $('try-tau').value = String(Math.log10(own));
    renderTauLabel();
  }

  start();
})();
"""#
}
