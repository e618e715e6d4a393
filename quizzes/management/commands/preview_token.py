from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from glossary_backend.preview import MAX_PREVIEW_MINUTES, PREVIEWABLE, preview_token_mint


class Command(BaseCommand):
    help = (
        "Print a preview token for one chapter, term or quiz, for the X-Preview-Token "
        "header. It is minted in the name of --user (by default the first active "
        "superuser), who must be allowed to change the object; revoking that user's "
        "preview links in the admin revokes it too."
    )

    def add_arguments(self, parser):
        parser.add_argument("type", choices=sorted(PREVIEWABLE))
        parser.add_argument("slug")
        parser.add_argument(
            "--minutes",
            type=int,
            default=None,
            help=f"How long the token lives (default PREVIEW_TOKEN_MINUTES, at most "
            f"{MAX_PREVIEW_MINUTES}).",
        )
        parser.add_argument("--user", help="Username of the staff member it is minted for.")

    def handle(self, *args, type, slug, minutes, user, **options):
        model = PREVIEWABLE[type]
        obj = model._base_manager.filter(slug=slug).first()
        if obj is None:
            raise CommandError(f"No {type} with slug {slug!r}.")
        users = get_user_model().objects.filter(is_active=True, is_staff=True)
        minter = (
            users.filter(username=user).first()
            if user
            else users.filter(is_superuser=True).order_by("pk").first()
        )
        if minter is None:
            raise CommandError(
                f"No active staff member {user!r}." if user else "No active superuser; use --user."
            )
        if not minter.has_perm(f"{model._meta.app_label}.change_{model._meta.model_name}"):
            raise CommandError(f"{minter} may not change {model._meta.verbose_name_plural}.")
        try:
            token = preview_token_mint(obj=obj, user=minter, minutes=minutes)
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(token)
