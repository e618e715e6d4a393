from django.core.validators import RegexValidator
from django.db import models

DOCUMENT_ID_PATTERN = r"sha256:[0-9a-f]{64}"


class TrustedDocument(models.Model):
    """A GraphQL document a frontend registered ahead of time and calls by its id
    (`documentId`, glossary_backend.documents): text that was parsed and validated when
    it was registered."""

    document_id = models.CharField(
        "document id",
        max_length=71,
        unique=True,
        validators=[RegexValidator(f"^{DOCUMENT_ID_PATTERN}$")],
        help_text='"sha256:" and the SHA-256 of the text in lowercase hexadecimal.',
    )
    text = models.TextField(help_text="The GraphQL document, exactly as registered.")
    name = models.CharField(
        max_length=200, blank=True, help_text="The operation's name, from the manifest or text."
    )
    registered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "document_id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(document_id__regex=f"^{DOCUMENT_ID_PATTERN}$"),
                name="trusted_document_id_is_sha256",
                violation_error_message='A document id is "sha256:" and 64 hexadecimal digits.',
            )
        ]

    def __str__(self):
        return f"{self.name or 'anonymous'} ({self.document_id[:19]}…)"
