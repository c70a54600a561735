// Scoring: see the issue list; filled in by its own files.
