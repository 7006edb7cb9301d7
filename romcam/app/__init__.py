"""Use cases wired from the parts: analyze (and, later, measure, exercise, batch, calibrate)."""
