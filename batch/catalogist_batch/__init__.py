"""Catalogist's batch pipelines on Apache Beam (issue #26), running the function's own code:

- `import_job`: a big vendor file imported as a job (a Dataflow Flex Template in GCP, Beam's
  local runner beside the local stack), launched by `on_upload`;
- `rescore_job`: the catalogue re-scored with new releases (`catalogist rescore`).

`job` holds what both share on a worker (the settings, the store, the row models loaded once);
`handlers` the model handlers RunInference batches the releases through; `rescore` the pure part
of re-scoring (what a product needs, what is written, the report), importable without Beam.
Run with batch/.venv (`make batch`), never the function's environment: Beam is not in the bundle.
"""

__all__ = ["handlers", "import_job", "job", "rescore", "rescore_job"]
