"""Pages and documents from results: the head report (HTML, JSON, Markdown), the sweep
and zoo pages, plotly figures, and reading written sets back. Never imports what runs
a model; plotly lives here only.
"""
