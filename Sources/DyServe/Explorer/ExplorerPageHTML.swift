// The attention explorer's index.html, shipped inside the binary (no files to deploy, no external URLs).
extension ExplorerAssets {
    /// The page at `GET /`: its structure; `explorer/style.css`, `charts.js` and `app.js` do the rest.
    static let pageHTML = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dyserve attention explorer</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/explorer/style.css">
<script src="/explorer/charts.js" defer></script>
<script src="/explorer/app.js" defer></script>
</head>
<body>
<header>
  <h1>dyserve attention explorer</h1>
  <p class="lede">What the dynamic layers did for a request: which experts each dynamic convolution weighted (&pi;), how sharp that choice was (entropy), the DY-ReLU coefficients and spatial attention. Data from <code>GET /attention</code>, <code>GET /models</code> and <code>POST /infer</code>.</p>
  <p id="status" role="status" aria-live="polite"></p>
  <form id="key-form" class="key-form" hidden>
    <label for="api-key">API key</label>
    <input id="api-key" type="password" autocomplete="off" spellcheck="false" placeholder="paste a key">
    <button type="submit">Use key</button>
    <span class="hint">Kept in this tab only (sessionStorage); empty forgets it.</span>
  </form>
</header>
<nav class="tabs" role="tablist" aria-label="Views">
  <button role="tab" id="tab-request" aria-controls="view-request" aria-selected="true">Request</button>
  <button role="tab" id="tab-try" aria-controls="view-try" aria-selected="false">Try it</button>
  <button role="tab" id="tab-compare" aria-controls="view-compare" aria-selected="false">Compare</button>
</nav>
<main>
<section id="view-request" role="tabpanel" aria-labelledby="tab-request">
  <div class="split">
    <aside class="card" id="recent-card">
      <div class="card-head">
        <h2>Recent traced requests</h2>
        <button id="refresh" type="button">Refresh</button>
      </div>
      <p class="hint">Newest first, from the attention store. Pick one to show it.</p>
      <ol id="recent" class="recent"></ol>
    </aside>
    <div id="request" class="stack">
      <div class="card" id="summary-card"><h2>Request</h2><div id="summary"><p class="hint">Loading&hellip;</p></div></div>
      <div class="grid2">
        <div class="card"><h2>Input</h2><div id="input-view"></div></div>
        <div class="card"><h2>Prediction</h2><div id="prediction"></div></div>
      </div>
      <div class="card">
        <div class="card-head">
          <h2>Attention &pi; per dynamic layer</h2>
          <label class="inline" for="sample">Sample of the batch <select id="sample"></select></label>
        </div>
        <p class="hint">Rows: dynamic layers in network order. Columns: experts. Colour and number: &pi;, the weight of each expert&rsquo;s kernel in the aggregated kernel (0&ndash;1). H/log K: entropy relative to its maximum (1 = uniform, 0 = one expert). Click a row for its bars.</p>
        <div id="heat" class="scroll"></div>
      </div>
      <div class="card"><h2 id="layer-title">Layer</h2><div id="layer-detail"></div></div>
      <div class="card">
        <h2>DY-ReLU</h2>
        <div id="relu-controls" class="controls"></div>
        <div id="relu"></div>
      </div>
    </div>
  </div>
</section>

<section id="view-try" role="tabpanel" aria-labelledby="tab-try" hidden>
  <div class="split">
    <form class="card" id="try-form">
      <h2>Send an input</h2>
      <label for="try-model">Model</label>
      <select id="try-model"></select>
      <fieldset>
        <legend>Input</legend>
        <label class="radio"><input type="radio" name="source" value="example" checked> Shipped example</label>
        <label class="radio"><input type="radio" name="source" value="npy"> NumPy file (.npy)</label>
        <label class="radio"><input type="radio" name="source" value="image"> Picture (PNG or JPEG)</label>
      </fieldset>
      <label for="try-example">Example</label>
      <select id="try-example"></select>
      <label for="try-file">File (.npy, .png, .jpg)</label>
      <input id="try-file" type="file" accept=".npy,image/png,image/jpeg">
      <p class="hint" id="try-convert"></p>
      <label for="try-tau">Temperature &tau; <output id="try-tau-value" for="try-tau">1</output></label>
      <input id="try-tau" type="range" min="-1" max="2" step="0.05" value="0">
      <div class="scale" aria-hidden="true"><span>0.1</span><span>1</span><span>10</span><span>100</span></div>
      <p class="hint">Log scale, &tau; from 0.1 to 100. The papers: a large &tau; flattens &pi; towards uniform, a small one makes it nearly one-hot. &tau; = the model&rsquo;s own uses no override.</p>
      <label class="radio"><input id="try-live" type="checkbox" checked> Re-run when &tau; changes</label>
      <button id="try-send" type="submit">Run</button>
    </form>
    <div class="stack">
      <div class="grid2">
        <div class="card"><h2>Input sent</h2><div id="try-input"></div></div>
        <div class="card"><h2>Prediction</h2><div id="try-prediction"><p class="hint">Run an input to see it here.</p></div></div>
      </div>
      <div class="card">
        <h2>&pi; at this temperature</h2>
        <div id="try-heat" class="scroll"></div>
      </div>
      <div class="card">
        <h2>How &pi; changed from the previous run</h2>
        <div id="try-change"><p class="hint">Move the temperature slider to compare runs.</p></div>
      </div>
    </div>
  </div>
</section>

<section id="view-compare" role="tabpanel" aria-labelledby="tab-compare" hidden>
  <div class="card">
    <h2>Compare two requests</h2>
    <div class="controls">
      <label for="cmp-a">Request A <select id="cmp-a"></select></label>
      <label for="cmp-b">Request B <select id="cmp-b"></select></label>
    </div>
    <p class="hint">Sample 0 of each request. Distance: total variation &frac12;&sum;|&pi;A &minus; &pi;B| (0 = same weights, 1 = disjoint experts).</p>
    <div id="compare"></div>
  </div>
</section>
</main>
<footer><p>Served by dyserve from the binary itself. API: <code>GET /attention?id=</code>, <code>GET /models</code>, <code>POST /infer</code>.</p></footer>
</body>
</html>
"""#
}
