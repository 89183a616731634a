"""Small shared helpers: device resolution, seeding, progress bars."""

from coterie.utils.device import resolve_device
from coterie.utils.progress import progress_bar
from coterie.utils.seed import seed_everything

__all__ = ["progress_bar", "resolve_device", "seed_everything"]
