/**
 * The console's stylesheet and script, served from the package at /ui/assets/… (no CDN, no build
 * step; a Content-Security-Policy of 'self' forbids inline scripts and styles). Kept as strings so
 * `tsc` carries them into dist/ with the code.
 */

export const CONSOLE_CSS = `
:root { --fg: #1b1f24; --muted: #4a5561; --bg: #ffffff; --panel: #f4f6f8; --line: #d0d7de; --link: #0b5cad;
  --ok-bg: #dafbe1; --ok-fg: #0f5323; --bad-bg: #ffebe9; --bad-fg: #8a1111; --warn-bg: #fff3c4; --warn-fg: #5c4400;
  --busy-bg: #ddf4ff; --busy-fg: #0a3f7a; --idle-bg: #eaeef2; --idle-fg: #32383f; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--link); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, summary:focus-visible { outline: 3px solid #1f6feb; outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; background: #fff; padding: .5rem; }
.skip:focus { left: .5rem; }
.vh { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
header.top { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1.5rem; padding: .6rem 1rem; background: #24292f; color: #fff; }
header.top a { color: #fff; text-decoration: none; }
header.top a[aria-current="page"] { text-decoration: underline; text-underline-offset: 4px; }
header.top nav ul { display: flex; flex-wrap: wrap; gap: 1rem; list-style: none; margin: 0; padding: 0; }
header.top .brand { font-weight: 700; }
header.top .who { margin-left: auto; display: flex; gap: .75rem; align-items: center; }
header.top .who button { background: transparent; color: #fff; border: 1px solid #8c959f; }
main { padding: 1rem; max-width: 1200px; margin: 0 auto; }
h1 { font-size: 1.5rem; margin: .2rem 0 1rem; overflow-wrap: anywhere; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 .5rem; }
.grid { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: .75rem 1rem; margin-bottom: 1rem; }
.panel h2 { margin-top: 0; }
.big { font-size: 1.6rem; font-weight: 700; }
.muted { color: var(--muted); }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td .name { overflow-wrap: anywhere; }
.badge { display: inline-block; padding: .05rem .45rem; border-radius: 1rem; font-size: .85rem; font-weight: 600; border: 1px solid currentColor; white-space: nowrap; }
[data-tone="ok"] { background: var(--ok-bg); color: var(--ok-fg); }
[data-tone="bad"] { background: var(--bad-bg); color: var(--bad-fg); }
[data-tone="warn"] { background: var(--warn-bg); color: var(--warn-fg); }
[data-tone="busy"] { background: var(--busy-bg); color: var(--busy-fg); }
[data-tone="idle"] { background: var(--idle-bg); color: var(--idle-fg); }
.flash { padding: .6rem .8rem; border-radius: 6px; border: 1px solid currentColor; margin-bottom: 1rem; }
form.inline { display: inline; }
form.filters { display: flex; flex-wrap: wrap; gap: .75rem; align-items: flex-end; margin-bottom: 1rem; }
form.filters label, form.stack label { display: flex; flex-direction: column; gap: .2rem; font-weight: 600; }
form.stack { display: grid; gap: .8rem; max-width: 28rem; }
form.stack.wide { max-width: 44rem; }
textarea { font: 14px/1.4 ui-monospace, monospace; padding: .4rem; border: 1px solid #8c959f; border-radius: 6px; width: 100%; }
.hint { font-weight: 400; color: var(--muted); font-size: .9rem; }
.field-error { font-weight: 600; color: var(--bad-fg); background: var(--bad-bg); padding: .2rem .4rem; border-radius: 4px; }
[aria-invalid="true"] { border: 2px solid #a40e26; }
input, select, button { font: inherit; font-weight: 400; padding: .35rem .55rem; border: 1px solid #8c959f; border-radius: 6px; background: #fff; color: var(--fg); }
button { cursor: pointer; background: #f6f8fa; }
button.primary { background: #1f6f3b; color: #fff; border-color: #1f6f3b; }
button.danger { background: #a40e26; color: #fff; border-color: #a40e26; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; margin: .5rem 0 1rem; }
.actions a { display: inline-block; padding: .35rem .7rem; border: 1px solid #8c959f; border-radius: 6px; text-decoration: none; background: #f6f8fa; color: var(--fg); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; margin: 0; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
pre { background: #f6f8fa; border: 1px solid var(--line); padding: .6rem; overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
ol.ledger { list-style: none; padding: 0; margin: 0; border-left: 3px solid var(--line); }
ol.ledger li { padding: .25rem .75rem; position: relative; }
ol.ledger li::before { content: ""; position: absolute; left: -7px; top: .7rem; width: 11px; height: 11px; border-radius: 50%; background: #57606a; }
svg.chart { max-width: 100%; height: auto; }
svg.chart .bar-duration { fill: #3867b0; }
svg.chart .bar-rows { fill: #2f7d4a; }
svg.chart .bar-failed { fill: #b3261e; }
svg.chart text { font-size: 11px; fill: #32383f; }
details summary { cursor: pointer; }
@media (max-width: 640px) {
  main { padding: .6rem; }
  th, td { padding: .3rem; font-size: .9rem; }
  .hide-small { display: none; }
  dl.facts { grid-template-columns: 1fr; }
}
`;

/**
 * Live updates: an element with `data-live="<url>"` listens to that server-sent event stream; each
 * `progress` event carries `{fields, tones, hrefs, done}` and sets the text of the elements with a
 * matching `data-field` (their tone, the href of `data-href-field` links). No reload, no framework.
 */
export const CONSOLE_JS = `
(function () {
  'use strict';
  var boxes = document.querySelectorAll('[data-live]');
  Array.prototype.forEach.call(boxes, function (box) {
    var source = new EventSource(box.getAttribute('data-live'));
    source.addEventListener('progress', function (event) {
      var data = JSON.parse(event.data);
      var fields = data.fields || {};
      Object.keys(fields).forEach(function (key) {
        box.querySelectorAll('[data-field="' + key + '"]').forEach(function (el) {
          el.textContent = String(fields[key]);
          if (data.tones && data.tones[key]) el.setAttribute('data-tone', data.tones[key]);
        });
      });
      var hrefs = data.hrefs || {};
      Object.keys(hrefs).forEach(function (key) {
        box.querySelectorAll('[data-href-field="' + key + '"]').forEach(function (el) {
          if (hrefs[key]) { el.setAttribute('href', hrefs[key]); el.hidden = false; } else { el.hidden = true; }
        });
      });
      box.setAttribute('data-live-state', data.done ? 'done' : 'live');
      if (data.done) source.close();
    });
    source.addEventListener('error', function () {
      if (box.getAttribute('data-live-state') !== 'done') box.setAttribute('data-live-state', 'reconnecting');
    });
  });
})();
`;
