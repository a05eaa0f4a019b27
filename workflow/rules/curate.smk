# Curation: conformer pool, monomer conformations, dimer/trimer sets and scans.


rule curate_conformers:
    output:
        curated("conformers"),
    params:
        smiles=config["molecule"]["smiles"],
        settings=settings("conformers"),
    log:
        f"{R}/logs/curate_conformers.log",
    benchmark:
        f"{R}/benchmarks/curate_conformers.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    shell:
        "pinnff conformers --smiles '{params.smiles}' --settings '{params.settings}' --out {output} > {log} 2>&1"


rule curate_monomers:
    output:
        curated("monomers"),
    params:
        smiles=config["molecule"]["smiles"],
        settings=settings("monomers"),
    log:
        f"{R}/logs/curate_monomers.log",
    benchmark:
        f"{R}/benchmarks/curate_monomers.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    shell:
        "pinnff monomers --smiles '{params.smiles}' --settings '{params.settings}' --out {output} > {log} 2>&1"


rule curate_dimers:
    input:
        pool=curated("conformers"),
    output:
        sets=[curated(name) for name in CLUSTER_SETS],
        summary=report(f"{R}/curated/summary.csv", caption="../report/curated_summary.rst", category="Data"),
        table=f"{R}/curated/summary.md",
    params:
        smiles=config["molecule"]["smiles"],
        density=config["molecule"]["density_g_cm3"],
        settings=settings("dimers"),
        out_dir=f"{R}/curated",
    log:
        f"{R}/logs/curate_dimers.log",
    benchmark:
        f"{R}/benchmarks/curate_dimers.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        "pinnff dimers --pool {input.pool} --smiles '{params.smiles}' --density-g-cm3 {params.density}"
        " --settings '{params.settings}' --out-dir {params.out_dir} > {log} 2>&1"
