# Noise: seeded Gaussian noise on the training labels of sets A and B, at every sigma.


rule add_noise:
    input:
        lambda w: f"{R}/splits/{TRAINING_SETS[w.trainset]}/train.extxyz",
    output:
        f"{R}/noisy/{{trainset}}/sigma{{sigma}}.extxyz",
    params:
        seed=config["noise"]["seed"],
    log:
        f"{R}/logs/noise-{{trainset}}-{{sigma}}.log",
    benchmark:
        f"{R}/benchmarks/noise-{{trainset}}-{{sigma}}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        "pinnff noise --train {input} --sigma-kcal {wildcards.sigma} --seed {params.seed}"
        " --set-name {wildcards.trainset} --out {output} > {log} 2>&1"


rule noise_stats:
    input:
        expand(f"{R}/noisy/{{trainset}}/sigma{{sigma}}.extxyz", trainset=list(TRAINING_SETS), sigma=SIGMAS),
    output:
        report(f"{R}/noisy/noise_stats.csv", caption="../report/noise_stats.rst", category="Data"),
    params:
        files=lambda w, input: " ".join(
            f"{t}/sigma{s}={path}" for (t, s), path in zip([(t, s) for t in TRAINING_SETS for s in SIGMAS], input)
        ),
    log:
        f"{R}/logs/noise_stats.log",
    benchmark:
        f"{R}/benchmarks/noise_stats.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        "pinnff noise-stats {params.files} --out {output} > {log} 2>&1"
