# Training: one model per (training set, noise sigma, model kind, seed); selection on clean validation labels.


rule train:
    input:
        train=f"{R}/noisy/{{trainset}}/sigma{{sigma}}.extxyz",
        val=lambda w: f"{R}/splits/{TRAINING_SETS[w.trainset]}/val.extxyz",
    output:
        model=f"{R}/models/{{model}}/{{trainset}}/sigma{{sigma}}/seed{{seed}}/model.pt",
        curve=f"{R}/models/{{model}}/{{trainset}}/sigma{{sigma}}/seed{{seed}}/curve.csv",
    params:
        settings=settings("train"),
    log:
        f"{R}/logs/train/{{model}}-{{trainset}}-sigma{{sigma}}-seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/train/{{model}}-{{trainset}}-sigma{{sigma}}-seed{{seed}}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    shell:
        "pinnff train --model {wildcards.model} --train {input.train} --val {input.val} --seed {wildcards.seed}"
        " --settings '{params.settings}' --out {output.model} --curve {output.curve} > {log} 2>&1"
