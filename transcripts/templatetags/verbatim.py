from django import template

from transcripts import formatting

register = template.Library()


@register.filter
def clock(seconds: float | None) -> str:
    return formatting.clock(seconds)


@register.filter
def duration(seconds: float | None) -> str:
    return formatting.human_duration(seconds)
