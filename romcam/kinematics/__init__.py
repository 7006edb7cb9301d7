"""Pure kinematics: joint angles and signal cleaning (numpy and scipy only)."""
