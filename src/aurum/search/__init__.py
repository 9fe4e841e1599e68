"""Full-text search over the viewer's objects (PostgreSQL tsvector, GIN indexes, one statement per search)."""
