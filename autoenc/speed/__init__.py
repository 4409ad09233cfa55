"""Speed (conf/config.yaml `speed:`, trainer.precision=auto): precision, layout, blocks of steps, CUDA graphs."""
