"""Aggregate per-run records into the result tables."""
import pandas as pd


def summarize(records, outdir):
    df = pd.DataFrame(records)
    df.to_csv(f"{outdir}/all_runs.csv", index=False)

    agg = df.groupby(["optimizer", "lr"]).agg(
        loss_mean=("loss_4000", "mean"), loss_std=("loss_4000", lambda s: s.std(ddof=0)),
        acc_mean=("test_acc", "mean"), acc_std=("test_acc", lambda s: s.std(ddof=0)),
    ).reset_index()
    agg.to_csv(f"{outdir}/table1.csv", index=False)
    with open(f"{outdir}/table1.md", "w") as fh:
        fh.write(agg.to_markdown(index=False, floatfmt=".4f") + "\n")
    print(agg.to_string(index=False))

    # TODO: pick the best lr per optimizer and write the loss-vs-step table (loss_500 ... loss_4000)
