"""Generate a large, realistic git history with ``git fast-import`` (for bench_changelog.py).

The history has ``commits`` commits in all: pull requests merged with GitHub merge commits (one to three branch
commits each), squash merges ``title (#N)``, a few homu merges, direct commits, ``Co-authored-by`` trailers, a few
thousand authors (some with non-ASCII names, some under two addresses) and a ``.mailmap``. Tags ``v0.1`` ..
``v0.N`` mark a release every ``commits // 10`` commits. Deterministic: the same arguments give the same ids.
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

__all__ = ["generate"]

_FIRST = ["Ana", "Bo", "Chen", "Dana", "Emil", "Fatima", "Gus", "Hana", "Ivan", "Jia", "Kofi", "Lena", "Mateo",
          "Nia", "Omar", "Pia", "Quinn", "Rui", "Sven", "Tariq", "Uma", "Vera", "Wen", "Xavi", "Yuki", "Zoë",
          "Åsa", "Émile", "Łukasz", "Søren", "Jürgen", "José", "Ngọc", "Παύλος"]  # fmt: skip
_LAST = ["Abe", "Berg", "Cruz", "Diaz", "Ek", "Fox", "Gray", "Holm", "Ito", "Jung", "Kim", "Lund", "Moss", "Nash",
         "Ortiz", "Park", "Quist", "Ross", "Sato", "Toft", "Ueda", "Vik", "Wu", "Xu", "Yang", "Zorn", "Öberg",
         "Müller", "Dvořák", "Nguyễn", "Ødegård"]  # fmt: skip
_VERBS = [
    "fix",
    "add",
    "remove",
    "speed up",
    "document",
    "refactor",
    "test",
    "deprecate",
    "vectorize",
    "clean up",
]
_THINGS = ["the parser", "``np.sum`` on big arrays", "the *build* system", "`ufunc` loops", "docs of sort",
           "the CI matrix", "float16 casts", "einsum paths", "the random module", "string dtypes"]  # fmt: skip
_PREFIX = ["BUG", "ENH", "MAINT", "DOC", "TST", "BLD", "CI", "REL", "PERF", "API", "DEP"]


def _people(rng: random.Random, n: int) -> list[tuple[str, str, str]]:
    """``(name, email, handle)`` for ``n`` distinct people."""
    seen: set[str] = set()
    people: list[tuple[str, str, str]] = []
    while len(people) < n:
        name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
        if rng.random() < 0.3:
            name = f"{rng.choice(_FIRST)} {chr(65 + rng.randrange(26))}. {rng.choice(_LAST)}"
        handle = f"user{len(people)}"
        if name in seen:
            name = f"{name} {len(people)}"
        seen.add(name)
        people.append((name, f"{handle}@example.org", handle))
    return people


def generate(
    path: Path, *, commits: int = 40_000, authors: int = 3_000, seed: int = 1, gc: bool = True
) -> list[str]:
    """Create a bare repository at ``path`` with the history; return the tag names, oldest first."""
    rng = random.Random(seed)
    people = _people(rng, authors)
    maintainers = people[:12]
    # Weighted authorship: a few prolific people, a long tail.
    weights = [1.0 / (i + 1) ** 0.8 for i in range(len(people))]
    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
    out: list[bytes] = []
    mark = 0
    when = 1_500_000_000
    main_tip = 0
    pr = 0
    made = 0
    tags: list[str] = []
    every = max(commits // 10, 1)

    def data(text: str) -> None:
        raw = text.encode("utf-8")
        out.append(b"data %d\n" % len(raw) + raw + b"\n")

    def commit(
        ref: str, author: tuple[str, str, str], message: str, parents: list[int], committer=None
    ) -> int:  # type: ignore[no-untyped-def]
        nonlocal mark, when, made
        mark += 1
        made += 1
        when += 97
        committer = committer or author
        out.append(f"commit {ref}\nmark :{mark}\n".encode())
        out.append(f"author {author[0]} <{author[1]}> {when} +0000\n".encode())
        out.append(f"committer {committer[0]} <{committer[1]}> {when} +0000\n".encode())
        data(message)
        if parents:
            out.append(f"from :{parents[0]}\n".encode())
        for p in parents[1:]:
            out.append(f"merge :{p}\n".encode())
        out.append(f"M 100644 inline src/file{mark % 200}.c\n".encode())
        data(f"/* change {mark} */\n")
        return mark

    def title() -> str:
        return f"{rng.choice(_PREFIX)}: {rng.choice(_VERBS)} {rng.choice(_THINGS)}"

    def person() -> tuple[str, str, str]:
        p = rng.choices(people, weights=weights)[0]
        r = rng.random()
        if r < 0.05:  # the same person under a second address (mapped by the .mailmap)
            return (p[0], f"{p[2]}@old.example.com", p[2])
        if r < 0.08:  # a handle-only name (mapped by the .mailmap)
            return (p[2], p[1], p[2])
        return p

    mailmap = "".join(f"{p[0]} <{p[1]}> <{p[2]}@old.example.com>\n{p[0]} <{p[1]}>\n" for p in people)
    main_tip = commit("refs/heads/main", maintainers[0], "Initial commit\n", [])
    out.append(b"M 100644 inline .mailmap\n")
    data(mailmap)
    while made < commits:
        r = rng.random()
        if r < 0.55 and made + 3 < commits:
            pr += 1
            author = person()
            branch_tip = main_tip
            for _ in range(rng.randint(1, 3)):
                branch_tip = commit("refs/heads/pr", author, title() + "\n", [branch_tip])
            body = title()
            if rng.random() < 0.02:
                body = ""
            if rng.random() < 0.03:
                msg = f"Auto merge of #{pr} - {author[2]}:branch{pr}, r=reviewer\n\n{body}\n"
                merger = ("Homu", "homu@example.org", "homu")
            else:
                msg = f"Merge pull request #{pr} from {author[2]}/branch{pr}\n\n{body}\n"
                merger = rng.choice(maintainers)
            main_tip = commit("refs/heads/main", merger, msg, [main_tip, branch_tip])
        elif r < 0.85:
            pr += 1
            author = person()
            msg = f"{title()} (#{pr})\n"
            if rng.random() < 0.2:
                co = rng.choices(people, weights=weights, k=rng.randint(1, 2))
                msg += "\n" + "".join(f"Co-authored-by: {c[0]} <{c[1]}>\n" for c in co)
            main_tip = commit("refs/heads/main", author, msg, [main_tip], committer=maintainers[1])
        else:
            main_tip = commit("refs/heads/main", person(), title() + "\n", [main_tip])
        if made // every > len(tags) and made < commits:
            tags.append(f"v0.{len(tags) + 1}")
            out.append(f"reset refs/tags/{tags[-1]}\nfrom :{main_tip}\n\n".encode())
    tags.append(f"v0.{len(tags) + 1}")
    out.append(f"reset refs/tags/{tags[-1]}\nfrom :{main_tip}\n\n".encode())
    out.append(b"done\n")
    subprocess.run(
        ["git", "-C", str(path), "fast-import", "--quiet", "--done"], input=b"".join(out), check=True
    )
    subprocess.run(["git", "-C", str(path), "symbolic-ref", "HEAD", "refs/heads/main"], check=True)
    if gc:
        subprocess.run(["git", "-C", str(path), "gc", "-q"], check=True)
    return tags
