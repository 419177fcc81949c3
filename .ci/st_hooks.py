"""Schemathesis hooks for penex (.ci/schemathesis): the attachment media types schemathesis has
no sample serializer for (PDF, TIFF, OFD) are sent as raw bytes, like application/octet-stream.
penex must answer them 415 (content not of its type) or the documented statuses, never 5xx."""

import schemathesis

for media_type in ("application/pdf", "image/tiff", "application/ofd"):
    schemathesis.serializer.alias(media_type, "application/octet-stream")
