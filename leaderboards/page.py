"""index.html: one static page, no external assets, sortable by any column, RTL-safe, phone-ready.

Submitted strings are HTML-escaped and isolated with <bdi>/dir="auto" so Arabic text renders
right-to-left inside a left-to-right table. Plots are inlined as data: URIs. Clicking a column
header sorts by it (again: reverse); cells carry their sort key in data-v; empty keys sort last.
"""
from __future__ import annotations

import base64
import re
from html import escape
from pathlib import Path

from aramega_ssum.schema import TASKS
from aramega_ssum.tasks import get_task
from leaderboards.entries import Entry, column_title
from leaderboards.render import (AGGREGATE_DOC, GENERATOR, LABEL_DOCS, VERIFIED_DOC, detail_items, fmt, fmt_ci,
                                 is_rtl, labels, plain, rel_link, slug, strategy_text)
from leaderboards.significance import LEGEND

STYLE = """
:root{color-scheme:light dark;font-family:system-ui,-apple-system,"Segoe UI","Noto Sans Arabic",sans-serif}
body{margin:0 auto;max-width:1240px;padding:12px;line-height:1.45}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;max-width:100%}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{padding:5px 6px;border-bottom:1px solid #8886;text-align:start;vertical-align:top}
th{cursor:pointer;user-select:none;background:#8882;font-size:13px;line-height:1.25}
td.num{text-align:end;font-variant-numeric:tabular-nums;white-space:nowrap}
td.sys{overflow-wrap:anywhere;min-width:9em;max-width:16em}
th button{all:inherit;cursor:pointer;padding:0;display:inline}
th[aria-sort=ascending]::after{content:" \\25B2"}
th[aria-sort=descending]::after{content:" \\25BC"}
.ci{display:block;font-size:12px;opacity:.75}
.mark{font-size:12px;margin-inline-start:3px}
.badge{font-size:11px;padding:1px 6px;border-radius:8px;background:#f905;margin-inline-start:4px;white-space:nowrap}
.badge.baseline{background:#8884}
img{max-width:100%;height:auto}
.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,560px),1fr));gap:8px}
figure{margin:0}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px}
dd{margin:0;overflow-wrap:anywhere}
p,li{overflow-wrap:anywhere}
@media (max-width:600px){dl{grid-template-columns:1fr}dt{font-weight:bold}table{font-size:13px}h1{font-size:1.35em}}
"""

SCRIPT = """
(function(){
  var table=document.getElementById('leaderboard');
  if(!table){return;}
  var heads=table.tHead.rows[0].cells;
  function keyOf(row,i,numeric){
    var v=row.cells[i].getAttribute('data-v');
    if(numeric){return (v===null||v==='')?NaN:parseFloat(v);}
    return v||'';
  }
  function sortBy(i){
    var th=heads[i], numeric=th.getAttribute('data-type')==='num';
    var asc=th.getAttribute('aria-sort')!=='ascending';
    var body=table.tBodies[0], rows=Array.prototype.slice.call(body.rows);
    rows.sort(function(a,b){
      var x=keyOf(a,i,numeric), y=keyOf(b,i,numeric);
      if(numeric){
        if(isNaN(x)||isNaN(y)){return isNaN(x)-isNaN(y);}
        return asc?x-y:y-x;
      }
      var c=x.localeCompare(y); return asc?c:-c;
    });
    rows.forEach(function(r){body.appendChild(r);});
    for(var j=0;j<heads.length;j++){heads[j].removeAttribute('aria-sort');}
    th.setAttribute('aria-sort',asc?'ascending':'descending');
  }
  Array.prototype.forEach.call(heads,function(th,i){
    th.addEventListener('click',function(){sortBy(i);});
  });
})();
"""


def text(value: object) -> str:
    """Escaped submitted text; <bdi>-isolated when it holds right-to-left letters."""
    body = escape(plain(value))
    return f"<bdi>{body}</bdi>" if is_rtl(body) else body


def prose(doc: str) -> str:
    """One of our own Markdown-ish sentences as HTML: escaped, `code` spans kept as <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(doc))


def _columns() -> list[tuple[str, str]]:
    cols = [("Rank", "num"), ("System", "text"), ("Strategy", "text"), ("Aggregate", "num")]
    cols += [(column_title(t), "num") for t in TASKS]
    return cols + [("Data", "text")]


def _header() -> str:
    cells = []
    for i, (title, kind) in enumerate(_columns()):
        sort = ' aria-sort="ascending"' if i == 0 else ""
        cells.append(f'<th scope="col" data-type="{kind}"{sort}><button type="button">{escape(title)}</button></th>')
    return "<thead><tr>" + "".join(cells) + "</tr></thead>"


def _metric_cell(entry: Entry, task: str, marks: dict) -> str:
    value = entry.headline(task)
    if value is None:
        return '<td class="num" data-v="">—</td>'
    ci, mark = fmt_ci(value[1]), marks.get((entry.name, task))
    flag = (f' <span class="mark" title="{escape(mark.describe())}">{mark.symbol()}</span>' if mark else "")
    return (f'<td class="num" data-v="{value[0]!r}">{fmt(value[0])}{flag}'
            f'{f"<span class=ci>{ci}</span>" if ci else ""}</td>')


def _badges(entry: Entry) -> str:
    return "".join(f' <span class="badge {label}" title="{escape(LABEL_DOCS[label])}">{label}</span>'
                   for label in labels(entry))


def _row(entry: Entry, marks: dict) -> str:
    model = entry.data["model"]["id"]
    agg = "" if entry.aggregate is None else repr(entry.aggregate)
    strategy = strategy_text(entry)
    cells = [f'<td class="num" data-v="{entry.rank}">{entry.rank}</td>',
             f'<td class="sys" dir="auto" data-v="{escape(model)}"><a href="#{slug(entry.name)}">{text(model)}</a>'
             f'{_badges(entry)}</td>',
             f'<td dir="auto" data-v="{escape(strategy)}">{text(strategy)}</td>',
             f'<td class="num" data-v="{agg}"><strong>{fmt(entry.aggregate, 4)}</strong></td>']
    cells += [_metric_cell(entry, task, marks) for task in TASKS]
    fingerprint = entry.data["data"]["fingerprint"]
    cells += [f'<td data-v="{fingerprint}" title="{fingerprint}"><code>{fingerprint[:8]}</code></td>']
    return f'<tr id="row-{slug(entry.name)[6:]}">' + "".join(cells) + "</tr>"


def _details(entry: Entry, out_dir: Path, marks: dict) -> str:
    predictions = entry.path.parent / entry.data["predictions"]["path"]
    items = "".join(f"<dt>{escape(label)}</dt><dd dir=\"auto\">{value}</dd>"
                    for label, value in detail_items(entry, text))
    versus = "".join(f"<dt>{escape(get_task(t).title)} vs best</dt><dd>{escape(marks[entry.name, t].describe())}</dd>"
                     for t in TASKS if (entry.name, t) in marks)
    return (f'<section id="{slug(entry.name)}"><h3>{entry.rank}. {text(entry.data["model"]["id"])}{_badges(entry)} — '
            f'{text(strategy_text(entry))}</h3><p><a href="{rel_link(entry.path, out_dir)}">results JSON</a> · '
            f'<a href="{rel_link(predictions, out_dir)}">predictions</a></p><dl>{items}{versus}</dl></section>')


def render_html(entries: list[Entry], out_dir: Path, images: dict[str, bytes], marks: dict | None = None) -> str:
    """The whole page as a string."""
    marks = marks or {}
    table = ('<div class="scroll"><table id="leaderboard">' + _header() + "<tbody>"
             + "".join(_row(e, marks) for e in entries) + "</tbody></table></div>") if entries else \
        "<p>No valid entries yet.</p>"
    plots = "".join(f'<figure><img alt="{escape(get_task(task).title)} per entry" src="data:image/png;base64,'
                    f'{base64.b64encode(png).decode("ascii")}"></figure>' for task, png in images.items())
    docs = [AGGREGATE_DOC, VERIFIED_DOC, LEGEND]
    labels_doc = "".join(f'<li><span class="badge {label}">{label}</span> {prose(doc)}</li>'
                         for label, doc in LABEL_DOCS.items())
    body = ["<h1>AraMega-SSum leaderboard</h1>",
            "<p>Values with 95% bootstrap confidence intervals; ↓ = lower is better. "
            "Click a column header to sort.</p>",
            table, *(f"<p>{prose(doc)}</p>" for doc in docs), f"<ul>{labels_doc}</ul>",
            f'<h2>Plots</h2><div class="plots">{plots}</div>' if plots else "",
            "<h2>Details</h2>", *(_details(e, out_dir, marks) for e in entries)]
    return ("<!DOCTYPE html>\n<html lang=\"en\" dir=\"ltr\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="generator" content="{GENERATOR}">'
            f"<title>AraMega-SSum leaderboard</title><style>{STYLE}</style></head>\n<body><main>"
            + "\n".join(body) + f"</main><script>{SCRIPT}</script></body></html>\n")
