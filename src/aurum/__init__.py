"""Aurum Life API: the GraphQL server behind the life operating system."""
