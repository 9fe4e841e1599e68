"""Reports computed from the hierarchy: the alignment report."""
