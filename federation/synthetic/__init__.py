"""Synthetic national files: DNA profiles from allele frequencies (`dna.py`), fingerprint templates (`afis.py`),
vehicle registers (`vehicle.py`) and the planted searches of the demo (`scenario.py`). No personal data of
real people; seeded, so every run of the same seed holds the same files."""
