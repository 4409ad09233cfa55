"""Data (conf/dataset): picture sources, their tile cache, the seeded split and the batches."""
