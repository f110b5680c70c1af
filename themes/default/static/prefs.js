/* Runs in <head> before the first paint: marks that JavaScript works and applies the reader's saved font size
   (data-font="s"|"l"; "m" is the default) and high-contrast mode, so the page never flashes in the wrong style. */
(function (root) {
  root.classList.add("js");
  try {
    var font = localStorage.getItem("sitegen-font");
    if (font === "s" || font === "l") root.setAttribute("data-font", font);
    if (localStorage.getItem("sitegen-contrast") === "high") root.setAttribute("data-contrast", "high");
  } catch (e) { /* storage blocked: defaults */ }
})(document.documentElement);
