"""``python -m gnomon.cli`` runs the same command as ``gnomon``."""

from __future__ import annotations

from gnomon.cli.main import main

if __name__ == "__main__":
    main()
