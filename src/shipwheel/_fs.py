"""Files: the one bounded reader of regular files (:func:`read_limited`), the one safe tree copy
(:func:`copy_tree`), and writing into a folder without ever following a symbolic link planted inside it.

A wheelhouse or a staging folder may hold links someone else put there (``x.whl.part -> ~/.bashrc``,
``simple -> /etc``). Whatever the folder holds, shipwheel only writes into files it created itself: a link in
the way is removed (replaced), never opened, appended to or renamed into place. The folder the user named may
itself be a link (a wheelhouse on another disk); only what lies *inside* it is distrusted.

Where the platform has ``dir_fd`` support (Linux, macOS) sub-folders are walked with ``O_NOFOLLOW`` descriptors,
so a link swapped in between a check and a write still cannot redirect it; elsewhere (Windows) the same checks
run on paths, where ``lstat`` tells links apart.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "TEXT_LIMIT",
    "copy_tree",
    "ensure_not_link",
    "open_new_or_append",
    "plan_tree_copy",
    "read_limited",
    "read_text",
    "regular_size",
    "write_atomic",
    "write_file",
    "write_inside",
]

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_BINARY = getattr(os, "O_BINARY", 0)
_DIR_FD = {os.open, os.mkdir, os.unlink, os.rename} <= os.supports_dir_fd and bool(_NOFOLLOW and _DIRECTORY)


def ensure_not_link(path: Path) -> None:
    """Remove ``path`` if it is a symbolic link (or anything but a regular file or folder)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        path.unlink()


def regular_size(path: Path) -> int | None:
    """The size of ``path`` when it is a regular file (not a link to one), else ``None``."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    return st.st_size if stat.S_ISREG(st.st_mode) else None


def open_new_or_append(path: Path, append: bool) -> BinaryIO:
    """Open the regular file ``path`` for writing (appending, or truncated), never through a link: a link at
    ``path`` is removed first, and ``O_NOFOLLOW`` refuses one planted after that check."""
    ensure_not_link(path)
    flags = os.O_WRONLY | os.O_CREAT | _NOFOLLOW | _BINARY | (os.O_APPEND if append else os.O_TRUNC)
    fd = os.open(path, flags, 0o644)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise IsADirectoryError(f"{path} is not a regular file")
        fh = os.fdopen(fd, "ab" if append else "wb")
        fh.raw.name = str(path)  # type: ignore[attr-defined]  # messages name the file, not its descriptor
        return fh
    except BaseException:
        os.close(fd)
        raise


def _subdir(parent: int, name: str) -> int:
    """The descriptor of folder ``name`` in the folder ``parent``, created if missing; a link or file there is
    replaced by a real folder."""
    for _ in range(8):
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, 0o755, dir_fd=parent)
        try:
            return os.open(name, os.O_RDONLY | _DIRECTORY | _NOFOLLOW, dir_fd=parent)
        except OSError as exc:
            # ELOOP (a link) or ENOTDIR (a file): replace it; anything else is a real error.
            if exc.errno not in {errno.ELOOP, errno.ENOTDIR, errno.ENOENT}:
                raise
        try:
            os.unlink(name, dir_fd=parent)
        except OSError as exc:
            # Another writer of the same tree (stage writes index pages at once) may have removed the link and made
            # the real folder since we looked: gone (ENOENT) or now a folder (EISDIR on Linux, EPERM on macOS) means
            # the next round opens it.
            if exc.errno not in {errno.ENOENT, errno.EISDIR, errno.EPERM}:
                raise
            if exc.errno == errno.EPERM and not _is_real_folder(name, parent):
                raise
    raise OSError(f"{name} keeps being replaced while shipwheel writes into it")


def _is_real_folder(path: str | Path, parent: int | None = None) -> bool:
    """Whether ``path`` (in the folder ``parent``, if given) is a folder itself, not a link to one."""
    try:
        return stat.S_ISDIR(os.stat(path, dir_fd=parent, follow_symlinks=False).st_mode)
    except FileNotFoundError:
        return False


@contextlib.contextmanager
def _folder(root: Path, parts: Sequence[str]) -> Iterator[int]:
    fd = os.open(root, os.O_RDONLY | _DIRECTORY)
    try:
        for part in parts:
            sub = _subdir(fd, part)
            os.close(fd)
            fd = sub
        yield fd
    finally:
        os.close(fd)


def write_atomic(
    root: Path,
    parts: Sequence[str],
    chunks: Iterable[bytes],
    *,
    mode: int | None = None,
    durable: bool = False,
) -> None:
    """Write ``chunks`` to ``root/parts...`` through a new temporary file and an atomic rename; no link inside
    ``root`` (an intermediate folder or the target) is followed. ``parts`` are plain names (the caller checked
    them: no ``/``, ``..``). ``mode`` sets the permissions (else 0o644 less the umask); ``durable`` syncs the
    file to disk before the rename (a record that must survive a power cut, not only a crash)."""
    root.mkdir(parents=True, exist_ok=True)
    *folders, name = parts
    tmp = f".{name}.{secrets.token_hex(6)}.tmp"
    if not _DIR_FD:
        _write_atomic_paths(root, folders, name, tmp, chunks, durable)
        if mode is not None:
            os.chmod(root.joinpath(*folders, name), mode)
        return
    with _folder(root, folders) as dfd:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o644, dir_fd=dfd)
        try:
            if mode is not None:
                os.fchmod(fd, mode)
            _write_chunks(fd, chunks, durable)
            # rename() replaces a link at the target itself; it never writes through it.
            os.rename(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=dfd)
            raise


def _write_chunks(fd: int, chunks: Iterable[bytes], durable: bool) -> None:
    """Write ``chunks`` to the new file ``fd`` and close it; ``durable`` syncs it to disk first."""
    with os.fdopen(fd, "wb") as out:
        for block in chunks:
            out.write(block)
        if durable:
            out.flush()
            os.fsync(out.fileno())


def _write_atomic_paths(
    root: Path, folders: Sequence[str], name: str, tmp: str, chunks: Iterable[bytes], durable: bool
) -> None:
    folder = root
    for part in folders:
        folder = folder / part
        _real_folder_at(folder)
    path = folder / tmp
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY, 0o644)
    try:
        _write_chunks(fd, chunks, durable)
        os.replace(path, folder / name)
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink()
        raise


def _real_folder_at(folder: Path) -> None:
    """Without descriptors: make ``folder`` a real folder, replacing a link or file there (as ``_subdir``)."""
    for _ in range(8):
        with contextlib.suppress(FileExistsError):
            folder.mkdir()
        if _is_real_folder(folder):
            return
        try:
            folder.unlink()
        except OSError as exc:
            # another writer of the same tree removed it, or made the real folder since we looked
            if not isinstance(exc, FileNotFoundError) and not _is_real_folder(folder):
                raise
    raise OSError(f"{folder} keeps being replaced while shipwheel writes into it")


def _mode_of(path: Path) -> int | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return stat.S_IMODE(st.st_mode) if stat.S_ISREG(st.st_mode) else None


def write_file(path: Path, data: bytes | str) -> None:
    """Replace the file ``path`` the user named with ``data`` (``str`` as UTF-8), atomically.

    The folder holding ``path`` may be a link (the user named it); a link at ``path`` itself is replaced by the
    new regular file, never written through. A regular file keeps its permissions.
    """
    body = data.encode("utf-8") if isinstance(data, str) else data
    write_atomic(path.parent, [path.name], [body], mode=_mode_of(path))


def write_inside(root: Path, relative: str | Path, data: bytes | str, *, durable: bool = False) -> Path:
    """Replace ``root/relative`` with ``data`` (``str`` as UTF-8) without following a link anywhere inside
    ``root``: a link as an intermediate folder or as the file is replaced, never written through. ``relative``
    must stay inside ``root`` (no ``..``, not absolute); return the path written."""
    parts = Path(relative).parts
    if not parts or Path(relative).is_absolute() or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"{relative} is not a path inside {root}")
    target = root.joinpath(*parts)
    body = data.encode("utf-8") if isinstance(data, str) else data
    write_atomic(root, parts, [body], mode=_mode_of(target), durable=durable)
    return target


#: The most a text file a user or a checkout supplies (a record, a template, a fragment, a workflow, a config)
#: is read up to: far more than any real one, far less than the memory.
TEXT_LIMIT = 16 << 20


def _refuse_special(path: Path | str, mode: int) -> None:
    kind = (
        "a named pipe (FIFO)"
        if stat.S_ISFIFO(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "a folder"
        if stat.S_ISDIR(mode)
        else "not a regular file"
    )
    raise OSError(errno.EINVAL, f"is {kind}, not a regular file", str(path))


def read_limited(path: Path | str, limit: int = TEXT_LIMIT) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them: the one reader of every file a user or
    a checkout supplies.

    A FIFO, a device or a socket (or a link to one) is refused *before* it is opened (opening a FIFO blocks
    until someone writes to it, reading ``/dev/zero`` never ends); the file is opened non-blocking and checked
    again on its descriptor, so one swapped in between the check and the open is refused too. A file larger than
    ``limit`` raises :class:`OSError` (``EFBIG``). Every refusal is an :class:`OSError` naming the file, so
    callers that already turn an unreadable file into a one-line error handle these too."""
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        _refuse_special(path, st.st_mode)
    fd = os.open(path, os.O_RDONLY | _BINARY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    with os.fdopen(fd, "rb") as fh:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            _refuse_special(path, mode)
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"larger than the limit of {limit:,} bytes", str(path))
    return data


def read_text(path: Path | str, limit: int = TEXT_LIMIT, *, errors: str = "strict") -> str:
    """:func:`read_limited`, decoded as UTF-8 (``errors`` as for :meth:`bytes.decode`; a file that does not
    decode raises :class:`UnicodeDecodeError`, a :class:`ValueError`)."""
    return read_limited(path, limit).decode("utf-8", errors)


# -- the one safe tree copy ---------------------------------------------------------------------------------


def _inside(root: str, folder: str, target: str) -> bool:
    """Whether the link ``target`` found in ``folder`` (both under ``root``) points inside ``root``."""
    if os.path.isabs(target):
        return False
    resolved = os.path.normpath(os.path.join(folder, target))
    return resolved == root or resolved.startswith(root + os.sep)


def plan_tree_copy(
    source: Path, *, ignore: Callable[[str], bool] | None = None
) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    """The folders, regular files and links (``(relative path, link target)``) of the tree ``source``, checked
    before anything is copied: a link that leaves ``source`` (absolute, or through ``..``, directly or through
    another link), a FIFO, a device or a socket raises :class:`OSError` naming it. ``ignore`` gets each
    relative path and drops it (and everything under it)."""
    root = os.path.realpath(source)
    if not os.path.isdir(root):
        raise OSError(errno.ENOTDIR, "is not a folder", str(source))
    folders: list[str] = []
    files: list[str] = []
    links: list[tuple[str, str]] = []
    stack = [""]
    while stack:
        relative = stack.pop()
        with os.scandir(os.path.join(root, relative) if relative else root) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                rel = os.path.join(relative, entry.name) if relative else entry.name
                if ignore is not None and ignore(rel):
                    continue
                mode = entry.stat(follow_symlinks=False).st_mode
                if stat.S_ISLNK(mode):
                    target = os.readlink(entry.path)
                    # the link, and every link it leads through, must stay inside the tree
                    if not _inside(root, os.path.dirname(entry.path), target) or not _inside(
                        root, root, os.path.relpath(os.path.realpath(entry.path), root)
                    ):
                        raise OSError(
                            errno.EXDEV, f"is a link to {target}, outside {source}", str(source / rel)
                        )
                    links.append((rel, target))
                elif stat.S_ISDIR(mode):
                    folders.append(rel)
                    stack.append(rel)
                elif stat.S_ISREG(mode):
                    files.append(rel)
                else:
                    _refuse_special(source / rel, mode)
    return sorted(folders), files, links


def copy_tree(source: Path, dest: Path, *, ignore: Callable[[str], bool] | None = None) -> list[str]:
    """Copy the tree ``source`` into the new or empty folder ``dest``: the one safe tree copy.

    The whole tree is checked first (:func:`plan_tree_copy`), so a tree with a link leaving it or a special file
    copies nothing. Links inside the tree are kept as links; regular files are read through descriptors that do
    not follow links (one swapped in after the check is refused) and written without following any link in
    ``dest``. Returns the relative paths of the files and links copied."""
    folders, files, links = plan_tree_copy(source, ignore=ignore)
    root = os.path.realpath(source)
    dest.mkdir(parents=True, exist_ok=True)
    for rel in folders:
        (dest / rel).mkdir(parents=True, exist_ok=True)
    for rel in files:
        fd = os.open(
            os.path.join(root, rel), os.O_RDONLY | _BINARY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0)
        )
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                _refuse_special(source / rel, st.st_mode)
            write_atomic(
                dest, Path(rel).parts, iter(lambda: fh.read(1 << 20), b""), mode=stat.S_IMODE(st.st_mode)
            )
    for rel, target in links:
        at = dest / rel
        ensure_not_link(at)
        if at.exists():
            raise OSError(errno.EEXIST, "exists and is not a link", str(at))
        at.symlink_to(target)
    return sorted([*files, *(rel for rel, _ in links)])
