"""Cursor pagination: stable while rows are added (new transcripts arrive
all the time), and cheap on a long library."""

from rest_framework.pagination import CursorPagination


class NewestFirst(CursorPagination):
    ordering = ("-created", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class LiveNewestFirst(NewestFirst):
    ordering = ("-started", "-id")
