"""RQ jobs (functions that take ids and are safe to run twice) and the schedule that enqueues them."""
