"""The leaderboard, built from the results store alone: results.csv (results_csv.py), aggregation and
significance (board.py), markdown tables (tables.py), pages (pages.py), figures (figures.py, plots.py)."""
