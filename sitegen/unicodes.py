"""Unicode hygiene for what readers see as names and URLs: invisible format characters, and the scripts of letters.

- **Invisible characters** (:data:`INVISIBLE`): the bidirectional controls of Unicode's UAX #9 (U+202A–U+202E
  embeddings and overrides, U+2066–U+2069 isolates, U+200E/U+200F/U+061C marks) and the zero-width and other
  default-ignorable characters (U+200B–U+200D, U+2060–U+2064, U+FEFF, U+00AD soft hyphen, U+180E). Pasted into a
  title or slug they reorder or hide what a reader sees (U+202E makes ``gpj.exe`` read ``exe.jpg``; CVE-2021-42574
  "Trojan Source" is the same trick in code); nothing a news title needs.
- **Scripts** of letters (Latin, Han, Cyrillic…), from the character names of :mod:`unicodedata`, and the
  "highly restrictive" rule of Unicode's UTS #39 §5.2 for mixed-script confusables: one script, or Latin with Han
  (and Japanese kana, Bopomofo or Hangul). ``раураl`` (five Cyrillic letters and a Latin ``l``) reads as ``paypal``.
"""
from __future__ import annotations

import re
import unicodedata

INVISIBLE = re.compile("[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]")
"""Bidirectional controls and zero-width or other invisible format characters (see the module docstring)."""

_NAMES = {
    "\u200b": "零宽空格", "\u200c": "零宽非连接符", "\u200d": "零宽连接符", "\u200e": "从左到右标记",
    "\u200f": "从右到左标记", "\u202a": "从左到右嵌入", "\u202b": "从右到左嵌入", "\u202c": "方向格式结束",
    "\u202d": "从左到右覆盖", "\u202e": "从右到左覆盖", "\u2066": "从左到右隔离", "\u2067": "从右到左隔离",
    "\u2068": "方向隔离", "\u2069": "方向隔离结束", "\u2060": "零宽不换行符", "\ufeff": "零宽不换行空格（BOM）",
    "\u00ad": "软连字符", "\u061c": "阿拉伯字母标记",
}

#: Script sets that UTS #39's "highly restrictive" level allows in one identifier besides a single script.
_ALLOWED_MIXES = ({"Latin", "Han", "Hiragana", "Katakana"}, {"Latin", "Han", "Bopomofo"}, {"Latin", "Han", "Hangul"})
_SCRIPT_WORDS = {"CJK": "Han", "LATIN": "Latin", "CYRILLIC": "Cyrillic", "GREEK": "Greek", "ARABIC": "Arabic",
                 "HEBREW": "Hebrew", "HIRAGANA": "Hiragana", "KATAKANA": "Katakana", "HANGUL": "Hangul",
                 "BOPOMOFO": "Bopomofo", "MONGOLIAN": "Mongolian", "TIBETAN": "Tibetan", "ARMENIAN": "Armenian",
                 "GEORGIAN": "Georgian", "THAI": "Thai", "DEVANAGARI": "Devanagari", "YI": "Yi"}
_SCRIPT_NAMES = {"Han": "汉字", "Latin": "拉丁字母", "Cyrillic": "西里尔字母", "Greek": "希腊字母",
                 "Arabic": "阿拉伯字母", "Hebrew": "希伯来字母", "Hiragana": "平假名", "Katakana": "片假名",
                 "Hangul": "谚文", "Bopomofo": "注音符号", "Mongolian": "蒙古文", "Tibetan": "藏文"}


def describe(ch: str) -> str:
    """``U+202E（从右到左覆盖）`` for a message, the Chinese name where it has one."""
    name = _NAMES.get(ch)
    return f"U+{ord(ch):04X}" + (f"（{name}）" if name else "")


def strip_invisible(text: str) -> tuple[str, tuple[str, ...]]:
    """``text`` without the :data:`INVISIBLE` characters, and those removed (each once, in order of appearance)."""
    found = tuple(dict.fromkeys(INVISIBLE.findall(text)))
    return (INVISIBLE.sub("", text), found) if found else (text, ())


def script(ch: str) -> str | None:
    """The script of letter ``ch`` (``"Latin"``, ``"Han"``, ``"Cyrillic"``…, ``"Other"`` for a script not named
    here); ``None`` for what is no letter (digits, punctuation, ``-``), which belongs to every script."""
    if not unicodedata.category(ch).startswith("L"):
        return None
    word = unicodedata.name(ch, "").split(" ", 1)[0]
    return _SCRIPT_WORDS.get(word, "Other")


def scripts(text: str) -> set[str]:
    """The scripts of the letters of ``text`` (see :func:`script`)."""
    return {s for s in map(script, text) if s}


def mixed_scripts(text: str) -> tuple[str, ...]:
    """The scripts of ``text``'s letters, sorted, when their mix is not allowed by UTS #39's "highly restrictive"
    level (one script, or Latin with Han and kana, Bopomofo or Hangul); ``()`` when the mix is fine."""
    found = scripts(text)
    if len(found) <= 1 or any(found <= allowed for allowed in _ALLOWED_MIXES):
        return ()
    return tuple(sorted(found))


def script_names(names) -> str:
    """Chinese names of scripts for a message: ``西里尔字母、拉丁字母``."""
    return "、".join(_SCRIPT_NAMES.get(n, n) for n in names)


__all__ = ["INVISIBLE", "describe", "strip_invisible", "script", "scripts", "mixed_scripts", "script_names"]
