"""Dropping what an audit condemned from what a training script loads: a
list of paths, or a torchvision ImageFolder / DatasetFolder (anything with
``samples`` of ``(path, target)``), without importing torch here."""
import copy
import os


def _key(path):
    """Paths compare by their absolute, normalised form (symlinks are not
    resolved: the audit stores the paths it walked)."""
    return os.path.normpath(os.path.abspath(os.fsdecode(path)))


def filter_paths(paths, condemned):
    drop = {_key(p) for p in condemned}
    return [p for p in paths if _key(p) not in drop]


def filter_dataset(dataset, condemned):
    """A shallow copy of dataset without the condemned samples; the class
    list and class indices are the original's, so a model's output layer
    still matches."""
    drop = {_key(p) for p in condemned}
    keep = [s for s in dataset.samples if _key(s[0]) not in drop]
    out = copy.copy(dataset)
    out.samples = keep
    if hasattr(dataset, "imgs"):
        out.imgs = keep
    if hasattr(dataset, "targets"):
        out.targets = [s[1] for s in keep]
    return out


def apply(obj, condemned):
    if hasattr(obj, "samples") and not isinstance(obj, (str, bytes)):
        return filter_dataset(obj, condemned)
    if isinstance(obj, (str, bytes, os.PathLike)):
        raise TypeError("filter() takes a list of paths or a dataset with "
                        "samples (torchvision ImageFolder), not one path")
    try:
        paths = list(obj)
    except TypeError:
        raise TypeError("filter() takes a list of paths or a dataset with "
                        f"samples, not {type(obj).__name__}") from None
    for p in paths:
        if not isinstance(p, (str, bytes, os.PathLike)):
            raise TypeError(f"not a path: {p!r}")
    return filter_paths(paths, condemned)
