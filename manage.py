#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "docos.settings.dev")
    from django.core.management import execute_from_command_line

    from docos import embedded

    # With DATABASE_URL / REDIS_URL unset (development), use the same embedded services as `make run`:
    # the ones it is running, or ones started for this command.
    with embedded.for_command(sys.argv):
        execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
