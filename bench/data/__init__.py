"""Corpora: dataset cards, adapters per kind, prepared LR/HR pairs."""
from bench.data.cards import DatasetCard, UnknownDatasetError, dataset_names, load_card
from bench.data.pairs import Pairs, check_rates, load_pairs

__all__ = ["DatasetCard", "UnknownDatasetError", "dataset_names", "load_card", "Pairs", "check_rates", "load_pairs"]
