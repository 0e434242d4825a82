"""Files Settle keeps on this machine (var/: the demo's database, secrets, logs and conversations) hold
customers' data and secrets, so only the user running Settle may read them: directories 0700, files 0600."""
from __future__ import annotations

import os
from pathlib import Path


def private_directory(path: Path) -> Path:
    """`path` made if missing, and closed to other users either way (an older run may have left it open)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def private_file(path: Path) -> Path:
    """`path` created empty if missing (never readable by others, not even for a moment), and made 0600."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    path.chmod(0o600)
    return path
