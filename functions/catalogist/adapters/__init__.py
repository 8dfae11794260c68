"""The only code that talks to Google Cloud: Cloud Storage blobs and Firestore documents.

Both implement the protocols in `catalogist.ports`; everything else receives them as arguments
(the function's wiring builds them). Public: `firestore` (FirestoreDocuments, and
EmulatorDocuments for the local emulator) and `storage` (StorageBlobs).
"""

__all__ = ["firestore", "storage"]
