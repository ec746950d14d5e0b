// The attention explorer's style.css, shipped inside the binary (no files to deploy, no external URLs).
extension ExplorerAssets {
    /// `GET /explorer/style.css`: the page's layout, laptop and phone widths.
    static let styleSheet = #"""
:root {
  --bg: #f6f7f9; --card: #fff; --ink: #1d2330; --muted: #5b6475; --line: #d9dde5; --accent: #2458c6;
  --accent-soft: #e5ecfb; --warn: #a3460a;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size: 15px; color: var(--ink);
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); }
header, footer { padding: 12px 20px; }
header h1 { margin: 0 0 4px; font-size: 1.35rem; }
.lede { margin: 0; color: var(--muted); max-width: 70rem; }
.key-form { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; margin-top: 6px; }
.key-form[hidden] { display: none; }
#status { margin: 6px 0 0; min-height: 1.2em; color: var(--warn); }
footer { color: var(--muted); font-size: 0.85rem; }
code { font-size: 0.9em; background: #eef0f4; padding: 0 3px; border-radius: 3px; }
.tabs { display: flex; gap: 4px; padding: 0 20px; border-bottom: 1px solid var(--line); }
.tabs button { border: 1px solid var(--line); border-bottom: none; background: #eceff4; padding: 8px 16px;
  border-radius: 6px 6px 0 0; font: inherit; cursor: pointer; color: var(--ink); }
.tabs button[aria-selected="true"] { background: var(--card); font-weight: 600; position: relative; top: 1px; }
main { padding: 16px 20px; }
.split { display: grid; grid-template-columns: minmax(220px, 300px) minmax(0, 1fr); gap: 16px; align-items: start; }
.stack { display: grid; gap: 16px; min-width: 0; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 16px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; min-width: 0; }
.card h2 { font-size: 1.05rem; margin: 0 0 8px; }
.card h3 { font-size: 0.95rem; margin: 12px 0 6px; }
.card-head { display: flex; justify-content: space-between; align-items: baseline; gap: 8px; flex-wrap: wrap; }
.hint { color: var(--muted); font-size: 0.85rem; margin: 4px 0 8px; }
.scroll { overflow-x: auto; }
.recent { list-style: none; margin: 0; padding: 0; max-height: 70vh; overflow-y: auto; }
.recent li { margin: 0 0 4px; }
.recent button { width: 100%; text-align: left; border: 1px solid var(--line); background: #fafbfc; border-radius: 6px;
  padding: 6px 8px; font: inherit; cursor: pointer; color: var(--ink); }
.recent button[aria-current="true"] { border-color: var(--accent); background: var(--accent-soft); }
.recent .meta { display: block; color: var(--muted); font-size: 0.8rem; }
button { font: inherit; }
#refresh, #try-send { border: 1px solid var(--accent); background: var(--accent); color: #fff; border-radius: 6px; padding: 6px 12px; cursor: pointer; }
#try-send { margin-top: 12px; width: 100%; }
form label, .controls label { display: block; margin: 10px 0 4px; font-weight: 600; font-size: 0.9rem; }
label.inline { display: inline-flex; gap: 6px; align-items: center; font-weight: 600; font-size: 0.9rem; }
label.radio { font-weight: normal; display: flex; gap: 6px; align-items: center; margin: 4px 0; }
.controls { display: flex; flex-wrap: wrap; gap: 4px 20px; align-items: end; }
.controls label { margin: 4px 0; }
select, input[type="file"], input[type="number"] { font: inherit; max-width: 100%; }
input[type="range"] { width: 100%; margin: 0; }
.scale { display: flex; justify-content: space-between; font-size: 0.75rem; color: var(--muted); }
fieldset { border: 1px solid var(--line); border-radius: 6px; margin: 10px 0 0; padding: 4px 10px 8px; }
legend { font-weight: 600; font-size: 0.9rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0; font-size: 0.9rem; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
table { border-collapse: collapse; font-size: 0.88rem; width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 6px; text-align: left; vertical-align: middle; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.most td { background: #fff4e5; }
svg { display: block; max-width: 100%; height: auto; font-family: inherit; }
svg text { fill: var(--ink); font-size: 11px; }
svg .axis { stroke: var(--muted); stroke-width: 1; }
svg .grid { stroke: #e6e9ef; stroke-width: 1; }
svg .muted { fill: var(--muted); }
svg text.ink-light { fill: #fff; } svg text.ink-dark { fill: var(--ink); } svg text.uniform { fill: var(--warn); }
svg g.row { cursor: pointer; }
svg g.row:focus { outline: none; }
svg g.row:focus rect.frame, svg g.row.selected rect.frame { stroke: var(--accent); stroke-width: 2; }
canvas.picture { image-rendering: pixelated; border: 1px solid var(--line); max-width: 100%; height: auto; }
.pictures { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.pictures figure { margin: 0; }
.pictures figcaption { font-size: 0.8rem; color: var(--muted); max-width: 240px; }
.bars { display: grid; gap: 4px; }
.bar { display: grid; grid-template-columns: minmax(3em, max-content) 1fr 4.5em; gap: 8px; align-items: center; font-size: 0.9rem; }
.bar .track { background: #eef0f4; height: 14px; border-radius: 3px; overflow: hidden; }
.bar .fill { background: var(--accent); height: 100%; }
.bar .val { text-align: right; font-variant-numeric: tabular-nums; }
.up { color: #0a6b2e; } .down { color: #a3160a; }
@media (max-width: 720px) {
  :root { font-size: 14px; }
  header, footer, main { padding-left: 10px; padding-right: 10px; }
  .tabs { padding: 0 10px; }
  .split { grid-template-columns: 1fr; }
  /* The request comes first on a phone; the list of others follows it. */
  #recent-card { order: 2; }
  .recent { max-height: 320px; }
}
"""#
}
