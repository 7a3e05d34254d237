"""Report rendering: figures from records, Jinja2 templates, Markdown/.docx/.xlsx writers.

Entry point: templates.report.build.build_report. Wording lives in the *.md.j2 files of this
folder and in annexes.toml; see _phan/README.md.
"""
