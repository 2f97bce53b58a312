"""The canonical transcript and everything that is a pure function of it:
building it, speakers, edits, the page's HTML and the compact copy exports
read. Nothing here imports Django, so all of it is tested without a database
(an import-graph test keeps it that way)."""
