"""Writing results: tables, JSON, plots and annotated video."""
