"""Run folders: one process per folder, its recorded config, atomic writes, resume and set-aside."""
