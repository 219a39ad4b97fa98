"""Instructor side of the course: the nbgrader pipeline and its command line.

The masters live in ``autograde/source/<NN_name>/<NN_name>.ipynb``; see
:mod:`autograde.pipeline` and ``python -m autograde --help``.
"""
