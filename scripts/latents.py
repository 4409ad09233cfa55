"""What a trained network's latent space holds.

The command lives in autoenc/cli/latents.py; installed, it is also `autoenc-latents`.
"""

from autoenc.cli.latents import run

if __name__ == "__main__":
    run()
