"""``python -m coterie.cli ...`` (used by torchrun workers): the ``coterie`` command."""

from coterie.cli import main

if __name__ == "__main__":  # importing this module (e.g. pkgutil.walk_packages) runs nothing
    main()
