"""The draft as an HTML fragment for the web workspace: the same parts the .docx lays out,
every text escaped, gaps and review markers highlighted, each figure linked to the records
it counts, footnotes numbered at the end."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from templates.report.markup import GAP_PREFIX, Block, Span, parse
from templates.report.render import RenderedReport

HEADING_TAGS = {1: "h2", 2: "h3", 3: "h4", 4: "h5"}


def to_html(report: RenderedReport, ref_url: Callable[[int], str]) -> str:
    """`ref_url(index)` is the address listing the records behind figure `index`."""
    notes: dict[int, int] = {}  # note index in the report -> number shown
    out = ['<article class="draft">']
    title = report.lines("loai_van_ban") + report.lines("trich_yeu")
    out += [f'<p class="draft-title">{escape(line)}</p>' for line in title]
    out += [f'<p class="draft-to">{escape(line)}</p>' for line in report.lines("kinh_gui_dong")]
    for block in parse(report.parts.get("noi_dung", "")):
        out.append(_block(block, ref_url, notes))
    out.append('<div class="draft-signature">')
    out += [f"<p><strong>{escape(line)}</strong></p>" for line in report.lines("chuc_vu_ky")]
    out += [f"<p><strong>{escape(line)}</strong></p>" for line in report.lines("nguoi_ky")]
    out.append("</div>")
    if notes:
        out.append('<ol class="footnotes">')
        for index, number in sorted(notes.items(), key=lambda item: item[1]):
            out.append(f'<li id="fn-{number}">{escape(report.notes[index])}</li>')
        out.append("</ol>")
    out.append("</article>")
    return "\n".join(out)


def _block(block: Block, ref_url: Callable[[int], str], notes: dict[int, int]) -> str:
    tag = HEADING_TAGS.get(block.level, "p")
    body = "".join(_span(span, ref_url, notes) for span in _merged(block.spans))
    return f"<{tag}>{body}</{tag}>"


def _merged(spans: list[Span]) -> list[Span]:
    """Neighbouring spans of one style (and one figure) as one."""
    merged: list[Span] = []
    for span in spans:
        last = merged[-1] if merged else None
        same = last is not None and span.note is None and last.note is None
        if same and (last.bold, last.italic, last.highlight, last.ref) == (
            span.bold, span.italic, span.highlight, span.ref
        ):  # fmt: skip
            last.text += span.text
        else:
            merged.append(
                Span(span.text, span.bold, span.italic, span.highlight, span.ref, span.note)
            )
    return merged


def _span(span: Span, ref_url: Callable[[int], str], notes: dict[int, int]) -> str:
    if span.note is not None:
        number = notes.setdefault(span.note, len(notes) + 1)
        return f'<sup><a href="#fn-{number}">{number}</a></sup>'
    html = escape(span.text)
    if span.ref is not None:
        html = f'<a class="figure" href="{escape(ref_url(span.ref))}">{html}</a>'
    if span.bold:
        html = f"<strong>{html}</strong>"
    if span.italic:
        html = f"<em>{html}</em>"
    if span.highlight:
        kind = "gap" if span.text.startswith(GAP_PREFIX) else "review"
        html = f'<mark class="{kind}">{html}</mark>'
    return html
