"""Files the ``nbm`` commands write (``leads import --report``, ``digest preview --out``).

A command that found out it could not write its file only when it came to write it would have done
its work by then (leads imported, a plan built and saved) and would end in a traceback. So the path
is checked as the option is read, before the command reads or changes anything (:class:`OutputFile`):
its folder must exist and be one the user can write to, and it must not be a folder or a read-only
file. Then the files are written whole or not at all (:func:`write_whole`): each under a hidden name
beside it, renamed over it in one step once all are written, so a failure half-way (a full disk, an
interrupt) leaves what was there as it was and no file half-written, and is raised as one
:class:`NotWritten` that each command says in one line, exit 1, with what it did or did not do.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Mapping
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


class NotWritten(Exception):
    """A file checked writable that could not be written after all (the disk filled, its folder went, a
    folder took its name): ``str()`` says where and why in words fit for one line, "could not be
    written to PATH: No space left on device", for each command to say with what it did or did not do."""

    def __init__(self, path: Path, cause: OSError) -> None:
        super().__init__(f"could not be written to {path}: {cause.strerror or cause}")
        self.path = path


def write_whole(files: Mapping[Path, str | IO[str]]) -> None:
    """Write each file (path: text, or a text file read from where it stands) whole, or raise
    :class:`NotWritten` naming the first that could not be.

    Each goes to a hidden file beside its target first, created with the usual permissions (the
    umask's); once all are written, each replaces its target in one rename. On any failure every
    hidden file is removed, and so is every target this call created: a failure while writing leaves
    every target as it was; one in the renames (a folder took a target's name) leaves a target that
    was there before replaced whole, never half-written. A symbolic link stays one: the file it
    points to is replaced.
    """
    staged: list[tuple[Path, Path, Path]] = []  # each file as named, its target, its hidden file
    created: list[Path] = []
    current = Path()  # the file being written or renamed, to name it when that fails
    try:
        for current, content in files.items():
            target = current.resolve()
            partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
            staged.append((current, target, partial))
            with partial.open("x", newline="", encoding="utf-8") as out:
                if isinstance(content, str):
                    out.write(content)
                else:
                    shutil.copyfileobj(content, out)
        for current, target, partial in staged:  # noqa: B007 (``current`` names a failure below)
            existed = target.exists()
            os.replace(partial, target)
            if not existed:
                created.append(target)
    except BaseException as exc:
        for leftover in (*(partial for _named, _target, partial in staged), *created):
            leftover.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise NotWritten(current, exc) from exc
        raise
