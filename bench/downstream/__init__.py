"""Downstream recognition: does super-resolution help a classifier? Cells (cells.py), the classifier
(classifier.py), recognition metrics (recognition.py), the page (page.py)."""
