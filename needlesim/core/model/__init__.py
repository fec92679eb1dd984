"""The scene, the trajectory, the frame and angle conventions, the result records."""
