"""Files attached to the hierarchy: upload, download, storage and clean-up."""
