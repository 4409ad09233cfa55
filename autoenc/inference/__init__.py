"""Use of a trained model: checkpoints, pictures of any size, eval on any split, ONNX, latent codes."""
