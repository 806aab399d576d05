"""The host columnar layout every backend and the worker pool share: a table of numpy
columns, the string dictionary, and the row <-> column codecs. Imports no backend."""
