# Labelling: reference energies per chunk (resumable; shipped labels looked up first), then merged per set.


rule label_chunk:
    input:
        structures=lambda w: curated(w.set),
        pool=lambda w: [] if w.set in ("conformers", "monomers") else f"{LABELS}/conformers.extxyz",
        shipped=shipped_files(),
    output:
        f"{LABELS}/{{set}}/chunk-{{chunk}}.extxyz",
    params:
        settings=settings("label"),
        chunk_size=config["label"]["chunk_size"],
        cache=f"{LABELS}/cache",
        shipped=" ".join(str(folder) for folder in SHIPPED_FOLDERS),
        pool=lambda w, input: f"--pool {input.pool}" if input.pool else "",
        forces=lambda w: "--forces" if w.set == "monomers" and config["label"]["monomer_forces"] else "",
    log:
        f"{LABELS}/logs/{{set}}-{{chunk}}.log",
    benchmark:
        f"{LABELS}/benchmarks/{{set}}-{{chunk}}.tsv"
    threads: config["label"]["threads"]
    resources:
        mem_mb=lambda w: config["label"]["pyscf"]["max_memory_mb"] + 2000,
        runtime=lambda w: 24 * 60 if config["label"]["compute_missing"] else 30,
    shell:
        "pinnff label --structures {input.structures} --chunk {wildcards.chunk} --chunk-size {params.chunk_size}"
        " {params.pool} --shipped {params.shipped} --cache {params.cache} {params.forces} --threads {threads}"
        " --settings '{params.settings}' --out {output} > {log} 2>&1"


rule merge_labels:
    input:
        label_chunks,
    output:
        f"{LABELS}/{{set}}.extxyz",
    log:
        f"{LABELS}/logs/merge-{{set}}.log",
    benchmark:
        f"{LABELS}/benchmarks/merge-{{set}}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "pinnff merge-labels {input} --out {output} > {log} 2>&1"
