"""``python -m shipwheel``."""

from shipwheel.cli import main

if __name__ == "__main__":
    main()
