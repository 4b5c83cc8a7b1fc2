"""Terminal tables for a judge evaluation and for one submission's agreement with its gold
(what ``paperbench grade --gold FILE`` prints after grading). Every string from a file is
escaped for rich's markup."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from paperbench.judge_eval.agreement import Agreement, LeafNote
from paperbench.judge_eval.metrics import Metrics
from paperbench.judge_eval.result import JudgeEvalReport


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _metrics_row(label: str, m: Metrics) -> list[str]:
    return [
        escape(label),
        str(m.leaves),
        _num(m.accuracy),
        _num(m.precision),
        _num(m.recall),
        _num(m.f1),
        _num(m.macro_f1),
        str(m.invalid),
        str(m.not_judged),
    ]


_METRIC_COLUMNS = (
    "leaves",
    "accuracy",
    "precision",
    "recall",
    "F1 passed",
    "macro-F1",
    "invalid",
    "not judged",
)


def print_report(report: JudgeEvalReport, console: Console) -> None:
    """Agreement per configuration (and per category), then what each cost per submission,
    then PaperBench's published figures for reference."""
    agreement = Table("configuration", *_METRIC_COLUMNS, title="Agreement with the gold")
    for config in report.configurations:
        agreement.add_row(*_metrics_row(config.label, config.metrics.overall))
        for category, m in config.metrics.per_category.items():
            agreement.add_row(*_metrics_row(f"  {category}", m), style="dim")
    console.print(agreement)

    cost = Table(
        "configuration",
        "root |err|",
        "bias",
        "consistency",
        "calls/paper",
        "input/paper",
        "cached/paper",
        "output/paper",
        "$/paper",
        "time/paper",
        title="Root score, consistency and cost",
    )
    for config in report.configurations:
        c = config.cost
        n = max(c.submissions_graded, 1)
        dollars = (
            "unknown"
            if c.cost_usd_per_submission is None
            else (f"${c.cost_usd_per_submission:.4f}")
        )
        agree = config.consistency
        cost.add_row(
            escape(config.label),
            _num(config.root_mean_abs_error),
            "-" if config.root_mean_error is None else f"{config.root_mean_error:+.3f}",
            "-" if agree is None else _num(agree.leaf_agreement),
            f"{c.calls_per_submission:.1f}",
            f"{c.input_tokens / n:,.0f}",
            f"{c.cached_input_tokens / n:,.0f}",
            f"{c.output_tokens / n:,.0f}",
            dollars,
            f"{c.seconds_per_submission:.1f} s",
        )
    console.print(cost)

    reference = Table(
        "judge",
        "macro-F1",
        "Code Dev.",
        "Code Exec.",
        "Result An.",
        "$/paper",
        title="PaperBench's published figures (other papers, for reference)",
    )
    for published in report.reference:
        per = published.per_category
        reference.add_row(
            escape(published.judge),
            f"{published.macro_f1:.2f}",
            *(f"{per[c]:.2f}" for c in ("Code Development", "Code Execution", "Result Analysis")),
            "-" if published.usd_per_paper is None else f"${published.usd_per_paper:.2f}",
        )
    console.print(reference)


def _note(note: LeafNote) -> str:
    judged = "-" if note.judged is None else f"{note.judged:g}"
    return (
        f"  {escape(note.path)} ({escape(note.category)}): gold {note.gold}, judge {judged}: "
        f"{escape(note.requirements.strip()[:120])}"
    )


def print_agreement(result: Agreement, console: Console, *, limit: int = 10) -> None:
    """One submission's agreement with its gold: figures overall and per category, the root
    scores, and the leaves that disagree or were not graded (the first ``limit`` of each)."""
    table = Table("leaves", *_METRIC_COLUMNS, title="Agreement with the gold grades")
    table.add_row(*_metrics_row("all", result.metrics.overall))
    for category, m in result.metrics.per_category.items():
        table.add_row(*_metrics_row(category, m))
    console.print(table)
    error = "-" if result.root_error is None else f"{result.root_error:+.3f}"
    console.print(
        f"root score: judge {_num(result.judged_root)}, gold {_num(result.gold_root)} "
        f"(error {error}, over the items the judge graded)"
    )
    for title, notes, colour in (
        ("disagree with the gold", result.disagreements, "yellow"),
        ("left invalid by the judge (not counted)", result.invalid, "red"),
        ("not judged: no reproduction (not counted)", result.not_judged, "yellow"),
    ):
        if not notes:
            continue
        console.print(f"[{colour}]{len(notes)} leaves {title}:[/]")
        for note in notes[:limit]:
            console.print(_note(note))
        if len(notes) > limit:
            console.print(f"  ... and {len(notes) - limit} more")
