"""Time tracking: timers and manual entries on tasks, the time spent, and what it teaches about estimates."""
