"""The portal's forms: ``application/x-www-form-urlencoded`` bodies, read once by the request
guard (which needs the ``csrf_token`` field before anything acts) and handed to the page as
``form(request)``, a multi-dict (``get``, ``getlist`` for repeated fields such as checkboxes).

The standard library parses them: Starlette's own form parsing would need python-multipart,
and the portal's forms upload no files.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request

FORM_TYPE = "application/x-www-form-urlencoded"
#: A form's body is read into memory: larger ones are refused (413) before anything else.
MAX_BODY_BYTES = 256 * 1024
MAX_FIELDS = 1000


class FormError(ValueError):
    """A body that is not a readable form."""


def parse_form(body: bytes, content_type: str | None) -> FormData:
    """The fields of a URL-encoded body; any other kind of body has none."""
    if (content_type or "").split(";")[0].strip().lower() != FORM_TYPE or not body:
        return FormData()
    try:
        pairs: list[tuple[str, str | UploadFile]] = list(
            parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="strict")
        )
    except (UnicodeDecodeError, ValueError) as error:
        raise FormError(f"the form could not be read: {error}") from error
    return FormData(pairs)


def form(request: Request) -> FormData:
    """The fields the browser posted (none for a request without a form)."""
    fields: FormData = getattr(request.state, "form", None) or FormData()
    return fields
