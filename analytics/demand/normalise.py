"""Search queries folded to the term they stand for: "Modular-Desks!" and "modular desk" are both "modular desk".

Case, accents' compatibility forms, punctuation and spacing are dropped, a few words that say nothing about what
was wanted ("pattern", "for", "the") are left out, and English plurals are folded by simple suffix rules (no
stemmer dependency: plurals are the variation buyers' queries actually show; meaning is left to the embeddings).
"""

from __future__ import annotations

import re
import unicodedata

# Words every query in a pattern marketplace could carry; they do not tell one need from another.
STOPWORDS = frozenset(
    {"a", "an", "and", "the", "for", "of", "with", "to", "in", "pattern", "patterns", "template", "templates"}
)
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


def wording(query: str) -> str:
    """The query as a person would read it: lower case, words separated by single spaces, no punctuation."""
    text = unicodedata.normalize("NFKC", query).casefold()
    return " ".join(_NOT_WORD.sub(" ", text).split())


def singular(word: str) -> str:
    """An English plural folded to its singular by suffix (boxes → box, hobbies → hobby, desks → desk)."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def term_key(query: str) -> str:
    """The normalised term of ``query`` ("" when nothing is left: an empty query)."""
    words = wording(query).split()
    kept = [word for word in words if word not in STOPWORDS] or words
    return " ".join(singular(word) for word in kept)[:255]
