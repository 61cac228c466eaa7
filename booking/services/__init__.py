"""Use cases: one function per use case, owning its transaction; no Flask imports."""
