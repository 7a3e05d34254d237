"""The .docx writer: an administrative document laid out per Nghị định 30/2020/NĐ-CP.

A4 portrait; margins 20 mm top and bottom, 30 mm left, 15 mm right; Times New Roman (also
for East Asian and complex scripts); body 14 pt, first-line indent 1.27 cm, 6 pt after,
line spacing 1.15. The heading block and the signature are borderless two-column tables;
page numbers are centred in the header and hidden on the first page. A short rule sits
under the subject line; the signer's title and name are separated by space for the
signature and seal. Footnotes are real Word footnotes (a footnotes part written with
python-docx's XML layer). Gaps to fill in ("[CẦN BỔ SUNG: …]") and carried paragraphs to
check ("[RÀ SOÁT …]") are highlighted in yellow.

Every text comes from the rendered template: the parts named in render.PARTS.
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK, WD_COLOR_INDEX
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import XmlPart
from docx.oxml import OxmlElement
from docx.oxml.ns import nsdecls, qn
from docx.oxml.parser import parse_xml
from docx.shared import Cm, Length, Mm, Pt
from docx.table import _Cell
from docx.text.paragraph import Paragraph

from templates.report.markup import Block, parse
from templates.report.render import RenderedReport

FONT = "Times New Roman"
BODY_PT = 14
HEADING_PT = 13
FOOTNOTE_PT = 12
RECIPIENTS_PT = 11
FIRST_LINE_INDENT = Cm(1.27)
TEXT_WIDTH = Mm(210 - 30 - 15)
HEADING_COLUMNS = (Cm(6.3), TEXT_WIDTH - Cm(6.3))
SIGNATURE_COLUMNS = (Cm(7.8), TEXT_WIDTH - Cm(7.8))
SIGNATURE_SPACE = 5  # empty 14 pt lines (about 3 cm) left for the signature and seal
SUBJECT_RULE_INDENT = Cm(5.5)  # the rule under the subject line spans about a third
HIGHLIGHT = WD_COLOR_INDEX.YELLOW
NO_SPACE = Pt(0)

# Elements that follow the one we insert, in the schema's order (ECMA-376 part 1).
AFTER_TBL_BORDERS = (
    "w:shd", "w:tblLayout", "w:tblCellMar", "w:tblLook", "w:tblCaption", "w:tblDescription",
    "w:tblPrChange",
)  # fmt: skip
AFTER_P_BDR = (
    "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap", "w:overflowPunct",
    "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd",
    "w:snapToGrid", "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents",
    "w:suppressOverlap", "w:jc", "w:textDirection", "w:textAlignment", "w:textboxTightWrap",
    "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange",
)  # fmt: skip
AFTER_FOOTNOTE_PR = (
    "w:endnotePr", "w:compat", "w:docVars", "w:rsids", "m:mathPr", "w:attachedSchema",
    "w:themeFontLang", "w:clrSchemeMapping", "w:doNotIncludeSubdocsInStats",
    "w:doNotAutoCompressPictures", "w:forceUpgrade", "w:captions", "w:readModeInkLockDown",
    "w:smartTagType", "sl:schemaLibrary", "w:shapeDefaults", "w:doNotEmbedSmartTags",
    "w:decimalSymbol", "w:listSeparator",
)  # fmt: skip


def to_docx(report: RenderedReport, path: Path | None = None) -> DocxDocument:
    """The document for `report`; saved to `path` when given."""
    document = Document()
    _page_setup(document)
    _base_styles(document)
    _heading_block(document, report)
    _title(document, report)
    footnotes = _Footnotes(document)
    for block in parse(report.parts.get("noi_dung", "")):
        _write_block(document, block, report.notes, footnotes)
    _signature(document, report)
    _page_numbers(document)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        document.save(str(path))
    return document


# --- page and styles --------------------------------------------------------------------


def _page_setup(document: DocxDocument) -> None:
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin = section.bottom_margin = Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    section.header_distance = section.footer_distance = Mm(10)


def _base_styles(document: DocxDocument) -> None:
    """Times New Roman everywhere: document defaults and the Normal style."""
    defaults = document.styles.element.find(qn("w:docDefaults"))
    if defaults is not None:
        r_pr = defaults.find(f"{qn('w:rPrDefault')}/{qn('w:rPr')}")
        if r_pr is not None:
            fonts = r_pr.find(qn("w:rFonts"))
            if fonts is not None:
                r_pr.remove(fonts)
            r_pr.insert(0, _fonts_element())
            lang = r_pr.find(qn("w:lang"))
            if lang is not None:
                lang.set(qn("w:val"), "vi-VN")
    normal = document.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_PT)
    r_fonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        r_fonts.set(qn(attribute), FONT)
    paragraph = normal.paragraph_format
    paragraph.first_line_indent = FIRST_LINE_INDENT
    paragraph.space_before = Pt(0)
    paragraph.space_after = Pt(6)
    paragraph.line_spacing = 1.15
    paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    paragraph.widow_control = True


def _fonts_element() -> OxmlElement:
    fonts = OxmlElement("w:rFonts")
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attribute), FONT)
    return fonts


# --- heading block, title, signature ------------------------------------------------------


def _heading_block(document: DocxDocument, report: RenderedReport) -> None:
    """Left: parent body, issuing body (bold), rule, number. Right: national title (bold),
    motto (bold), rule, place and date (italic)."""
    table = _plain_table(document, rows=2, widths=HEADING_COLUMNS)
    left, right = table.rows[0].cells
    for line in report.lines("co_quan_chu_quan"):
        _cell_line(left, line, HEADING_PT)
    for line in report.lines("co_quan_ban_hanh"):
        _cell_line(left, line, HEADING_PT, bold=True)
    _rule(left, indent=Cm(2.2))
    for line in report.lines("quoc_hieu"):
        _cell_line(right, line, HEADING_PT, bold=True)
    for line in report.lines("tieu_ngu"):
        _cell_line(right, line, BODY_PT, bold=True)
    _rule(right, indent=Cm(1.8))
    number, place = table.rows[1].cells
    for line in report.lines("so_ky_hieu"):
        _cell_line(number, line, HEADING_PT, space_before=Pt(4))
    for line in report.lines("dia_danh_ngay"):
        _cell_line(place, line, BODY_PT, italic=True, space_before=Pt(4))


def _title(document: DocxDocument, report: RenderedReport) -> None:
    """Document type and subject, bold and centred, a short rule below, the addressee."""
    first = True
    for line in report.lines("loai_van_ban") + report.lines("trich_yeu"):
        paragraph = _centred(document, space_before=Pt(18) if first else NO_SPACE)
        _run(paragraph, line, bold=True)
        first = False
    if report.lines("trich_yeu"):
        rule = _centred(document, space_after=Pt(6))
        _bottom_border(rule, SUBJECT_RULE_INDENT)
    for line in report.lines("kinh_gui_dong"):
        _run(_centred(document, space_before=Pt(6), space_after=Pt(12)), line)


def _signature(document: DocxDocument, report: RenderedReport) -> None:
    """Recipients on the left, the signer on the right; the row never splits over two
    pages, so the name is not left alone on the last one."""
    table = _plain_table(document, rows=1, widths=SIGNATURE_COLUMNS)
    table.rows[0]._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
    left, right = table.rows[0].cells
    for line in report.lines("noi_nhan_tieu_de"):
        paragraph = _cell_paragraph(left, WD_ALIGN_PARAGRAPH.LEFT)
        _run(paragraph, line, size=FOOTNOTE_PT, bold=True, italic=True)
    for line in report.lines("noi_nhan"):
        paragraph = _cell_paragraph(left, WD_ALIGN_PARAGRAPH.LEFT)
        _run(paragraph, f"- {line}", size=RECIPIENTS_PT)
    for line in report.lines("chuc_vu_ky"):
        _cell_line(right, line, BODY_PT, bold=True)
    for _ in range(SIGNATURE_SPACE):  # new paragraphs: _cell_paragraph reuses an empty one
        spacer = right.add_paragraph()
        spacer.paragraph_format.space_after = NO_SPACE
        spacer.paragraph_format.first_line_indent = Cm(0)
        spacer.paragraph_format.line_spacing = 1.0
    for line in report.lines("nguoi_ky"):
        _cell_line(right, line, BODY_PT, bold=True)


def _plain_table(document: DocxDocument, rows: int, widths: tuple[Length, Length]):
    """A two-column table without borders, as wide as the text."""
    table = document.add_table(rows=rows, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    _insert_ordered(table._tbl.tblPr, borders, AFTER_TBL_BORDERS)
    for row in table.rows:
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = width
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
    return table


def _cell_paragraph(cell: _Cell, alignment: WD_ALIGN_PARAGRAPH) -> Paragraph:
    """The cell's first, still empty paragraph, or a new one; no indent, tight spacing."""
    paragraph = cell.paragraphs[-1]
    if len(cell.paragraphs) > 1 or paragraph.text or paragraph.runs or len(paragraph._p) > 1:
        paragraph = cell.add_paragraph()
    paragraph_format = paragraph.paragraph_format
    paragraph_format.alignment = alignment
    paragraph_format.first_line_indent = Cm(0)
    paragraph_format.space_after = Pt(0)
    paragraph_format.line_spacing = 1.0
    return paragraph


def _cell_line(
    cell: _Cell,
    text: str,
    size: int,
    *,
    bold: bool = False,
    italic: bool = False,
    space_before: Length | None = None,
) -> None:
    paragraph = _cell_paragraph(cell, WD_ALIGN_PARAGRAPH.CENTER)
    if space_before is not None:
        paragraph.paragraph_format.space_before = space_before
    _run(paragraph, text, size=size, bold=bold, italic=italic)


def _rule(cell: _Cell, indent: Length) -> None:
    """A short centred horizontal line under the text above (a bottom border)."""
    _bottom_border(_cell_paragraph(cell, WD_ALIGN_PARAGRAPH.CENTER), indent)


def _bottom_border(paragraph: Paragraph, indent: Length) -> None:
    """Make an empty paragraph a thin centred line, `indent` in from each side."""
    paragraph_format = paragraph.paragraph_format
    paragraph_format.left_indent = paragraph_format.right_indent = indent
    paragraph_format.line_spacing = Pt(4)
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for name, value in (
        ("w:val", "single"),
        ("w:sz", "6"),
        ("w:space", "1"),
        ("w:color", "000000"),
    ):
        bottom.set(qn(name), value)
    borders.append(bottom)
    _insert_ordered(paragraph._p.get_or_add_pPr(), borders, AFTER_P_BDR)


def _centred(
    document: DocxDocument, space_before: Length = NO_SPACE, space_after: Length = NO_SPACE
) -> Paragraph:
    paragraph = document.add_paragraph()
    paragraph_format = paragraph.paragraph_format
    paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph_format.first_line_indent = Cm(0)
    paragraph_format.space_before = space_before
    paragraph_format.space_after = space_after
    paragraph_format.keep_with_next = True
    return paragraph


def _run(
    paragraph: Paragraph,
    text: str,
    *,
    size: int | None = None,
    bold: bool = False,
    italic: bool = False,
    highlight: bool = False,
):
    """A run; line breaks inside the text become Word line breaks, runs of spaces stay
    (the blank day of the date)."""
    run = paragraph.add_run()
    for index, line in enumerate(text.split("\n")):
        if index:
            run.add_break(WD_BREAK.LINE)
        if line:
            run.add_text(line)
    for text_element in run._r.findall(qn("w:t")):
        text_element.set(qn("xml:space"), "preserve")
    run.bold = bold or None
    run.italic = italic or None
    if highlight:
        run.font.highlight_color = HIGHLIGHT
    if size is not None:
        run.font.size = Pt(size)
    return run


# --- body -------------------------------------------------------------------------------


def _write_block(
    document: DocxDocument, block: Block, notes: list[str], footnotes: _Footnotes
) -> None:
    paragraph = document.add_paragraph()
    heading = block.level > 0
    if heading:
        paragraph.paragraph_format.keep_with_next = True
        paragraph.paragraph_format.space_before = Pt(6)
    for span in block.spans:
        if span.note is not None:
            footnotes.reference(paragraph, notes[span.note])
            continue
        _run(
            paragraph,
            span.text,
            bold=span.bold or heading,
            italic=span.italic or block.level == 4,
            highlight=span.highlight,
        )


class _Footnotes:
    """Real Word footnotes: a /word/footnotes.xml part created on first use."""

    def __init__(self, document: DocxDocument) -> None:
        self.document = document
        self.root = None
        self.next_id = 1

    def reference(self, paragraph: Paragraph, text: str) -> None:
        """A superscript footnote mark in `paragraph`, with `text` at the page foot."""
        note_id = self._add(text)
        run = paragraph.add_run()
        run.font.superscript = True
        mark = OxmlElement("w:footnoteReference")
        mark.set(qn("w:id"), str(note_id))
        run._r.append(mark)

    def _add(self, text: str) -> int:
        if self.root is None:
            self._create_part()
        note_id = self.next_id
        self.next_id += 1
        footnote = OxmlElement("w:footnote")
        footnote.set(qn("w:id"), str(note_id))
        self.root.append(footnote)
        paragraph = Paragraph(_new_paragraph(footnote), None)
        paragraph_format = paragraph.paragraph_format
        paragraph_format.first_line_indent = Cm(0)
        paragraph_format.space_after = Pt(0)
        paragraph_format.line_spacing = 1.0
        mark = paragraph.add_run()
        mark.font.superscript = True
        mark.font.size = Pt(FOOTNOTE_PT)
        mark._r.append(OxmlElement("w:footnoteRef"))
        _run(paragraph, f" {text}", size=FOOTNOTE_PT)
        return note_id

    def _create_part(self) -> None:
        separator = (
            '<w:footnote w:type="{kind}" w:id="{id}"><w:p><w:pPr>'
            '<w:spacing w:after="0" w:line="240" w:lineRule="auto"/></w:pPr>'
            "<w:r><w:{kind}/></w:r></w:p></w:footnote>"
        )
        xml = (
            f"<w:footnotes {nsdecls('w', 'r')}>"
            + separator.format(kind="separator", id=-1)
            + separator.format(kind="continuationSeparator", id=0)
            + "</w:footnotes>"
        )
        self.root = parse_xml(xml)
        document_part = self.document.part
        part = XmlPart(
            PackURI("/word/footnotes.xml"), CT.WML_FOOTNOTES, self.root, document_part.package
        )
        document_part.relate_to(part, RT.FOOTNOTES)
        settings = self.document.settings.element
        properties = OxmlElement("w:footnotePr")
        for note_id in (-1, 0):
            entry = OxmlElement("w:footnote")
            entry.set(qn("w:id"), str(note_id))
            properties.append(entry)
        _insert_ordered(settings, properties, AFTER_FOOTNOTE_PR)


def _new_paragraph(parent) -> OxmlElement:
    paragraph = OxmlElement("w:p")
    parent.append(paragraph)
    return paragraph


# --- page numbers -----------------------------------------------------------------------


def _page_numbers(document: DocxDocument) -> None:
    """PAGE field centred in the header; the first page has its own, empty header."""
    section = document.sections[0]
    section.different_first_page_header_footer = True
    section.first_page_header.is_linked_to_previous = False
    paragraph = section.header.paragraphs[0]
    paragraph.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.first_line_indent = Cm(0)
    for kind, text in (("begin", None), ("instr", " PAGE "), ("separate", None), ("", "1")):
        run = paragraph.add_run()
        run.font.size = Pt(HEADING_PT)
        if kind == "instr":
            instruction = OxmlElement("w:instrText")
            instruction.set(qn("xml:space"), "preserve")
            instruction.text = text
            run._r.append(instruction)
        elif kind:
            run._r.append(_field_char(kind))
        else:
            run.add_text(text)
    end = paragraph.add_run()
    end.font.size = Pt(HEADING_PT)
    end._r.append(_field_char("end"))


def _field_char(kind: str) -> OxmlElement:
    element = OxmlElement("w:fldChar")
    element.set(qn("w:fldCharType"), kind)
    return element


def _insert_ordered(parent, child, successors: tuple[str, ...]) -> None:
    """Insert `child` before the first of its schema successors (replacing an old one)."""
    existing = parent.find(child.tag)
    if existing is not None:
        parent.remove(existing)
    parent.insert_element_before(child, *successors)
