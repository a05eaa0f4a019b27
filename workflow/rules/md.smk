# Liquid stage: boxes of the liquid at each size, independent MD replicas with each potential, the
# self-diffusion coefficient per potential and size (replicas pooled), the finite-size corrected D, figures.

MD = config["md"]
MD_DIR = f"{R}/md"
EXPERIMENTAL = str(Path(workflow.basedir) / "resources" / "experimental" / "degdme.yaml")
BOX_KEYS = ("packmol_tolerance_A", "relax_iterations")
# keys that only the analysis or the scheduler reads: editing them must not re-run MD
ANALYSIS_KEYS = ("models", "trainset", "model_seed", "replicas", "box_sizes", "box_per_replica", "threads", "rdf_max_A",
                 "diffusion_blocks", "diffusion_error_blocks", "diffusion_slope_tolerance", "diffusion_min_ratio",
                 "diffusion_min_displacement_rg")
REPLICAS = list(range(MD["replicas"]))


wildcard_constraints:
    nmol=r"\d+",
    replica=r"\d+",
    boxseed=r"\d+",


def replica_seed(replica):
    """Seed of replica ``replica``: box_seed + 1000 x replica (velocities; also the box when box_per_replica)."""
    return MD["box_seed"] + 1000 * int(replica)


def box_path(wildcards):
    seed = replica_seed(wildcards.replica) if MD["box_per_replica"] else MD["box_seed"]
    return f"{MD_DIR}/n{wildcards.nmol}/box-seed{seed}.extxyz"


def md_settings(wildcards):
    """The md section for one MD job: its molecule count and seed, without the analysis-only keys."""
    job = {k: v for k, v in MD.items() if k not in ANALYSIS_KEYS}
    job.update(n_molecules=int(wildcards.nmol), box_seed=replica_seed(wildcards.replica))
    return json.dumps(job, sort_keys=True)


def run_dir(nmol, potential, replica):
    return f"{MD_DIR}/n{nmol}/{potential}/rep{replica}"


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
    priority: MD_PRIORITY
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
        f"{MD_DIR}/n{{nmol}}/box-seed{{boxseed}}.extxyz",
    params:
        settings=lambda w: json.dumps({**{k: MD[k] for k in BOX_KEYS}, "n_molecules": int(w.nmol),
                                       "box_seed": int(w.boxseed)}, sort_keys=True),
        molecule=settings("molecule"),
    log:
        f"{R}/logs/md/build_box-n{{nmol}}-seed{{boxseed}}.log",
    benchmark:
        f"{R}/benchmarks/md/build_box-n{{nmol}}-seed{{boxseed}}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    shell:
        "pinnff build-box --pool {input.pool} --molecule '{params.molecule}' --settings '{params.settings}'"
        " --out {output} > {log} 2>&1"


rule md:
    input:
        box=box_path,
        model=md_model,
        valence=rules.fit_intramolecular.output.valence,
    output:
        f"{MD_DIR}/n{{nmol}}/{{potential}}/rep{{replica}}/summary.json",
    params:
        model=lambda w, input: input.model or "prior",
        settings=md_settings,
        physics=settings("physics"),
        run_dir=lambda w: run_dir(w.nmol, w.potential, w.replica),
    log:
        f"{R}/logs/md/md-n{{nmol}}-{{potential}}-rep{{replica}}.log",
    benchmark:
        f"{R}/benchmarks/md/md-n{{nmol}}-{{potential}}-rep{{replica}}.tsv"
    threads: MD["threads"]
    priority: MD_PRIORITY
    resources:
        mem_mb=6000,
        runtime=24 * 60,
    shell:
        "pinnff md --model {params.model} --box {input.box} --valence {input.valence} --physics '{params.physics}'"
        " --settings '{params.settings}' --threads {threads}"
        " --out-dir {params.run_dir} > {log} 2>&1"


rule diffusion:
    input:
        lambda w: [f"{run_dir(w.nmol, w.potential, r)}/summary.json" for r in REPLICAS],
    output:
        d=f"{MD_DIR}/n{{nmol}}/{{potential}}/D.json",
        msd=report(f"{MD_DIR}/n{{nmol}}/{{potential}}/msd.png", caption="../report/msd.rst", category="Liquid MD",
                   subcategory="MSD", labels={"potential": "{potential}", "molecules": "{nmol}"}),
    params:
        trajectories=lambda w: " ".join(f"{run_dir(w.nmol, w.potential, r)}/production.extxyz" for r in REPLICAS),
        experimental=EXPERIMENTAL,
    log:
        f"{R}/logs/md/diffusion-n{{nmol}}-{{potential}}.log",
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        # a run too short for a diffusive regime is a recorded outcome (D null, the reason), not a failed DAG
        "pinnff diffusion {params.trajectories} --out {output.d} --plot {output.msd} --label {wildcards.potential}"
        " --allow-no-diffusion --temperature-K {MD[temperature_K]} --experimental {params.experimental}"
        " --error-blocks {MD[diffusion_error_blocks]} --n-blocks {MD[diffusion_blocks]}"
        " --slope-tolerance {MD[diffusion_slope_tolerance]} --min-ratio {MD[diffusion_min_ratio]}"
        " --min-displacement-rg {MD[diffusion_min_displacement_rg]} > {log} 2>&1"


rule diffusion_summary:
    input:
        expand(f"{MD_DIR}/n{{nmol}}/{{potential}}/D.json", nmol=MD["box_sizes"], potential=MD["models"]),
    output:
        json=f"{MD_DIR}/diffusion.json",
        csv=report(f"{MD_DIR}/diffusion.csv", caption="../report/md_diffusion_table.rst", category="Liquid MD"),
    params:
        experimental=EXPERIMENTAL,
    log:
        f"{R}/logs/md/diffusion-summary.log",
    localrule: True
    shell:
        "pinnff diffusion-summary {input} --experimental {params.experimental} --out {output.json}"
        " --csv {output.csv} > {log} 2>&1"


rule md_figures:
    input:
        summary=rules.diffusion_summary.output.json,
        runs=expand(f"{MD_DIR}/n{{nmol}}/{{potential}}/rep{{replica}}/summary.json", nmol=MD["box_sizes"],
                    potential=MD["models"], replica=REPLICAS),
    output:
        thermo=report(f"{MD_DIR}/figures/thermo.png", caption="../report/md_thermo.rst", category="Liquid MD"),
        rdf=report(f"{MD_DIR}/figures/rdf.png", caption="../report/md_rdf.rst", category="Liquid MD"),
        density=report(f"{MD_DIR}/figures/density.png", caption="../report/md_density.rst", category="Liquid MD"),
        diffusion=report(f"{MD_DIR}/figures/diffusion.png", caption="../report/md_diffusion.rst", category="Liquid MD"),
        finite_size=report(f"{MD_DIR}/figures/finite_size.png", caption="../report/md_finite_size.rst",
                           category="Liquid MD"),
        tables=[
            report(f"{MD_DIR}/figures/rdf.csv", caption="../report/md_rdf_table.rst", category="Liquid MD"),
            report(f"{MD_DIR}/figures/density.csv", caption="../report/md_density_table.rst", category="Liquid MD"),
        ],
    params:
        # thermo traces and RDFs of the first replica at the first size; densities of every replica
        runs=" ".join(run_dir(MD["box_sizes"][0], p, 0) for p in MD["models"]),
        labels=" ".join(MD["models"]),
        density_runs=" ".join(run_dir(n, p, r) for n in MD["box_sizes"] for p in MD["models"] for r in REPLICAS),
        density_labels=" ".join(f"{p}:n{n}" for n in MD["box_sizes"] for p in MD["models"] for r in REPLICAS),
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
        "pinnff md-figures --runs {params.runs} --labels {params.labels} --density-runs {params.density_runs}"
        " --density-labels {params.density_labels} --summary {input.summary} --experimental {params.experimental}"
        " --settings '{params.settings}' --out-dir {params.out_dir} > {log} 2>&1"
