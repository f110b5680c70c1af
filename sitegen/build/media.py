"""The photos of a site for the images and render stages: every photo a site shows (:func:`image_refs`) and the
template helper that turns one into responsive markup (:class:`Media`)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

from sitegen.config import Config
from sitegen.content import Site
from sitegen.errors import Location

if TYPE_CHECKING:  # imported lazily at run time: a site without photos never imports Pillow
    from sitegen import images


def image_refs(site: Site) -> list[tuple[str, Location]]:
    """Every photo the site uses, as ``(project-relative path, where it is referenced)``: covers, ``photos``
    lists and images in bodies, of every published page."""
    refs = []
    for page in site.all_pages:
        for photo in ((page.cover,) if page.cover else ()) + page.photos:
            if photo.rel:
                refs.append((photo.rel, Location(page.source, photo.line)))
        for rel, _written, line in page.images:
            if rel:
                refs.append((rel, Location(page.source, line)))
    return refs


BODY_SIZES = ("(max-width: 760px) and (min-resolution: 2.5dppx) 300px, (max-width: 760px) calc(100vw - 24px), "
              "(max-width: 892px) calc(100vw - 32px), 860px")
"""The HTML ``sizes`` of a photo in an article's text (CSS px by screen width): the default theme's ``sizes.full``
(``partials/sizes.html``), so a 3x phone fetches the 960 px variant, not the 1600 px one."""


class Media:
    """The photos of the site for templates: responsive ``<picture>`` markup and variant URLs from the image
    pipeline's results (``images.run``), keyed by project-relative source path. A photo whose processing failed
    renders as nothing (its problem is reported with the referencing file's line)."""

    def __init__(self, config: Config, results: Mapping[str, "images.ImageResult"]):
        self.config = config
        self.results = results

    def img(self, rel: str, alt: str, lazy: bool = True, sizes: str = BODY_SIZES) -> str:
        """``<picture>`` (WebP + JPEG ``srcset``, ``width``/``height`` set) for photo ``rel`` with text ``alt``;
        ``sizes`` is the HTML ``sizes`` attribute (CSS px)."""
        result = self.results.get(rel)
        if result is None:
            return ""
        from sitegen import images

        return images.picture_html(result, alt, base_path=self.config.base_path, lazy=lazy, sizes=sizes)

    def src(self, rel: str, largest: bool = True) -> str:
        """Site URL (base path included) of the widest JPEG variant (or the fallback one), ``""`` if none."""
        result = self.results.get(rel)
        variant = result and (result.largest if largest else result.fallback)
        return (self.config.base_path + variant.url) if variant else ""

    def size(self, rel: str) -> tuple[int, int]:
        """Upright ``(width, height)`` in px of the source photo, ``(0, 0)`` if unknown."""
        result = self.results.get(rel)
        return (result.width, result.height) if result and result.ok else (0, 0)
