"""Persisted documents: GraphQL documents sent by their SHA-256 instead of their text. Apollo's automatic
persisted queries (``store``: Redis in front of PostgreSQL), the trusted documents compiled from
``client/operations`` (``manifest``), and what a request's ``extensions.persistedQuery`` comes to
(``requests``)."""
