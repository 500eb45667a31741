"""Files the ``nbm`` commands write (``leads import --report``, ``digest preview --out``).

A command that found out it could not write its file only when it came to write it would have done
its work by then (leads imported, a plan built and saved) and would end in a traceback. So the path
is checked as the option is read, before the command reads or changes anything (:class:`OutputFile`):
its folder must exist and be one the user can write to, and it must not be a folder or a read-only
file. Then the file is written whole or not at all (:func:`write_whole`): under a hidden name beside
it, renamed over it in one step, so a failure half-way (a full disk, an interrupt) leaves what was
there as it was.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path
from typing import IO

import click


def unwritable(path: Path) -> str | None:
    """Why ``path`` cannot be written as a file, said with what to do instead; None when it can.

    A symbolic link is followed: its target is the file written (see :func:`write_whole`).
    """
    target = path.resolve()
    folder = target.parent
    if not folder.exists():
        return f"the folder {folder} does not exist; create it, or name a file in a folder that exists"
    if not folder.is_dir():
        return f"{folder} is not a folder; name a file inside a folder"
    if target.is_dir():
        return f"{path} is a folder; name a file to write (inside it or elsewhere)"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"the folder {folder} cannot be written to; name a file in a folder you can write to"
    if target.exists() and not os.access(target, os.W_OK):
        return f"{path} is read-only; name another file, or make it writable"
    return None


class OutputFile(click.ParamType):
    """The path of a file the command will write, refused at once when it cannot be (:func:`unwritable`)."""

    name = "FILE"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> Path:
        path = value if isinstance(value, Path) else Path(str(value))
        problem = unwritable(path)
        if problem is not None:
            self.fail(problem, param, ctx)
        return path


OUTPUT_FILE = OutputFile()


def write_whole(path: Path, content: str | IO[str]) -> None:
    """Write ``content`` (text, or a text file read from where it stands) to ``path`` whole or not at all.

    It goes to a hidden file beside the target first, created with the usual permissions (the
    umask's), which then replaces the target in one rename; on any failure the hidden file is removed
    and the target is as it was. A symbolic link stays one: the file it points to is replaced.
    """
    target = path.resolve()
    partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
    try:
        with partial.open("x", newline="", encoding="utf-8") as out:
            if isinstance(content, str):
                out.write(content)
            else:
                shutil.copyfileobj(content, out)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
