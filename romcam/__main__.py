"""Entry point of the ``romcam`` command and of ``python -m romcam``."""

import sys


def run() -> int:
    """``romcam.cli.main``, imported here so that Ctrl-C while the command's modules load (numpy, scipy, OpenCV:
    about a second) ends it as Ctrl-C does later: one line and exit status 130, not a traceback."""
    try:
        from romcam.cli import main
    except KeyboardInterrupt:
        print("romcam: interrupted", file=sys.stderr)
        return 130
    return main()


if __name__ == "__main__":
    sys.exit(run())
