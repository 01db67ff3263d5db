"""Typo correction for search ("did you mean"): each query word the catalogue does not have is replaced by the title or
tag word most like it, by trigram similarity as PostgreSQL's pg_trgm computes it.

Two implementations with the same results, chosen by the server (``corrections``):

- pg_trgm installed (production: the pgvector/pgvector image ships contrib; migration catalog 0016 creates the
  extension and GIN trigram indexes on ``catalog_pattern.title`` and ``catalog_tag.name`` when the server offers
  it): ``sql_corrections`` finds candidate titles and tags through the indexes (``title %> word``, word similarity)
  and picks the best word of those with ``similarity()``, in one query.
- pg_trgm absent (the embedded PostgreSQL of tests and ``make run`` ships without contrib): ``python_corrections``
  reads the vocabulary with ``ts_stat`` in one query and scores it in Python with pg_trgm's formula.

Both take a DB-API cursor (Django's or a plain psycopg2 one) and read only ``catalog_pattern(title, status)`` and
``catalog_tag(name)``, so their parity can be tested against any PostgreSQL that has pg_trgm.

The rules, the same in both: the vocabulary is the 'simple' (lower-cased, unstemmed) lexemes of published titles
and of tag names; a word of the vocabulary, shorter than 3 characters or made of digits is kept; any other word is
replaced by the vocabulary word, at most 3 characters longer or shorter, with the highest similarity if that is at
least ``SIMILARITY``; ties go to the word first in code-point order (``COLLATE "C"``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

SIMILARITY = 0.4
MAX_LENGTH_DIFFERENCE = 3

# pg_trgm's words: runs of letters and digits (KEEPONLYALNUM); everything else separates words.
_WORD = re.compile(r"[^\W_]+")

# The words of published titles and of tag names ('simple': lower-cased, not stemmed), one row per word.
VOCABULARY_SQL = (
    "SELECT word FROM ts_stat($$"
    "SELECT to_tsvector('simple', title) FROM catalog_pattern WHERE status = 'published' "
    "UNION ALL SELECT to_tsvector('simple', name) FROM catalog_tag$$)"
)

# For each query word: candidate titles and tags found through the GIN trigram indexes (word similarity of the
# query word to some part of the text at least the threshold, which every text holding a word with similarity at
# least the threshold has), their 'simple' lexemes, and the best of those: the word itself when the catalogue has
# it, else the most similar within the length bound, first in code-point order on a tie.
_CORRECTION_SQL = """
WITH query(word) AS (SELECT DISTINCT unnest(%(words)s::text[]))
SELECT DISTINCT ON (q.word) q.word, c.lexeme
FROM query q
CROSS JOIN LATERAL (
    SELECT unnest(tsvector_to_array(to_tsvector('simple', p.title))) AS lexeme
    FROM catalog_pattern p
    WHERE p.status = 'published' AND p.title %%> q.word
    UNION
    SELECT unnest(tsvector_to_array(to_tsvector('simple', t.name)))
    FROM catalog_tag t
    WHERE t.name %%> q.word
) c
WHERE c.lexeme = q.word
   OR (abs(char_length(c.lexeme) - char_length(q.word)) <= %(length)s AND similarity(q.word, c.lexeme) >= %(limit)s)
ORDER BY q.word, c.lexeme = q.word DESC, similarity(q.word, c.lexeme) DESC, c.lexeme COLLATE "C"
"""


def trigrams(text: str) -> set[str]:
    """pg_trgm's trigrams of lower-case ``text``: each word padded with two spaces in front and one behind."""
    grams: set[str] = set()
    for word in _WORD.findall(text):
        padded = f"  {word} "
        grams.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return grams


def similarity(a: str, b: str) -> float:
    """pg_trgm's ``similarity(a, b)``: shared trigrams over all trigrams (0 when either has none)."""
    grams_a, grams_b = trigrams(a), trigrams(b)
    union = len(grams_a | grams_b)
    return len(grams_a & grams_b) / union if grams_a and grams_b else 0.0


def needs_correction(word: str) -> bool:
    """Words that are never corrected: shorter than 3 characters, or digits."""
    return len(word) >= 3 and not word.isdigit()


def python_corrections(words: Iterable[str], vocabulary: Iterable[str]) -> dict[str, str]:
    """{word: correction} for the ``words`` (lower-case) that are not in ``vocabulary`` and have a close one."""
    known = set(vocabulary)
    wanted = sorted({word for word in words if word not in known and needs_correction(word)})
    if not wanted:
        return {}
    known_grams = [(other, trigrams(other)) for other in sorted(known)]
    corrections = {}
    for word in wanted:
        grams = trigrams(word)
        best = (0.0, "")
        for other, other_grams in known_grams:
            if abs(len(other) - len(word)) > MAX_LENGTH_DIFFERENCE or not other_grams:
                continue
            score = len(grams & other_grams) / len(grams | other_grams)
            if score > best[0]:
                best = (score, other)
        if best[0] >= SIMILARITY:
            corrections[word] = best[1]
    return corrections


def python_corrections_from(cursor: Any, words: Sequence[str]) -> dict[str, str]:
    """``python_corrections`` against the catalogue's vocabulary, read with one query."""
    if not any(needs_correction(word) for word in words):
        return {}
    cursor.execute(VOCABULARY_SQL)
    return python_corrections(words, (word for (word,) in cursor.fetchall()))


def sql_corrections(cursor: Any, words: Sequence[str]) -> dict[str, str]:
    """The same as ``python_corrections_from``, computed by pg_trgm through its GIN indexes (needs pg_trgm and a
    transaction: the word-similarity threshold is set for the current transaction only)."""
    wanted = sorted({word for word in words if needs_correction(word)})
    if not wanted:
        return {}
    cursor.execute("SELECT set_config('pg_trgm.word_similarity_threshold', %s, true)", [str(SIMILARITY)])
    cursor.execute(_CORRECTION_SQL, {"words": wanted, "length": MAX_LENGTH_DIFFERENCE, "limit": SIMILARITY})
    return {word: best for word, best in cursor.fetchall() if best != word}


def has_pg_trgm(cursor: Any) -> bool:
    """Whether pg_trgm is installed in the current database."""
    cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
    return cursor.fetchone() is not None
