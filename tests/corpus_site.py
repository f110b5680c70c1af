"""A corpus of many articles for the tests that need a build long enough to interrupt (helpers, not tests).

:func:`make_corpus` runs the shared benchmark generator (``../shared/bench/make_corpus.py --flavour sitegen``) when
it sits beside the repository, and otherwise writes a corpus of its own of the same shape: eight categories, the
改革进行时 column, Chinese articles of 800–2,000 characters with tags, dated over two years so the search index
has an archive bundle besides this week's. Either way the build takes several seconds on two cores, with every
stage (parsing, rendering, search indexing) long enough to be caught in the act.
"""
from __future__ import annotations

import random
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GENERATOR = REPO.parent / "shared" / "bench" / "make_corpus.py"

CATEGORIES = [("工作动态", "gongzuo-dongtai"), ("基层动态", "jiceng-dongtai"), ("通知公告", "tongzhi-gonggao"),
              ("图片新闻", "tupian-xinwen"), ("维权服务", "weiquan-fuwu"), ("家庭教育", "jiating-jiaoyu"),
              ("巾帼风采", "jinguo-fengcai"), ("政策法规", "zhengce-fagui")]
TAGS = ["妇联改革", "基层组织", "美丽庭院", "家风建设", "巾帼志愿", "维权服务", "家庭教育", "巾帼建功", "乡村振兴",
        "儿童关爱", "巾帼创业", "技能培训", "妇女议事会", "最美家庭", "普法宣传", "两癌筛查", "春蕾计划", "巾帼电商"]
PLACES = ["石家庄市", "唐山市", "秦皇岛市", "邯郸市", "邢台市", "保定市", "张家口市", "承德市", "沧州市", "廊坊市",
          "衡水市", "雄安新区"]
PHRASES = ["深入学习贯彻党的二十大精神", "推动妇联组织改革向基层延伸", "把党的声音传递到千家万户",
           "组织引导广大妇女积极投身经济社会发展", "深化“美丽庭院”创建", "开展家庭教育指导服务进社区活动",
           "依法维护妇女儿童合法权益", "加强基层妇联执委队伍建设", "推进巾帼家政服务提质扩容",
           "举办农村妇女电商技能培训班", "开展“巾帼建功”劳动竞赛", "弘扬新时代家庭观", "关爱留守儿童和困境妇女"]


def _site_yaml() -> str:
    cats = "\n".join(f"  - {{name: {name}, slug: {slug}}}" for name, slug in CATEGORIES)
    return (f"title: 河北妇女网\nbase_url: https://www.example.org.cn/\ntimezone: Asia/Shanghai\n"
            f"categories:\n{cats}\ncolumns:\n  - {{name: 改革进行时, slug: gaige-jinxingshi}}\n")


def _body(rng: random.Random) -> str:
    paragraphs = []
    for _ in range(rng.randint(4, 9)):
        sentences = [f"{rng.choice(PLACES)}妇联{rng.choice(PHRASES)}，{rng.choice(PHRASES)}。"
                     for _ in range(rng.randint(4, 8))]
        paragraphs.append("".join(sentences))
    return "\n\n".join(paragraphs)


def _write_own(root: Path, articles: int, newest: datetime) -> None:
    rng = random.Random(23)
    (root / "content").mkdir(parents=True)
    (root / "site.yaml").write_text(_site_yaml(), "utf-8")
    for i in range(articles):
        date = newest - timedelta(hours=17 * i + rng.randint(0, 9))
        name, _slug = rng.choice(CATEGORIES)
        column = "column: 改革进行时\n" if i % 9 == 0 else ""
        tags = ", ".join(rng.sample(TAGS, 3))
        title = f"{rng.choice(PLACES)}妇联{rng.choice(PHRASES)}（第{i + 1}期）"
        text = (f"---\ntitle: {title}\ndate: {date:%Y-%m-%d %H:%M}\ncategory: {name}\n{column}tags: [{tags}]\n"
                f"author: 省妇联宣传部\n---\n\n{_body(rng)}\n")
        path = root / "content" / f"{date:%Y}" / f"{date:%m}" / f"article-{i:05d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")


def make_corpus(root: Path, articles: int = 1000, *, newest: datetime = datetime(2026, 11, 29, 10, 0)) -> str:
    """Write a site of ``articles`` articles at ``root`` (created) and return where it came from: ``"shared"``
    (the benchmark generator) or ``"own"`` (written here, newest article dated ``newest``, naive = site time)."""
    if GENERATOR.is_file():
        subprocess.run([sys.executable, str(GENERATOR), str(root), "--flavour", "sitegen", "--articles",
                        str(articles)], check=True, capture_output=True, timeout=600)
        return "shared"
    _write_own(root, articles, newest)
    return "own"
