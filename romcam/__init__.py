"""romcam: joint range of motion from a webcam or a video."""

__version__ = "0.1.0"
