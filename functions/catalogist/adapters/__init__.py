"""The only code that talks to Google Cloud: Cloud Storage blobs and Firestore documents.

Both implement the protocols in `catalogist.ports`; everything else receives them as arguments.
"""
