# The run's configuration (every key, defaults filled in by the schema) as a file of the Snakemake report.
import yaml


rule run_config:
    output:
        report(f"{R}/config.yaml", caption="../report/config.rst", category="Configuration"),
    params:
        text=yaml.safe_dump(config, sort_keys=True),
    run:
        from pinnff.io.atomic import write_text

        write_text(output[0], params.text)
