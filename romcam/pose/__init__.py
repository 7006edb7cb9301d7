"""Pose estimation: the MediaPipe adapter, landmark replay, subject selection and model files."""
