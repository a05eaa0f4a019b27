# Liquid stage: a box of the liquid, MD with each potential, the self-diffusion coefficient, figures.

MD = config["md"]
MD_DIR = f"{R}/md"
EXPERIMENTAL = str(Path(workflow.basedir) / "resources" / "experimental" / "degdme.yaml")


def md_model(wildcards):
    """Checkpoint of the potential named by the wildcard ([] for the classical prior)."""
    if wildcards.potential == "prior":
        return []
    return f"{R}/models/{wildcards.potential}/{MD['trainset']}/sigma0/{config['train']['optimizer']}/seed{MD['model_seed']}/model.pt"


rule fit_intramolecular:
    input:
        model=md_model,
        monomers=expand(f"{R}/splits/monomers/{{split}}.extxyz", split=["train", "val", "test"]),
    output:
        valence=f"{R}/intramolecular/{{potential}}/valence.pt",
        report=f"{R}/intramolecular/{{potential}}/fit.json",
    params:
        model=lambda w, input: input.model or "prior",
        settings=settings("train"),
    log:
        f"{R}/logs/md/fit-intramolecular-{{potential}}.log",
    benchmark:
        f"{R}/benchmarks/md/fit-intramolecular-{{potential}}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        "pinnff fit-intramolecular --model {params.model} --train {input.monomers[0]} --val {input.monomers[1]}"
        " --test {input.monomers[2]} --settings '{params.settings}' --out {output.valence} --report {output.report}"
        " > {log} 2>&1"


rule build_box:
    input:
        pool=curated("conformers"),
    output:
        f"{MD_DIR}/box.extxyz",
    params:
        settings=settings("md"),
        molecule=settings("molecule"),
    log:
        f"{R}/logs/md/build_box.log",
    benchmark:
        f"{R}/benchmarks/md/build_box.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    shell:
        "pinnff build-box --pool {input.pool} --molecule '{params.molecule}' --settings '{params.settings}'"
        " --out {output} > {log} 2>&1"


rule md:
    input:
        box=rules.build_box.output,
        model=md_model,
        valence=rules.fit_intramolecular.output.valence,
    output:
        f"{MD_DIR}/{{potential}}/summary.json",
    params:
        model=lambda w, input: input.model or "prior",
        settings=settings("md"),
        physics=settings("physics"),
        run_dir=f"{MD_DIR}/{{potential}}",
    log:
        f"{R}/logs/md/md-{{potential}}.log",
    benchmark:
        f"{R}/benchmarks/md/md-{{potential}}.tsv"
    threads: 2
    resources:
        mem_mb=6000,
        runtime=24 * 60,
    shell:
        "pinnff md --model {params.model} --box {input.box} --valence {input.valence} --physics '{params.physics}'"
        " --settings '{params.settings}' --threads {threads}"
        " --out-dir {params.run_dir} > {log} 2>&1"


rule diffusion:
    input:
        rules.md.output,
    output:
        d=f"{MD_DIR}/{{potential}}/D.json",
        msd=report(f"{MD_DIR}/{{potential}}/msd.png", caption="../report/msd.rst", category="Liquid MD"),
    params:
        trajectory=f"{MD_DIR}/{{potential}}/production.extxyz",
        experimental=EXPERIMENTAL,
    log:
        f"{R}/logs/md/diffusion-{{potential}}.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    shell:
        "pinnff diffusion {params.trajectory} --out {output.d} --plot {output.msd} --label {wildcards.potential}"
        " --temperature-K {MD[temperature_K]} --experimental {params.experimental}"
        " --error-blocks {MD[diffusion_error_blocks]} --n-blocks {MD[diffusion_blocks]}"
        " --slope-tolerance {MD[diffusion_slope_tolerance]} --min-ratio {MD[diffusion_min_ratio]} > {log} 2>&1"


rule md_figures:
    input:
        expand(f"{MD_DIR}/{{potential}}/D.json", potential=MD["models"]),
    output:
        thermo=report(f"{MD_DIR}/figures/thermo.png", caption="../report/md_thermo.rst", category="Liquid MD"),
        rdf=report(f"{MD_DIR}/figures/rdf.png", caption="../report/md_rdf.rst", category="Liquid MD"),
        diffusion=report(f"{MD_DIR}/figures/diffusion.png", caption="../report/md_diffusion.rst", category="Liquid MD"),
        tables=[
            report(f"{MD_DIR}/figures/rdf.csv", caption="../report/md_rdf_table.rst", category="Liquid MD"),
            report(f"{MD_DIR}/figures/diffusion.csv", caption="../report/md_diffusion_table.rst", category="Liquid MD"),
        ],
    params:
        runs=" ".join(f"{MD_DIR}/{p}" for p in MD["models"]),
        labels=" ".join(MD["models"]),
        settings=settings("md"),
        experimental=EXPERIMENTAL,
        out_dir=f"{MD_DIR}/figures",
    log:
        f"{R}/logs/md/figures.log",
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    shell:
        "pinnff md-figures --runs {params.runs} --labels {params.labels} --experimental {params.experimental}"
        " --settings '{params.settings}' --out-dir {params.out_dir} > {log} 2>&1"
