"""Ingestion keeps its state on catalog rows (Pattern.status/processing_step, PatternFile.validation)."""
