# Training: one model per (training set, noise sigma, model kind, optimizer, seed); selection on clean validation labels.


rule train:
    input:
        train=f"{R}/noisy/{{trainset}}/sigma{{sigma}}.extxyz",
        val=lambda w: f"{R}/splits/{TRAINING_SETS[w.trainset]}/val.extxyz",
    output:
        model=f"{R}/models/{{model}}/{{trainset}}/sigma{{sigma}}/{{optimizer}}/seed{{seed}}/model.pt",
        curve=f"{R}/models/{{model}}/{{trainset}}/sigma{{sigma}}/{{optimizer}}/seed{{seed}}/curve.csv",
    params:
        settings=settings("train", without=["intramolecular"]),
        extra="",
    log:
        f"{R}/logs/train/{{model}}-{{trainset}}-sigma{{sigma}}-{{optimizer}}-seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/train/{{model}}-{{trainset}}-sigma{{sigma}}-{{optimizer}}-seed{{seed}}.tsv"
    threads: 1
    priority: md_chain_priority
    resources:
        mem_mb=4000,
        runtime=120,
    shell:
        "pinnff train --model {wildcards.model} --train {input.train} --val {input.val} --seed {wildcards.seed}"
        " --optimizer {wildcards.optimizer} {params.extra}"
        " --settings '{params.settings}' --out {output.model} --curve {output.curve} > {log} 2>&1"


use rule train as train_subset with:
    priority: 0
    output:
        model=f"{R}/learning/{MODEL_RUN}/n{{size}}/model.pt",
        curve=f"{R}/learning/{MODEL_RUN}/n{{size}}/curve.csv",
    params:
        settings=settings("train", without=["intramolecular"]),
        extra=lambda w: f"--n-train {w.size}",
    log:
        f"{R}/logs/learning/{{model}}-{{trainset}}-sigma{{sigma}}-{{optimizer}}-seed{{seed}}-n{{size}}.log",
    benchmark:
        f"{R}/benchmarks/learning/{{model}}-{{trainset}}-sigma{{sigma}}-{{optimizer}}-seed{{seed}}-n{{size}}.tsv"
