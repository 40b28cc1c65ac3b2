"""Corpora: dataset cards, adapters per kind, prepared LR/HR pairs."""
from bench.data.cards import DatasetCard, UnknownDatasetError, dataset_names, dataset_slug, load_card, reported
from bench.data.pairs import Pairs, check_rates, data_hash, load_pairs

__all__ = ["DatasetCard", "UnknownDatasetError", "dataset_names", "dataset_slug", "load_card", "reported", "Pairs", "data_hash",
           "check_rates", "load_pairs"]
