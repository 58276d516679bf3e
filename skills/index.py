"""The skills full-text index: one row per skill (its version in use), FTS5 bm25 on SQLite, tsvector on Postgres.

Queries are free text (a user's request, or a few words typed in a search box): each word becomes a prefix term
and the terms are OR-ed, so a long request still finds the skills that share its rarer words; bm25 weights a hit
in the name above one in the description, and both above the body.

Speed (SQLite): FTS5 computes bm25 for every row that matches, so one common word in a long request would make
the query score most of the registry. `skills_terms` counts the skills holding each word; a query keeps its
rarest words, up to SCORED_ROWS matching rows in all. The words it drops are the ones bm25 weighs least (a word
in half the skills or more weighs nothing).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import Connection, text
from sqlmodel import Session

MAX_TERMS = 16
SCORED_ROWS = 600
"""Most rows a query lets FTS5 score (estimated from skills_terms); the rarest word is always kept."""
# Words too common to tell skills apart; matching them only costs time.
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "for",
        "from",
        "how",
        "i",
        "in",
        "is",
        "it",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "please",
        "should",
        "so",
        "that",
        "the",
        "this",
        "to",
        "us",
        "was",
        "we",
        "what",
        "when",
        "which",
        "who",
        "will",
        "with",
        "you",
        "your",
    ]
)
WEIGHTS = (10.0, 4.0, 1.0)  # name, description, body
_UNRANKED = "unranked:"  # marks a plan whose matches are too many, and too alike, to be worth scoring


@dataclass(frozen=True)
class SkillHit:
    """One search result: the skill's version in use, and a relevance score (higher is better)."""

    name: str
    version: str
    description: str
    score: float


def terms(query: str) -> list[str]:
    """The distinct searchable words of a query, lowercased, stop words dropped, at most MAX_TERMS."""
    seen: dict[str, None] = {}
    for word in _words(query):
        if word not in STOPWORDS and (len(word) > 1 or word.isdigit()):
            seen.setdefault(word, None)
    return list(seen)[:MAX_TERMS]


def _words(text_: str) -> list[str]:
    # Close to FTS5's unicode61 tokenizer with remove_diacritics: letters and digits, case and accents folded.
    folded = unicodedata.normalize("NFKD", text_.lower())
    return re.findall(r"[^\W_]+", "".join(c for c in folded if not unicodedata.combining(c)))


def search(conn: Connection | Session, query: str, limit: int, min_score: float = 0.0) -> list[SkillHit]:
    """Skills matching any word of query (prefix match), best first, scoring at least min_score."""
    words = terms(query)
    if not words or limit < 1:
        return []
    if _dialect(conn) == "postgresql":
        sql = text(
            "SELECT v.name, v.version, v.description, ts_rank(f.doc, q) AS score "
            "FROM skills_fts f JOIN skill_versions v ON v.id = f.rowid, to_tsquery('simple', :q) q "
            "WHERE f.doc @@ q ORDER BY score DESC, v.name LIMIT :k"
        )
        match = " | ".join(f"{w}:*" for w in words)
        rows = conn.execute(sql, {"q": match, "k": limit}).all()
        return [SkillHit(r[0], r[1], r[2], float(r[3])) for r in rows if float(r[3]) >= min_score]
    plan = _plan(conn, words)
    if plan is None:
        return []
    score = "0.0" if plan.startswith(_UNRANKED) else f"bm25(skills_fts, {', '.join(map(str, WEIGHTS))})"
    sql = text(
        "SELECT v.name, v.version, v.description, f.score FROM "
        f"(SELECT rowid, {score} AS score FROM skills_fts "
        "WHERE skills_fts MATCH :q ORDER BY score LIMIT :k) f JOIN skill_versions v ON v.id = f.rowid "
        "ORDER BY f.score, v.name"
    )
    rows = conn.execute(sql, {"q": plan.removeprefix(_UNRANKED), "k": limit}).all()
    return [SkillHit(r[0], r[1], r[2], -float(r[3])) for r in rows if -float(r[3]) >= min_score]


def _fts_term(word: str) -> str:
    # Prefix-match words of 3+ characters ('invoice' finds 'invoices'); shorter ones would match half the index.
    return f'"{word}"*' if len(word) >= 3 else f'"{word}"'


# Where to look, widest first, and the skills_terms column counting the skills each word matches there.
_SCOPES = (("", "docs"), ("{name description} : ", "head_docs"), ("{name} : ", "name_docs"))


def _plan(conn: Connection | Session, words: list[str]) -> str | None:
    """The FTS5 query to run: the rarest words, in the widest columns where they match ≤ SCORED_ROWS rows.

    When even the rarest word is that common everywhere (a query of only common words), the search narrows to
    name and description, then to the name: where such a word is the most telling. None: nothing can match.
    """
    counts = _counts(conn, words)
    if not counts:
        return None
    for scope, (prefix, _) in enumerate(_SCOPES):
        ranked = sorted((c[scope], w) for w, c in counts.items() if c[scope] > 0)
        if not ranked:
            continue
        chosen: list[str] = []
        total = 0
        for docs, word in ranked:
            if total + docs > SCORED_ROWS and (chosen or scope < len(_SCOPES) - 1):
                break
            chosen.append(word)
            total += docs
        if chosen:
            return prefix + "(" + " OR ".join(_fts_term(w) for w in chosen) + ")"
    # Only words in more than SCORED_ROWS bodies and no name: nothing to rank by; any few of them will do.
    return _UNRANKED + _fts_term(min((c[0], w) for w, c in counts.items())[1])


def _counts(conn: Connection | Session, words: list[str]) -> dict[str, tuple[int, int, int]]:
    """How many indexed skills each word matches (as searched: prefix or exact), anywhere, in name or description,
    in the name; words that match nothing are left out. One statement, however many words."""
    values = ", ".join(f"(:w{i}, :e{i})" for i in range(len(words)))
    params: dict[str, str] = {}
    for i, word in enumerate(words):
        # A prefix term matches every stored word in [word, word + max char); an exact one only itself.
        params[f"w{i}"], params[f"e{i}"] = word, word + ("\U0010ffff" if len(word) >= 3 else "\x00")
    rows = conn.execute(
        text(f"WITH q(w, e) AS (VALUES {values}) SELECT q.w, sum(t.docs), sum(t.head_docs), sum(t.name_docs) "
             "FROM q JOIN skills_terms t ON t.term >= q.w AND t.term < q.e GROUP BY q.w"),
        params,
    ).all()  # fmt: skip
    return {r[0]: (int(r[1]), int(r[2]), int(r[3])) for r in rows if r[1] > 0}


def add(conn: Connection | Session, version_id: int, name: str, description: str, body: str) -> None:
    """Index one version (the one its skill now uses)."""
    words = name.replace("-", " ")
    if _dialect(conn) == "postgresql":
        conn.execute(
            text(
                "INSERT INTO skills_fts (rowid, doc) VALUES (:id, setweight(to_tsvector('simple', :n), 'A') || "
                "setweight(to_tsvector('simple', :d), 'B') || setweight(to_tsvector('simple', :b), 'D'))"
            ),
            {"id": version_id, "n": words, "d": description, "b": body},
        )
        return
    conn.execute(
        text("INSERT INTO skills_fts (rowid, name, description, body) VALUES (:id, :n, :d, :b)"),
        {"id": version_id, "n": name, "d": description, "b": body},
    )
    _count(conn, name, description, body, +1)


def remove(conn: Connection | Session, version_id: int) -> None:
    """Drop one version from the index (it must be indexed, and still be in skill_versions)."""
    if _dialect(conn) == "postgresql":
        conn.execute(text("DELETE FROM skills_fts WHERE rowid = :id"), {"id": version_id})
        return
    row = conn.execute(
        text("SELECT name, description, body FROM skill_versions WHERE id = :id"), {"id": version_id}
    ).one()
    # External-content FTS5 deletes need the indexed values: read them from the content table.
    conn.execute(
        text("INSERT INTO skills_fts (skills_fts, rowid, name, description, body) VALUES ('delete', :id, :n, :d, :b)"),
        {"id": version_id, "n": row[0], "d": row[1], "b": row[2]},
    )
    _count(conn, row[0], row[1], row[2], -1)


def _count(conn: Connection | Session, name: str, description: str, body: str, delta: int) -> None:
    """Add delta to the counts of every word of one indexed skill."""
    in_name = set(_words(name))
    in_head = in_name | set(_words(description))
    everywhere = in_head | set(_words(body))
    rows = [
        {"t": w, "d": delta, "h": delta if w in in_head else 0, "n": delta if w in in_name else 0}
        for w in sorted(everywhere)
    ]
    conn.execute(
        text(
            "INSERT INTO skills_terms (term, docs, head_docs, name_docs) VALUES (:t, :d, :h, :n) "
            "ON CONFLICT (term) DO UPDATE SET docs = skills_terms.docs + excluded.docs, "
            "head_docs = skills_terms.head_docs + excluded.head_docs, "
            "name_docs = skills_terms.name_docs + excluded.name_docs"
        ),
        rows,
    )


def _dialect(conn: Connection | Session) -> str:
    bind = conn.get_bind() if isinstance(conn, Session) else conn
    return bind.dialect.name
