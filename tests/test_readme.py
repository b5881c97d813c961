"""The README is a map: short, and every link it and docs/ hold lands on a file and heading that exist."""

from __future__ import annotations

import re
from pathlib import Path

from support import DOCS, FENCE, HEADING

from secmon import settings

README = settings.PROJECT_DIR / "README.md"
MAX_README_LINES = 200
# [text](target): a relative target, optionally with a #fragment; external addresses are not checked.
LINK = re.compile(r"\[[^\]]*\]\((?!https?://|mailto:)([^)\s]+)\)")


def anchors(page: Path) -> set[str]:
    """GitHub's anchors for a page's headings: lower case, punctuation dropped, spaces as hyphens, a
    repeated heading suffixed -1, -2, …"""
    found, fenced = set(), False
    for line in page.read_text().splitlines():
        fenced ^= bool(FENCE.match(line))
        heading = None if fenced else HEADING.fullmatch(line)
        if heading:
            anchor = re.sub(r"[^\w\- ]", "", heading[2].lower()).replace(" ", "-")
            suffix = 0
            while (candidate := f"{anchor}-{suffix}" if suffix else anchor) in found:
                suffix += 1
            found.add(candidate)
    return found


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in LINK.findall(page.read_text()):
        path, _, fragment = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.is_file() or (fragment and fragment not in anchors(linked)):
            broken.append(target)
    return broken


def test_the_readme_is_at_most_200_lines():
    assert len(README.read_text().splitlines()) <= MAX_README_LINES


def test_every_link_of_the_readme_and_docs_resolves_to_a_file_and_heading():
    pages = [README, *sorted(DOCS.glob("*.md"))]
    assert {page: broken_links(page) for page in pages} == {page: [] for page in pages}


def test_the_readme_links_every_docs_page():
    linked = {(README.parent / target.partition("#")[0]).resolve() for target in LINK.findall(README.read_text())}
    assert {page.resolve() for page in DOCS.glob("*.md")} <= linked


def test_anchors_follow_githubs_rules(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "# Top\n## Decisions for CrowdSec's bouncers\n```sh\n# not a heading\n```\n## Top\n### `secmon doctor`\n"
    )
    assert anchors(page) == {"top", "decisions-for-crowdsecs-bouncers", "top-1", "secmon-doctor"}
