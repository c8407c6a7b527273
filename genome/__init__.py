"""What evolves: genome kinds, learning-rule families, vector layout and the wire codec."""

from genome.codec import GenomeDecodeError, decode_genome, encode_genome
from genome.layout import (
    batch_rules,
    batch_weights,
    graft_rules,
    initial_vector,
    named_rules,
    random_weights,
)
from genome.rules import FAMILIES, RuleFamily, RuleParam, get_family
from genome.spec import GenomeKind, GenomeSpec, SpecError

__all__ = [
    "FAMILIES",
    "GenomeDecodeError",
    "GenomeKind",
    "GenomeSpec",
    "RuleFamily",
    "RuleParam",
    "SpecError",
    "batch_rules",
    "batch_weights",
    "decode_genome",
    "encode_genome",
    "get_family",
    "graft_rules",
    "initial_vector",
    "named_rules",
    "random_weights",
]
