"""The path every command shares, from frames to evidence-carrying results (numpy only; no OpenCV, MediaPipe
or matplotlib: the estimator comes in through the ``PoseEstimator`` protocol, corrections as plain values).

- ``stream``: frames → ``PoseSequence`` through any ``PoseEstimator``.
- ``offline``: zero-lag cleaning of a whole sequence: left/right repair, masking, gap filling, filtering,
  per-frame evidence and flags.
- ``live``: the causal cleaning of one frame at a time for live sessions.
- ``evaluate``: summaries and confidence from a cleaned sequence.
"""
