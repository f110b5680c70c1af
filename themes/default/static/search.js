// 站内搜索: reads ?q= (several terms separated by spaces: articles containing all of them), ?section= (category:名称
// or column:名称) and ?order=newest, and answers from sitegen's own index, the blocks listed in data-blocks under
// /search-index/ (format: docs/search-index.md; the same rules in Python: sitegen/searchindex.py query()). A term is found wherever it
// occurs in an article, ignoring whitespace and ASCII case: terms of 1-3 characters are one n-gram of the index,
// longer ones are checked through the positions of the 3-grams that cover them, so only exact matches count.
// Order: terms found in the title, then BM25, then newest; 按时间: newest first.
const root = document.getElementById("search");
const form = root.querySelector("form");
const input = document.getElementById("search-q");
const select = document.getElementById("search-section");
const status = document.getElementById("search-status");
const list = document.getElementById("search-results");
const more = root.querySelector(".search-more");
const sorts = [...root.querySelectorAll(".search-sort")];
const PAGE = 10, K1 = 1.2, B = 0.75;
const indexBase = new URL(root.dataset.index, location.href);
const blocks = (root.dataset.blocks || "").split(" ").filter(Boolean)
  .map((name) => ({ base: new URL(name, indexBase), meta: null, files: new Map(), shards: new Map() }));

async function inflate(response) {
  if (!response.ok) throw new Error(`${response.status} ${response.url}`);
  const stream = response.body.pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function load(blk, path) {  // a compressed file of a block, once per page
  if (!blk.files.has(path)) {
    blk.files.set(path, fetch(new URL(`${path}?v=${blk.meta.version}`, blk.base)).then(inflate));
  }
  return blk.files.get(path);
}

async function open(blk) {  // the block's index.json (revalidated: the other files' URLs carry its version) and table
  if (!blk.meta) {
    const response = await fetch(new URL("index.json", blk.base), { cache: "no-cache" });
    if (!response.ok) throw new Error(`${response.status} index.json`);
    const meta = await response.json();
    blk.meta = meta;
    const table = await load(blk, "docs.bin"), n = meta.docs;
    const view = new DataView(table.buffer);
    meta.length = (d) => view.getUint16(2 * d, true);
    meta.titleLen = (d) => view.getUint16(2 * n + 2 * d, true);
    meta.category = (d) => table[4 * n + d];
    meta.column = (d) => table[5 * n + d];
  }
  return blk;
}

// 32-bit FNV-1a over the n-gram's three UTF-16 code units (0 = none) as 6 little-endian bytes: the shard number.
function hash(key) {
  let h = 2166136261;
  for (const unit of key) {
    for (const byte of [unit & 0xff, unit >> 8]) h = Math.imul(h ^ byte, 16777619) >>> 0;
  }
  return h;
}

// n values written as four byte planes from byte offset (lowest bytes of all values first): docs/search-index.md.
function unplanes(raw, offset, n) {
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = (raw[offset + i] | raw[offset + n + i] << 8 | raw[offset + 2 * n + i] << 16 | raw[offset + 3 * n + i] << 24) >>> 0;
  }
  return out;
}

async function shard(blk, s) {
  if (!blk.shards.has(s)) {
    blk.shards.set(s, load(blk, `s/${s}.bin`).then((raw) => {
      const count = new DataView(raw.buffer).getUint32(0, true);
      const head = new Uint16Array(raw.buffer, 4, count * 6);
      const recs = new Map();
      let total = 0;
      for (let r = 0; r < count; r++) total += head[r * 6 + 4] + head[r * 6 + 5] * 65536;
      const gaps = unplanes(raw, 4 + 12 * count, total), tfs = unplanes(raw, 4 + 12 * count + 4 * total, total);
      let first = 0, positions = 0;  // positions: where the next 3-gram's positions start in p/<shard>.bin
      for (let r = 0; r < count; r++) {
        const n = head[r * 6 + 4] + head[r * 6 + 5] * 65536;
        const rec = { first, n, positions: -1 };
        if (head[r * 6 + 1] && head[r * 6 + 2]) {
          rec.positions = positions;
          for (let i = 0; i < n; i++) positions += tfs[first + i] & 0x7fffffff;
        }
        recs.set(`${head[r * 6]},${head[r * 6 + 1]},${head[r * 6 + 2]}`, rec);
        first += n;
      }
      return { gaps, tfs, recs };
    }));
  }
  return blk.shards.get(s);
}

// One n-gram (1-3 code units): {docs, tf, title, pos}; pos (with positions) lists each article's positions.
async function record(blk, units, positions) {
  const key = [units[0], units[1] || 0, units[2] || 0];
  const s = hash(key) % blk.meta.shards;
  const sh = await shard(blk, s);
  const rec = sh.recs.get(key.join(","));
  if (!rec) return { docs: [], tf: [], title: [], pos: [] };
  const docs = [], tf = [], title = [];
  let d = 0;
  for (let i = 0; i < rec.n; i++) {
    d += sh.gaps[rec.first + i];
    const v = sh.tfs[rec.first + i];
    docs.push(d);
    tf.push(v & 0x7fffffff);
    title.push(v >>> 31 === 1);
  }
  const pos = [];
  if (positions) {
    const raw = await load(blk, `p/${s}.bin`);
    const all = unplanes(raw, 4, new DataView(raw.buffer).getUint32(0, true));
    let off = rec.positions;
    for (const count of tf) {
      const p = new Set();
      let at = 0;
      for (let k = 0; k < count; k++) { at += all[off + k]; p.add(at); }
      pos.push(p);
      off += count;
    }
  }
  return { docs, tf, title, pos };
}

export function normalize(text) {
  return text.replace(/\s+/gu, "").replace(/[A-Z]/g, (c) => c.toLowerCase());
}

function units(text) {
  const out = [];
  for (let i = 0; i < text.length; i++) out.push(text.charCodeAt(i));
  return out;
}

export function cover(length) {
  const out = new Set([length - 3]);
  for (let o = 0; o < length - 2; o += 3) out.add(o);
  return [...out].sort((a, b) => a - b);
}

// {article of the block: [occurrences, in title]} of one normalised term.
async function term(blk, text) {
  const u = units(text), found = new Map();
  if (u.length <= 3) {
    const r = await record(blk, u, false);
    r.docs.forEach((d, i) => found.set(d, [r.tf[i], r.title[i]]));
    return found;
  }
  const offsets = cover(u.length);
  const recs = await Promise.all(offsets.map((o) => record(blk, u.slice(o, o + 3), true)));
  const at = recs.map((r) => new Map(r.docs.map((d, i) => [d, i])));
  for (const [d, i0] of at[0]) {
    if (!at.every((m) => m.has(d))) continue;
    let count = 0, firstHit = Infinity;
    for (const p of recs[0].pos[i0]) {
      if (offsets.every((o, k) => recs[k].pos[at[k].get(d)].has(p + o))) { count++; firstHit = Math.min(firstHit, p); }
    }
    if (count) found.set(d, [count, firstHit + u.length <= blk.meta.titleLen(d)]);
  }
  return found;
}

// The articles (numbers in the site) that answer q, ranked; the same rules as sitegen/searchindex.py query().
export async function search(q, { newest = false, section = "" } = {}) {
  await Promise.all(blocks.map(open));
  const terms = q.split(/\s+/u).map(normalize).filter(Boolean);
  if (!terms.length) return [];
  const found = await Promise.all(blocks.map((blk) => Promise.all(terms.map((t) => term(blk, t)))));
  const dfs = terms.map((_, k) => found.reduce((sum, f) => sum + f[k].size, 0));
  const n = blocks.reduce((sum, blk) => sum + blk.meta.docs, 0);
  const [kind, ...rest] = section.split(":"), name = rest.join(":");
  const ranked = [];
  blocks.forEach((blk, b) => {
    const meta = blk.meta, perTerm = found[b], avg = meta.avglen || 1;
    let docs = [...perTerm[0].keys()].filter((d) => perTerm.every((f) => f.has(d)));
    if (kind === "category" || kind === "column") {
      const want = (kind === "category" ? meta.categories : meta.columns).indexOf(name) + 1 || -1;
      docs = docs.filter((d) => (kind === "category" ? meta.category(d) : meta.column(d)) === want);
    }
    for (const d of docs) {
      let title = 0, score = 0;
      perTerm.forEach((f, k) => {
        const [tf, inTitle] = f.get(d), df = dfs[k];
        const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
        score += idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * meta.length(d) / avg));
        title += inTitle ? 1 : 0;
      });
      ranked.push(newest ? [0, 0, meta.first + d] : [title, Math.round(score * 1e6), meta.first + d]);
    }
  });
  ranked.sort((a, b) => b[0] - a[0] || b[1] - a[1] || b[2] - a[2]);
  return ranked.map((r) => r[2]);
}

// Where each term occurs in text, as [start, end) offsets of text (matching ignores whitespace and ASCII case).
function hits(text, terms) {
  const map = [];
  let norm = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (/\s/u.test(c)) continue;
    norm += c >= "A" && c <= "Z" ? c.toLowerCase() : c;
    map.push(i);
  }
  const out = [];
  for (const t of terms) {
    for (let at = norm.indexOf(t); at >= 0; at = norm.indexOf(t, at + 1)) out.push([map[at], map[at + t.length - 1] + 1]);
  }
  return out.sort((a, b) => a[0] - b[0]);
}

// text[start, end) into el, every hit inside it marked.
function marked(el, text, found, start, end) {
  let at = start;
  for (const [a, b] of found) {
    if (a < at || b > end) continue;
    el.append(text.slice(at, a));
    const m = document.createElement("mark");
    m.textContent = text.slice(a, b);
    el.append(m);
    at = b;
  }
  el.append(text.slice(at, end));
  return el;
}

// The excerpt: about 100 characters of the article around its first match after the header (doc.b: where the
// body begins), or in the header's date and source line when only that has it; the title (shown above, marked
// there) is never repeated. With no match past the title, the body's beginning.
function excerpt(doc, terms) {
  const text = doc.x, body = doc.b || 0;
  const title = text.startsWith(doc.t) ? doc.t.length : 0;
  const found = hits(text, terms);
  const hit = found.find((h) => h[0] >= body) || found.find((h) => h[0] >= title);
  const floor = hit && hit[0] < body ? title : body;  // the header's line after the title, or the body
  const start = hit ? Math.max(floor, hit[0] - 30) : body, end = Math.min(text.length, start + 100);
  const p = document.createElement("p");
  p.className = "summary";
  if (start > floor) p.append("……");
  marked(p, text, found, start, end);
  if (end < text.length) p.append("……");
  return p;
}

async function item(d, terms) {
  const blk = blocks.find((b) => d >= b.meta.first && d < b.meta.first + b.meta.docs);
  const doc = JSON.parse(new TextDecoder().decode(await load(blk, `d/${d - blk.meta.first}.bin`)));
  const li = document.createElement("li");
  li.className = "item";
  const a = document.createElement("a");
  a.href = new URL(doc.u.replace(/^\//, ""), new URL(root.dataset.site, location.href)).pathname;
  marked(a, doc.t, hits(doc.t, terms), 0, doc.t.length);
  const info = document.createElement("span");
  info.className = "search-meta";
  info.textContent = [doc.c, doc.k].filter(Boolean).join(" · ");
  const t = document.createElement("time");
  t.dateTime = t.textContent = doc.d;
  li.append(a, info, t, excerpt(doc, terms));
  return li;
}

let current = null;  // {ranked, shown, terms}

async function next() {
  const { ranked, terms } = current;
  const batch = ranked.slice(current.shown, current.shown + PAGE);
  const items = await Promise.all(batch.map((d) => item(d, terms)));
  const firstNew = current.shown;
  list.append(...items);
  current.shown += items.length;
  more.hidden = current.shown >= ranked.length;
  return firstNew;
}

function params() {
  const p = new URLSearchParams(location.search);
  return { q: (p.get("q") || "").trim(), section: p.get("section") || "", newest: p.get("order") === "newest" };
}

async function show() {
  const { q, section, newest } = params();
  input.value = q;
  select.value = section;
  for (const b of sorts) b.setAttribute("aria-pressed", String((b.dataset.order === "newest") === newest));
  const header = document.getElementById("q");
  if (header) header.value = q;
  list.replaceChildren();
  more.hidden = true;
  if (!q) {
    status.textContent = "请输入关键词，例如：妇联、家风、改革。多个关键词用空格分开。";
    return;
  }
  status.textContent = "正在搜索……";
  let ranked;
  try {
    ranked = await search(q, { newest, section });
  } catch (err) {
    // a network failure, or a browser without DecompressionStream (Safari before 16.4, Firefox before 113)
    status.textContent = "搜索暂时不可用（网络故障或浏览器版本过旧），请稍后再试，或从页首的栏目导航查找文章。";
    return;
  }
  if (!ranked.length) {
    status.textContent = `没有找到包含“${q}”的文章。请检查用字，或换一个较短的关键词。`;
    return;
  }
  current = { ranked, shown: 0, terms: q.split(/\s+/u).map(normalize).filter(Boolean) };
  await next();
  status.textContent = `共找到 ${ranked.length} 篇包含“${q}”的文章${newest ? "（按时间排列）" : ""}。`;
}

// #search carries data-state="busy" while a search runs and "done" when its results are on the page.
async function run(work) {
  root.dataset.state = "busy";
  try {
    return await work();
  } finally {
    root.dataset.state = "done";
  }
}

more.addEventListener("click", () => run(async () => {
  const firstNew = await next();
  const link = list.children[firstNew]?.querySelector("a");
  if (link) link.focus();
  status.textContent = `已显示第 ${firstNew + 1}–${current.shown} 篇，共 ${current.ranked.length} 篇。`;
}));

function go(order) {
  const p = new URLSearchParams();
  p.set("q", input.value.trim());
  if (select.value) p.set("section", select.value);
  if (order === "newest") p.set("order", "newest");
  history.pushState(null, "", "?" + p.toString());
  run(show);
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  go(params().newest ? "newest" : "relevance");
});
for (const b of sorts) b.addEventListener("click", () => go(b.dataset.order));
window.addEventListener("popstate", () => run(show));
run(show);
