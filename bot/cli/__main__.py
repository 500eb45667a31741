"""``python -m bot.cli`` is ``nbm`` (``nbm dev`` starts its processes this way)."""

from bot.cli import main

main()
