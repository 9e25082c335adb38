"""Long-running modes in several processes: one acknowledges, workers answer (docs/scaling.md)."""
