"""Onboarding: a ready-made first hierarchy from a template."""
