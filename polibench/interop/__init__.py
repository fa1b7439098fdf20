"""Bridges to other robot-learning toolkits (LeRobot); each imports its toolkit lazily, so it stays optional."""
