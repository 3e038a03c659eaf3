"""The journal's conversations: which correlation ids belong together.

Ids that appear together in one message are linked (a union-find), so a query by any id
of a conversation finds all of it. A conversation is named by its oldest id: the first
linked (by the ``seq`` of the entry that first named it), then the first named in that
message, so merging two conversations never renames the older one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple


class Reading(NamedTuple):
    """What a dialect reads of one of its messages that the journal cannot.

    ``links``: ids tying the message to conversations (ids seen together are linked);
    ``tags``: ids that find the message but link nothing (a consent outlives every
    conversation it pays in); ``redirect``: the URL a user's browser is sent to;
    ``path_id_tags``: the message's path id is such an id too (it names a party or an
    account, which outlives every consent and transaction it appears in). (A named tuple:
    one is made for every hop, and it is cheaper to make than a frozen dataclass.)
    """

    links: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    redirect: str | None = None
    path_id_tags: bool = False


def correlation_ids(
    path_id: str | None, reading: Reading, related: Iterable[str] = ()
) -> tuple[list[str], list[str]]:
    """(all ids tying a message to conversations, the subset that links them together):
    the path id first, then the ids the sender named, then those the dialect read. The
    path id links unless the dialect read it as a tag (``Reading.path_id_tags``)."""
    first: list[str] = []  # the path id when it only tags: still listed first
    linking: list[str] = []
    if path_id:
        (first if reading.path_id_tags else linking).append(path_id)
    for i in (*related, *reading.links):
        if i not in linking:
            linking.append(i)
    if first and first[0] in linking:  # named by the sender too: it links
        first = []
    tags: list[str] = []
    for i in reading.tags:
        if i not in linking and i not in tags and i not in first:
            tags.append(i)
    return first + linking + tags, linking


class Conversations:
    """Correlation ids linked into conversations, each named by its oldest id."""

    def __init__(self) -> None:
        self._parent: dict[str, str] = {}  # an id → an id of its conversation (towards its root)
        self._born: dict[str, int] = {}  # the seq an id was first linked at

    def __len__(self) -> int:
        """How many ids are known (what ``Journal`` bounds by relinking)."""
        return len(self._born)

    def link(self, ids: list[str], seq: int) -> str | None:
        """Merge the conversations of ``ids`` (named by entry ``seq``) and return the name
        of the one they now form; None for no ids."""
        if not ids:
            return None
        born = self._born
        for i in ids:
            if i not in born:
                born[i] = seq
        root = self.find(ids[0])
        for other in ids[1:]:
            other_root = self.find(other)
            if other_root == root:
                continue
            if born[other_root] < born[root]:
                root, other_root = other_root, root
            self._parent[other_root] = root
        return root

    def find(self, key: str) -> str:
        """The name of ``key``'s conversation (``key`` itself when it links nothing)."""
        parent = self._parent.get(key, key)
        while parent != key:
            grandparent = self._parent.get(parent, parent)
            self._parent[key] = grandparent
            key, parent = parent, grandparent
        return key

    def ties(self, ids: Iterable[str], root: str) -> bool:
        """Whether any of ``ids`` is in conversation ``root``."""
        return any(self.find(i) == root for i in ids)

    def relink(self, linked: Iterable[tuple[list[str], int]]) -> None:
        """Forget every id but those of ``linked`` (ids, seq) (the entries still in the
        journal's ring) and the name of each one's conversation. The ids kept stay linked as
        they were, by links an entry since forgotten made too, and each conversation keeps
        its name: a query by an entry's ``conversation`` finds it while it is in the ring."""
        find, born = self.find, self._born
        names = {i: find(i) for ids, _ in linked for i in ids}
        self._born = {i: born.get(i, 0) for i in (*names, *names.values())}
        self._parent = {i: name for i, name in names.items() if i != name}

    def clear(self) -> None:
        self._parent.clear()
        self._born.clear()
