/* The home page 焦点图 carousel. Without JavaScript it is a horizontally scrollable list with numbered links.
   Here it gains previous/next and pause buttons, arrow keys, and an auto-advance every 6 s that stops while the
   pointer or the keyboard focus is inside, when the reader presses 暂停, and never starts for readers who ask
   for reduced motion (WAI-ARIA Authoring Practices, carousel pattern). The photos of slides the reader has not come
   near stay undisplayed (CSS), so they are not fetched with the page: a slide and its neighbours
   are drawn when it is shown, when the reader reaches for the carousel, and just before an automatic advance. */
(function () {
  "use strict";
  var INTERVAL_MS = 6000;
  var PREFETCH_MS = 1500;  /* how long before an automatic advance the next slide's photo is fetched */
  var box = document.querySelector("[data-carousel]");
  if (!box) return;
  var track = box.querySelector(".slides");
  var slides = Array.prototype.slice.call(box.querySelectorAll(".slide"));
  var dots = Array.prototype.slice.call(box.querySelectorAll(".slide-nav a"));
  var pause = box.querySelector("[data-action=pause]");
  if (!track || slides.length < 2) { if (pause) pause.hidden = true; return; }

  var reduce = window.matchMedia("(prefers-reduced-motion: reduce)");
  var current = 0;
  var timer = null;
  var prefetch = null;
  var userPaused = reduce.matches;
  var hovered = false;
  var focused = false;
  var moving = -1;  /* the slide a scroll we started is heading to, until it gets there */

  function near(index) {
    [index - 1, index, index + 1].forEach(function (i) {
      slides[(i + slides.length) % slides.length].classList.add("near");
    });
  }

  function show(index, moveFocus) {
    current = (index + slides.length) % slides.length;
    near(current);
    moving = current;
    track.scrollTo({ left: slides[current].offsetLeft - track.offsetLeft, behavior: reduce.matches ? "auto" : "smooth" });
    mark();
    if (moveFocus) {
      var link = slides[current].querySelector("a");
      if (link) link.focus({ preventScroll: true });
    }
  }

  function mark() {
    /* only the slide in view takes part in Tab order and the accessibility tree */
    slides.forEach(function (slide, i) { slide.inert = i !== current; });
    dots.forEach(function (dot, i) {
      if (i === current) dot.setAttribute("aria-current", "true"); else dot.removeAttribute("aria-current");
    });
  }

  function running() { return !userPaused && !hovered && !focused; }

  function schedule() {
    window.clearInterval(timer);
    window.clearTimeout(prefetch);
    timer = prefetch = null;
    if (!running()) return;
    timer = window.setInterval(function () { show(current + 1, false); }, INTERVAL_MS);
    prefetch = window.setTimeout(function () { near(current); }, INTERVAL_MS - PREFETCH_MS);
  }

  function setPaused(paused) {
    userPaused = paused;
    pause.setAttribute("aria-pressed", String(paused));
    pause.textContent = paused ? "播放" : "暂停";
    schedule();
  }

  box.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-action]");
    var dot = event.target.closest(".slide-nav a");
    if (button) {
      var action = button.getAttribute("data-action");
      if (action === "pause") setPaused(!userPaused);
      else show(current + (action === "next" ? 1 : -1), false);
    } else if (dot) {
      event.preventDefault();  /* scroll inside the carousel, not the whole page */
      show(dots.indexOf(dot), false);
    }
  });

  box.addEventListener("keydown", function (event) {
    if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
    event.preventDefault();
    var inSlide = track.contains(document.activeElement);
    show(current + (event.key === "ArrowRight" ? 1 : -1), inSlide);
  });

  /* a swipe or a scroll by hand moves the current slide too (once the strip has come to rest) */
  var settle = null;
  function settled() {
    var index = Math.round(track.scrollLeft / Math.max(1, track.clientWidth));
    if (moving >= 0) { if (index === moving) moving = -1; return; }
    if (index !== current && index >= 0 && index < slides.length) { current = index; near(current); mark(); }
  }
  track.addEventListener("scroll", function () {
    window.clearTimeout(settle);
    settle = window.setTimeout(settled, 150);
  }, { passive: true });
  ["pointerdown", "touchstart", "wheel"].forEach(function (type) {
    track.addEventListener(type, function () { moving = -1; near(current); }, { passive: true });
  });

  box.addEventListener("mouseenter", function () { hovered = true; near(current); schedule(); });
  box.addEventListener("mouseleave", function () { hovered = false; schedule(); });
  box.addEventListener("focusin", function () { focused = true; near(current); schedule(); });
  box.addEventListener("focusout", function (event) {
    if (!box.contains(event.relatedTarget)) { focused = false; schedule(); }
  });
  reduce.addEventListener("change", function () { if (reduce.matches) setPaused(true); });

  mark();
  setPaused(userPaused);
})();
