#!/usr/bin/env python
"""swapnet's command line: ``python manage.py help`` lists the commands."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swapnet.settings")
    from swapnet.startup import run_cli

    run_cli(sys.argv)


if __name__ == "__main__":
    main()
