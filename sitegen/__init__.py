"""sitegen: the static site generator behind 河北妇女网.

The pipeline (see README): ``config.load`` → ``content.scan``/``parse_page`` → ``content.assemble`` →
``build.build`` (render, write, prune). Library code logs with :mod:`logging`; only :mod:`sitegen.cli` prints.
"""

__version__ = "0.1.0"
