"""The buyer's library over the API, with fresh signed download links."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import selectors as catalog_selectors
from delivery import selectors, services


def library_entries(*, request: Any) -> list[dict[str, Any]]:
    expires_at = timezone.now() + timedelta(seconds=settings.DOWNLOAD_LINK_TTL_SECONDS)
    entries = []
    for entitlement in selectors.entitlement_list_for_buyer(buyer=request.user):
        pattern = entitlement.pattern
        order = entitlement.order_item.order
        certificate = getattr(entitlement, "certificate", None)
        preview = next(iter(pattern.previews.all()), None)
        entries.append(
            {
                "entitlement_id": entitlement.pk,
                "order_id": order.pk,
                "pattern": {"id": pattern.pk, "title": pattern.title, "slug": pattern.slug},
                "preview": (
                    {"url": request.build_absolute_uri(preview.url), "width": preview.width, "height": preview.height}
                    if preview
                    else None
                ),
                "licence": entitlement.order_item.licence.code,
                "licence_name": entitlement.order_item.licence.name,
                "purchased_at": entitlement.created_at,
                "zip_url": request.build_absolute_uri(services.download_link_create(entitlement=entitlement)),
                "order_zip_url": request.build_absolute_uri(services.order_download_link_create(order=order)),
                "certificate_url": certificate.content["verification_url"] if certificate else None,
                "downloads_left": max(settings.TESSERA_DOWNLOADS_PER_ENTITLEMENT - entitlement.download_count, 0),
                # The latest version the buyer has (earlier buyers gain each approved one) and every version.
                "version": catalog_selectors.pattern_current_version_number(pattern_id=pattern.pk),
                "versions": [
                    {"number": v.number, "changelog": v.changelog, "published_at": v.published_at or v.created_at}
                    for v in catalog_selectors.pattern_versions_published(pattern_id=pattern.pk)
                ],
                "files": [
                    {
                        "id": pattern_file.pk,
                        "version": pattern_file.version.number if pattern_file.version else 1,
                        "name": pattern_file.original_name,
                        "format": pattern_file.format,
                        "size": pattern_file.size,
                        "sha256": pattern_file.sha256,
                        "download_url": request.build_absolute_uri(
                            services.download_link_create(entitlement=entitlement, pattern_file=pattern_file)
                        ),
                        "expires_at": expires_at,
                    }
                    for pattern_file in catalog_selectors.pattern_files_available(pattern_id=pattern.pk)
                ],
            }
        )
    return entries


class LibraryView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        responses={
            200: inline_serializer(
                "LibraryEntry",
                fields={
                    "entitlement_id": serializers.IntegerField(),
                    "order_id": serializers.IntegerField(),
                    "pattern": serializers.DictField(),
                    "licence": serializers.CharField(),
                    "purchased_at": serializers.DateTimeField(),
                    "files": serializers.ListField(child=serializers.DictField()),
                },
                many=True,
            )
        }
    )
    def get(self, request: Request) -> Response:
        return Response(library_entries(request=request))
