"""``pinnff validate``, ``pinnff metrics``, ``pinnff accuracy-figures`` and ``pinnff optimizer-study``."""

from __future__ import annotations

import logging

from pinnff.errors import InputError

log = logging.getLogger(__name__)


def _pairs(items: list[str], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError(f"{what} '{item}': expected KEY=VALUE")
        out[key] = value
    return out


def _validate(args) -> None:
    import pandas as pd

    from pinnff.io.atomic import write_text
    from pinnff.model.store import load_checkpoint
    from pinnff.validation.predictions import predict_file

    model, metadata = load_checkpoint(args.model)
    tables = [predict_file(model, path, name) for name, path in _pairs(args.test, "--test").items()]
    table = pd.concat([t for t in tables if len(t)], ignore_index=True) if any(len(t) for t in tables) else pd.DataFrame()
    tags = {"model": metadata.get("model"), "trainset": args.trainset, "sigma_kcal": float(args.sigma),
            "seed": int(metadata.get("seed", 0)), "n_train": int(metadata.get("n_train", 0))}
    for key, value in reversed(list(tags.items())):
        table.insert(0, key, [value] * len(table))
    write_text(args.out, table.to_csv(index=False))
    log.info("%d held-out predictions -> %s", len(table), args.out)


def _metrics(args) -> None:
    import pandas as pd

    from pinnff.io.atomic import write_text
    from pinnff.validation.metrics import markdown_table, metrics_table

    frames = [pd.read_csv(path) for path in args.predictions]
    frames = [f for f in frames if len(f)]
    if not frames:
        raise InputError("no predictions to summarize (no held-out set has labels)")
    metrics = metrics_table(pd.concat(frames, ignore_index=True))
    write_text(args.out, metrics.to_csv(index=False))
    write_text(args.table, markdown_table(metrics))
    log.info("%d metric rows -> %s, %s", len(metrics), args.out, args.table)


def _figures(args) -> None:
    import pandas as pd

    from pinnff.validation import figures

    frames = [pd.read_csv(p) for p in args.predictions]
    predictions = pd.concat([f for f in frames if len(f)], ignore_index=True)
    metrics = pd.read_csv(args.metrics)
    for trainset in args.trainsets:
        figures.parity(predictions, trainset, f"{args.out_dir}/parity_{trainset}.png")
    figures.error_vs_noise(metrics, f"{args.out_dir}/rmse_vs_noise.png")
    figures.scans(predictions, f"{args.out_dir}/dissociation_scans.png")


def _optimizer_study(args) -> None:
    import pandas as pd

    from pinnff.io.atomic import write_text
    from pinnff.model.store import load_checkpoint
    from pinnff.validation import figures

    rows = []
    for path in args.checkpoints:
        _, meta = load_checkpoint(path)
        rows.append({"optimizer": meta["settings"]["optimizer"], "seed": meta["seed"], "model": meta["model"],
                     "trainset": args.trainset, "best_val_rmse_kcal": meta["best_val_rmse_kcal"],
                     "grad_evals": meta["grad_evals"], "wall_s": meta["wall_s"], "checkpoint": str(path)})
    runs = pd.DataFrame(rows).sort_values(["optimizer", "seed"])
    write_text(args.out, runs.to_csv(index=False))
    figures.optimizer_study(runs, args.figure)
    for name, group in runs.groupby("optimizer"):
        log.info("%s: best val RMSE %.3f ± %.3f kcal/mol, %.0f s (%d seeds)", name, group.best_val_rmse_kcal.mean(),
                 group.best_val_rmse_kcal.std(), group.wall_s.mean(), len(group))


def _learning_curves(args) -> None:
    import pandas as pd

    from pinnff.io.atomic import write_text
    from pinnff.validation import figures
    from pinnff.validation.metrics import errors

    frames = [pd.read_csv(p) for p in args.predictions]
    predictions = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else None
    if predictions is None:
        raise InputError("no learning-curve predictions (the training set has no labelled test samples)")
    # requested sizes above the available samples train on the same set: keep one run per actual size
    predictions = predictions[predictions.set == args.test_set]
    predictions = predictions.drop_duplicates(["model", "seed", "n_train", "sample_id"])
    rows = [{"model": model, "n_train": n, "seed": seed, **errors(g.e_int_ref_kcal, g.e_int_pred_kcal)}
            for (model, n, seed), g in predictions.groupby(["model", "n_train", "seed"])]
    table = pd.DataFrame(rows)
    write_text(args.out, table.to_csv(index=False))
    figures.learning_curves(table, args.figure)


def add_parser(subparsers) -> None:
    """Register the validation commands."""
    p = subparsers.add_parser("validate", help="predict every held-out set with one trained model")
    p.add_argument("model", help="checkpoint from `pinnff train`")
    p.add_argument("--test", nargs="+", required=True, metavar="SET=FILE", help="labelled held-out files")
    p.add_argument("--trainset", required=True, help="training set name (a column of the output)")
    p.add_argument("--sigma", required=True, help="label noise of the training file, kcal/mol (a column)")
    p.add_argument("--out", required=True, help="predictions CSV")
    p.set_defaults(func=_validate)

    p = subparsers.add_parser("metrics", help="RMSE/MAE/max error per model, test set and distance band")
    p.add_argument("predictions", nargs="+", help="CSV files from `pinnff validate`")
    p.add_argument("--out", required=True, help="metrics CSV")
    p.add_argument("--table", required=True, help="Markdown summary")
    p.set_defaults(func=_metrics)

    p = subparsers.add_parser("accuracy-figures", help="parity, error against noise, dissociation scans")
    p.add_argument("predictions", nargs="+")
    p.add_argument("--metrics", required=True)
    p.add_argument("--trainsets", nargs="+", required=True)
    p.add_argument("--out-dir", required=True)
    p.set_defaults(func=_figures)

    p = subparsers.add_parser("learning-curves", help="test RMSE against training-set size per model kind")
    p.add_argument("predictions", nargs="+", help="CSV files from `pinnff validate` of runs with --n-train")
    p.add_argument("--test-set", required=True, help="held-out set to score (the training set's own test set)")
    p.add_argument("--out", required=True, help="CSV: model, n_train, seed, n, rmse, mae, max_abs, bias")
    p.add_argument("--figure", required=True)
    p.set_defaults(func=_learning_curves)

    p = subparsers.add_parser("optimizer-study", help="Tabu-Adam against Adam at equal gradient budget")
    p.add_argument("checkpoints", nargs="+")
    p.add_argument("--trainset", required=True)
    p.add_argument("--out", required=True, help="runs CSV")
    p.add_argument("--figure", required=True)
    p.set_defaults(func=_optimizer_study)
