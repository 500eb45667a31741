"""Email: the morning digest and weekly summary, their signed links, and the backends that send them."""
