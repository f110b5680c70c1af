"""``python -m sitegen`` — same as the ``sitegen`` console script."""
from sitegen.cli import run

run()
