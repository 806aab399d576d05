"""`python -m dfl` is the `dfl` command."""
from dfl.cli import entry

entry()
