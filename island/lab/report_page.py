"""report.html: a summary paragraph first, then the table, the champions in action and
the figures, each with a caption that says what to look at. One self-contained file.
"""

from __future__ import annotations

import base64
import html
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

COLUMNS = [("island", "island"), ("env", "env"), ("kind", "kind"), ("rule_family", "rule family"),
           ("generations", "generations"), ("evaluations", "evaluations"),
           ("best_training", "best training fitness"), ("champion", "champion validation"),
           ("held_out_mean", "held-out mean"),
           ("migrants_received", "migrants received"),
           ("migrants_injected", "migrants injected"),
           ("migrants_became_best", "migrants that became best")]
# The headline ranks by held-out score whenever there is one: the run's own (100 lifetimes
# at its end) or, for a run without it, the report's re-score on `held_out_rescored`'s
# lifetimes (the strategies panel's); a validation score only when no island has either.
RANKED_BY = (("held_out", "held-out mean"), ("champion", "champion validation score"),
             ("best_training", "best training fitness"))
NOT_COEFFICIENTS = {"eta", "decay", "modulation"}


@dataclass
class Figure:
    """A picture of the report and the sentence that tells the reader what to look at."""

    title: str
    path: Path
    caption: str


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def strategy(kind: str, rules: dict[str, float]) -> str:
    """What an island's rule does, in a phrase read off its parameters."""
    if kind == "weights" or not rules:
        return "fixed evolved weights, no plasticity"
    by_param: dict[str, list[float]] = {}
    for key, value in rules.items():
        if isinstance(value, int | float) and math.isfinite(value):
            by_param.setdefault(key.split(".", 1)[-1], []).append(float(value))
    etas = [v for v in by_param.get("eta", []) if v > 0]
    eta = math.exp(sum(math.log(v) for v in etas) / len(etas)) if etas else None
    if eta is not None and eta < 1e-4:
        return (f"plasticity all but off (learning rate {eta:.1g})"
                + (": it relies on its evolved weights" if "weights" in kind else ""))
    parts = [f"learning rate {eta:.2g}"] if eta is not None else []
    terms = {name: sum(abs(v) for v in values) / len(values)
             for name, values in by_param.items() if name not in NOT_COEFFICIENTS}
    if terms:
        top = sorted(terms, key=terms.get, reverse=True)[:2]
        parts.append("driven by the " + " and ".join(f"{t} term (|{terms[t]:.2g}|)" for t in top))
    if by_param.get("modulation"):
        gain = sum(by_param["modulation"]) / len(by_param["modulation"])
        parts.append(f"reward gain {gain:+.2g}")
    return ", ".join(parts) or "a rule without named parameters"


def summary_paragraph(rows: list[dict[str, Any]], strategies: dict[str, str]) -> str:
    """Who won, by how much, on what measure, and what each island found."""
    if not rows:
        return "No island logged a generation."
    rows = [{**r, "held_out": r.get("held_out_mean") if r.get("held_out_mean") is not None
             else r.get("held_out_rescored")} for r in rows]
    key, measure = next(((k, m) for k, m in RANKED_BY
                         if any(r.get(k) is not None for r in rows)), RANKED_BY[-1])
    ranked = sorted((r for r in rows if r.get(key) is not None), key=lambda r: -r[key])
    envs = sorted({str(r.get("env")) for r in rows})
    text = f"{len(rows)} islands on {', '.join(envs)}. "
    if ranked:
        top = ranked[0][key]
        winners = [r for r in ranked if top - r[key] < 0.05]
        rest = ranked[len(winners):]
        names = [f"<b>{html.escape(r['island'])}</b>" for r in winners]
        if len(winners) == 1:
            text += f"{names[0]} won with a {measure} of {top:.1f}"
        else:
            text += (f"{', '.join(names[:-1])} and {names[-1]} tied with a {measure} of "
                     f"{top:.1f}")
        if rest:
            text += (f", {top - rest[0][key]:.1f} ahead of {html.escape(rest[0]['island'])} "
                     f"({rest[0][key]:.1f})")
        text += "."
        if key == "held_out" and any(r.get("held_out_mean") is None for r in ranked):
            text += (" (A run without a held-out score of its own is scored by this report on "
                     "the strategies panel's held-out lifetimes.)")
        if key != "held_out":
            text += " No island has a held-out score yet (a run still going or stopped early)."
    found = "; ".join(f"{html.escape(r['island'])} ({html.escape(str(r.get('kind')))}): "
                      f"{html.escape(strategies.get(r['island'], '?'))}" for r in rows)
    return f"{text} What each found: {found}."


def _data_uri(path: Path, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"


def _png_width(path: Path) -> int:
    """Pixel width from the PNG header, so the page shows the figure at its own size."""
    return int.from_bytes(path.read_bytes()[16:20], "big")


def render_html(rows: list[dict[str, Any]], summary: str, figures: list[Figure],
                videos: dict[str, tuple[Path, str]], extra: str = "") -> str:
    """The whole page: summary, table, champion GIFs, captioned figures, then `extra`."""
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label in COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell(row[key]))}</td>" for key, _ in COLUMNS)
        + "</tr>" for row in rows)
    clips = "".join(
        f"<figure class=\"clip\"><img alt=\"{html.escape(name)} champion\" "
        f"src=\"{_data_uri(gif, 'image/gif')}\"><figcaption><b>{html.escape(name)}</b>: "
        f"{html.escape(note)}</figcaption></figure>" for name, (gif, note) in videos.items())
    if clips:
        clips = ("<h2>Champions in action</h2><p class=\"caption\">Each island's best genome "
                 "in its first held-out episode (seeds no training generation drew).</p>"
                 f"<div class=\"clips\">{clips}</div>")
    pictures = "".join(
        f"<figure><h2>{html.escape(f.title)}</h2><img alt=\"{html.escape(f.title)}\" "
        f"width=\"{_png_width(f.path)}\" src=\"{_data_uri(f.path, 'image/png')}\">"
        f"<figcaption class=\"caption\">{html.escape(f.caption)}</figcaption></figure>"
        for f in figures)
    return (
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>island-network report"
        "</title><style>body{font-family:sans-serif;margin:2em;max-width:1300px;"
        "line-height:1.45}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
        "padding:4px 8px;text-align:right;white-space:nowrap}th{white-space:normal}"
        "img{max-width:100%;height:auto}"
        ".summary{font-size:1.1em;max-width:60em}.caption{color:#333;max-width:60em}"
        "figure{margin:1.5em 0}.clips{display:flex;flex-wrap:wrap;gap:1em}"
        ".clips figure{margin:0;max-width:260px}</style></head>"
        "<body><h1>island-network report</h1>"
        f"<p class=\"summary\">{summary}</p>"
        f"<table><tr>{head}</tr>{body}</table>{clips}{pictures}{extra}</body></html>\n"
    )


def format_table(rows: list[dict[str, Any]]) -> str:
    """The summary table as aligned plain text, for the terminal."""
    table = [[label for _, label in COLUMNS]] + [[cell(r[k]) for k, _ in COLUMNS] for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True))
                     for line in table)
