"""The HRM over GraphQL."""
