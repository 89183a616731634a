"""Merging trained networks into one: weight averaging, MeGA (genetic merging, seed 003), hierarchical merging,
permutation alignment by weight matching, and BatchNorm statistics repair.

Example::

    from coterie import merging

    b_aligned = merging.align(a, b)                                   # same function as b, units matched to a
    merged, history = merging.mega([a, b_aligned], fitness_data=(x_val, y_val), bn_data=(x_tr, y_tr))
    merging.bn.recompute(avg := merging.average([a, b_aligned]), (x_tr, y_tr))
    print(merging.evaluate(merged, merging.held_out((x_test, y_test))))

Fitness data, BatchNorm data and test data are separate arguments; see :mod:`coterie.merging.data`.
"""

from coterie.merging import bn
from coterie.merging.align import PermutationSpec, align, permute, register_spec, spec_for, weight_matching
from coterie.merging.average import average
from coterie.merging.data import HeldOut, as_batches, held_out
from coterie.merging.evaluate import evaluate
from coterie.merging.hierarchical import HierarchyRecord, hierarchical
from coterie.merging.mega import GENOMES, MegaHistory, mega
from coterie.merging.methods import MERGE_METHODS
from coterie.merging.scoring import PopulationScorer
from coterie.merging.state import ArchitectureMismatchError, StateLayout, check_compatible

__all__ = [
    "GENOMES",
    "MERGE_METHODS",
    "ArchitectureMismatchError",
    "HeldOut",
    "HierarchyRecord",
    "MegaHistory",
    "PermutationSpec",
    "PopulationScorer",
    "StateLayout",
    "align",
    "as_batches",
    "average",
    "bn",
    "check_compatible",
    "evaluate",
    "held_out",
    "hierarchical",
    "mega",
    "permute",
    "register_spec",
    "spec_for",
    "weight_matching",
]
