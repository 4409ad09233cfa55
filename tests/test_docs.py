"""The README and docs/ hold to the code and to their records: every result block is what its record
renders (a number changed by hand fails here), the Layout section names every package and module
of the tree (and nothing that is not there), its config groups are conf/'s."""

import re

import pytest
from conftest import CONF, ROOT

from autoenc.report.blocks import blocks, render

MEASURED = r"\d\.\d\d|\d,\d\d\d"  # a number with 3 or more digits, as measurements are
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_result_block_is_what_its_record_renders(page):
    for spec, text in blocks(page.read_text()):
        assert text == render(spec, ROOT), (
            f"{page.relative_to(ROOT)}: the block '{spec}' differs from its record; "
            "python scripts/dev/render_docs.py writes it anew (a number is never edited by hand)"
        )


def test_the_readme_is_short_and_its_results_come_from_records():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 250
    assert {spec.split()[0] for spec, _ in blocks(readme)} >= {"cells", "findings", "disk"}


def layout() -> dict[str, str]:
    """README's Layout block: each path it names -> the text beside it (continued lines joined)."""
    text = (ROOT / "README.md").read_text().split("## Layout\n", 1)[1].split("\n## ", 1)[0]
    entries: dict[str, str] = {}
    path = None
    for line in text.splitlines():
        if not line.startswith("    "):
            continue
        if line[4] != " ":
            path, _, rest = line[4:].partition(" ")
            entries[path] = rest
        elif path is not None:
            entries[path] += " " + line.strip()
    return entries


def test_the_layout_names_every_package_and_module_of_the_tree():
    entries = layout()
    for package in sorted(p for p in (ROOT / "autoenc").iterdir() if (p / "__init__.py").is_file()):
        where = f"autoenc/{package.name}/"
        assert where in entries, f"README Layout lacks {where}"
        for module in sorted(package.glob("*.py")):
            if module.name != "__init__.py":
                assert re.search(rf"\b{module.stem}\b", entries[where]), f"README Layout lacks {where}{module.name}"
    for tool in sorted((ROOT / "scripts" / "dev").iterdir()):
        assert tool.name in entries["scripts/dev/"], f"README Layout lacks scripts/dev/{tool.name}"
    groups = sorted(p.name for p in CONF.iterdir() if p.is_dir() and p.name != "hydra")
    assert all(group in entries["conf/"] for group in groups), f"README Layout's conf/ lacks one of {groups}"


def test_every_path_the_layout_names_exists():
    for path in layout():
        for one in path.rstrip(",").split(","):
            assert (ROOT / one.strip()).exists(), f"README Layout names {one.strip()}, which is not in the tree"


def test_the_logger_group_the_config_check_and_the_builders_agree():
    from autoenc.training.config import LOGGERS
    from autoenc.training.loggers import BUILDERS

    assert set(LOGGERS) == set(BUILDERS) == {p.stem for p in (CONF / "logger").glob("*.yaml")}


def test_a_printed_block_copies_the_tables_of_a_log_all_or_the_nth(tmp_path):
    log = tmp_path / "bench_log.txt"
    log.write_text("host: x\n| a | b |\n|--|--|\n| 1 | 2 |\nrc=0\n\n| c |\n|--|\n| 3 |\n")
    assert render(f"printed {log.name}", tmp_path) == "| a | b |\n|--|--|\n| 1 | 2 |\n\n| c |\n|--|\n| 3 |"
    assert render(f"printed {log.name} 2", tmp_path) == "| c |\n|--|\n| 3 |"


def test_no_page_keeps_a_table_outside_a_block():
    """A table in README or docs/ is either rendered from a record or holds no measured number
    (make_table's table.md files are records themselves)."""
    for page in (p for p in PAGES if p.name != "table.md"):
        text = page.read_text()
        for _spec, body in blocks(text):
            text = text.replace(body, "")
        numbers = [row for row in text.splitlines() if row.startswith("|") and len(re.findall(MEASURED, row)) >= 3]
        assert not numbers, f"{page.relative_to(ROOT)} has a table row with numbers outside a block: {numbers[0]}"


def test_the_field_blocks_set_autoenc_beside_the_public_numbers_and_say_whether_it_reached_the_bar(tmp_path):
    import csv
    import json

    (tmp_path / "field.json").write_text(
        json.dumps({"anchors": [{"job": "denoise", "net": "DnCNN", "psnr": 28.992, "ssim": 0.947, "epochs": 40}]})
    )
    keys = ["arch", "task", "label", "seeds", "params", "epochs", "test_psnr", "test_psnr_std", "on_original_psnr"]
    with (tmp_path / "table.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, keys)
        writer.writeheader()
        for row in (
            ["unet", "denoise", "denoise", 3, 195555, 12, 29.5, 0.1, 28.7],
            ["cae", "superres", "superres", 1, 71475, 12, 30.0, "nan", "nan"],  # box: not the anchors' setting
            ["unet", "superres", "superres resample=bicubic", 1, 1, 1, 28.4, "nan", "nan"],
        ):
            writer.writerow(dict(zip(keys, row, strict=True)))
    rows = render("anchors field.json table.csv", tmp_path).splitlines()
    assert "| DnCNN (public) | - | 40 | CIFAR-10 test, original pixels | 28.99 |" in rows[2]
    assert "| autoenc unet, 3 seeds | 195,555 | 12 | JPEG copy, test split | 29.50 ± 0.10 |" in rows[3]
    assert len(rows) == 2 + 1 + 2 * 2
    assert render("targets table.csv", tmp_path).splitlines() == [
        "- denoise, Gaussian sigma 0.1 on [0, 1], clipped, unet on the JPEG test split: 29.50 dB against 29.2 dB: "
        "reached.",
        "- denoise, Gaussian sigma 0.1 on [0, 1], clipped, unet on the 1,017 original pictures: 28.70 dB against "
        "29.2 dB: not reached, 0.50 dB short.",
        "- super-resolution x2, bicubic, unet on the JPEG test split: 28.40 dB against 28.5 dB: not reached, "
        "0.10 dB short.",
    ]


def test_the_curve_block_extrapolates_the_last_doubling_of_training_time_to_the_bar(tmp_path):
    import csv

    keys = ["arch", "task", "label", "seeds", "params", "epochs", "train_seconds", "test_psnr"]
    with (tmp_path / "table.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, keys)
        writer.writeheader()
        for row in (
            ["unet", "denoise", "denoise", 3, 9, 12, 600, 28.9],
            ["unet", "denoise", "denoise", 1, 9, 24, 1200, 29.0],
            ["unet", "superres", "superres resample=bicubic", 1, 9, 12, 600, 28.6],
        ):
            writer.writerow(dict(zip(keys, row, strict=True)))
    text = render("curve table.csv", tmp_path)
    assert "| denoise, Gaussian sigma 0.1 on [0, 1], clipped | unet | 9 | 24 | 1 | 20.0 | - | 29.00 |" in text
    # 0.1 dB per doubling; 0.2 dB to go: two more doublings of 20 min
    assert "0.10 dB per doubling of training time (from 12 to 24 epochs); at that rate 29.2 dB" in text
    assert "80 min of training" in text and text.count("\n- ") == 1  # superres: one run length, no slope


def test_the_colorizers_block_reads_the_judges_record(tmp_path):
    import json

    split = {"test_mse_rgb": 0.0172, "test_colour_distance": 0.55, "test_colourfulness_ratio": 0.5}
    split |= {"test_colourfulness_error": 0.45, "params": 70466, "arch": "custom", "widths": [32, 48, 64]}
    split |= {"block": "single", "skips": False, "loss": "mse"}
    photos = [{"colourfulness_error": e} for e in (0.1, 0.5, 0.3)]
    entry = {"test_split": split, "photos": photos, "photos_median_colourfulness_error": 0.3}
    (tmp_path / "c.json").write_text(json.dumps({"shipped": entry | {"photos_within_20_percent": 1}}))
    row = render("colorizers c.json", tmp_path).splitlines()[2]
    assert row == (
        "| shipped | custom (single 32-48-64) | 70,466 | mse | 0.01720 | 0.550 | 0.50 | 0.45 | "
        "0.30 (1 of 3 within 20%) |"
    )
