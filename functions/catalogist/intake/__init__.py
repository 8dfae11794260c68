"""From a Storage event to the pipeline of the object's kind: the event, the one table of
formats, the upload ledger and the claim that makes each object version run once."""
