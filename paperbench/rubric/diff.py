"""What changed between two versions of a rubric, as a reviewer reads it.

Nodes carry no reliable identity (ids repeat, editors regenerate them), so nodes are matched
by **wording** and by **path**, in rounds, each round only among nodes still unmatched:

1. the roots match; a wording (case, spacing and punctuation aside) that occurs once in each
   tree matches wherever it sits;
2. under every matched pair of parents, children match by equal wording, then by similar
   wording (:data:`SIBLING_SIMILARITY`), then by position: the child at the same index, if its
   wording is not entirely different (:data:`SAME_PATH_SIMILARITY`) — an edit in place;
3. an unmatched inner node matches the node that holds most of its matched children (a
   subtree moved and renamed);
4. anywhere in the tree: equal wording, then similar wording (:data:`MOVED_SIMILARITY`) —
   a node moved elsewhere and perhaps reworded.

Rounds 2 to 4 repeat until nothing new matches. A matched node is then *reworded* (text
differs beyond spacing), *reweighted*, *recategorized* (task or finegrained category) and/or
*moved*: its parent is not its old parent's match, or it changed order among siblings that
stayed (siblings shifted by an insertion or removal are not moved). Unmatched nodes are
*added* or *removed*; a whole added or removed subtree is reported once, at its top, with the
number of nodes below it.

The share of the total score held by each task category is compared too, since a rubric's
balance can move while every single change looks small.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from paperbench.rubric.model import TASK_CATEGORIES, RubricNode, join_path
from paperbench.rubric.stats import effective_shares, rubric_stats
from paperbench.rubric.wording import word_similarity, words

SIBLING_SIMILARITY = 0.5
SAME_PATH_SIMILARITY = 0.25
MOVED_SIMILARITY = 0.6
CHANGE_KINDS = ("added", "removed", "moved", "reworded", "reweighted", "recategorized")


@dataclass(frozen=True)
class NodeChange:
    """One node's changes; ``old_path`` is None for added nodes, ``new_path`` for removed."""

    kinds: tuple[str, ...]
    old_path: str | None
    new_path: str | None
    old_requirements: str | None
    new_requirements: str | None
    old_weight: float | None = None
    new_weight: float | None = None
    old_share: float | None = None
    new_share: float | None = None
    old_category: str | None = None
    new_category: str | None = None
    descendants: int = 0

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__} | {
            "kinds": list(self.kinds)
        }


@dataclass
class RubricDiff:
    """Changed nodes in the new tree's order (removed nodes where they used to be) and each
    category's share of the total score before and after."""

    changes: list[NodeChange] = field(default_factory=list)
    category_shares: dict[str, tuple[float, float]] = field(default_factory=dict)
    matched: int = 0

    @property
    def is_empty(self) -> bool:
        return not self.changes and all(
            abs(old - new) < 1e-12 for old, new in self.category_shares.values()
        )

    def counts(self) -> dict[str, int]:
        totals = Counter(kind for change in self.changes for kind in change.kinds)
        return {kind: totals[kind] for kind in CHANGE_KINDS if totals[kind]}

    def to_json(self) -> dict[str, Any]:
        return {
            "counts": self.counts(),
            "matched": self.matched,
            "changes": [change.to_json() for change in self.changes],
            "category_shares": {
                category: {"old": old, "new": new, "change": new - old}
                for category, (old, new) in self.category_shares.items()
            },
        }


class _Side:
    """One tree, flattened: nodes, parents and children by path."""

    def __init__(self, tree: RubricNode) -> None:
        self.nodes: dict[str, RubricNode] = dict(tree.walk())
        self.shares = effective_shares(tree)
        self.parent: dict[str, str] = {}
        self.children: dict[str, list[str]] = {}
        for path, node in self.nodes.items():
            self.children[path] = [join_path(path, i) for i in range(len(node.sub_tasks))]
            for child in self.children[path]:
                self.parent[child] = path
        self.words = {path: words(node.requirements) for path, node in self.nodes.items()}
        self.text = {path: " ".join(found) for path, found in self.words.items()}


class _Matcher:
    def __init__(self, old: RubricNode, new: RubricNode) -> None:
        self.old = _Side(old)
        self.new = _Side(new)
        self.forward: dict[str, str] = {}
        self.backward: dict[str, str] = {}

    def pair(self, old_path: str, new_path: str) -> None:
        self.forward[old_path] = new_path
        self.backward[new_path] = old_path

    def free_old(self) -> list[str]:
        return [path for path in self.old.nodes if path not in self.forward]

    def free_new(self) -> list[str]:
        return [path for path in self.new.nodes if path not in self.backward]

    def run(self) -> None:
        self.pair("", "")
        self._unique_wording()
        while True:
            before = len(self.forward)
            self._under_matched_parents()
            self._by_matched_children()
            self._anywhere()
            if len(self.forward) == before:
                return

    def _unique_wording(self) -> None:
        old_by_text: dict[str, list[str]] = defaultdict(list)
        new_by_text: dict[str, list[str]] = defaultdict(list)
        for path in self.free_old():
            old_by_text[self.old.text[path]].append(path)
        for path in self.free_new():
            new_by_text[self.new.text[path]].append(path)
        for text, old_paths in old_by_text.items():
            new_paths = new_by_text.get(text, [])
            if len(old_paths) == 1 and len(new_paths) == 1:
                self.pair(old_paths[0], new_paths[0])

    def _under_matched_parents(self) -> None:
        queue = [("", "")]
        while queue:
            old_parent, new_parent = queue.pop()
            old_free = [c for c in self.old.children[old_parent] if c not in self.forward]
            new_free = [c for c in self.new.children[new_parent] if c not in self.backward]
            for old_child in list(old_free):
                for new_child in new_free:
                    if self.old.text[old_child] == self.new.text[new_child]:
                        self.pair(old_child, new_child)
                        old_free.remove(old_child)
                        new_free.remove(new_child)
                        break
            scored = sorted(
                (
                    (self._similarity(o, n, SIBLING_SIMILARITY), o, n)
                    for o in old_free
                    for n in new_free
                ),
                reverse=True,
            )
            for score, old_child, new_child in scored:
                if score < SIBLING_SIMILARITY:
                    break
                if old_child in self.forward or new_child in self.backward:
                    continue
                self.pair(old_child, new_child)
            for old_child in old_free:
                if old_child in self.forward:
                    continue
                same_index = join_path(new_parent, int(old_child.rsplit("/", 1)[-1]))
                if (
                    same_index in self.new.nodes
                    and same_index not in self.backward
                    and self._similarity(old_child, same_index) >= SAME_PATH_SIMILARITY
                ):
                    self.pair(old_child, same_index)
            for old_child in self.old.children[old_parent]:
                matched = self.forward.get(old_child)
                if matched is not None:
                    queue.append((old_child, matched))

    def _by_matched_children(self) -> None:
        for old_path in self.free_old():
            children = self.old.children[old_path]
            parents = Counter(
                self.new.parent[self.forward[child]]
                for child in children
                if self.forward.get(child)
            )
            if not parents:
                continue
            new_path, held = parents.most_common(1)[0]
            if new_path not in self.backward and held * 2 > len(children):
                self.pair(old_path, new_path)

    def _anywhere(self) -> None:
        old_free, new_free = self.free_old(), self.free_new()
        by_text: dict[str, list[str]] = defaultdict(list)
        for path in new_free:
            by_text[self.new.text[path]].append(path)
        for old_path in old_free:
            candidates = by_text.get(self.old.text[old_path])
            if candidates:
                self.pair(old_path, candidates.pop(0))
        old_free, new_free = self.free_old(), self.free_new()
        index: dict[str, list[str]] = defaultdict(list)
        for path in new_free:
            for word in set(self.new.words[path]):
                index[word].append(path)
        rare_limit = max(20, len(new_free) // 20)
        scored: list[tuple[float, str, str]] = []
        for old_path in old_free:
            shared: Counter[str] = Counter()
            for word in set(self.old.words[old_path]):
                holders = index.get(word, [])
                if len(holders) <= rare_limit:
                    shared.update(holders)
            for new_path, _ in shared.most_common(10):
                score = self._similarity(old_path, new_path, MOVED_SIMILARITY)
                if score >= MOVED_SIMILARITY:
                    scored.append((score, old_path, new_path))
        for _, old_path, new_path in sorted(scored, reverse=True):
            if old_path not in self.forward and new_path not in self.backward:
                self.pair(old_path, new_path)

    def _similarity(self, old_path: str, new_path: str, at_least: float = 0.0) -> float:
        return word_similarity(self.old.words[old_path], self.new.words[new_path], at_least)


def diff_rubrics(old: RubricNode, new: RubricNode) -> RubricDiff:
    """Match the nodes of two trees and describe every change (see the module docstring)."""
    matcher = _Matcher(old, new)
    matcher.run()
    reordered = _reordered(matcher)
    result = RubricDiff(matched=len(matcher.forward))
    changes_at: dict[str, NodeChange] = {}
    for new_path in matcher.new.nodes:
        old_path = matcher.backward.get(new_path)
        if old_path is None:
            if matcher.new.parent.get(new_path) in matcher.backward or new_path == "":
                changes_at[new_path] = _added(matcher, new_path)
            continue
        change = _matched_change(matcher, old_path, new_path, new_path in reordered)
        if change is not None:
            changes_at[new_path] = change
    removed: list[tuple[str, NodeChange]] = []
    for old_path in matcher.old.nodes:
        if old_path not in matcher.forward and matcher.old.parent.get(old_path) in matcher.forward:
            removed.append((old_path, _removed(matcher, old_path)))
    ordered = [(_path_key(path), change) for path, change in changes_at.items()]
    ordered += [(_anchor_in_new(matcher, old_path), change) for old_path, change in removed]
    ordered.sort(key=lambda item: item[0])
    result.changes = [change for _, change in ordered]
    old_shares = rubric_stats(old).share_per_category
    new_shares = rubric_stats(new).share_per_category
    for category in dict.fromkeys([*TASK_CATEGORIES, *old_shares, *new_shares]):
        result.category_shares[category] = (
            old_shares.get(category, 0.0),
            new_shares.get(category, 0.0),
        )
    return result


def _reordered(matcher: _Matcher) -> set[str]:
    """New paths of children that changed order among siblings kept under the same parent:
    those outside a longest run kept in order."""
    moved: set[str] = set()
    for old_parent, new_parent in matcher.forward.items():
        kept = [
            matcher.forward[child]
            for child in matcher.old.children[old_parent]
            if child in matcher.forward
            and matcher.new.parent.get(matcher.forward[child]) == new_parent
        ]
        positions = [int(path.rsplit("/", 1)[-1]) for path in kept]
        in_order = set(_longest_increasing(positions))
        moved.update(path for path, pos in zip(kept, positions, strict=True) if pos not in in_order)
    return moved


def _longest_increasing(values: list[int]) -> list[int]:
    """One longest strictly increasing subsequence (patience sorting, O(n log n))."""
    import bisect

    tails: list[int] = []
    tail_index: list[int] = []
    previous: list[int] = [-1] * len(values)
    for index, value in enumerate(values):
        place = bisect.bisect_left(tails, value)
        if place == len(tails):
            tails.append(value)
            tail_index.append(index)
        else:
            tails[place] = value
            tail_index[place] = index
        previous[index] = tail_index[place - 1] if place else -1
    result: list[int] = []
    index = tail_index[-1] if tail_index else -1
    while index != -1:
        result.append(values[index])
        index = previous[index]
    return result[::-1]


def _matched_change(
    matcher: _Matcher, old_path: str, new_path: str, reordered: bool
) -> NodeChange | None:
    old_node, new_node = matcher.old.nodes[old_path], matcher.new.nodes[new_path]
    kinds: list[str] = []
    if old_path:
        old_parent = matcher.old.parent[old_path]
        if matcher.forward.get(old_parent) != matcher.new.parent[new_path] or reordered:
            kinds.append("moved")
    if " ".join(old_node.requirements.split()) != " ".join(new_node.requirements.split()):
        kinds.append("reworded")
    if old_node.weight != new_node.weight:
        kinds.append("reweighted")
    if (old_node.task_category, old_node.finegrained_task_category) != (
        new_node.task_category,
        new_node.finegrained_task_category,
    ):
        kinds.append("recategorized")
    if not kinds:
        return None
    return NodeChange(
        kinds=tuple(kinds),
        old_path=old_path,
        new_path=new_path,
        old_requirements=old_node.requirements,
        new_requirements=new_node.requirements,
        old_weight=old_node.weight,
        new_weight=new_node.weight,
        old_share=matcher.old.shares[old_path],
        new_share=matcher.new.shares[new_path],
        old_category=_category(old_node),
        new_category=_category(new_node),
    )


def _added(matcher: _Matcher, new_path: str) -> NodeChange:
    node = matcher.new.nodes[new_path]
    return NodeChange(
        kinds=("added",),
        old_path=None,
        new_path=new_path,
        old_requirements=None,
        new_requirements=node.requirements,
        new_weight=node.weight,
        new_share=matcher.new.shares[new_path],
        new_category=_category(node),
        descendants=sum(1 for _ in node.walk()) - 1,
    )


def _removed(matcher: _Matcher, old_path: str) -> NodeChange:
    node = matcher.old.nodes[old_path]
    return NodeChange(
        kinds=("removed",),
        old_path=old_path,
        new_path=None,
        old_requirements=node.requirements,
        new_requirements=None,
        old_weight=node.weight,
        old_share=matcher.old.shares[old_path],
        old_category=_category(node),
        descendants=sum(1 for _ in node.walk()) - 1,
    )


def _anchor_in_new(matcher: _Matcher, old_path: str) -> list[float]:
    """Where a removed node used to be, as a sort key in the new tree's order: just after its
    nearest earlier sibling that stayed under the same parent, else first under the parent."""
    parent = matcher.old.parent[old_path]
    new_parent = matcher.forward[parent]
    index = int(old_path.rsplit("/", 1)[-1])
    for earlier in range(index - 1, -1, -1):
        kept = matcher.forward.get(join_path(parent, earlier))
        if kept is not None and matcher.new.parent.get(kept) == new_parent:
            return [*_path_key(kept)[:-1], _path_key(kept)[-1] + 0.5]
    return [*_path_key(new_parent), -0.5]


def _category(node: RubricNode) -> str | None:
    """The leaf's category as one string, with the finegrained one when set."""
    if node.task_category is None:
        return None
    if node.finegrained_task_category:
        return f"{node.task_category} · {node.finegrained_task_category}"
    return node.task_category


def _path_key(path: str) -> list[float]:
    return [float(step) for step in path.split("/") if step]
