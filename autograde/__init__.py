"""Instructor side of the course: the nbgrader pipeline and its command line.

The masters live in ``autograde/source/<NN_name>/<NN_name>.ipynb``; see
:mod:`autograde.course` (the course and what is made from its masters),
:mod:`autograde.grade` (grading many submissions at once) and ``python -m autograde --help``.
"""
