"""``/api/v1/notifications/``: a person's notifications, newest first; mark one or all read. Another person's
notification answers 404."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import permissions
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications import selectors, services
from notifications.api.serializers import NotificationSerializer, ReadAllSerializer

TAGS = ["notifications"]


class NotificationListView(APIView):
    permission_classes = [permissions.IsAuthenticated]
    pagination_class = PageNumberPagination

    @extend_schema(tags=TAGS, responses={200: NotificationSerializer(many=True)})
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.notification_list_for(user=request.user), request, view=self)
        return paginator.get_paginated_response(NotificationSerializer(page, many=True).data)


class NotificationReadView(APIView):
    permission_classes = [permissions.IsAuthenticated]
    http_method_names = ["post", "options"]

    @extend_schema(tags=TAGS, request=None, responses={200: NotificationSerializer})
    def post(self, request: Request, pk: int) -> Response:
        if not services.mark_read(user=request.user, notification_id=pk):
            raise Http404
        return Response(NotificationSerializer(selectors.notification_list_for(user=request.user).get(pk=pk)).data)


class NotificationReadAllView(APIView):
    permission_classes = [permissions.IsAuthenticated]
    http_method_names = ["post", "options"]

    @extend_schema(tags=TAGS, request=None, responses={200: ReadAllSerializer})
    def post(self, request: Request) -> Response:
        return Response({"marked": services.mark_all_read(user=request.user)})
