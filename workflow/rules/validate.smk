# Validation: every trained model on every held-out set, error metrics, accuracy figures, optimizer study.

HELD_OUT = {name: f"{R}/splits/{name}/test.extxyz" for name in CLUSTER_SETS}


rule validate:
    input:
        model=f"{R}/models/{MODEL_RUN}/model.pt",
        tests=list(HELD_OUT.values()),
    output:
        f"{R}/validation/{MODEL_RUN}.csv",
    params:
        tests=" ".join(f"{name}={path}" for name, path in HELD_OUT.items()),
    log:
        f"{R}/logs/validate/{{model}}-{{trainset}}-sigma{{sigma}}-{{optimizer}}-seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/validate/{{model}}-{{trainset}}-sigma{{sigma}}-{{optimizer}}-seed{{seed}}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    shell:
        "pinnff validate {input.model} --test {params.tests} --trainset {wildcards.trainset}"
        " --sigma {wildcards.sigma} --out {output} > {log} 2>&1"


use rule validate as validate_subset with:
    input:
        model=f"{R}/learning/{MODEL_RUN}/n{{size}}/model.pt",
        tests=list(HELD_OUT.values()),
    output:
        f"{R}/learning/{MODEL_RUN}/n{{size}}.csv",
    log:
        f"{R}/logs/learning/validate-{{model}}-{{trainset}}-sigma{{sigma}}-{{optimizer}}-seed{{seed}}-n{{size}}.log",
    benchmark:
        f"{R}/benchmarks/learning/validate-{{model}}-{{trainset}}-sigma{{sigma}}-{{optimizer}}-seed{{seed}}-n{{size}}.tsv"


rule metrics:
    input:
        validated_models(),
    output:
        csv=report(f"{R}/validation/metrics.csv", caption="../report/metrics.rst", category="Accuracy"),
        table=report(f"{R}/validation/metrics.md", caption="../report/metrics_summary.rst", category="Accuracy"),
    log:
        f"{R}/logs/metrics.log",
    benchmark:
        f"{R}/benchmarks/metrics.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "pinnff metrics {input} --out {output.csv} --table {output.table} > {log} 2>&1"


rule accuracy_figures:
    input:
        predictions=validated_models(),
        metrics=rules.metrics.output.csv,
    output:
        parity=[report(f"{R}/figures/parity_{t}.png", caption="../report/parity.rst", category="Accuracy") for t in TRAINABLE],
        noise=report(f"{R}/figures/rmse_vs_noise.png", caption="../report/rmse_vs_noise.rst", category="Accuracy"),
        scans=report(f"{R}/figures/dissociation_scans.png", caption="../report/scans.rst", category="Accuracy"),
    params:
        out_dir=f"{R}/figures",
        trainsets=" ".join(TRAINABLE),
    log:
        f"{R}/logs/accuracy_figures.log",
    benchmark:
        f"{R}/benchmarks/accuracy_figures.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "pinnff accuracy-figures {input.predictions} --metrics {input.metrics} --trainsets {params.trainsets}"
        " --out-dir {params.out_dir} > {log} 2>&1"


rule optimizer_study:
    input:
        optimizer_study_models(),
    output:
        runs=report(f"{R}/study/optimizer_runs.csv", caption="../report/optimizer_runs.rst", category="Accuracy"),
        figure=report(f"{R}/figures/optimizer_study.png", caption="../report/optimizer_study.rst", category="Accuracy"),
    params:
        trainset=config["train"]["optimizer_study"]["trainset"],
    log:
        f"{R}/logs/optimizer_study.log",
    benchmark:
        f"{R}/benchmarks/optimizer_study.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "pinnff optimizer-study {input} --trainset {params.trainset} --out {output.runs} --figure {output.figure}"
        " > {log} 2>&1"


rule learning_curves:
    input:
        learning_curve_predictions(),
    output:
        table=report(f"{R}/study/learning_curves.csv", caption="../report/learning_curves_table.rst",
                     category="Accuracy"),
        figure=report(f"{R}/figures/learning_curves.png", caption="../report/learning_curves.rst", category="Accuracy"),
    params:
        test_set=TRAINING_SETS[config["train"]["learning_curve"]["trainset"]],
    log:
        f"{R}/logs/learning_curves.log",
    benchmark:
        f"{R}/benchmarks/learning_curves.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "pinnff learning-curves {input} --test-set {params.test_set} --out {output.table} --figure {output.figure}"
        " > {log} 2>&1"
