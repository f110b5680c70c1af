// 站内搜索: reads ?q= (and ?section=category:名称 or column:名称) and shows Pagefind results.
// The index is built by sitegen (Pagefind extended, Chinese segmentation) into /pagefind/ (the newest week's
// articles) and the bundles listed in data-shards (/pagefind/archive/YYYY-MM/, older articles), merged here.
const root = document.getElementById("search");
const form = root.querySelector("form");
const input = document.getElementById("search-q");
const select = document.getElementById("search-section");
const status = document.getElementById("search-status");
const list = document.getElementById("search-results");
const PAGE = 10;

let pagefind = null;
async function engine() {
  if (!pagefind) {
    pagefind = await import(root.dataset.pagefind);
    await pagefind.options({ excerptLength: 40 });
    await pagefind.init();
    // older articles are in a second index beside the primary one (the newest month's); Pagefind merges it into
    // every search, on the primary's WebAssembly
    const base = new URL(root.dataset.pagefind, location.href);
    const shards = (root.dataset.shards || "").split(" ").filter(Boolean);
    await Promise.all(shards.map((s) => pagefind.mergeIndex(new URL(s, base).pathname, { excerptLength: 40 })));
  }
  return pagefind;
}

// Pagefind 1.4 indexes Chinese in words cut by jieba but does not cut the query, so a long query such as a
// whole title would be one unknown "word". Long runs of Chinese are cut with the browser's word segmenter;
// runs of two single characters it leaves (妇 联, 巾 帼) are joined back into one word, runs of three keep their
// last two (市 妇 联 → 妇联: a one-character place suffix or particle before a word), other single characters
// are dropped because each would have to match the start of an indexed word. Short queries (up to four
// characters: 妇联, 家风, 田野) go to Pagefind unchanged.
const segmenter = typeof Intl.Segmenter === "function" ? new Intl.Segmenter("zh", { granularity: "word" }) : null;
export function prepare(query) {
  const out = [];
  for (const run of query.split(/[\s\p{P}\p{S}]+/u)) {
    if (!run) continue;
    if ([...run].length <= 4 || !segmenter) { out.push(run); continue; }
    let singles = [];
    const flush = () => { if (singles.length === 2 || singles.length === 3) out.push(singles.slice(-2).join("")); singles = []; };
    for (const part of segmenter.segment(run)) {
      if (!part.isWordLike) { flush(); continue; }
      if ([...part.segment].length === 1) singles.push(part.segment);
      else { flush(); out.push(part.segment); }
    }
    flush();
  }
  return out.length ? out.join(" ") : query;
}

// News readers often type (part of) a headline. Among Pagefind's first RERANK results, articles whose title
// contains the query come first, then those whose text contains it, each by how many of its two-character pieces
// the title shares; ties keep Pagefind's order.
const RERANK = 30;
function pieces(text) {
  const chars = [...text.replace(/[\s\p{P}\p{S}]+/gu, "")];
  const out = new Set();
  for (let i = 0; i + 1 < chars.length; i++) out.add(chars[i] + chars[i + 1]);
  return out;
}
export function rerank(query, results) {
  const strip = (text) => (text || "").replace(/[\s\p{P}\p{S}]+/gu, "");
  const q = strip(query);
  const wanted = pieces(query);
  const score = (data) => {
    const title = strip(data.meta.title);
    if (q && title.includes(q)) return 2e6;
    let shared = 0;
    for (const piece of wanted) if (title.includes(piece)) shared++;
    // the index is several Pagefind bundles, each scoring with its own word statistics: an article containing the
    // query as written comes before one that only shares some of its characters, whichever bundle it is in
    return (q && strip(data.content).includes(q) ? 1e6 : 0) + shared;
  };
  return results.map((data, i) => [score(data), i, data]).sort((a, b) => b[0] - a[0] || a[1] - b[1]).map((x) => x[2]);
}

// Copy an excerpt (text with <mark> around matches) as text nodes and <mark> elements only.
function excerpt(html) {
  const out = document.createElement("p");
  out.className = "summary";
  const doc = new DOMParser().parseFromString("<p>" + html + "</p>", "text/html");
  for (const node of doc.body.firstChild.childNodes) {
    if (node.nodeName === "MARK") {
      const m = document.createElement("mark");
      m.textContent = node.textContent;
      out.appendChild(m);
    } else {
      out.appendChild(document.createTextNode(node.textContent));
    }
  }
  return out;
}

function item(data) {
  const li = document.createElement("li");
  li.className = "item";
  const a = document.createElement("a");
  a.href = data.url;
  a.textContent = data.meta.title || data.url;
  li.appendChild(a);
  if (data.meta.date) {
    const t = document.createElement("time");
    t.dateTime = data.meta.date;
    t.textContent = data.meta.date;
    li.appendChild(t);
  }
  li.appendChild(excerpt(data.excerpt || ""));
  return li;
}

// #search carries data-state="busy" while a search runs and "done" when its results are on the page.
async function run() {
  root.dataset.state = "busy";
  try {
    await show();
  } finally {
    root.dataset.state = "done";
  }
}

async function show() {
  const params = new URLSearchParams(location.search);
  const q = (params.get("q") || "").trim();
  const section = params.get("section") || "";
  input.value = q;
  select.value = section;
  const header = document.getElementById("q");
  if (header) header.value = q;
  list.replaceChildren();
  for (const old of root.querySelectorAll(".search-more")) old.remove();
  if (!q) {
    status.textContent = "请输入关键词，例如：妇联、家风、改革。";
    return;
  }
  status.textContent = "正在搜索……";
  const filters = {};
  if (section.includes(":")) {
    const [key, value] = [section.slice(0, section.indexOf(":")), section.slice(section.indexOf(":") + 1)];
    filters[key] = value;
  }
  let search;
  try {
    search = await (await engine()).search(prepare(q), { filters });
  } catch (err) {
    status.textContent = "搜索暂时不可用，请稍后再试。";
    return;
  }
  if (!search || !search.results.length) {
    status.textContent = `没有找到与“${q}”相关的文章。`;
    return;
  }
  status.textContent = `找到 ${search.results.length} 篇与“${q}”相关的文章。`;
  const ranked = rerank(q, await Promise.all(search.results.slice(0, RERANK).map((r) => r.data())));
  let shown = 0;
  const more = document.createElement("button");
  more.type = "button";
  more.textContent = "显示更多结果";
  more.className = "search-more";
  async function next() {
    const batch = shown < ranked.length ? ranked.slice(shown, shown + PAGE)
      : await Promise.all(search.results.slice(shown, shown + PAGE).map((r) => r.data()));
    shown += batch.length;
    for (const data of batch) list.appendChild(item(data));
    if (shown >= search.results.length) more.remove();
  }
  more.addEventListener("click", next);
  await next();
  if (shown < search.results.length) list.after(more);
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const params = new URLSearchParams();
  params.set("q", input.value.trim());
  if (select.value) params.set("section", select.value);
  history.pushState(null, "", "?" + params.toString());
  run();
});
window.addEventListener("popstate", run);
run();
