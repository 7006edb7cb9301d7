"""Frame sources: webcam index, video file or single image, with float-second timestamps."""
