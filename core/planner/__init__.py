"""The next-best-move planner: capacity, candidate ordering, and the daily plan."""
