# pinnff: physics-embedded neural-network force field for DEGDME (AMOEBA+ PINN).
# The workflow only wires files; every step is a `pinnff` subcommand.
# Run: snakemake --cores 2 --profile workflow/profiles/default
import os

configfile: os.path.join(workflow.basedir, "config/config.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/curate.smk"
include: "workflow/rules/label.smk"
include: "workflow/rules/split.smk"
include: "workflow/rules/noise.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/validate.smk"
include: "workflow/rules/md.smk"
include: "workflow/rules/report.smk"


localrules:
    all,
    run_config,
    merge_labels,
    split,
    add_noise,
    noise_stats,
    metrics,
    accuracy_figures,
    optimizer_study,
    learning_curves,
    diffusion,
    md_figures,


rule all:
    input:
        rules.curate_dimers.output.summary,
        rules.split.output.summary,
        rules.noise_stats.output,
        rules.metrics.output,
        rules.accuracy_figures.output,
        rules.optimizer_study.output if optimizer_study_models() else [],
        rules.learning_curves.output if learning_curve_predictions() else [],
        rules.md_figures.output if config["md"]["models"] else [],
        rules.run_config.output,
