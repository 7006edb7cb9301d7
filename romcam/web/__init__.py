"""``romcam serve``: the local browser app, a new face on the same live pipeline (``pipeline.stream.drive``)."""
