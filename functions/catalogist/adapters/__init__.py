"""The only code that talks to Google Cloud: Cloud Storage blobs, Firestore documents, and the
import jobs (Dataflow, or their local stand-in).

Each implements a protocol in `catalogist.ports`; everything else receives them as arguments
(the function's wiring builds them). Public: `firestore` (FirestoreDocuments, and
EmulatorDocuments for the local emulator), `storage` (StorageBlobs), `dataflow` (DataflowJobs:
Flex Template launches over the REST API) and `local_jobs` (LocalJobs: Beam's local runner).
"""

__all__ = ["dataflow", "firestore", "local_jobs", "storage"]
