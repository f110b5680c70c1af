"""The browser side of the preview (``sitegen serve``): the reload script, the error overlay's stylesheet, and
:func:`inject`, which adds both to an HTML response (never to files on disk).

The script listens to server-sent events (HTML Living Standard, "Server-sent events") at :data:`EVENTS_PATH`,
reloads the page when a newer build finished and shows the build's problems in an overlay; it is served as an
external file, so a Content-Security-Policy without ``unsafe-inline`` still allows it.
"""
from __future__ import annotations

import html as htmllib

EVENTS_PATH = "/__sitegen/events"
"""Server-sent events: one ``data:`` JSON message ``{"version": str, "problems": [str]}`` per finished build."""
SCRIPT_PATH = "/__sitegen/reload.js"
STYLE_PATH = "/__sitegen/overlay.css"
OVERLAY_ID = "sitegen-overlay"

RELOAD_JS = r"""// sitegen serve: reload the page after each build, show build errors (served by the preview only).
(function () {
  "use strict";
  var me = document.currentScript;
  var served = me && me.getAttribute("data-version");
  function overlay(lines) {
    var old = document.getElementById("%(id)s");
    if (old) old.parentNode.removeChild(old);
    if (!lines || !lines.length) return;
    var box = document.createElement("div");
    box.id = "%(id)s"; box.className = "sitegen-overlay"; box.setAttribute("role", "alert");
    var title = document.createElement("p");
    title.className = "sitegen-overlay-title";
    title.textContent = "构建出错：下面的问题改正并保存后，页面会自动刷新。当前显示的是上次成功构建的页面。";
    box.appendChild(title);
    var list = document.createElement("ol");
    lines.forEach(function (line) {
      var li = document.createElement("li"); var code = document.createElement("code");
      code.textContent = line; li.appendChild(code); list.appendChild(li);
    });
    box.appendChild(list);
    box.appendChild(closeButton());
    document.body.appendChild(box);
  }
  function closeButton() {
    var b = document.createElement("button");
    b.type = "button"; b.className = "sitegen-overlay-close"; b.textContent = "关闭";
    b.addEventListener("click", function () { var o = document.getElementById("%(id)s"); if (o) o.remove(); });
    return b;
  }
  function wire() {
    var o = document.getElementById("%(id)s");
    if (o && !o.querySelector(".sitegen-overlay-close")) o.appendChild(closeButton());
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", wire); else wire();
  if (!window.EventSource) return;
  var source = new EventSource("%(events)s");
  source.onmessage = function (e) {
    var state;
    try { state = JSON.parse(e.data); } catch (err) { return; }
    if (served && state.version !== served) { source.close(); window.location.reload(); return; }
    served = state.version;
    overlay(state.problems);
  };
})();
""" % {"id": OVERLAY_ID, "events": EVENTS_PATH}

OVERLAY_CSS = """/* sitegen serve: the build-error overlay (served by the preview only) */
.sitegen-overlay{position:fixed;left:0;right:0;bottom:0;z-index:2147483647;max-height:60vh;overflow:auto;
  margin:0;padding:1rem 1.25rem 1.25rem;background:#fff5f5;color:#5c0011;border-top:4px solid #c00;
  box-shadow:0 -4px 16px rgba(0,0,0,.25);font:16px/1.6 system-ui,"Noto Sans CJK SC","Microsoft YaHei",sans-serif}
.sitegen-overlay-title{margin:0 0 .5rem;font-weight:bold;font-size:1.1rem}
.sitegen-overlay ol{margin:0;padding-left:1.5rem}
.sitegen-overlay code{font:15px/1.5 ui-monospace,"Noto Sans Mono CJK SC",monospace;white-space:pre-wrap;
  word-break:break-all;color:#5c0011;background:none}
.sitegen-overlay-close{position:absolute;top:.75rem;right:1rem;font-size:1rem;padding:.25rem .75rem;cursor:pointer}
.sitegen-overlay-close:focus{outline:3px solid #c00;outline-offset:2px}
"""


def inject(page: bytes, outcome) -> bytes:
    """``page`` (an HTML document) with the preview's stylesheet and reload script added before ``</head>`` and,
    when ``outcome`` (a :class:`sitegen.serve.BuildOutcome`: ``version`` and ``problems``) has problems, the error
    overlay before ``</body>``. Never applied to files on disk."""
    head = (f'<link rel="stylesheet" href="{STYLE_PATH}">'
            f'<script src="{SCRIPT_PATH}" data-version="{htmllib.escape(outcome.version)}" defer></script>'
            ).encode()
    lower = page.lower()
    at = lower.find(b"</head>")
    page = page[:at] + head + page[at:] if at >= 0 else head + page
    if outcome.problems:
        items = "".join(f"<li><code>{htmllib.escape(str(p))}</code></li>" for p in outcome.problems)
        box = (f'<div id="{OVERLAY_ID}" class="sitegen-overlay" role="alert">'
               '<p class="sitegen-overlay-title">构建出错：下面的问题改正并保存后，页面会自动刷新。'
               f'当前显示的是上次成功构建的页面。</p><ol>{items}</ol></div>').encode()
        lower = page.lower()
        at = lower.rfind(b"</body>")
        page = page[:at] + box + page[at:] if at >= 0 else page + box
    return page


__all__ = ["inject", "EVENTS_PATH", "SCRIPT_PATH", "STYLE_PATH", "OVERLAY_ID", "RELOAD_JS", "OVERLAY_CSS"]
