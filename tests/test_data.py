import hashlib
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.datasets import CIFAR10

from autoenc import UserError
from autoenc.data.batches import Batches
from autoenc.data.cifar10 import load_cifar10
from autoenc.data.datamodule import ImageDataModule, split_indices
from autoenc.data.tiles import array_pictures, folder_pictures, photo_tiles, tiles


def write_cifar10(folder: Path, per_batch: int = 6, seed: int = 0) -> np.ndarray:
    """CIFAR-10's python layout (cifar-10-batches-py: five data batches, a test batch and
    batches.meta, each a pickled dict, pixels as (N, 3072) uint8 R, G, B planes), small."""
    rng = np.random.default_rng(seed)
    d = folder / "cifar-10-batches-py"
    d.mkdir(parents=True)
    images = rng.integers(0, 256, (6 * per_batch, 32, 32, 3), dtype=np.uint8)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for i, name in enumerate(names):
        part = images[i * per_batch : (i + 1) * per_batch]
        entry = {
            "batch_label": f"batch {i + 1} of 5",
            "labels": [(i * per_batch + j) % 10 for j in range(per_batch)],  # picture k: class k % 10
            "data": part.transpose(0, 3, 1, 2).reshape(per_batch, 3072),
            "filenames": [f"img_{i}_{j}.png" for j in range(per_batch)],
        }
        (d / name).write_bytes(pickle.dumps(entry, protocol=2))
    meta = {
        "label_names": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
        "num_cases_per_batch": per_batch,
        "num_vis": 3072,
    }
    (d / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return images


@pytest.fixture
def our_checksums(monkeypatch):
    """Make torchvision's integrity check accept files written by write_cifar10."""

    def accept(folder: Path):
        md5 = lambda name: hashlib.md5((folder / "cifar-10-batches-py" / name).read_bytes()).hexdigest()  # noqa: E731
        monkeypatch.setattr(CIFAR10, "train_list", [[n, md5(n)] for n, _ in CIFAR10.train_list])
        monkeypatch.setattr(CIFAR10, "test_list", [[n, md5(n)] for n, _ in CIFAR10.test_list])
        monkeypatch.setattr(CIFAR10, "meta", {**CIFAR10.meta, "md5": md5("batches.meta")})

    return accept


def test_cifar10_on_disk_format_loads(tmp_path, our_checksums, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "nokeras"))
    images = write_cifar10(tmp_path / "data")
    our_checksums(tmp_path / "data")
    loaded, n_train, labels, classes = load_cifar10(tmp_path / "data", download=False)
    assert loaded.dtype == np.uint8 and loaded.shape == (36, 32, 32, 3) and n_train == 30
    np.testing.assert_array_equal(loaded, images)  # train batches 1..5 first, then the test batch
    assert labels.tolist() == [k % 10 for k in range(36)] and classes[0] == "airplane" and len(classes) == 10
    dm = ImageDataModule("cifar10", root=str(tmp_path / "data"), batch_size=4, split="official", download=False)
    dm.setup()
    assert dm.sizes() == {"train": 27, "val": 3, "test": 6}
    np.testing.assert_array_equal(dm.test_set.numpy(), images[30:])
    assert dm.labels["test"].tolist() == [k % 10 for k in range(30, 36)] and dm.classes == classes


def test_cifar10_found_in_a_keras_copy(tmp_path, our_checksums, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    write_cifar10(tmp_path / "keras" / "datasets")
    our_checksums(tmp_path / "keras" / "datasets")
    loaded, *_ = load_cifar10(tmp_path / "empty", download=False)
    assert loaded.shape == (36, 32, 32, 3)


def test_cifar10_with_a_bad_checksum_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "nokeras"))
    write_cifar10(tmp_path)  # the real md5 sums will not match these files
    with pytest.raises(UserError, match="checksum"):
        load_cifar10(tmp_path, download=False)


def test_missing_cifar10_says_where_it_looked_and_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    with pytest.raises(UserError) as e:
        load_cifar10(tmp_path / "data", download=False)
    msg = str(e.value)
    assert str(tmp_path / "data" / "cifar-10-batches-py") in msg
    assert str(tmp_path / "keras" / "datasets" / "cifar-10-batches-py") in msg
    assert "cifar-10-python.tar.gz" in msg and "dataset=photos" in msg


def test_photos_are_deterministic_offline_tiles():
    a = photo_tiles()
    assert a.dtype == np.uint8 and a.shape[1:] == (32, 32, 3) and len(a) >= 5000
    assert a is photo_tiles()  # cached: built once a process
    assert np.array_equal(photo_tiles.__wrapped__(), a)  # and a fresh build is the same tiles
    assert a.reshape(len(a), -1).std(axis=1).min() >= 4


def test_tiles_are_non_overlapping_crops():
    picture = np.random.default_rng(0).integers(0, 256, (70, 100, 3), dtype=np.uint8)
    t = tiles(picture)
    assert t.shape == (2 * 3, 32, 32, 3)
    np.testing.assert_array_equal(t[4], picture[32:64, 32:64])


def test_folder_of_pictures(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "sub").mkdir()
    Image.fromarray(rng.integers(0, 256, (64, 96, 3), dtype=np.uint8)).save(tmp_path / "a.png")  # 6 tiles
    Image.fromarray(rng.integers(0, 256, (32, 32), dtype=np.uint8)).save(tmp_path / "sub" / "b.jpg")  # gray: 1
    Image.fromarray(rng.integers(0, 256, (40, 40, 4), dtype=np.uint8)).save(tmp_path / "sub" / "c.png")  # RGBA: 1
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(tmp_path / "sub" / "d.webp")  # 4
    Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(tmp_path / "tiny.png")  # too small
    (tmp_path / "broken.png").write_bytes(b"not a picture")
    (tmp_path / "notes.txt").write_text("ignored")
    with pytest.warns(UserWarning) as warned:
        t, labels, classes = folder_pictures(tmp_path)
    messages = [str(w.message) for w in warned]
    assert any("skipped 1 unreadable picture(s) of 6:" in m and "broken.png" in m for m in messages)
    assert "1 picture(s) smaller than 32x32 gave no tile" in messages
    assert t.shape == (12, 32, 32, 3) and t.dtype == np.uint8
    assert classes == ["sub"] and labels.tolist() == [-1] * 6 + [0] * 6  # the folder a picture is in is its class
    np.testing.assert_array_equal(t[0], np.asarray(Image.open(tmp_path / "a.png"))[:32, :32])
    with pytest.raises(UserError, match="broken.png"):
        folder_pictures(tmp_path, on_error="raise")[0]


def pictures(folder: Path, n: int = 4) -> None:
    rng = np.random.default_rng(1)
    folder.mkdir()
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(folder / f"p{i}.png")  # 4 tiles


def test_the_tile_cache_is_built_once_then_reused(tmp_path, monkeypatch):
    pictures(tmp_path / "pics")
    cache = tmp_path / "cache"
    first = folder_pictures(tmp_path / "pics", cache_dir=cache)
    assert len(list(cache.glob("images-*.npy"))) == 1 and len(list(cache.glob("images-*.json"))) == 1
    monkeypatch.setattr("autoenc.data.tiles.decode", lambda *a: pytest.fail("decoded again despite the cache"))
    again = folder_pictures(tmp_path / "pics", cache_dir=cache)
    np.testing.assert_array_equal(again[0], first[0])
    np.testing.assert_array_equal(again[1], first[1])  # each tile's class, from the cached tiles per file
    assert not list(cache.glob("*.tmp"))


def test_the_tile_cache_follows_the_pictures(tmp_path):
    pictures(tmp_path / "pics")
    cache = tmp_path / "cache"
    first = folder_pictures(tmp_path / "pics", cache_dir=cache)[0]
    picture = tmp_path / "pics" / "p0.png"
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(picture)  # changed
    os.utime(picture, ns=(picture.stat().st_atime_ns, picture.stat().st_mtime_ns + 10**9))
    changed = folder_pictures(tmp_path / "pics", cache_dir=cache)[0]
    assert changed.shape == first.shape and (changed[:4] == 0).all() and not (first[:4] == 0).all()
    Image.fromarray(np.full((32, 32, 3), 7, np.uint8)).save(tmp_path / "pics" / "z_added.png")  # added
    assert len(folder_pictures(tmp_path / "pics", cache_dir=cache)[0]) == 17
    (tmp_path / "pics" / "p1.png").unlink()  # removed
    assert len(folder_pictures(tmp_path / "pics", cache_dir=cache)[0]) == 13
    assert len(list(cache.glob("images-*.npy"))) == 1  # one cache per folder: older ones dropped


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_a_damaged_tile_cache_is_rebuilt_with_a_warning(tmp_path, damage):
    pictures(tmp_path / "pics")
    cache = tmp_path / "cache"
    first = folder_pictures(tmp_path / "pics", cache_dir=cache)[0]
    (data,) = cache.glob("images-*.npy")
    raw = bytearray(data.read_bytes())
    if damage == "truncate":
        raw = raw[: len(raw) // 2]
    else:
        raw[-100] ^= 0xFF  # one pixel changed: same size, wrong checksum
    data.write_bytes(bytes(raw))
    with pytest.warns(UserWarning, match="tile cache .* is damaged"):
        again = folder_pictures(tmp_path / "pics", cache_dir=cache)[0]
    np.testing.assert_array_equal(again, first)
    np.testing.assert_array_equal(np.load(data), first)  # and the cache is whole again


def test_a_cached_folder_warns_about_its_skipped_pictures_every_time(tmp_path):
    pictures(tmp_path / "pics")
    (tmp_path / "pics" / "broken.png").write_bytes(b"not a picture")
    for _ in range(2):
        with pytest.warns(UserWarning, match="skipped 1 unreadable picture"):
            folder_pictures(tmp_path / "pics", cache_dir=tmp_path / "cache")[0]


def test_empty_or_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match="gave 0 tiles"):
        folder_pictures(tmp_path)[0]
    with pytest.raises(UserError, match="not a folder"):
        folder_pictures(tmp_path / "nowhere")[0]
    with pytest.raises(UserError, match="dataset.root="):
        ImageDataModule("images", root=None).setup()


def test_pictures_in_a_numpy_file(tmp_path):
    """dataset=array: a .npz file's images (and labels, where it has them), its only array, or a .npy file."""
    pictures = np.random.default_rng(0).integers(0, 256, (30, 32, 32, 3), dtype=np.uint8)
    np.savez(tmp_path / "named.npz", images=pictures, labels=np.arange(30), names=np.array(["a"] * 30))
    np.savez_compressed(tmp_path / "only.npz", pixels=pictures)
    np.save(tmp_path / "plain.npy", pictures)
    for name in ("named.npz", "only.npz", "plain.npy"):
        assert np.array_equal(array_pictures(tmp_path / name), pictures)
    data = ImageDataModule("array", root=str(tmp_path / "named.npz"))
    data.setup()
    assert torch.equal(data.all_set, torch.from_numpy(pictures)) and data.sizes() == {"train": 24, "val": 3, "test": 3}
    assert data.labels["all"].tolist() == list(range(30)) and data.classes == [str(c) for c in range(30)]
    assert torch.equal(data.labels["test"], data.labels["all"][data.labels["test"]])  # the same split as the pictures
    for name in ("only.npz", "plain.npy"):
        unlabelled = ImageDataModule("array", root=str(tmp_path / name))
        unlabelled.setup()
        assert (unlabelled.labels["train"] == -1).all() and unlabelled.classes == []


def test_a_numpy_file_that_is_not_pictures_says_what_it_needs(tmp_path):
    np.savez(tmp_path / "two.npz", a=np.zeros(3), b=np.zeros(3))
    np.save(tmp_path / "float.npy", np.zeros((4, 32, 32, 3), np.float32))
    np.save(tmp_path / "chw.npy", np.zeros((4, 3, 32, 32), np.uint8))
    (tmp_path / "text.npz").write_text("not numpy")
    cases = {
        "two.npz": "holds a, b but no `images`",
        "float.npy": r"float32 \(4, 32, 32, 3\); dataset=array takes",
        "chw.npy": r"uint8 \(4, 3, 32, 32\)",
        "text.npz": "is not a NumPy .npz or .npy file",
        "missing.npz": "no such file",
    }
    for name, message in cases.items():
        with pytest.raises(UserError, match=message):
            array_pictures(tmp_path / name)
    with pytest.raises(UserError, match="dataset=array needs dataset.root=/path/to/pictures.npz"):
        ImageDataModule("array").setup()


def test_pictures_npz_writes_files_of_pictures_in_their_order(tmp_path, capsys):
    from autoenc.cli import pictures_npz

    pictures = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    for i, picture in enumerate(pictures):
        Image.fromarray(picture).save(tmp_path / f"{i}.png")
    np.savez(tmp_path / "list.npz", paths=np.array(["2.png", "0.png"]), labels=np.array([7, 3], np.uint8))
    assert pictures_npz.main([str(tmp_path / "a.npz"), str(tmp_path / "1.png")]) == 0
    assert (
        pictures_npz.main(
            [str(tmp_path / "b.npz"), "--root", str(tmp_path), "--list-from", f"{tmp_path / 'list.npz'}:paths"]
        )
        == 0
    )
    assert np.array_equal(array_pictures(tmp_path / "a.npz"), pictures[1:2])
    with np.load(tmp_path / "b.npz") as b:
        assert np.array_equal(b["images"], pictures[[2, 0]]) and b["labels"].tolist() == [7, 3]
    Image.fromarray(np.zeros((40, 32, 3), np.uint8)).save(tmp_path / "big.png")
    capsys.readouterr()
    for args, message in [
        ([str(tmp_path / "big.png")], "big.png is not a 32x32 picture"),
        ([str(tmp_path / "gone.png")], "1 file(s) not found"),
        (["--list-from", f"{tmp_path / 'list.npz'}:names"], "no array 'names' (it has paths"),
        ([], "no pictures given"),
    ]:
        assert pictures_npz.main([str(tmp_path / "c.npz"), *args]) == 1
        assert message in capsys.readouterr().err
    assert not (tmp_path / "c.npz").exists()


def test_study_split_is_80_10_10_disjoint_and_fixed_by_its_seed():
    train, val, test = split_indices(60_000, "study", seed=0)
    assert (len(train), len(val), len(test)) == (48_000, 6_000, 6_000)
    assert len(torch.cat([train, val, test]).unique()) == 60_000
    again = split_indices(60_000, "study", seed=0)
    assert all(torch.equal(a, b) for a, b in zip([train, val, test], again, strict=True))
    assert not torch.equal(test, split_indices(60_000, "study", seed=1)[2])


def test_official_split_keeps_cifars_test_set():
    train, val, test = split_indices(60_000, "official", seed=0, n_official_train=50_000)
    assert (len(train), len(val)) == (45_000, 5_000) and torch.equal(test, torch.arange(50_000, 60_000))
    with pytest.raises(UserError, match="only for cifar10"):
        split_indices(100, "official", seed=0)


def test_batches_cover_every_sample_once_per_epoch_in_a_new_order():
    images = torch.arange(130, dtype=torch.uint8).reshape(130, 1, 1, 1)
    batches = Batches(images, batch_size=32, shuffle=True, seed=0)
    assert len(batches) == 5
    epochs = []
    for epoch in range(2):
        batches.set_epoch(epoch)
        seen = torch.cat([b.flatten() for b in batches])
        assert sorted(seen.tolist()) == list(range(130))
        epochs.append(seen)
    assert not torch.equal(epochs[0], epochs[1])
    batches.set_epoch(0)
    assert torch.equal(torch.cat([b.flatten() for b in batches]), epochs[0])  # reproducible
    assert torch.equal(torch.cat(list(Batches(images, 32))), images)  # val/test: in order


def test_bad_dataset_numbers(tmp_path):
    with pytest.raises(UserError, match="batch_size=0"):
        ImageDataModule("photos", batch_size=0)
    with pytest.raises(UserError, match="cifar10, photos, images"):
        ImageDataModule("mnist")


def test_batches_shard_across_processes():
    images = torch.arange(131, dtype=torch.int64).reshape(131, 1, 1, 1)
    train = [Batches(images, 16, shuffle=True, seed=3, rank=r, world=2) for r in range(2)]
    for b in train:
        b.set_epoch(5)
    shards = [torch.cat([x.flatten() for x in b]) for b in train]
    assert len(train[0]) == len(train[1]) == 5  # equal steps on every rank, as DDP needs
    assert len(shards[0]) == len(shards[1]) == 65 and not set(shards[0].tolist()) & set(shards[1].tolist())
    ordered = [torch.cat([x.flatten() for x in Batches(images, 16, rank=r, world=2)]) for r in range(2)]
    assert sorted(torch.cat(ordered).tolist()) == list(range(131))  # val/test: every sample exactly once


def test_a_sweeps_process_loads_its_pictures_once(tmp_path, monkeypatch):
    from autoenc.data import sources

    folder = tmp_path / "pictures"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(np.full((64, 64, 3), 40 * i, np.uint8)).save(folder / f"{i}.png")
    calls = []
    real = sources.SOURCES["images"].load
    monkeypatch.setitem(sources.SOURCES, "images", sources.Source(lambda **kw: calls.append(kw) or real(**kw), "x"))
    monkeypatch.setattr(sources, "KEPT", {})
    first = ImageDataModule("images", root=str(folder), cache_dir=None, reuse=True)
    second = ImageDataModule("images", root=str(folder), cache_dir=None, reuse=True)
    first.setup(), second.setup()
    assert len(calls) == 1 and torch.equal(first.all_set, second.all_set)  # loaded once, the same pictures
    ImageDataModule("images", root=str(folder), cache_dir=None).setup()  # outside a sweep: loaded anew
    assert len(calls) == 2
