"""`catalogist rescore`: the catalogue re-scored with the releases named, on Apache Beam.

    catalogist rescore                                   # every product, the releases in service
    catalogist rescore --classifier-release gs://BUCKET/classifier/20270102-101500 --vendor acme
    catalogist rescore --category Fruit/Apple --runner dataflow --image REGION-docker.pkg.dev/…/import:SHA

Each product is brought to the three releases (`--classifier-release`, `--textcat-release`,
`--price-release`, by default the ones the function serves: the same settings): photos classified
again at their pinned generations, rows categorized and priced again from their stored text, the
review queue following; human decisions untouched. Products already on the releases are read,
not scored: running it again changes nothing, and a run that stopped part way is resumed by
running it again. The report is printed and stored in `rescores/{run_id}`.

The pipeline runs in the batch environment (batch/.venv, `make batch`: Beam is kept out of the
function's), on Beam's local runner against the store the environment names (the local stack:
export what `catalogist dev up` prints), or on Dataflow with `--runner dataflow` (the batch
environment with its `dataflow` extra, and the import job's image, which holds this pipeline too).
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from catalogist.flags import add_flag
from catalogist.settings import job_parameters
from catalogist_infra.command_settings import add_store_flags, command_settings
from catalogist_infra.stack import BATCH_PYTHON

RELEASES = ("classifier_release", "textcat_release", "price_release", "currency", "audit_rate", "model_cache_dir")
DATAFLOW = ("dataflow_region", "dataflow_service_account", "dataflow_temp_location", "dataflow_staging_location")
MODULE = "catalogist_batch.rescore_job"


def command(args: argparse.Namespace) -> list[str]:
    """The pipeline's command line: its interpreter and module, the settings as its options."""
    settings = command_settings(args, *RELEASES, *DATAFLOW, "dataflow_subnetwork", "dataflow_max_workers")
    line = [str(args.python), "-m", MODULE]
    line += [f"--{name}={value}" for name, value in job_parameters(settings).items() if value != ""]
    line += [f"--vendor={vendor}" for vendor in args.vendor or ()]
    if args.category:
        line.append(f"--category={args.category}")
    if args.run_id:
        line.append(f"--run_id={args.run_id}")
    if args.runner == "dataflow":
        if not args.image:
            raise SystemExit("catalogist rescore: --runner dataflow needs --image (the import job's image)")
        line += [
            "--runner=DataflowRunner",
            f"--region={settings.dataflow_region}",
            f"--temp_location={settings.dataflow_temp_location}",
            f"--staging_location={settings.dataflow_staging_location}",
            f"--sdk_container_image={args.image}",
            f"--max_num_workers={settings.dataflow_max_workers}",
            "--experiments=use_runner_v2",
        ]
        if settings.dataflow_service_account:
            line.append(f"--service_account_email={settings.dataflow_service_account}")
        if settings.dataflow_subnetwork:
            line.append(f"--subnetwork={settings.dataflow_subnetwork}")
    else:
        line.append("--runner=DirectRunner")
        if args.workers > 1:
            line += [f"--direct_num_workers={args.workers}", "--direct_running_mode=multi_processing"]
    return line


def run(args: argparse.Namespace) -> int:
    line = command(args)
    try:
        # the pipeline prints its report; its exit status is this command's
        return subprocess.run(line, check=False).returncode
    except FileNotFoundError:
        print(f"catalogist rescore: no batch environment at {args.python}: run `make batch`", file=sys.stderr)
        return 2


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "rescore",
        help="re-score the catalogue with new model releases (Apache Beam)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--vendor", action="append", help="re-score this vendor's products only (repeatable)")
    add_flag(parser, "--category", "CATALOGIST_RESCORE_CATEGORY", "re-score products filed under this path only")
    add_flag(parser, "--run-id", "CATALOGIST_RESCORE_RUN_ID", "the report's id (default: the time and the run)")
    add_flag(
        parser,
        "--runner",
        "CATALOGIST_RESCORE_RUNNER",
        "local (Beam's local runner, on this machine) or dataflow",
        default="local",
        choices=("local", "dataflow"),
    )
    add_flag(parser, "--workers", "CATALOGIST_RESCORE_WORKERS", "local runner: processes", type=int, default=1)
    add_flag(parser, "--image", "CATALOGIST_BATCH_IMAGE", "dataflow: the workers' image (batch/Dockerfile)")
    add_flag(parser, "--python", "CATALOGIST_BATCH_PYTHON", "the batch environment's Python", default=str(BATCH_PYTHON))
    add_store_flags(parser, *RELEASES, *DATAFLOW, "dataflow_subnetwork", "dataflow_max_workers")
    parser.set_defaults(func=run)
