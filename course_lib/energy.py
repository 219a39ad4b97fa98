"""Notebook 08's models under their former name: this module re-exports them from the modules
of one concept each, so that ``cl.energy.<name>`` keeps working.

* :mod:`~course_lib.sync`      synchronisation costs, local SGD, the overhead explorer
* :mod:`~course_lib.roofline`  the roofline plot and published GPU figures (``HARDWARE``)
* :mod:`~course_lib.power`     RAPL energy counters and busy-core traces
* :mod:`~course_lib.capstone`  the training-run estimate and Llama 2's figures (``LLAMA2``)

New code imports those modules directly.

>>> HARDWARE["NVIDIA H100 SXM"]["power_w"]
700
>>> read_rapl(root="/nonexistent") is None
True
"""

from __future__ import annotations

from .capstone import LLAMA2, estimate_training_run
from .power import RAPL_ROOT, UtilisationTrace, rapl_joules, read_rapl, sample_busy_cores
from .roofline import HARDWARE, roofline_plot
from .sync import explore_overhead, local_sgd, sync_costs

__all__ = [
    "HARDWARE",
    "LLAMA2",
    "RAPL_ROOT",
    "UtilisationTrace",
    "estimate_training_run",
    "explore_overhead",
    "local_sgd",
    "rapl_joules",
    "read_rapl",
    "roofline_plot",
    "sample_busy_cores",
    "sync_costs",
]
