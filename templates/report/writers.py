"""The outputs of a report: Markdown, .docx and two .xlsx files.

`to_markdown` is the template's own text with footnotes as [^n] notes; `to_docx` lays the
same parts out as an official document (docx_writer); `to_xlsx` writes the annex tables
sent with the report and `to_data_xlsx` one sheet per activity type of the records it
counts (xlsx_writer).
"""

from __future__ import annotations

from templates.report import markup
from templates.report.docx_writer import to_docx
from templates.report.render import RenderedReport
from templates.report.xlsx_writer import to_data_xlsx, to_xlsx

__all__ = ["to_data_xlsx", "to_docx", "to_markdown", "to_plain_text", "to_xlsx"]


def to_markdown(report: RenderedReport) -> str:
    return report.markdown()


def to_plain_text(report: RenderedReport, part: str = "noi_dung") -> str:
    """One part as plain paragraphs, without Markdown marks or footnotes: a chat preview."""
    blocks = markup.parse(report.parts.get(part, ""))
    return "\n\n".join(block.text.strip() for block in blocks if block.text.strip())
