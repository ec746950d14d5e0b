// The attention explorer's charts.js, shipped inside the binary (no files to deploy, no external URLs).
extension ExplorerAssets {
    /// `GET /explorer/charts.js`: DOM/SVG builders, colour ramp, heat strip, bar and line charts, input pictures.
    static let chartsScript = #"""
// Drawing helpers of the attention explorer: DOM and SVG builders, a colour ramp, the heat strip,
// bar and line charts, and tensor pictures. No state: app.js decides what to draw.
'use strict';

const Charts = (() => {
  const SVG = 'http://www.w3.org/2000/svg';

  /** An HTML element with attributes (on* keys become listeners) and children (strings become text). */
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    setAll(node, attrs);
    for (const c of children.flat()) if (c != null) node.append(c instanceof Node ? c : String(c));
    return node;
  }

  /** The same for SVG elements. */
  function svgEl(tag, attrs = {}, ...children) {
    const node = document.createElementNS(SVG, tag);
    setAll(node, attrs);
    for (const c of children.flat()) if (c != null) node.append(c instanceof Node ? c : String(c));
    return node;
  }

  function setAll(node, attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null || v === false) continue;
      if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else if (k === 'text') node.textContent = v;
      // Through CSSOM: the page's Content-Security-Policy refuses inline style attributes.
      else if (k === 'style') node.style.cssText = v;
      else node.setAttribute(k, v === true ? '' : String(v));
    }
  }

  /** Viridis-like ramp: 0 dark blue, 1 yellow. */
  const STOPS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  function ramp(v) {
    const t = Math.min(Math.max(Number.isFinite(v) ? v : 0, 0), 1) * (STOPS.length - 1);
    const i = Math.min(Math.floor(t), STOPS.length - 2), f = t - i;
    const c = STOPS[i].map((a, j) => Math.round(a + (STOPS[i + 1][j] - a) * f));
    return `rgb(${c[0]},${c[1]},${c[2]})`;
  }
  /** The text class readable on the ramp's colour for v (style.css: dark ink on yellow, white on blue). */
  const inkOn = v => (v > 0.6 ? 'ink-dark' : 'ink-light');
  const inkColour = v => (v > 0.6 ? '#1d2330' : '#ffffff');

  const fmt = (v, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : '–');

  /** Entropy of pi (normalised to sum 1 first) relative to log K; null when K < 2. */
  function entropyRatio(pi, entropy) {
    if (pi.length < 2) return null;
    let h = entropy;
    if (!Number.isFinite(h)) {
      const s = pi.reduce((a, b) => a + b, 0);
      h = -pi.reduce((a, p) => a + (p > 0 ? (p / s) * Math.log(p / s) : 0), 0);
    }
    return h / Math.log(pi.length);
  }

  /**
   * Layers x experts heat strip of pi for one sample. rows: [{name, pi, entropy, temperature, routing}].
   * onSelect(name) is called when a row is clicked or chosen with Enter/Space.
   */
  function heatStrip(rows, { selected = null, onSelect = null, caption = '' } = {}) {
    if (!rows.length) return el('p', { class: 'hint' }, 'This request has no layer with attention.');
    const maxK = Math.max(...rows.map(r => r.pi.length));
    const nameW = Math.min(200, 14 + 7 * Math.max(...rows.map(r => r.name.length)));
    const cell = Math.max(30, Math.min(54, Math.floor(420 / maxK))), rowH = 22, top = 34;
    const statW = 150, width = nameW + maxK * cell + statW, height = top + rows.length * rowH + 40;
    const svg = svgEl('svg', { viewBox: `0 0 ${width} ${height}`, width: Math.round(width * 1.3), role: 'img',
      'aria-label': `Heat strip of attention pi: ${rows.length} layers by up to ${maxK} experts. ${caption}` });
    svg.append(svgEl('text', { x: nameW, y: 12, class: 'muted' }, 'expert →'));
    for (let k = 0; k < maxK; k++) {
      svg.append(svgEl('text', { x: nameW + k * cell + cell / 2, y: 28, 'text-anchor': 'middle' }, String(k)));
    }
    svg.append(svgEl('text', { x: nameW + maxK * cell + 10, y: 28 }, 'H/log K'));
    svg.append(svgEl('text', { x: nameW + maxK * cell + 78, y: 28 }, 'τ'));
    svg.append(svgEl('text', { x: 4, y: 28, class: 'muted' }, 'layer ↓'));
    rows.forEach((r, i) => {
      const y = top + i * rowH;
      const ratio = entropyRatio(r.pi, r.entropy);
      const g = svgEl('g', { class: 'row' + (r.name === selected ? ' selected' : ''), 'data-layer': r.name,
        'data-entropy-ratio': ratio == null ? '' : ratio.toFixed(6), 'data-pi': r.pi.map(p => p.toFixed(6)).join(' ') });
      g.append(svgEl('rect', { class: 'frame', x: 1, y: y, width: width - 2, height: rowH - 2, fill: 'transparent', stroke: 'none', rx: 3 }));
      g.append(svgEl('text', { x: 6, y: y + 15 }, r.name));
      r.pi.forEach((p, k) => {
        const x = nameW + k * cell;
        g.append(svgEl('rect', { x: x + 1, y: y + 1, width: cell - 2, height: rowH - 4, fill: ramp(p) },
          svgEl('title', {}, `${r.name}, expert ${k}: π = ${fmt(p, 4)}`)));
        if (cell >= 30) g.append(svgEl('text', { x: x + cell / 2, y: y + 14, 'text-anchor': 'middle', class: inkOn(p), 'font-size': 10 }, p.toFixed(2)));
      });
      g.append(svgEl('text', { x: nameW + maxK * cell + 10, y: y + 15 }, ratio == null ? 'K = 1' : ratio.toFixed(3)));
      g.append(svgEl('text', { x: nameW + maxK * cell + 78, y: y + 15 }, r.routing === 'sigmoid' ? 'sigmoid' : fmt(r.temperature, 2)));
      if (onSelect) {
        g.setAttribute('tabindex', '0');
        g.setAttribute('role', 'button');
        g.setAttribute('aria-label', `Show layer ${r.name}`);
        g.addEventListener('click', () => onSelect(r.name));
        g.addEventListener('keydown', e => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); onSelect(r.name); } });
      }
      svg.append(g);
    });
    // Colour legend 0..1.
    const ly = top + rows.length * rowH + 12, lw = Math.min(200, maxK * cell);
    for (let i = 0; i < 20; i++) {
      svg.append(svgEl('rect', { x: nameW + (i * lw) / 20, y: ly, width: lw / 20 + 0.5, height: 10, fill: ramp(i / 19) }));
    }
    svg.append(svgEl('text', { x: nameW - 4, y: ly + 9, 'text-anchor': 'end', class: 'muted' }, 'π 0'));
    svg.append(svgEl('text', { x: nameW + lw + 4, y: ly + 9, class: 'muted' }, '1'));
    return svg;
  }

  /** Vertical bars of pi with a dashed line at the uniform weight 1/K. */
  function piBars(pi, { label = 'π' } = {}) {
    const K = pi.length, w = 52, left = 40, top = 10, h = 150, width = left + K * w + 80, height = top + h + 40;
    const svg = svgEl('svg', { viewBox: `0 0 ${width} ${height}`, width: Math.min(width, 640), role: 'img',
      'aria-label': `Bar chart of ${label} over ${K} experts` });
    const yOf = v => top + h - Math.min(Math.max(v, 0), 1) * h;
    for (const t of [0, 0.25, 0.5, 0.75, 1]) {
      svg.append(svgEl('line', { x1: left, x2: left + K * w, y1: yOf(t), y2: yOf(t), class: 'grid' }));
      svg.append(svgEl('text', { x: left - 4, y: yOf(t) + 4, 'text-anchor': 'end', class: 'muted' }, String(t)));
    }
    pi.forEach((p, k) => {
      const x = left + k * w + 8;
      svg.append(svgEl('rect', { x, y: yOf(p), width: w - 16, height: top + h - yOf(p), fill: ramp(p) },
        svgEl('title', {}, `expert ${k}: ${fmt(p, 4)}`)));
      svg.append(svgEl('text', { x: x + (w - 16) / 2, y: yOf(p) - 3, 'text-anchor': 'middle' }, p.toFixed(3)));
      svg.append(svgEl('text', { x: x + (w - 16) / 2, y: top + h + 14, 'text-anchor': 'middle' }, String(k)));
    });
    if (K > 1) {
      svg.append(svgEl('line', { x1: left, x2: left + K * w, y1: yOf(1 / K), y2: yOf(1 / K), stroke: '#a3460a', 'stroke-dasharray': '4 3' }));
      svg.append(svgEl('text', { x: width - 4, y: yOf(1 / K) + 4, 'text-anchor': 'end', class: 'uniform' }, 'uniform 1/K'));
    }
    svg.append(svgEl('line', { x1: left, x2: left, y1: top, y2: top + h, class: 'axis' }));
    svg.append(svgEl('text', { x: left + (K * w) / 2, y: top + h + 32, 'text-anchor': 'middle', class: 'muted' }, 'expert k'));
    svg.append(svgEl('text', { x: 10, y: top + h / 2, transform: `rotate(-90 10 ${top + h / 2})`, 'text-anchor': 'middle', class: 'muted' }, label));
    return svg;
  }

  /**
   * A line chart. series: [{name, color, points: [[x, y]], dash?}]. Axes labelled with xLabel/yLabel.
   */
  function lineChart(series, { xLabel, yLabel, width = 520, height = 240, marker = null, title = '' } = {}) {
    const left = 52, right = 12, top = 12, bottom = 40;
    const xs = series.flatMap(s => s.points.map(p => p[0])), ys = series.flatMap(s => s.points.map(p => p[1]));
    let [x0, x1] = [Math.min(...xs), Math.max(...xs)], [y0, y1] = [Math.min(...ys, 0), Math.max(...ys, 0)];
    if (x0 === x1) { x0 -= 1; x1 += 1; }
    if (y0 === y1) { y0 -= 1; y1 += 1; }
    const pad = (y1 - y0) * 0.08; y0 -= pad; y1 += pad;
    const X = x => left + ((x - x0) / (x1 - x0)) * (width - left - right);
    const Y = y => top + (1 - (y - y0) / (y1 - y0)) * (height - top - bottom);
    // Legend: as many columns of 230 units as fit, one row of 18 units per line of entries.
    const columns = Math.max(1, Math.floor((width - left) / 230));
    const svg = svgEl('svg', { viewBox: `0 0 ${width} ${height + 18 * Math.ceil(series.length / columns)}`, width, role: 'img', 'aria-label': title || `${yLabel} against ${xLabel}` });
    for (const t of ticks(y0, y1)) {
      svg.append(svgEl('line', { x1: left, x2: width - right, y1: Y(t), y2: Y(t), class: 'grid' }));
      svg.append(svgEl('text', { x: left - 4, y: Y(t) + 4, 'text-anchor': 'end', class: 'muted' }, trim(t)));
    }
    for (const t of ticks(x0, x1)) {
      svg.append(svgEl('text', { x: X(t), y: height - bottom + 14, 'text-anchor': 'middle', class: 'muted' }, trim(t)));
    }
    if (y0 < 0 && y1 > 0) svg.append(svgEl('line', { x1: left, x2: width - right, y1: Y(0), y2: Y(0), class: 'axis' }));
    svg.append(svgEl('line', { x1: left, x2: left, y1: top, y2: height - bottom, class: 'axis' }));
    if (marker != null) svg.append(svgEl('line', { x1: X(marker), x2: X(marker), y1: top, y2: height - bottom, stroke: '#a3460a', 'stroke-dasharray': '3 3' }));
    for (const s of series) {
      const d = s.points.map((p, i) => `${i ? 'L' : 'M'}${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join('');
      svg.append(svgEl('path', { d, fill: 'none', stroke: s.color, 'stroke-width': s.width || 2, 'stroke-dasharray': s.dash || null }));
    }
    svg.append(svgEl('text', { x: (left + width - right) / 2, y: height - 6, 'text-anchor': 'middle', class: 'muted' }, xLabel));
    svg.append(svgEl('text', { x: 12, y: (top + height - bottom) / 2, transform: `rotate(-90 12 ${(top + height - bottom) / 2})`, 'text-anchor': 'middle', class: 'muted' }, yLabel));
    series.forEach((s, i) => {
      const lx = left + (i % columns) * 230, ly = height + 8 + Math.floor(i / columns) * 18;
      svg.append(svgEl('line', { x1: lx, x2: lx + 18, y1: ly - 4, y2: ly - 4, stroke: s.color, 'stroke-width': 2, 'stroke-dasharray': s.dash || null }));
      svg.append(svgEl('text', { x: lx + 22, y: ly }, s.name));
    });
    return svg;
  }

  function ticks(a, b) {
    const span = b - a, step0 = Math.pow(10, Math.floor(Math.log10(span / 4)));
    const step = [1, 2, 5, 10].map(m => m * step0).find(s => span / s <= 6) || step0 * 10;
    const out = [];
    for (let t = Math.ceil(a / step) * step; t <= b + 1e-9; t += step) out.push(Math.abs(t) < 1e-12 ? 0 : t);
    return out;
  }
  const trim = t => String(Number(t.toPrecision(4)));

  /**
   * A canvas showing sample n of an input tensor {shape: [N, C, H, W], data} as a picture: one
   * channel as grey (ink dark on light, values 0..max), three as RGB (0..1, or 0..255 when larger).
   * overlay: optional {map, height, width} drawn over it as a translucent heat map (values 0..1).
   */
  function picture(input, n, { size = 224, overlay = null } = {}) {
    const [, C, H, W] = input.shape;
    const canvas = el('canvas', { class: 'picture', width: size, height: Math.round((size * H) / W), role: 'img' });
    const ctx = canvas.getContext('2d');
    const base = n * C * H * W, data = input.data;
    const img = ctx.createImageData(W, H);
    let lo = Infinity, hi = -Infinity;
    for (let i = base; i < base + C * H * W; i++) { lo = Math.min(lo, data[i]); hi = Math.max(hi, data[i]); }
    const scale = C === 3 ? (hi > 1.5 ? 255 : 1) : Math.max(hi, 1e-6);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      const o = (y * W + x) * 4;
      if (C === 3) {
        for (let c = 0; c < 3; c++) img.data[o + c] = clamp255((data[base + c * H * W + y * W + x] / scale) * 255);
      } else {
        const v = 255 - clamp255(((data[base + y * W + x] - Math.min(lo, 0)) / (scale - Math.min(lo, 0))) * 255);
        img.data[o] = img.data[o + 1] = img.data[o + 2] = v;
      }
      img.data[o + 3] = 255;
    }
    const tmp = el('canvas', { width: W, height: H });
    tmp.getContext('2d').putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = W > 64;
    ctx.drawImage(tmp, 0, 0, canvas.width, canvas.height);
    if (overlay) {
      const cw = canvas.width / overlay.width, ch = canvas.height / overlay.height;
      for (let y = 0; y < overlay.height; y++) for (let x = 0; x < overlay.width; x++) {
        const v = overlay.map[y * overlay.width + x];
        ctx.fillStyle = ramp(v);
        ctx.globalAlpha = 0.55;
        ctx.fillRect(x * cw, y * ch, cw, ch);
        ctx.globalAlpha = 1;
        ctx.fillStyle = inkColour(v);
        ctx.font = `${Math.max(9, Math.min(14, cw / 3.5))}px sans-serif`;
        ctx.textAlign = 'center';
        ctx.fillText(v.toFixed(2), x * cw + cw / 2, y * ch + ch / 2 + 4);
      }
    }
    canvas.setAttribute('aria-label', `Input sample ${n}, ${C} channel(s), ${H}x${W}` + (overlay ? `, spatial attention ${overlay.height}x${overlay.width} drawn over it` : ''));
    return canvas;
  }
  const clamp255 = v => Math.max(0, Math.min(255, Math.round(v)));

  /** Horizontal bars for top classes: [{label, score}]. */
  function scoreBars(entries) {
    return el('div', { class: 'bars' }, entries.map(e => el('div', { class: 'bar' },
      el('span', {}, e.label),
      el('span', { class: 'track' }, el('span', { class: 'fill', style: `width:${(Math.max(0, Math.min(1, e.score)) * 100).toFixed(1)}%;display:block` })),
      el('span', { class: 'val' }, e.score.toFixed(4)))));
  }

  return { el, svgEl, ramp, fmt, entropyRatio, heatStrip, piBars, lineChart, picture, scoreBars };
})();
"""#
}
