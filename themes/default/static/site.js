/* Reader controls shared by every page: font size 大/中/小 and high contrast (saved in localStorage), the phone
   menu button, print and share. Everything here only enhances: without it every page stays readable. */
(function () {
  "use strict";
  var root = document.documentElement;

  function store(key, value) {
    try { if (value) localStorage.setItem(key, value); else localStorage.removeItem(key); } catch (e) { /* ignore */ }
  }

  function syncPrefs() {
    var font = root.getAttribute("data-font") || "m";
    var high = root.getAttribute("data-contrast") === "high";
    document.querySelectorAll("[data-font]").forEach(function (b) {
      if (b !== root) b.setAttribute("aria-pressed", String(b.getAttribute("data-font") === font));
    });
    document.querySelectorAll("button[data-contrast]").forEach(function (b) {
      b.setAttribute("aria-pressed", String(high));
    });
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("button") : null;
    if (!target) return;
    if (target.hasAttribute("data-font")) {
      var font = target.getAttribute("data-font");
      if (font === "m") root.removeAttribute("data-font"); else root.setAttribute("data-font", font);
      store("sitegen-font", font === "m" ? "" : font);
      syncPrefs();
    } else if (target.hasAttribute("data-contrast")) {
      var high = root.getAttribute("data-contrast") !== "high";
      if (high) root.setAttribute("data-contrast", "high"); else root.removeAttribute("data-contrast");
      store("sitegen-contrast", high ? "high" : "");
      syncPrefs();
    } else if (target.hasAttribute("data-print")) {
      window.print();
    } else if (target.hasAttribute("data-share")) {
      var canonical = document.querySelector('link[rel="canonical"]');
      navigator.share({ title: document.title, url: canonical ? canonical.href : location.href })
        .catch(function () { /* the reader closed the share sheet */ });
    }
  });

  /* Phone menu: a real button toggling the main menu; Esc closes it and gives focus back to the button. */
  var button = document.querySelector(".menu-button");
  var menu = document.getElementById("site-menu");
  if (button && menu) {
    var setOpen = function (open) {
      button.setAttribute("aria-expanded", String(open));
      menu.classList.toggle("open", open);
    };
    button.addEventListener("click", function () {
      var open = button.getAttribute("aria-expanded") !== "true";
      setOpen(open);
      if (open) { var first = menu.querySelector("a"); if (first) first.focus(); }
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true" &&
          (menu.contains(document.activeElement) || document.activeElement === button)) {
        setOpen(false);
        button.focus();
      }
    });
  }

  if (navigator.share) {
    root.classList.add("can-share");
    document.querySelectorAll("[data-share]").forEach(function (b) { b.hidden = false; });
  }
  syncPrefs();
})();
