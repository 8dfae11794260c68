"""The error tree: bad input is permanent, everything else is transient.

A `PermanentError` is recorded (on the ledger, product or import document) and acknowledged:
retrying cannot fix a corrupt photo. Any other exception escapes the function, so the platform
redelivers the event.
"""


class CatalogistError(Exception):
    """Base of every error this package raises on purpose."""


class PermanentError(CatalogistError):
    """Bad input: retrying will not help. The message is the reason shown to an admin."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BadEvent(PermanentError):
    """The CloudEvent is not a Storage object-finalized event we can read."""


class BadPhoto(PermanentError):
    """The object cannot be used as a product photo."""


class BadFile(PermanentError):
    """A vendor file (or one of its rows) cannot be read."""


class SettingsError(CatalogistError):
    """A required setting is missing or malformed; raised at start-up."""


class ModelError(CatalogistError):
    """A model release is missing, incomplete or does not match its manifest."""


class Superseded(CatalogistError):
    """A newer generation of the object was uploaded while this one was processed: it stops,
    and the newer one is processed instead. The message says which generation."""


class UploadInProgress(CatalogistError):
    """Another delivery is still processing this object version (or an older one): transient,
    so the event comes again and finds the work finished."""


class ShortRead(CatalogistError):
    """An object's bytes ended before the size its event announced: transient, so the attempt
    fails and the upload is read again."""


class HandedToJob(CatalogistError):
    """The upload went to a batch job (a big vendor file), which ends it: the delivery answers
    now and the ledger entry waits `importing`. `fields` go on the entry; the message is the
    reason an admin reads."""

    def __init__(self, reason: str, fields: dict[str, object]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fields = fields
