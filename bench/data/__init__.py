"""Corpora: dataset cards and their catalog, adapters per kind, generators, prepared LR/HR pairs."""
from bench.data.cards import DatasetCard, dataset_slug
from bench.data.catalog import UnknownDatasetError, dataset_names, load_card
from bench.data.pairs import Pairs, check_rates, data_hash, load_pairs

__all__ = ["DatasetCard", "UnknownDatasetError", "dataset_names", "dataset_slug", "load_card", "Pairs", "data_hash",
           "check_rates", "load_pairs"]
