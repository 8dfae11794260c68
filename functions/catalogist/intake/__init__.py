"""From a Storage event to the pipeline of the object's kind: the event (`events`), the upload
ledger and the claim that makes each object version run once (`ledger`), the delivery
(`uploads`), an upload handed to a batch job and taken over by it (`handoff`), and retrying an
upload by hand (`retry`)."""

__all__ = ["events", "handoff", "ledger", "retry", "uploads"]
