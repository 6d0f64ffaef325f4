"""Qt item models over the frozen values services return."""
