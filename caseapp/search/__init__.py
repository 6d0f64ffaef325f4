"""Full-text search over cases: what a case's search document holds (document), how any
text typed into the search box becomes a safe query (query), the index on SQLite FTS5 or
PostgreSQL tsvector/GIN behind one interface (index), how every write keeps it current
(tracking), and the marked snippet shown with a hit (snippet).

Text is folded once, in Python, for documents and queries alike (text.fold_words), so
both backends see the same words: "Núñez" and "Nunez" are one word everywhere.
"""
