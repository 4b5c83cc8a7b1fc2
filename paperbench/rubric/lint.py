"""Advice on a valid rubric: what a careful reviewer would point at, with node paths.

Validation (``validate.py``) says whether a judge *can* grade a rubric; lint says where the
grade will be unreliable or the score lopsided. Each rule is named, so it can be ignored
(``--ignore vague``) and counted:

``bundled``
    A leaf asking for several separately checkable things. The judge scores a leaf 0 or 1, so
    a submission that does two of three things gets nothing for two. Counted as sentences that
    state something (an auxiliary verb such as *is*, *has been*, *should*), leaving out notes
    that only relax the requirement (*alternative names are allowed*) or point to the paper.
``vague``
    A short leaf whose wording (*correctly*, *appropriate*, *good*, *etc.*) leaves the judge to
    guess, and that gives nothing concrete instead: no number, formula, code name or pointer to
    a section, table, figure, equation or appendix. With such an anchor, or in a leaf long
    enough to spell the check out (``vague_max_words``), the word is harmless (*properly
    implemented as in Section 2.2*), so it is not reported. *Some* and *various* are not on the
    list: in real rubrics they name a set the parent defines (*over the various search
    times*).
``no-target``
    A Result Analysis leaf that says no outcome to compare against: no number, no comparison
    (*higher than*, *outperforms*, *matches*) and no table or figure to match.
``duplicate``
    Siblings worded the same, or differing only in articles, plurals and punctuation; or two
    nodes whose wording *and* every ancestor's wording agree, which the judge cannot tell
    apart. A child restating its parent is not reported: PaperBench's own rubrics do it as a
    convention (*"The results of Figure 1 have been reproduced"* over its Result Analysis leaf).
    Identical leaves under differently worded parents are not reported either: the judge sees
    the ancestors, so they are different checks.
``equal-weights``
    Many children (``equal_weights_min_children``) all with one weight while they are unlike:
    the largest holds at least four times the leaves of the smallest. Equal weights are right
    for parallel children (ten datasets evaluated the same way); for a single leaf beside a
    fourteen-leaf subtree they are usually a default nobody chose.
``too-deep``, ``too-broad``
    Branches deeper than ``max_depth`` levels below the root (one advice per top-level branch,
    naming its deepest path) and nodes with more than ``max_children`` children.
``placeholder``
    ``TODO``/``TBD``/``FIXME`` text, as ``paperbench rubric new`` leaves it for the author.

Templated rubrics repeat one sentence with different numbers hundreds of times; advice on
such leaves is collapsed into one line with "and N similar" (the paths are kept in
:attr:`Advice.similar`), so the output stays worth reading on a 2,000-leaf rubric.
Duplicates and placeholders are never collapsed: each needs its own edit.
The defaults were tuned on PaperBench's released rubrics (see ``rubrics/GUIDE.md``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from paperbench.errors import RubricError
from paperbench.rubric.io import RubricLimitError, read_json
from paperbench.rubric.model import RubricNode, display_path, join_path
from paperbench.rubric.problems import Problem
from paperbench.rubric.validate import validate_data
from paperbench.rubric.wording import (
    differs_only_in_form,
    normalized,
    shorten,
    similarity,
    words,
)

RULES: dict[str, str] = {
    "bundled": "a leaf asks for several separately checkable things",
    "vague": "wording that leaves the judge to guess, with nothing concrete instead",
    "no-target": "a Result Analysis leaf with no outcome to compare against",
    "duplicate": "the same requirement twice where the judge cannot tell them apart",
    "equal-weights": "many unlike children that all weigh the same",
    "too-deep": "a branch deeper than the configured depth",
    "too-broad": "a node with more children than the configured breadth",
    "placeholder": "TODO text left for the author",
}


@dataclass(frozen=True)
class LintConfig:
    """Thresholds of the structural rules and the rules to skip."""

    max_depth: int = 7
    max_children: int = 12
    equal_weights_min_children: int = 6
    equal_weights_size_ratio: float = 4.0
    bundled_min_statements: int = 3
    vague_max_words: int = 25
    ignore: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        unknown = sorted(set(self.ignore) - set(RULES))
        if unknown:
            raise RubricError(f"unknown lint rule {', '.join(unknown)}; rules: {', '.join(RULES)}")


@dataclass(frozen=True)
class Advice:
    """One piece of advice about the node at ``path`` (and ``similar`` further nodes)."""

    source: str
    rule: str
    path: str
    message: str
    fix: str
    node_id: str | None = None
    similar: tuple[str, ...] = ()

    @property
    def count(self) -> int:
        return 1 + len(self.similar)

    def describe(self, *, with_source: bool = True) -> str:
        """One line: ``file: bundled: node 0/2: ...; fix: ... (and 3 similar: 0/3, ...)``."""
        where = f"node {display_path(self.path)}"
        line = f"{self.rule}: {where}: {self.message}; fix: {self.fix}"
        if self.similar:
            shown = ", ".join(display_path(path) for path in self.similar[:3])
            more = ", ..." if len(self.similar) > 3 else ""
            line += f" (and {len(self.similar)} similar: {shown}{more})"
        return f"{self.source}: {line}" if with_source else line

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "path": self.path,
            "node_id": self.node_id,
            "message": self.message,
            "fix": self.fix,
            "similar": list(self.similar),
        }


@dataclass
class LintReport:
    """Validation problems and lint advice for one rubric."""

    source: str
    tree: RubricNode | None
    problems: list[Problem] = field(default_factory=list)
    advice: list[Advice] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.severity == "error"]

    def counts(self) -> dict[str, int]:
        """Nodes advised per rule, similar ones included, in :data:`RULES` order."""
        totals: dict[str, int] = dict.fromkeys(RULES, 0)
        for item in self.advice:
            totals[item.rule] += item.count
        return {rule: count for rule, count in totals.items() if count}


def lint_file(path: Path, config: LintConfig | None = None) -> LintReport:
    """Validate and lint the rubric at ``path``; an unreadable file is one problem."""
    try:
        data = read_json(path)
    except RubricLimitError:
        raise
    except RubricError as error:
        message = str(error).removeprefix(str(path)).lstrip(": ")
        return LintReport(str(path), None, [Problem(str(path), "", "(file)", message)])
    return lint_data(data, path, config)


def lint_data(data: Any, source: Path | str, config: LintConfig | None = None) -> LintReport:
    """Validate parsed JSON and, when it is a tree, lint it."""
    tree, problems = validate_data(data, source)
    advice = lint_tree(tree, source, config) if tree is not None else []
    return LintReport(str(source), tree, problems, advice)


def lint_tree(
    tree: RubricNode, source: Path | str, config: LintConfig | None = None
) -> list[Advice]:
    """Every piece of advice on ``tree``, in path order, templated repeats collapsed."""
    config = config or LintConfig()
    found: list[Advice] = []
    checks = (
        _placeholders,
        _bundled,
        _vague,
        _no_target,
        _duplicates,
        _equal_weights,
        _too_deep,
        _too_broad,
    )
    for check in checks:
        found += check(tree, str(source), config)
    found = [item for item in found if item.rule not in config.ignore]
    found.sort(key=lambda item: (_path_key(item.path), list(RULES).index(item.rule)))
    return _collapse_templated(found, tree)


# --- wording rules -------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\b(?:TODO|TBD|FIXME|XXX)\b")
_CODE_OR_MATH = re.compile(r"\$[^$]*\$|`[^`]*`")
_PARENTHESIS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
_ABBREVIATION = re.compile(
    r"\b(?:e\.g|i\.e|etc|vs|cf|approx|eq|eqs|fig|figs|sec|resp|al|no)\.", re.I
)
_SENTENCE_BREAK = re.compile(r"(?<=[.;!?])\s+")
_STATEMENT = re.compile(
    r"\b(?:is|are|was|were|has|have|be|must|should|shall|will|can|cannot|does|do)\b", re.I
)
_NOTE = re.compile(
    r"\b(?:allowed|acceptable|optional|not required|not necessary|not needed|does not matter|"
    r"doesn't matter|for example|note|alternative|alternatively|is fine|are fine|"
    r"can be ignored|need not|that is|in other words)\b",
    re.I,
)
_VAGUE = re.compile(
    r"\b(?:appropriate(?:ly)?|reasonabl[ey]|properly|correct(?:ly)?|adequate(?:ly)?|"
    r"sufficient(?:ly)?|suitabl[ey]|good|well(?! as\b)|etc\.?|and so on|similar(?:ly)?|"
    r"significant(?:ly)?|relevant|as needed|if needed|as necessary|if necessary|generally|"
    r"mostly|several|certain|effective(?:ly)?|accurate(?:ly)?|realistic|very|high|low)"
    r"(?![\w-])",
    re.I,
)
_ANCHOR = re.compile(
    r"\d|\$|`|\b(?:section|table|figure|fig|appendix|algorithm|equation|eq|eqs|listing)\b",
    re.I,
)
_COMPARISON = re.compile(
    r"\b(?:than|outperform\w*|better|worse|higher|lower|larger|smaller|faster|slower|more|"
    r"less|fewer|greater|exceed\w*|beat\w*|match\w*|similar\w*|comparable|equal\w*|same|"
    r"increas\w*|decreas\w*|improv\w*|reduc\w*|drop\w*|rises?|grow\w*|correlat\w*|trend\w*|"
    r"best|worst|highest|lowest|within|between|at least|at most|close to|converge\w*|"
    r"consistent\w*|monoton\w*|plateau\w*|unchanged|differ\w*|relative|outperform)\b",
    re.I,
)
_FIGURE_OR_TABLE = re.compile(r"\b(?:table|figure|fig)\b", re.I)


def statements(requirement: str) -> list[str]:
    """The sentences of a requirement that each state something to check.

    Math, code, parentheses and abbreviations are blanked first so they cannot split a
    sentence; notes that only relax the requirement or point elsewhere are left out.
    """
    text = _CODE_OR_MATH.sub("$…$", requirement)
    while _PARENTHESIS.search(text):
        text = _PARENTHESIS.sub(" ", text)
    text = _ABBREVIATION.sub("x", text)
    sentences = [part.strip() for part in _SENTENCE_BREAK.split(text) if part.strip()]
    return [s for s in sentences if _STATEMENT.search(s) and not _NOTE.search(s)]


def _placeholders(tree: RubricNode, source: str, config: LintConfig) -> list[Advice]:
    return [
        Advice(
            source,
            "placeholder",
            path,
            f"still a placeholder: {shorten(node.requirements, 60)!r}",
            "write the requirement the judge should check",
            node.id,
        )
        for path, node in tree.walk()
        if _PLACEHOLDER.search(node.requirements)
    ]


def _bundled(tree: RubricNode, source: str, config: LintConfig) -> list[Advice]:
    found: list[Advice] = []
    for path, node in tree.leaves():
        stated = statements(node.requirements)
        if len(stated) >= config.bundled_min_statements:
            parts = "; ".join(repr(shorten(sentence, 32)) for sentence in stated)
            found.append(
                Advice(
                    source,
                    "bundled",
                    path,
                    f"asks for {len(stated)} things in one 0/1 leaf: {parts}",
                    "make it a parent with one leaf per requirement, so partial work earns "
                    "partial credit",
                    node.id,
                )
            )
    return found


def _vague(tree: RubricNode, source: str, config: LintConfig) -> list[Advice]:
    found: list[Advice] = []
    for path, node in tree.leaves():
        text = node.requirements
        if _PLACEHOLDER.search(text) or _ANCHOR.search(text):
            continue
        if len(words(text)) >= config.vague_max_words:
            continue
        terms = sorted({match.group(0).lower() for match in _VAGUE.finditer(text)})
        if terms:
            found.append(
                Advice(
                    source,
                    "vague",
                    path,
                    f"{', '.join(repr(term) for term in terms)} with nothing concrete to check",
                    "say what exactly must hold: a value, a formula, or the section, table or "
                    "equation it must match",
                    node.id,
                )
            )
    return found


def _no_target(tree: RubricNode, source: str, config: LintConfig) -> list[Advice]:
    found: list[Advice] = []
    for path, node in tree.leaves():
        text = node.requirements
        if node.task_category != "Result Analysis" or _PLACEHOLDER.search(text):
            continue
        if not text.strip():
            continue  # an empty requirement is already a validation error
        if re.search(r"\d", text) or _COMPARISON.search(text) or _FIGURE_OR_TABLE.search(text):
            continue
        found.append(
            Advice(
                source,
                "no-target",
                path,
                "Result Analysis leaf with no target: no number, comparison, table or figure",
                'state the expected outcome ("X\'s accuracy is higher than Y\'s", "about 0.06, '
                'as in Table 1")',
                node.id,
            )
        )
    return found


def _duplicates(tree: RubricNode, source: str, config: LintConfig) -> list[Advice]:
    found: list[Advice] = []
    reported: set[str] = set()
    for path, node in tree.walk():
        for later, child in enumerate(node.sub_tasks):
            for earlier in range(later):
                other = node.sub_tasks[earlier]
                same = normalized(child.requirements) == normalized(other.requirements)
                if same or differs_only_in_form(child.requirements, other.requirements):
                    how = "word for word" if same else "differing only in articles or punctuation"
                    child_path = join_path(path, later)
                    found.append(
                        Advice(
                            source,
                            "duplicate",
                            child_path,
                            f"repeats sibling {join_path(path, earlier)} {how}",
                            "merge the two, or say what each one checks",
                            child.id,
                        )
                    )
                    reported.add(child_path)
                    break
    by_context: dict[tuple[str, ...], list[str]] = defaultdict(list)

    def visit(node: RubricNode, path: str, context: tuple[str, ...]) -> None:
        context = (*context, normalized(node.requirements))
        if path:
            by_context[context].append(path)
        for index, child in enumerate(node.sub_tasks):
            visit(child, join_path(path, index), context)

    visit(tree, "", ())
    for paths in by_context.values():
        first, *rest = paths
        for path in rest:
            parent = path.rsplit("/", 1)[0] if "/" in path else ""
            if path in reported or parent in reported or _same_parent(path, first):
                reported.add(path)
                continue
            reported.add(path)
            found.append(
                Advice(
                    source,
                    "duplicate",
                    path,
                    f"reads exactly like {first}, ancestors included, so the judge grades the "
                    "same thing twice",
                    "delete one, or word one of their ancestors apart",
                    tree.node_at(path).id,
                )
            )
    return found


def _same_parent(first: str, second: str) -> bool:
    return first.rpartition("/")[0] == second.rpartition("/")[0]


# --- structural rules ----------------------------------------------------------------------


def _equal_weights(tree: RubricNode, source: str, config: LintConfig) -> list[Advice]:
    found: list[Advice] = []
    for path, node in tree.walk():
        children = node.sub_tasks
        if len(children) < config.equal_weights_min_children:
            continue
        if len({child.weight for child in children}) != 1:
            continue
        sizes = [sum(1 for _ in child.leaves()) for child in children]
        if max(sizes) < config.equal_weights_size_ratio * min(sizes):
            continue
        big = sizes.index(max(sizes))
        small = sizes.index(min(sizes))
        found.append(
            Advice(
                source,
                "equal-weights",
                path,
                f"all {len(children)} children weigh {children[0].weight:g}, yet "
                f"{join_path(path, big)} holds {max(sizes)} leaves and "
                f"{join_path(path, small)} {min(sizes)}",
                "weigh each child by how much of the paper's contribution it carries",
                node.id,
            )
        )
    return found


def _too_deep(tree: RubricNode, source: str, config: LintConfig) -> list[Advice]:
    found: list[Advice] = []
    for index, branch in enumerate(tree.sub_tasks):
        top = str(index)
        below = (f"{top}/{path}" if path else top for path, _ in branch.leaves())
        deep = [path for path in below if _depth(path) > config.max_depth]
        if not deep:
            continue
        deepest = max(deep, key=_depth)
        found.append(
            Advice(
                source,
                "too-deep",
                top,
                f"{len(deep)} leaves lie deeper than {config.max_depth} levels; deepest "
                f"{deepest} at {_depth(deepest)}",
                "flatten levels that only group one or two children, or split the branch",
                branch.id,
            )
        )
    return found


def _too_broad(tree: RubricNode, source: str, config: LintConfig) -> list[Advice]:
    return [
        Advice(
            source,
            "too-broad",
            path,
            f"{len(node.sub_tasks)} children (more than {config.max_children})",
            "group related children under intermediate nodes so each can be weighed",
            node.id,
        )
        for path, node in tree.walk()
        if len(node.sub_tasks) > config.max_children
    ]


# --- presentation --------------------------------------------------------------------------

_TEMPLATE_WINDOW = 20
_NEVER_COLLAPSED = frozenset({"duplicate", "placeholder"})
_TEMPLATE_SIMILARITY = 0.8


def _collapse_templated(found: list[Advice], tree: RubricNode) -> list[Advice]:
    """Fold advice of one rule on nodes worded from one template into its first occurrence.

    Numbers are masked before comparing, and only the most recent groups are compared against
    (templated nodes sit next to each other), which keeps this linear on large rubrics.
    """
    groups: list[tuple[Advice, str, list[str]]] = []
    for item in found:
        if item.rule in _NEVER_COLLAPSED:
            groups.append((item, "", []))
            continue
        wording = re.sub(r"\d+(?:\.\d+)?", "N", tree.node_at(item.path).requirements)
        for first, template, similar in reversed(groups[-_TEMPLATE_WINDOW:]):
            if first.rule == item.rule and template and _alike(template, wording):
                similar.append(item.path)
                break
        else:
            groups.append((item, wording, []))
    return [replace(first, similar=tuple(similar)) for first, _, similar in groups]


def _alike(first: str, second: str) -> bool:
    return similarity(first, second) >= _TEMPLATE_SIMILARITY


def _depth(path: str) -> int:
    return len(path.split("/")) if path else 0


def _path_key(path: str) -> list[int]:
    return [int(step) for step in path.split("/") if step.isdigit()]
