/* Reader controls shared by every page: font size 大/中/小 and high contrast (saved in localStorage), the date
   line, the phone menu button, print and share. Everything here only enhances: without it every page stays
   readable, and the banner's 字号 and 高对比 choices (radio buttons and a checkbox that CSS reads) still work. */
(function () {
  "use strict";
  var root = document.documentElement;

  function store(key, value) {
    try { if (value) localStorage.setItem(key, value); else localStorage.removeItem(key); } catch (e) { /* ignore */ }
  }

  /* the attributes on <html> (set from localStorage by prefs.js) are the truth; the banner's inputs and the
     article's 【字号】 buttons show them */
  function syncPrefs() {
    var font = root.getAttribute("data-font") || "m";
    var high = root.getAttribute("data-contrast") === "high";
    document.querySelectorAll("button[data-font]").forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.getAttribute("data-font") === font));
    });
    var radio = document.getElementById("pref-font-" + font);
    if (radio) radio.checked = true;
    var box = document.getElementById("pref-contrast");
    if (box) box.checked = high;
  }

  function setFont(font) {
    if (font === "m") root.removeAttribute("data-font"); else root.setAttribute("data-font", font);
    store("sitegen-font", font === "m" ? "" : font);
    syncPrefs();
  }

  function setContrast(high) {
    if (high) root.setAttribute("data-contrast", "high"); else root.removeAttribute("data-contrast");
    store("sitegen-contrast", high ? "high" : "");
    syncPrefs();
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input.name === "pref-font" && input.checked) setFont(input.value);
    else if (input.id === "pref-contrast") setContrast(input.checked);
  });

  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("button") : null;
    if (!target) return;
    if (target.hasAttribute("data-font")) {
      setFont(target.getAttribute("data-font"));
    } else if (target.hasAttribute("data-print")) {
      window.print();
    } else if (target.hasAttribute("data-share")) {
      var canonical = document.querySelector('link[rel="canonical"]');
      navigator.share({ title: document.title, url: canonical ? canonical.href : location.href })
        .catch(function () { /* the reader closed the share sheet */ });
    }
  });

  /* 今天是 2026年12月1日 星期二: the reader's today in the site's time zone (the page may be months old). When the
     reader's clock is at the site's UTC offset (data-utc-offset, minutes, as at build time) the local date is
     the site's; only other readers pay for Intl's time-zone data (0.1-0.3 s the first time, on a phone more). */
  var today = document.querySelector("[data-today]");
  if (today) {
    var now = new Date();
    var parts = null;
    if (-now.getTimezoneOffset() === Number(today.getAttribute("data-utc-offset"))) {
      parts = { year: now.getFullYear(), month: now.getMonth() + 1, day: now.getDate(),
        weekday: "星期" + "日一二三四五六".charAt(now.getDay()) };
    } else if (window.Intl) {
      try {
        parts = {};
        new Intl.DateTimeFormat("zh-CN", { timeZone: today.getAttribute("data-tz") || undefined, year: "numeric",
          month: "numeric", day: "numeric", weekday: "long" }).formatToParts(now).forEach(function (p) {
          parts[p.type] = p.value;
        });
      } catch (e) { parts = null; /* an unknown time zone: keep the greeting */ }
    }
    if (parts) today.textContent = "今天是 " + parts.year + "年" + parts.month + "月" + parts.day + "日 " + parts.weekday;
  }

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
