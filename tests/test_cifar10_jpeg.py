"""scripts/cifar10_jpeg.py on a tiny fake copy of the public JPEG set, as GitHub serves it (a .zip
with one top folder) and as a .tar.gz: the folder dataset=images reads, the pictures unchanged."""

import tarfile
import zipfile

import numpy as np
import pytest
from conftest import import_script
from PIL import Image

from autoenc.cli.cifar10_jpeg import CLASSES
from autoenc.data.tiles import folder_pictures


@pytest.fixture
def fake_copy(tmp_path):
    """CIFAR-10-images-master/{train,test}/<class>/NNNN.jpg, 2 and 1 pictures a class."""
    top = tmp_path / "CIFAR-10-images-master"
    rng = np.random.default_rng(0)
    for split, n in (("train", 2), ("test", 1)):
        for name in CLASSES:
            (top / split / name).mkdir(parents=True)
            for i in range(n):
                picture = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
                Image.fromarray(picture).save(top / split / name / f"{i:04d}.jpg", quality=75)
    (top / "README.md").write_text("not a picture")
    return top


def test_builds_the_folder_from_a_zip_and_from_a_tar(tmp_path, fake_copy, capsys):
    cifar10_jpeg = import_script("cifar10_jpeg")
    archive = tmp_path / "master.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in fake_copy.rglob("*"):
            z.write(f, f.relative_to(tmp_path))
    assert cifar10_jpeg.main([str(archive), "--out", str(tmp_path / "zip")]) == 0
    said = capsys.readouterr()
    assert "20 training and 10 test pictures" in said.out and "this copy is not whole" in said.err
    for split in ("train", "test"):
        assert sorted(p.name for p in (tmp_path / "zip" / split).iterdir()) == list(CLASSES)
    original = fake_copy / "train" / "cat" / "0001.jpg"
    assert (tmp_path / "zip" / "train" / "cat" / "0001.jpg").read_bytes() == original.read_bytes()
    tiles, labels, classes = folder_pictures(tmp_path / "zip")
    assert len(tiles) == 30 and classes == sorted(CLASSES)  # dataset=images: a picture's class is its folder
    assert sorted(np.bincount(labels).tolist()) == [3] * 10
    with tarfile.open(tmp_path / "master.tar.gz", "w:gz") as t:
        t.add(fake_copy, arcname=fake_copy.name)
    assert cifar10_jpeg.main([str(tmp_path / "master.tar.gz"), "--out", str(tmp_path / "tar")]) == 0
    assert sorted(p.relative_to(tmp_path / "tar") for p in (tmp_path / "tar").rglob("*.jpg")) == sorted(
        p.relative_to(tmp_path / "zip") for p in (tmp_path / "zip").rglob("*.jpg")
    )


def test_refuses_what_is_not_the_set_and_a_folder_it_would_overwrite(tmp_path, fake_copy, capsys):
    cifar10_jpeg = import_script("cifar10_jpeg")
    (fake_copy / "train" / "cat").rename(fake_copy / "train" / "kitten")
    assert cifar10_jpeg.main([str(fake_copy), "--out", str(tmp_path / "out")]) == 1
    assert "class folders" in capsys.readouterr().err and not (tmp_path / "out").exists()
    (fake_copy / "train" / "kitten").rename(fake_copy / "train" / "cat")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "mine.txt").write_text("kept")
    assert cifar10_jpeg.main([str(fake_copy), "--out", str(tmp_path / "full")]) == 1
    assert "is not empty" in capsys.readouterr().err and (tmp_path / "full" / "mine.txt").read_text() == "kept"
    assert cifar10_jpeg.main([str(tmp_path / "nothing.zip")]) == 1
    assert "no such file or folder" in capsys.readouterr().err
