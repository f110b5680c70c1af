"""sitegen: the static site generator behind 河北妇女网.

The pipeline (see ``docs/architecture.md``): ``config.load`` → ``build.build``, whose stages are the modules of
:mod:`sitegen.build` (sources, parse, theme, assemble, plan, images, render, index, commit). Library code logs with :mod:`logging`; only :mod:`sitegen.cli` prints.
"""

__version__ = "0.1.0"
