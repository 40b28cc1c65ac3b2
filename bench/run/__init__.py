"""Running one SR cell: planning (plan.py), the cell lifecycle (cell.py), the Trainer (train.py),
evaluation and chunked inference (evaluate.py, inference.py), progress, corpus preparation, and
applying a finished cell to a user's file (apply_cell.py)."""
