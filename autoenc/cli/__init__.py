"""User commands, installed as console scripts (pyproject [project.scripts]) and runnable as scripts/<name>.py."""
