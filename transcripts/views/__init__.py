"""Pages and form posts. Every view looks objects up among the signed-in
user's own (views.common.owned_transcript), so another user's id answers 404;
the public share pages resolve a token instead (views.public)."""
