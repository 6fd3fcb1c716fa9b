"""One module per ``python -m bench`` part, named as the command: each has ``run(quick)``
and runs alone as ``python -m bench.parts.<part>``."""
