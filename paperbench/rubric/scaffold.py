"""``paperbench rubric new``: a starting rubric built from the paper's own structure.

The scaffold is what an author would sketch before writing a single leaf: the root, in
PaperBench's words (*"The core contributions of the paper ... have been reproduced"*), and one
subtree per main contribution, each holding placeholder leaves for the three things a
replication is graded on (code written, code run, results matching).

Where the main contributions come from:

* when the paper states them as a list (*"We contribute (i) ...; (ii) ..."*, or a bulleted
  list after *"Our contributions are"*) in its introduction, one subtree per stated
  contribution, each pointing at the paper's main sections;
* otherwise one subtree per main section, skipping the ones that describe no work to
  replicate (abstract, introduction, related work, discussion, conclusion, references,
  appendix, ...). Sub-headings of a section, and run-in bold headings (``**Data model.**``),
  become one placeholder leaf each: Code Development in a method section, Code Execution
  in a setup section, Result Analysis in a results section (its parts are usually the
  findings).

Placeholders say ``TODO`` so that ``paperbench rubric lint`` lists every one still to write,
and ``--strict`` fails until none is left; the scaffold itself is a valid rubric. The nodes
come from ``rubrics/templates/scaffold.json`` (``{subject}``, ``{Subject}`` and ``{section}``
are filled in); pass another template file to change them.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from paperbench.errors import PaperError, RubricError
from paperbench.resources import resource_dir
from paperbench.rubric.model import RubricNode
from paperbench.rubric.problems import clip
from paperbench.rubric.validate import validate_data

Source = Literal["auto", "contributions", "sections"]

SKIPPED_SECTIONS = re.compile(
    r"^(?:abstract|introduction|related work|background|prior work|preliminaries|notation|"
    r"discussion|conclusions?|concluding remarks|limitations|future work|broader impacts?|"
    r"ethics.*|acknowledge?ments?|references|bibliography|appendi(?:x|ces)\b.*|"
    r"supplementary.*|impact statement|reproducibility statement)$",
    re.I,
)
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_RUN_IN = re.compile(r"^(?:[-*+]\s+)?\*\*([^*]{2,60}?)[.:]?\*\*")
_NUMBERING = re.compile(r"^(?:[A-Z]|\d+)(?:\.\d+)*\.?\s+")
_CONTRIBUTION_CUE = re.compile(
    r"\b(?:we contribute|our contributions?|contributions? (?:of this|are|is)|"
    r"we make the following|in summary, we|this paper makes)\b",
    re.I,
)
_INLINE_ITEM = re.compile(r"\((?:i{1,3}|iv|v|vi{0,3}|ix|x|\d{1,2}|[a-h])\)\s*")
_BULLET = re.compile(r"^\s*(?:[-*+]|\d{1,2}[.)])\s+(.+)$")


@dataclass
class Section:
    """A main section of the paper: its heading and the headings within it."""

    heading: str
    parts: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return _NUMBERING.sub("", self.heading).strip()


@dataclass
class PaperOutline:
    title: str
    sections: list[Section]
    contributions: list[str]


def outline_paper(text: str, title: str | None = None) -> PaperOutline:
    """Read the title, the main sections (with their parts) and any stated contributions."""
    headings: list[tuple[int, str, int]] = []
    lines = text.splitlines()
    in_fence = False
    for number, line in enumerate(lines):
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
            continue
        match = _HEADING.match(line)
        if match and not in_fence:
            headings.append((len(match.group(1)), match.group(2).strip(), number))
    top = min((level for level, _, _ in headings), default=1)
    title_heading = next((text for level, text, _ in headings if level == top), None)
    body = [item for item in headings if item[0] > top] if title_heading else headings
    main_level = min((level for level, _, _ in body), default=2)
    sections: list[Section] = []
    bounds: list[tuple[Section, int, int]] = []
    for index, (level, heading, number) in enumerate(body):
        if level != main_level:
            if level > main_level and sections:
                sections[-1].parts.append(_NUMBERING.sub("", heading).strip())
            continue
        end = next((n for lvl, _, n in body[index + 1 :] if lvl <= main_level), len(lines))
        section = Section(heading)
        sections.append(section)
        bounds.append((section, number + 1, end))
    for section, start, end in bounds:
        if not section.parts:
            section.parts = [
                match.group(1).strip()
                for line in lines[start:end]
                if (match := _RUN_IN.match(line.strip()))
            ]
    introduction = next(
        (lines[s:e] for sec, s, e in bounds if sec.title.lower() == "introduction"), None
    )
    before_sections = lines[: bounds[0][1]] if bounds else lines
    contributions = _contributions(introduction if introduction is not None else before_sections)
    return PaperOutline(
        title=title or (_NUMBERING.sub("", title_heading) if title_heading else "the paper"),
        sections=[s for s in sections if not SKIPPED_SECTIONS.match(s.title)],
        contributions=contributions,
    )


def _contributions(lines: list[str]) -> list[str]:
    """Contributions stated as ``(i) ...; (ii) ...`` in one paragraph or as a bullet list
    right after a paragraph announcing them; empty when the paper states none."""
    blocks: list[tuple[str, list[str]]] = []  # (paragraph text, bullet items after it)
    paragraph: list[str] = []
    for line in [*lines, ""]:
        bullet = _BULLET.match(line)
        if bullet and blocks and not paragraph:
            blocks[-1][1].append(_clean_item(bullet.group(1)))
        elif bullet or not line.strip():
            if paragraph:
                blocks.append((" ".join(part.strip() for part in paragraph), []))
                paragraph = []
            if bullet and blocks:
                blocks[-1][1].append(_clean_item(bullet.group(1)))
        else:
            paragraph.append(line)
    for text, bullets in blocks:
        cue = _CONTRIBUTION_CUE.search(text)
        if not cue:
            continue
        items = [part for part in _INLINE_ITEM.split(text[cue.start() :])[1:] if part.strip()]
        if len(items) >= 2:
            return [_clean_item(item) for item in items]
        if len(bullets) >= 2:
            return bullets
    return []


def _clean_item(item: str) -> str:
    text = re.sub(r"\*\*|__", "", item).strip()
    text = re.sub(r"(?:;|,)?\s*(?:and)?\s*$", "", text).strip()
    return text.rstrip(".;,")


_EXECUTION_SECTION = re.compile(
    r"setup|set-up|details|protocol|hyper-?parameters|training procedure", re.I
)
_RESULT_SECTION = re.compile(r"result|finding|evaluation|experiment|analysis|ablation", re.I)
_NOT_A_PART = re.compile(
    r"^(?:table|figure|fig\.?|algorithm|listing)\s*\w*$|^reproducibility", re.I
)
TEMPLATE_KEYS = ("contribution", "section", "implementation", "execution", "result")


def load_template(path: Path | None = None) -> dict[str, Any]:
    """The scaffold's node templates: ``path`` or the bundled ``rubrics/templates/scaffold.json``
    (one JSON object with a node for each of :data:`TEMPLATE_KEYS`).

    Raises:
        RubricError: the template is missing, not JSON, or lacks one of the nodes.
    """
    source = path or resource_dir("rubrics") / "templates" / "scaffold.json"
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RubricError(f"{source}: no such template") from None
    except (OSError, ValueError, RecursionError) as error:
        raise RubricError(f"{source}: not a JSON template: {clip(str(error))}") from None
    missing = [key for key in TEMPLATE_KEYS if not isinstance(data, dict) or key not in data]
    if missing:
        raise RubricError(
            f"{source}: template lacks {', '.join(missing)}; it needs one node for each of "
            f"{', '.join(TEMPLATE_KEYS)} (see rubrics/templates/scaffold.json)"
        )
    return dict(data)


def _fill(template: Any, values: dict[str, str]) -> Any:
    """Copy a template node, filling ``{name}`` placeholders in strings and giving each node a
    new UUID, as PaperBench's own rubrics have."""
    if isinstance(template, dict):
        filled = {key: _fill(value, values) for key, value in template.items() if key != "id"}
        if "requirements" in filled:
            filled = {"id": str(uuid.uuid4()), **filled}
        return filled
    if isinstance(template, list):
        return [_fill(item, values) for item in template]
    if isinstance(template, str):
        return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), template)
    return template


def _values(subject: str, section: str) -> dict[str, str]:
    keep_case = subject[:2].isupper()
    lower = subject if keep_case else subject[:1].lower() + subject[1:]
    return {
        "subject": lower,
        "Subject": subject[:1].upper() + subject[1:],
        "section": section,
        "sections": section,
    }


def _section_name(section: Section) -> str:
    number = section.heading[: len(section.heading) - len(section.title)].strip().rstrip(".")
    return f'Section {number} "{section.title}"' if number else f'the section "{section.title}"'


def _section_kind(section: Section) -> str:
    if _EXECUTION_SECTION.search(section.title):
        return "execution"
    if _RESULT_SECTION.search(section.title):
        return "result"
    return "implementation"


def scaffold_rubric(
    outline: PaperOutline, *, source: Source = "auto", template: Path | None = None
) -> tuple[RubricNode, str]:
    """The starting tree for ``outline`` and a phrase saying what its subtrees come from.

    With stated contributions, each subtree is the ``contribution`` template. Otherwise each
    main section is a ``section`` node holding one leaf per part (sub-heading or run-in bold
    heading, tables and figures aside) from the template its title calls for: ``execution``
    for a setup or details section, ``result`` for results, experiments or evaluation, and
    ``implementation`` for the rest (method, model, data, ...).

    Raises:
        RubricError: ``source`` asks for stated contributions the paper does not have, the
            paper has neither, or the template yields an invalid rubric.
    """
    templates = load_template(template)
    use_contributions = source == "contributions" or (
        source == "auto" and len(outline.contributions) >= 2
    )
    children: list[Any] = []
    if use_contributions:
        if len(outline.contributions) < 2:
            raise RubricError(
                'the paper states no list of contributions ("We contribute (i) ... (ii) ..." '
                'or a bulleted list after "Our contributions"); use --from sections'
            )
        where = ", ".join(_section_name(section) for section in outline.sections) or "the paper"
        for contribution in outline.contributions:
            children.append(_fill(templates["contribution"], _values(contribution, where)))
        origin = f"{len(children)} contributions stated in the paper"
    else:
        if not outline.sections:
            raise RubricError(
                "paper.md has no main sections to build from (no headings beyond the abstract, "
                "introduction and the like); add headings or write the rubric by hand"
            )
        for section in outline.sections:
            name = _section_name(section)
            node = _fill(templates["section"], _values(section.title, name))
            kind = _section_kind(section)
            parts = [part for part in section.parts if not _NOT_A_PART.match(part)]
            node["sub_tasks"] = [
                _fill(templates[kind], _values(part, name)) for part in parts or [section.title]
            ]
            children.append(node)
        origin = f"{len(children)} main sections of the paper"
    root = {
        "id": str(uuid.uuid4()),
        "requirements": f'The core contributions of the paper "{outline.title}" have been '
        "reproduced.",
        "weight": 1,
        "sub_tasks": children,
    }
    tree, problems = validate_data(root, template or "rubrics/templates/scaffold.json")
    errors = [problem for problem in problems if problem.severity == "error"]
    if tree is None or errors:
        raise RubricError(f"the template gives an invalid rubric: {errors[0].describe()}")
    return tree, origin


def paper_title(paper_dir: Path) -> str | None:
    """``title`` from the bundle's ``config.yaml``, when there is one."""
    config = paper_dir / "config.yaml"
    if not config.is_file():
        return None
    try:
        data = yaml.safe_load(config.read_text(encoding="utf-8"))
    except yaml.YAMLError:
        raise PaperError(f"{config}: not valid YAML") from None
    title = data.get("title") if isinstance(data, dict) else None
    return str(title) if title else None


def read_paper(paper_dir: Path) -> PaperOutline:
    """Outline ``paper_dir/paper.md`` (a bundle need not have a rubric yet).

    Raises:
        PaperError: no such folder or no paper.md in it.
    """
    if not paper_dir.is_dir():
        raise PaperError(f"{paper_dir}: no such paper folder")
    paper = paper_dir / "paper.md"
    if not paper.is_file():
        raise PaperError(f"{paper}: missing; a rubric is drafted from the paper's paper.md")
    return outline_paper(paper.read_text(encoding="utf-8"), paper_title(paper_dir))
