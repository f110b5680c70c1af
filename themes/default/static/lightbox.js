/* Gallery lightbox. The gallery page is a grid of plain links to the full photos (they work without JavaScript);
   this turns them into a modal viewer: ← → keys, swipe, Esc or 关闭 to close, captions with the "田野 摄" credit,
   a "第 3 张，共 7 张" counter, focus kept inside while open and given back to the photo's link on close. */
(function () {
  "use strict";
  var grid = document.querySelector("[data-lightbox]");
  if (!grid || !window.HTMLDialogElement) return;
  var links = Array.prototype.slice.call(grid.querySelectorAll("a.lb-link"));
  if (!links.length) return;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  var dialog = el("dialog", "lightbox");
  dialog.setAttribute("aria-label", "图片浏览");
  var bar = el("div", "lb-bar");
  var counter = el("p", "lb-counter");
  counter.setAttribute("aria-live", "polite");
  var close = el("button", "lb-close", "关闭");
  close.type = "button";
  bar.appendChild(counter);
  bar.appendChild(close);
  var figure = el("figure", "lb-figure");
  var img = el("img", "lb-img");
  img.draggable = false;  /* a drag would start the browser's image drag and cancel the swipe */
  var caption = el("figcaption", "lb-caption");
  figure.appendChild(img);
  figure.appendChild(caption);
  var nav = el("div", "lb-nav");
  var prev = el("button", "lb-prev", "‹ 上一张");
  var next = el("button", "lb-next", "下一张 ›");
  prev.type = next.type = "button";
  nav.appendChild(prev);
  nav.appendChild(next);
  dialog.appendChild(bar);
  dialog.appendChild(figure);
  dialog.appendChild(nav);
  document.body.appendChild(dialog);

  var current = 0;
  var opener = null;

  function show(index) {
    current = (index + links.length) % links.length;
    var link = links[current];
    var thumb = link.querySelector("img");
    var source = link.closest("figure") && link.closest("figure").querySelector("figcaption");
    img.removeAttribute("srcset");  /* the thumbnail's srcset lets a phone load a phone-sized variant */
    if (thumb && thumb.getAttribute("srcset")) {
      img.sizes = "100vw";
      img.srcset = thumb.getAttribute("srcset");
    }
    img.src = link.href;
    img.alt = thumb ? thumb.alt : "";
    caption.textContent = "";
    if (source) {
      Array.prototype.forEach.call(source.childNodes, function (n) { caption.appendChild(n.cloneNode(true)); });
    }
    caption.hidden = !source;
    counter.textContent = "第 " + (current + 1) + " 张，共 " + links.length + " 张";
    prev.hidden = next.hidden = links.length < 2;
    [current - 1, current + 1].forEach(function (i) {  /* warm the neighbours so paging feels instant */
      var l = links[(i + links.length) % links.length];
      var t = l.querySelector("img");
      if (l === link) return;
      var warm = new Image();
      if (t && t.getAttribute("srcset")) {
        warm.sizes = "100vw";
        warm.srcset = t.getAttribute("srcset");
      }
      warm.src = l.href;
    });
  }

  function open(index, from) {
    opener = from;
    show(index);
    document.documentElement.classList.add("lb-open");
    dialog.showModal();
    close.focus();
  }

  grid.addEventListener("click", function (event) {
    var link = event.target.closest("a.lb-link");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button > 0) return;
    event.preventDefault();
    open(links.indexOf(link), link);
  });

  close.addEventListener("click", function () { dialog.close(); });
  prev.addEventListener("click", function () { show(current - 1); });
  next.addEventListener("click", function () { show(current + 1); });
  dialog.addEventListener("click", function (event) { if (event.target === dialog) dialog.close(); });
  dialog.addEventListener("close", function () {
    document.documentElement.classList.remove("lb-open");
    img.removeAttribute("src");
    if (opener) opener.focus();
  });

  dialog.addEventListener("keydown", function (event) {
    if (event.key === "ArrowLeft") { event.preventDefault(); show(current - 1); }
    else if (event.key === "ArrowRight") { event.preventDefault(); show(current + 1); }
    else if (event.key === "Tab") {  /* keep focus on the dialog's own buttons */
      var stops = [close, prev, next].filter(function (b) { return !b.hidden; });
      var at = stops.indexOf(document.activeElement);
      event.preventDefault();
      var to = at < 0 ? 0 : (at + (event.shiftKey ? -1 : 1) + stops.length) % stops.length;
      stops[to].focus();
    }
  });

  /* swipe: a mostly horizontal drag of 40 px or more pages */
  var startX = null, startY = 0;
  figure.addEventListener("pointerdown", function (event) { startX = event.clientX; startY = event.clientY; });
  figure.addEventListener("pointerup", function (event) {
    if (startX === null) return;
    var dx = event.clientX - startX, dy = event.clientY - startY;
    startX = null;
    if (Math.abs(dx) >= 40 && Math.abs(dx) > Math.abs(dy)) show(current + (dx < 0 ? 1 : -1));
  });
  figure.addEventListener("pointercancel", function () { startX = null; });
})();
