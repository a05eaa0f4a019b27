# Split: labelled sets into train/val/test files (roles fixed at curation; failures excluded).


rule split:
    input:
        expand(f"{LABELS}/{{set}}.extxyz", set=["monomers"] + CLUSTER_SETS),
    output:
        files=expand(f"{R}/splits/{{set}}/{{role}}.extxyz", set=["monomers"] + CLUSTER_SETS, role=["train", "val", "test"]),
        summary=report(f"{R}/splits/summary.csv", caption="../report/split_summary.rst", category="Data"),
        table=f"{R}/splits/summary.md",
    params:
        sets=lambda w, input: " ".join(f"{name}={path}" for name, path in zip(["monomers"] + CLUSTER_SETS, input)),
        out_dir=f"{R}/splits",
    log:
        f"{R}/logs/split.log",
    benchmark:
        f"{R}/benchmarks/split.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "pinnff split {params.sets} --out-dir {params.out_dir} > {log} 2>&1"
