"""course_lib.energy re-exports notebook 08's models from their modules of one concept each."""

from course_lib import capstone, energy, power, roofline, sync


def test_energy_re_exports_every_name_from_its_module():
    homes = {"HARDWARE": roofline, "roofline_plot": roofline, "LLAMA2": capstone,
             "estimate_training_run": capstone, "RAPL_ROOT": power, "UtilisationTrace": power,
             "rapl_joules": power, "read_rapl": power, "sample_busy_cores": power,
             "explore_overhead": sync, "local_sgd": sync, "sync_costs": sync}
    assert set(energy.__all__) == set(homes)
    for name, module in homes.items():
        assert getattr(energy, name) is getattr(module, name), name
        assert name in module.__all__
